"""Every way a call can go wrong gets a JSON answer with a request id: 401, 404, 409, 413, 422, 503, 500."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from config.loader import load_config
from config.sections.api import ApiConfig
from daemon.api import start_api
from daemon.api.errors import ApiServerError
from daemon.api.record import API_CONNECTOR
from daemon.context import AppContext
from daemon.store import Lead, Outcome, Score

LeadFactory = Callable[..., dict[str, Any]]
API_PATHS = [("POST", "/api/v1/score"), ("POST", "/api/v1/score/batch"), ("GET", "/api/v1/model/performance"),
             ("POST", "/api/v1/feedback"), ("GET", "/api/v1/openapi.json")]


def assert_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] and body["request_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text
    return body


@pytest.mark.parametrize(("method", "path"), API_PATHS)
def test_given_no_or_a_wrong_token_when_calling_the_api_then_401(api: Any, token: str, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer"}, {"Authorization": token}):
        r = httpx.request(method, api.url + path, headers=headers, json={"lead_id": "x"})
        body = assert_error(r, 401)
        assert "Bearer" in body["error"] and r.headers["www-authenticate"].startswith("Bearer")


def test_given_no_token_when_asking_health_then_answered(api: Any) -> None:
    assert httpx.get(api.url + "/healthz").json()["ok"] is True
    ready = httpx.get(api.url + "/readyz")
    assert ready.status_code == 200 and set(ready.json()["checks"]) == {"database", "model", "scorer"}
    assert "leadpilot_api_requests_total" in httpx.get(api.url + "/metrics").text


def test_given_bad_values_when_scored_then_422_lists_every_problem_with_its_field(client: httpx.Client) -> None:
    r = client.post("/api/v1/score", json={
        "lead_id": "bad-1", "loan_amount": "lots", "credit_score": 900, "state": "Atlantis", "tcpa_consent": "maybe",
        "consent_timestamp": "last tuesday", "website_sessions": [3], "zip_code": "N/A", "race": "x",
        "converted": True, "crm_id": "c", "favourite_colour": "blue", "first_name": "a\x00b"})
    body = assert_error(r, 422)
    problems = {p["field"]: p["message"] for p in body["problems"]}
    assert set(problems) == {"loan_amount", "credit_score", "state", "tcpa_consent", "consent_timestamp",
                             "website_sessions", "zip_code", "race", "converted", "crm_id", "favourite_colour",
                             "first_name"}
    assert problems["loan_amount"] == "'lots' is not a number"
    assert "300..850" in problems["credit_score"] and "protected attribute" in problems["race"]
    assert "/api/v1/feedback" in problems["converted"] and "lead_id" in problems["crm_id"]
    assert body["error"] == "invalid input: 12 problem(s)"


def test_given_a_body_that_is_not_a_lead_when_scored_then_422_names_the_body(client: httpx.Client) -> None:
    for content in (b"{not json", b"[1, 2]", b"null", b'"lead"', b"{}"):
        body = assert_error(client.post("/api/v1/score", content=content,
                                        headers={"Content-Type": "application/json"}), 422)
        assert body["problems"] and body["problems"][0]["field"] in {"body", "lead_id"}
    missing = assert_error(client.post("/api/v1/score", json={"loan_amount": 250000}), 422)
    assert missing["problems"] == [{"field": "lead_id", "message": "Field required"}]
    query = assert_error(client.post("/api/v1/score", params={"assign": "perhaps"}, json={"lead_id": "q"}), 422)
    assert query["problems"][0]["field"] == "assign"


def test_given_a_body_over_the_limit_when_posted_then_413_declared_or_streamed(
        client: httpx.Client, api_config: ApiConfig) -> None:
    big = b'{"lead_id": "' + b"x" * api_config.max_body_bytes + b'"}'
    assert_error(client.post("/api/v1/score", content=big, headers={"Content-Type": "application/json"}), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted while reading
        for _ in range(api_config.max_body_bytes // 1000 + 2):
            yield b" " * 1000

    assert_error(client.post("/api/v1/score", content=chunks(), headers={"Content-Type": "application/json"}), 413)


def test_given_unknown_paths_and_methods_then_json_404_and_405(client: httpx.Client) -> None:
    assert_error(client.get("/api/v1/nothing"), 404)
    assert_error(client.get("/api/v1/score"), 405)


def test_given_feedback_when_posted_twice_then_one_outcome_and_unknown_leads_get_404(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory) -> None:
    lead = new_lead(7)
    assert client.post("/api/v1/score", json=lead).status_code == 200
    report = {"lead_id": lead["lead_id"], "converted": True, "conversion_value": 4200.5,
              "timestamp": "2026-11-20T10:00:00Z"}
    first = client.post("/api/v1/feedback", json=report).json()
    assert first == {"lead_id": lead["lead_id"], "status": "created", "converted": True,
                     "converted_at": "2026-11-20T10:00:00Z", "conversion_value": 4200.5}
    assert client.post("/api/v1/feedback", json=report).json()["status"] == "unchanged"
    changed = client.post("/api/v1/feedback", json={**report, "converted": False}).json()
    assert changed["status"] == "updated" and changed["converted_at"] is None
    with ctx.session(readonly=True) as s:
        row = s.execute(select(Lead).where(Lead.connector == API_CONNECTOR, Lead.crm_id == lead["lead_id"])).scalar_one()
        outcomes = s.execute(select(Outcome).where(Outcome.lead_pk == row.id)).scalars().all()
    assert [(o.converted, o.source) for o in outcomes] == [(False, "api")] and row.converted is False

    unknown = assert_error(client.post("/api/v1/feedback", json={**report, "lead_id": "never-scored"}), 404)
    assert "never-scored" in unknown["error"]
    bad = assert_error(client.post("/api/v1/feedback", json={"lead_id": "x", "converted": "sometimes",
                                                             "conversion_value": -5, "timestamp": "soon"}), 422)
    assert {p["field"] for p in bad["problems"]} == {"converted", "conversion_value", "timestamp"}


def test_given_a_lead_anonymised_under_retention_when_scored_again_then_409(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory) -> None:
    lead = new_lead(8)
    assert client.post("/api/v1/score", json=lead).status_code == 200
    with ctx.session() as s:
        row = s.execute(select(Lead).where(Lead.connector == API_CONNECTOR, Lead.crm_id == lead["lead_id"])).scalar_one()
        row.anonymised, row.email, row.phone = True, None, None
    body = assert_error(client.post("/api/v1/score", json={**lead, "email_opens": 1}), 409)
    assert "retention" in body["error"]


def test_given_the_model_performance_when_asked_then_version_metrics_and_latest_kpi(
        client: httpx.Client, ctx: AppContext) -> None:
    from daemon.learning.jobs import KPI_SNAPSHOT
    from daemon.learning.store_io import save_snapshot

    body = client.get("/api/v1/model/performance").json()
    champion = ctx.registry.champion()
    assert body["model_version"] == champion and body["status"] == "champion"
    assert body["validation_metrics"] == ctx.registry.metadata(champion)["metrics"]
    assert 0.5 < body["validation_metrics"]["auc"] <= 1.0
    now = datetime.now(UTC).replace(microsecond=0)
    with ctx.session() as s:
        save_snapshot(s, name=KPI_SNAPSHOT, period_start=now.replace(day=1), period_end=now,
                      metrics={"conversion_rate": 0.12}, now=now)
    latest = client.get("/api/v1/model/performance").json()["latest_kpi"]
    assert latest["metrics"] == {"conversion_rate": 0.12} and latest["name"] == KPI_SNAPSHOT


@pytest.fixture
def empty_state(tmp_path: Path) -> Iterator[AppContext]:
    """A daemon with a store but no trained model yet."""
    path = tmp_path / "leadpilot.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\n")
    context = AppContext.build(load_config(path), connectors={})
    yield context
    context.close()


def test_given_no_model_yet_when_scored_then_503_saying_to_train_one(empty_state: AppContext, token: str) -> None:
    api = start_api(lambda: empty_state, ApiConfig(enabled=True, port=0, tokens=[token]))
    try:
        headers = {"Authorization": f"Bearer {token}"}
        body = assert_error(httpx.post(api.url + "/api/v1/score", json={"lead_id": "a"}, headers=headers), 503)
        assert "train" in body["error"]
        assert_error(httpx.get(api.url + "/api/v1/model/performance", headers=headers), 503)
        ready = httpx.get(api.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["model"]["ok"] is False
    finally:
        api.stop()


def test_given_a_failing_dependency_when_called_then_500_json_with_request_id_and_no_traceback(
        token: str, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> AppContext:
        raise RuntimeError("the context exploded")  # a bug, not an expected failure

    api = start_api(broken, ApiConfig(enabled=True, port=0, tokens=[token]))
    try:
        r = httpx.get(api.url + "/api/v1/model/performance", headers={"Authorization": f"Bearer {token}"})
        body = assert_error(r, 500)
        assert body["request_id"] in body["error"] and "exploded" not in r.text
        assert any(body["request_id"] in rec.getMessage() for rec in caplog.records)  # logged for the operator
    finally:
        api.stop()


def test_given_api_settings_when_enabled_without_good_tokens_then_config_refuses(token: str) -> None:
    with pytest.raises(ValidationError, match="no token is set"):
        ApiConfig(enabled=True)
    with pytest.raises(ValidationError, match="shorter than 16"):
        ApiConfig(enabled=True, tokens=["short"])
    assert ApiConfig(enabled=False).tokens == []


def test_given_a_port_in_use_when_started_then_a_clear_error(api: Any, token: str) -> None:
    with pytest.raises(ApiServerError, match="api.port"):
        start_api(lambda: None, ApiConfig(enabled=True, host="127.0.0.1", port=api.port, tokens=[token]))


def test_given_a_switch_interval_when_serving_then_threads_take_turns_at_it_and_stop_restores_it(token: str) -> None:
    before = sys.getswitchinterval()
    api = start_api(lambda: None, ApiConfig(enabled=True, port=0, tokens=[token], switch_interval_ms=2.5))
    try:
        assert sys.getswitchinterval() == pytest.approx(0.0025)
    finally:
        api.stop()
    assert sys.getswitchinterval() == pytest.approx(before)


def test_given_the_api_serving_then_the_c_http_parser_and_uvloop_serve_it(api: Any) -> None:
    # the p99 target of bench/api_bench.py has no room for h11's and asyncio's cost per call
    config = api._server.config
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    assert config.get_loop_factory().__module__.startswith("uvloop")


def test_given_more_leads_waiting_than_allowed_when_called_then_503_at_once(
        ctx: AppContext, token: str, new_lead: LeadFactory) -> None:
    api = start_api(lambda: ctx, ApiConfig(enabled=True, port=0, tokens=[token], max_pending_leads=2))
    try:
        r = httpx.post(api.url + "/api/v1/score/batch", json={"leads": [new_lead(i) for i in range(3)]},
                       headers={"Authorization": f"Bearer {token}"})
        body = assert_error(r, 503)
        assert "max_pending_leads" in body["error"] and r.headers["retry-after"]
    finally:
        api.stop()


def test_given_a_decision_slower_than_the_timeout_then_503_and_a_repeat_gets_the_decision(
        ctx: AppContext, token: str, client: httpx.Client, new_lead: LeadFactory) -> None:
    impatient = start_api(lambda: ctx, ApiConfig(enabled=True, port=0, tokens=[token], request_timeout_s=0.001))
    lead = new_lead(9)
    try:
        r = httpx.post(impatient.url + "/api/v1/score", json=lead, headers={"Authorization": f"Bearer {token}"})
        assert "a repeat of this call returns it" in assert_error(r, 503)["error"]
    finally:
        impatient.stop()  # lets the decision in hand finish
    assert impatient.scorer.pending == 0  # the abandoned call was still counted out
    again = client.post("/api/v1/score", json=lead)
    assert again.status_code == 200
    with ctx.session(readonly=True) as s:
        pk = s.execute(select(Lead.id).where(Lead.connector == API_CONNECTOR, Lead.crm_id == lead["lead_id"])).scalar_one()
        assert len(s.execute(select(Score.id).where(Score.lead_pk == pk)).all()) == 1  # decided once, then replayed


def test_given_scored_leads_then_metrics_count_them_under_the_api_connector(
        client: httpx.Client, new_lead: LeadFactory) -> None:
    assert client.post("/api/v1/score", json=new_lead(11)).status_code == 200
    text = client.get("/metrics").text
    scored = [ln for ln in text.splitlines() if ln.startswith('leadpilot_leads_scored_total{connector="api"}')]
    assert scored and float(scored[0].split()[-1]) >= 1
    assert 'leadpilot_api_requests_total{endpoint="/api/v1/score",status="200"}' in text
    assert "leadpilot_api_batch_leads_count" in text
