"""The FastAPI application of /api/v1: routes, and the handlers that turn every failure into a JSON answer.

No `from __future__ import annotations` here: FastAPI reads the route signatures at run time, and the
batch body is a class built from the configuration inside `build_app`.
"""
import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.canonical import PROTECTED_ATTRIBUTES
from config.errors import LeadpilotError
from config.sections.api import ApiConfig
from daemon import __version__
from daemon.api.decisions import Answer, LeadConflictError, replays
from daemon.api.errors import ApiError, error_body
from daemon.api.feedback import Feedback, record_feedback
from daemon.api.guard import request_id
from daemon.api.performance import model_performance
from daemon.api.schemas import (
    NOT_ACCEPTED, BatchScoringResponse, ErrorBody, FeedbackRequest, FeedbackResponse, LeadData, ModelPerformance,
    ScoringResponse, batch_request_model,
)
from daemon.api.scorer import Scorer
from daemon.context import AppContext
from daemon.health import Check, HealthServer, ReadinessReport, store_readiness
from daemon.lead_sync import input_hash
from daemon.metrics import EXPOSITION_CONTENT_TYPE

log = logging.getLogger(__name__)

SCORER_STALE_S = 30.0
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in {
        401: "no or unknown bearer token", 413: "body over api.max_body_bytes",
        422: "invalid input: every problem with its field", 503: "not ready, busy or no model; retry later",
    }.items()
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    name = str(error["loc"][-1]) if error.get("loc") else ""
    if kind == "extra_forbidden":
        if name in NOT_ACCEPTED:
            return NOT_ACCEPTED[name]
        if name.lower() in PROTECTED_ATTRIBUTES:
            return ("is a protected attribute (fair lending law): leadpilot never takes it as input; "
                    "leave it out")
        return "is not a field of this endpoint; see /api/v1/openapi.json for the accepted fields"
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    if kind == "json_invalid":
        return f"is not valid JSON ({error.get('ctx', {}).get('error', 'cannot be parsed')})"
    return str(error.get("msg", "is invalid"))


def problems_of(exc: RequestValidationError) -> list[dict[str, str]]:
    """Every validation problem as {field, message}; the field is a dotted path ('leads.3.credit_score')."""
    problems = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":  # its loc is ("body", character position)
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            problems.append({"field": "body", "message": _message(e).replace("JSON", "JSON" + where, 1)})
        else:
            problems.append({"field": _field(loc), "message": _message(e)})
    return problems


def _install_handlers(app: FastAPI) -> None:
    def reply(request: Request, status: int, message: str, problems: list[dict[str, str]] | None = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(error_body(message, request_id(request.scope), problems), status_code=status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = problems_of(exc)
        return reply(request, 422, f"invalid input: {len(problems)} problem(s)", problems)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("API request %s: %s", request_id(request.scope), exc.message)
        return reply(request, exc.status, exc.message, exc.problems, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (bytes that are not JSON text)
            return reply(request, 422, "invalid input: 1 problem(s)",
                         [{"field": "body", "message": f"cannot be read as JSON ({exc.detail})"}])
        return reply(request, exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(LeadpilotError)
    async def unavailable(request: Request, exc: LeadpilotError) -> JSONResponse:
        # the store unreachable, no model promoted, a model that fails its sha256 check: retry later
        log.error("API request %s: %s", request_id(request.scope), exc)
        return reply(request, 503, str(exc), headers={"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request.scope)
        log.exception("API request %s failed", rid)
        return reply(request, 500, f"internal error; quote request id {rid} to the operator")


def _answers(result: list[Answer]) -> list[dict[str, Any]]:
    conflicts = [a for a in result if isinstance(a, LeadConflictError)]
    if conflicts:
        raise ApiError(409, "; ".join(str(c) for c in conflicts))
    return [a for a in result if not isinstance(a, LeadConflictError)]


def build_app(ctx_getter: Callable[[], AppContext | None], config: ApiConfig, scorer: Scorer, *,
              health: HealthServer) -> FastAPI:
    """The application (without the guard, see server.build_asgi); `health` answers /healthz, /readyz, /metrics."""
    app = FastAPI(title="leadpilot scoring API", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Score a lead on demand with the daemon's models, compliance and routing. Every "
                              "/api/v1 call needs 'Authorization: Bearer <token>' (api.tokens).")
    _install_handlers(app)
    timeout = config.request_timeout_s
    bearer = HTTPBearer(auto_error=False, description="a token from api.tokens (checked before the app runs)")
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(bearer)], responses=_ERRORS)
    BatchRequest = batch_request_model(config.max_batch)  # noqa: N806 - a model class

    def context() -> AppContext:
        ctx = ctx_getter()
        if ctx is None:
            raise ApiError(503, "the daemon is still starting; try again shortly", headers={"Retry-After": "2"})
        return ctx

    async def decided(leads: list[dict[str, Any]], assign: bool) -> list[dict[str, Any]]:
        # a repeat is answered from the store at once, never queued behind new decisions
        hashes = [input_hash(lead) for lead in leads]
        stored = await run_in_threadpool(replays, context(), leads, assign=assign, hashes=hashes)
        if stored is not None:
            return stored
        future = scorer.submit(leads, assign, hashes)
        try:
            # shielded: a caller that stops waiting must not cancel the decision, which is stored for its repeat
            return _answers(await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout))
        except TimeoutError:
            raise ApiError(503, f"no decision within api.request_timeout_s ({timeout:g} s); it is still being "
                                "made and a repeat of this call returns it", headers={"Retry-After": "5"}) from None

    conflict = {409: {"model": ErrorBody, "description": "the lead was anonymised under the retention policy"}}

    @api.post("/score", response_model=ScoringResponse, summary="Score one lead", responses=conflict)
    async def score(lead: LeadData, assign: bool = Query(  # type: ignore[valid-type]
            False, description="also reserve the recommended officer's capacity")) -> dict[str, Any]:
        """Compliance, score and recommended officer for one lead; the same lead and inputs get the same answer."""
        return (await decided([lead.fields()], assign))[0]

    @api.post("/score/batch", response_model=BatchScoringResponse, summary="Score up to api.max_batch leads",
              responses=conflict)
    async def score_batch(body: BatchRequest, assign: bool = Query(  # type: ignore[valid-type]
            False, description="also reserve the recommended officers' capacity")) -> dict[str, Any]:
        """Decided together (batch-optimal routing); answers in the order of the leads."""
        seen: dict[str, int] = {}
        problems = []
        for i, lead in enumerate(body.leads):
            first = seen.setdefault(lead.lead_id, i)
            if first != i:
                problems.append({"field": f"leads.{i}.lead_id",
                                 "message": f"{lead.lead_id!r} is also leads.{first}; send each lead once"})
        if problems:
            raise ApiError(422, f"invalid input: {len(problems)} problem(s)", problems=problems)
        return {"results": await decided([lead.fields() for lead in body.leads], assign)}

    @api.get("/model/performance", response_model=ModelPerformance, summary="The deployed model's performance")
    def performance() -> dict[str, Any]:
        """Version, validation metrics (time-ordered holdout) and the latest KPI snapshot."""
        return model_performance(context())

    @api.post("/feedback", response_model=FeedbackResponse, summary="Report a lead's conversion outcome",
              responses={404: {"model": ErrorBody, "description": "no lead of that id was scored through the API"}})
    def feedback(body: FeedbackRequest) -> dict[str, Any]:
        """The outcome becomes the lead's label; idempotent per lead (the same report twice is 'unchanged')."""
        result = record_feedback(context(), Feedback(body.lead_id, body.converted, body.conversion_value,
                                                     body.timestamp))
        return vars(result)

    app.include_router(api)

    @app.get("/healthz", summary="Liveness", responses={503: {"description": "the daemon stopped beating"}})
    def healthz() -> JSONResponse:
        status, body = health.liveness()
        return JSONResponse(body, status_code=int(status))

    @app.get("/readyz", summary="Readiness: database, model and scorer", responses={503: {"description": "not ready"}})
    def readyz() -> JSONResponse:
        status, body = health.readiness_response()
        return JSONResponse(body, status_code=int(status))

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(health.metrics.exposition(), media_type=EXPOSITION_CONTENT_TYPE)

    return app


def api_readiness(ctx_getter: Callable[[], AppContext | None], scorer: Scorer) -> Callable[[], ReadinessReport]:
    """Ready when the database answers, a model is deployed and loads, and the scorer thread is alive."""
    def readiness() -> ReadinessReport:
        ctx = ctx_getter()
        if ctx is None:
            return ReadinessReport.of({"daemon": Check(False, "still starting")})
        checks = dict(store_readiness(ctx.engine, {})().checks)
        try:
            checks["model"] = Check(True, f"model {ctx.model().version} loaded")
        except LeadpilotError as exc:  # no model promoted, artifact fails its sha256, store unreachable
            checks["model"] = Check(False, str(exc))
        age = scorer.heartbeat.age()
        checks["scorer"] = Check(scorer.alive and age < SCORER_STALE_S,
                                 f"deciding thread {'alive' if scorer.alive else 'stopped'}, last beat {age:.1f} s ago")
        return ReadinessReport.of(checks)
    return readiness
