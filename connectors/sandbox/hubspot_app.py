"""The HubSpot sandbox: the subset of CRM v3/v4 that the HubSpot connector uses, with HubSpot's shapes and limits.

Paths: contacts search (filterGroups, one sort, `after` paging, the 10,000-result cap answered 400
past it), contacts/deals batch read and update (at most 100 inputs; per-record errors as 207
multi-status; invalid values reject the whole batch with 400 like HubSpot), single-object get,
create and patch (a sales user's edits), owners, properties and property groups, and v4 association
batch reads. Bearer token checked (401). Fault injection and per-endpoint counts come from
`connectors.sandbox.faults`; `search_cap` and a search-rate limit are settings so tests stay small.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response

from connectors.sandbox.faults import FaultInjector, RequestStats, install_faults
from connectors.sandbox.hubspot_store import (
    DEFAULT_DEAL_PROPERTIES,
    DEFAULT_SEARCH_PROPERTIES,
    READ_ONLY_PROPERTIES,
    HubSpotStore,
    PropertyDef,
    StoredObject,
    ms_to_iso,
    now_ms,
    parse_time_ms,
    seed_hubspot,
)

__all__ = ["SANDBOX_TOKEN", "HubSpotSandboxSettings", "create_hubspot_app", "hubspot_error_body", "seed_hubspot",
           "endpoint_name"]

SANDBOX_TOKEN = "pat-sandbox-leadpilot"
BATCH_LIMIT = 100
SEARCH_PAGE_LIMIT = 200
OBJECT_TYPES = ("contacts", "deals")
# HubSpot's search limits: 5 filter groups, 6 filters per group, 18 filters in all.
MAX_FILTER_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18


@dataclass
class HubSpotSandboxSettings:
    """Knobs of the sandbox portal; `search_cap` is HubSpot's 10,000 (tests use a small one)."""

    access_token: str = SANDBOX_TOKEN
    search_cap: int = 10_000
    search_requests_per_second: float | None = None  # None: no limit enforced (HubSpot allows about 5)
    daily_limit: int = 500_000


class _HubSpotError(Exception):
    def __init__(self, status: int, message: str, category: str = "VALIDATION_ERROR",
                 headers: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.category = status, message, category
        self.headers = dict(headers or {})
        self.extra = extra


def hubspot_error_body(status: int, message: str, category: str | None = None, **extra: Any) -> dict[str, Any]:
    """An error body shaped like HubSpot's (pass as `FaultInjector(error_body=...)` for injected faults)."""
    default = {401: "INVALID_AUTHENTICATION", 404: "OBJECT_NOT_FOUND", 409: "CONFLICT", 429: "RATE_LIMITS",
               500: "INTERNAL_ERROR"}.get(status, "VALIDATION_ERROR")
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                            "category": category or default}
    if status == 429:
        body.update(errorType="RATE_LIMIT", policyName=extra.pop("policyName", "TEN_SECONDLY_ROLLING"))
    body.update(extra)
    return body


def endpoint_name(method: str, path: str) -> str:
    """The name a request is counted under in /__sandbox/stats (e.g. `contacts.search`)."""
    parts = [p for p in path.split("/") if p]
    if parts[:3] == ["crm", "v3", "objects"] and len(parts) >= 4:
        kind = parts[3]
        rest = parts[4:]
        if rest == ["search"]:
            return f"{kind}.search"
        if len(rest) == 2 and rest[0] == "batch":
            return f"{kind}.batch_{rest[1]}"
        if not rest:
            return f"{kind}.create" if method == "POST" else f"{kind}.list"
        return f"{kind}.{'update' if method == 'PATCH' else 'get'}"
    if parts[:3] == ["crm", "v3", "owners"]:
        return "owners"
    if parts[:3] == ["crm", "v3", "properties"]:
        return "properties.groups" if "groups" in parts else "properties"
    if parts[:3] == ["crm", "v4", "associations"]:
        return "associations.batch_read"
    return f"{method} {path}"


class _SlidingWindow:
    """At most `rate` requests in any one-second window (HubSpot's search limit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def allow(self, rate: float) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._times and now - self._times[0] >= 1.0:
                self._times.popleft()
            if len(self._times) >= rate:
                return False
            self._times.append(now)
            return True


def create_hubspot_app(db_path: str | Path, injector: FaultInjector, stats: RequestStats, *,
                       settings: HubSpotSandboxSettings | None = None) -> FastAPI:
    """The sandbox portal as a FastAPI app over the SQLite store at `db_path` (created if missing)."""
    config = settings or HubSpotSandboxSettings()
    store = HubSpotStore(db_path)
    app = FastAPI(title="leadpilot HubSpot sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.settings = config
    search_window = _SlidingWindow()
    daily = {"used": 0}
    daily_lock = threading.Lock()

    @app.exception_handler(_HubSpotError)
    async def _hubspot_error(request: Request, exc: _HubSpotError) -> JSONResponse:
        return JSONResponse(hubspot_error_body(exc.status, exc.message, exc.category, **exc.extra),
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_json(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(hubspot_error_body(400, f"Invalid input JSON: {exc.errors()[:3]}"), status_code=400)

    @app.middleware("http")
    async def _rate_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        if not request.url.path.startswith("/crm/"):
            return await call_next(request)
        with daily_lock:
            daily["used"] += 1
            remaining = max(config.daily_limit - daily["used"], 0)
            spent = daily["used"] > config.daily_limit
        if spent:
            response: Response = JSONResponse(hubspot_error_body(
                429, "You have reached your daily limit.", "RATE_LIMITS", policyName="DAILY"), status_code=429)
        else:
            response = await call_next(request)
        response.headers["X-HubSpot-RateLimit-Daily"] = str(config.daily_limit)
        response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(remaining)
        return response

    def authorize(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if header != f"Bearer {config.access_token}":
            raise _HubSpotError(401, "Authentication credentials not found. This API supports OAuth 2.0 "
                                     "authentication; check the private app access token.", "INVALID_AUTHENTICATION")

    router = APIRouter(dependencies=[Depends(authorize)])

    # ---- objects -------------------------------------------------------------------------------
    @router.post("/crm/v3/objects/{object_type}/search")
    def search(object_type: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        _known_type(object_type)
        rate = config.search_requests_per_second
        if rate is not None and not search_window.allow(rate):
            raise _HubSpotError(429, "You have reached your secondly limit.", "RATE_LIMITS",
                                headers={"Retry-After": "1"}, policyName="SECONDLY")
        return _search(store, object_type, body, config.search_cap)

    @router.post("/crm/v3/objects/{object_type}/batch/read")
    def batch_read(object_type: str, body: dict[str, Any] = Body(...), archived: bool = False) -> JSONResponse:
        _known_type(object_type)
        inputs = _inputs(body)
        id_property = body.get("idProperty")
        wanted = [str(i.get("id", "")) for i in inputs]
        if id_property and id_property != "hs_object_id":
            by_value = {o.properties.get(id_property): o for o in store.scan(object_type)}
            found = {key: by_value[key] for key in wanted if key in by_value}
        else:
            ids = [int(w) for w in wanted if w.isdigit()]
            objects = store.get_objects(object_type, ids)
            found = {w: objects[int(w)] for w in wanted if w.isdigit() and int(w) in objects}
        names = body.get("properties") or _default_properties(object_type)
        results = [_public(o, object_type, names) for o in {o.id: o for o in found.values()}.values()]
        missing = [w for w in wanted if w not in found]
        errors = [_record_error("OBJECT_NOT_FOUND", "Could not get some " + object_type + " objects, they may be "
                                "deleted or not exist. Check that ids are valid.", missing)] if missing else []
        return _batch_response(results, errors)

    @router.post("/crm/v3/objects/{object_type}/batch/update")
    def batch_update(object_type: str, body: dict[str, Any] = Body(...)) -> JSONResponse:
        _known_type(object_type)
        inputs = _inputs(body)
        ids = [str(i.get("id", "")) for i in inputs]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise _HubSpotError(400, f"Duplicate IDs found in batch input: {dupes}. IDs must be unique")
        _validate_values(store, object_type, [i.get("properties") or {} for i in inputs])
        existing = store.get_objects(object_type, [int(i) for i in ids if i.isdigit()])
        updates: dict[int, dict[str, str]] = {}
        not_found: list[str] = []
        injected: list[str] = []
        for item_id, item in zip(ids, inputs):
            if not item_id.isdigit() or int(item_id) not in existing:
                not_found.append(item_id)
            elif injector.partial_failure():
                injected.append(item_id)
            else:
                updates[int(item_id)] = {k: "" if v is None else str(v) for k, v in (item.get("properties") or {}).items()}
        written = store.update_objects(object_type, updates, source="INTEGRATION")
        results = [_public(written[oid], object_type, list((updates[oid]).keys())) for oid in updates]
        errors = []
        if not_found:
            errors.append(_record_error("OBJECT_NOT_FOUND", f"Could not update some {object_type}: object not found",
                                        not_found))
        errors.extend(_record_error("INTERNAL_ERROR", "Temporary failure updating this record; try again", [i])
                      for i in injected)
        return _batch_response(results, errors)

    @router.get("/crm/v3/objects/{object_type}/{object_id}")
    def get_object(object_type: str, object_id: str, properties: str | None = None) -> dict[str, Any]:
        _known_type(object_type)
        obj = _one(store, object_type, object_id)
        names = properties.split(",") if properties else _default_properties(object_type)
        return _public(obj, object_type, names)

    @router.patch("/crm/v3/objects/{object_type}/{object_id}")
    def patch_object(object_type: str, object_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        _known_type(object_type)
        _one(store, object_type, object_id)
        values = {k: "" if v is None else str(v) for k, v in (body.get("properties") or {}).items()}
        _validate_values(store, object_type, [values])
        written = store.update_objects(object_type, {int(object_id): values}, source="CRM_UI")
        return _public(written[int(object_id)], object_type, list(values))

    @router.post("/crm/v3/objects/{object_type}", status_code=201)
    def create_object(object_type: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        _known_type(object_type)
        values = {k: "" if v is None else str(v) for k, v in (body.get("properties") or {}).items()}
        _validate_values(store, object_type, [values])
        ts = now_ms()
        created = store.create_objects(object_type, [values], source="CRM_UI", ts_ms=ts)[0]
        pairs = []
        for assoc in body.get("associations") or []:
            to_id = str((assoc.get("to") or {}).get("id", ""))
            to_type = "contacts" if object_type == "deals" else "deals"
            if not to_id.isdigit() or not store.get_objects(to_type, [int(to_id)]):
                raise _HubSpotError(400, f"Association target {to_id!r} does not exist")
            pairs.append((object_type, created.id, to_type, int(to_id)))
        store.associate(pairs)
        return _public(created, object_type, list(values))

    # ---- associations (v4) ---------------------------------------------------------------------
    @router.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    def association_read(from_type: str, to_type: str, body: dict[str, Any] = Body(...)) -> JSONResponse:
        _known_type(from_type)
        _known_type(to_type)
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or len(inputs) > 1000:
            raise _HubSpotError(400, "inputs must be a list of at most 1000 {id} objects")
        ids = [str(i.get("id", "")) for i in inputs]
        links = store.associated(from_type, to_type, [int(i) for i in ids if i.isdigit()])
        results = [{"from": {"id": i},
                    "to": [{"toObjectId": t, "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 4 if from_type == "contacts" else 3,
                         "label": None}]} for t in links[int(i)]]}
                   for i in ids if i.isdigit() and links.get(int(i))]
        without = [i for i in ids if not i.isdigit() or not links.get(int(i))]
        errors = [_record_error("NO_ASSOCIATIONS_FOUND", f"No {to_type} are associated with {from_type} {i}.", [i])
                  for i in without]
        return _batch_response(results, errors)

    # ---- owners --------------------------------------------------------------------------------
    @router.get("/crm/v3/owners")
    @router.get("/crm/v3/owners/")
    def owners(email: str | None = None, after: str | None = None, limit: int = 100,
               archived: bool = False) -> dict[str, Any]:
        if not 1 <= limit <= 500:
            raise _HubSpotError(400, "limit must be between 1 and 500")
        rows = [o for o in store.owners(archived) if email is None or (o.email or "").lower() == email.lower()]
        start = int(after) if after and after.isdigit() else 0
        page = rows[start:start + limit]
        out: dict[str, Any] = {"results": [
            {"id": str(o.id), "email": o.email, "firstName": o.first_name, "lastName": o.last_name,
             "userId": o.user_id, "userIdIncludingInactive": o.user_id, "type": "PERSON", "teams": [],
             "createdAt": ms_to_iso(o.created_ms), "updatedAt": ms_to_iso(o.updated_ms), "archived": o.archived}
            for o in page]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit), "link": f"?after={start + limit}"}}
        return out

    # ---- properties ----------------------------------------------------------------------------
    @router.get("/crm/v3/properties/{object_type}/groups")
    def list_groups(object_type: str) -> dict[str, Any]:
        _known_type(object_type)
        return {"results": [{"name": n, "label": label, "displayOrder": order, "archived": False}
                            for n, label, order in store.groups(object_type)]}

    @router.post("/crm/v3/properties/{object_type}/groups", status_code=201)
    def create_group(object_type: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        _known_type(object_type)
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not name or not isinstance(label, str) or not label:
            raise _HubSpotError(400, "a property group needs a name and a label")
        order = int(body.get("displayOrder", -1))
        if not store.add_group(object_type, name, label, order):
            raise _HubSpotError(409, f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        return {"name": name, "label": label, "displayOrder": order, "archived": False}

    @router.get("/crm/v3/properties/{object_type}")
    def list_properties(object_type: str, archived: bool = False) -> dict[str, Any]:
        _known_type(object_type)
        return {"results": [_property_json(p) for p in store.property_defs(object_type).values()]}

    @router.get("/crm/v3/properties/{object_type}/{name}")
    def get_property(object_type: str, name: str) -> dict[str, Any]:
        _known_type(object_type)
        prop = store.property_defs(object_type).get(name)
        if prop is None:
            raise _HubSpotError(404, f"Unable to find property {name} on {object_type}", "OBJECT_NOT_FOUND")
        return _property_json(prop)

    @router.post("/crm/v3/properties/{object_type}", status_code=201)
    def create_property(object_type: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        _known_type(object_type)
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise _HubSpotError(400, f"Property definition is missing {', '.join(missing)}")
        if body["groupName"] not in {g[0] for g in store.groups(object_type)}:
            raise _HubSpotError(400, f"Property group {body['groupName']!r} does not exist", "VALIDATION_ERROR")
        if body["type"] == "enumeration" and not body.get("options"):
            raise _HubSpotError(400, "enumeration properties need options")
        prop = PropertyDef(body["name"], body["label"], body["type"], body["fieldType"], body["groupName"],
                           body.get("description") or "",
                           [{"value": o["value"], "label": o["label"], "displayOrder": o.get("displayOrder", i),
                             "hidden": bool(o.get("hidden", False))} for i, o in enumerate(body.get("options") or [])],
                           False, now_ms())
        if not store.add_property(object_type, prop):
            raise _HubSpotError(409, f"A property named '{prop.name}' already exists.", "OBJECT_ALREADY_EXISTS")
        return _property_json(prop)

    app.include_router(router)
    install_faults(app, injector, stats, name_of=endpoint_name)
    return app


# ---- helpers ---------------------------------------------------------------------------------------
def _known_type(object_type: str) -> None:
    if object_type not in OBJECT_TYPES:
        raise _HubSpotError(400, f"Unable to infer object type from: {object_type}", "OBJECT_NOT_FOUND")


def _default_properties(object_type: str) -> list[str]:
    return list(DEFAULT_SEARCH_PROPERTIES if object_type == "contacts" else DEFAULT_DEAL_PROPERTIES)


def _inputs(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise _HubSpotError(400, "Invalid input JSON: 'inputs' must be a list of objects")
    if len(inputs) > BATCH_LIMIT:
        raise _HubSpotError(400, f"Batch input of {len(inputs)} exceeds the limit of {BATCH_LIMIT} inputs",
                            "VALIDATION_ERROR")
    return inputs


def _one(store: HubSpotStore, object_type: str, object_id: str) -> StoredObject:
    obj = store.get_objects(object_type, [int(object_id)]).get(int(object_id)) if object_id.isdigit() else None
    if obj is None:
        raise _HubSpotError(404, f"Object {object_id} of type {object_type} not found", "OBJECT_NOT_FOUND")
    return obj


def _public(obj: StoredObject, object_type: str, names: Sequence[str]) -> dict[str, Any]:
    """SimplePublicObject: the requested properties (null when empty) plus the ones always returned."""
    values = obj.property_values(object_type)
    always = ("createdate", "hs_object_id", "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate")
    properties = {name: values.get(name) for name in (*names, *always)}
    return {"id": str(obj.id), "properties": properties, "createdAt": ms_to_iso(obj.created_ms),
            "updatedAt": ms_to_iso(obj.modified_ms), "archived": obj.archived}


def _record_error(category: str, message: str, ids: Sequence[str]) -> dict[str, Any]:
    """A StandardError inside a 207 multi-status body."""
    return {"status": "error", "category": category, "message": message, "context": {"ids": list(ids)},
            "links": {}, "errors": []}


def _batch_response(results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> JSONResponse:
    stamp = ms_to_iso(now_ms())
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}
    if errors:
        body.update(errors=errors, numErrors=len(errors))
    return JSONResponse(body, status_code=207 if errors else 200)


def _property_json(prop: PropertyDef) -> dict[str, Any]:
    stamp = ms_to_iso(prop.created_ms or now_ms())
    read_only = prop.name in READ_ONLY_PROPERTIES
    return {"name": prop.name, "label": prop.label, "type": prop.type, "fieldType": prop.field_type,
            "description": prop.description, "groupName": prop.group_name, "options": prop.options,
            "displayOrder": -1, "calculated": False, "externalOptions": False, "hasUniqueValue": False,
            "hidden": False, "hubspotDefined": prop.hubspot_defined, "formField": not prop.hubspot_defined,
            "modificationMetadata": {"archivable": not prop.hubspot_defined, "readOnlyDefinition": prop.hubspot_defined,
                                     "readOnlyValue": read_only},
            "createdAt": stamp, "updatedAt": stamp, "archived": False}


def _validate_values(store: HubSpotStore, object_type: str, batches: Sequence[Mapping[str, Any]]) -> None:
    """HubSpot rejects the whole request when any value is invalid (unknown property, bad number, bad owner)."""
    defs = store.property_defs(object_type)
    owner_ids = {str(o.id) for o in store.owners()} if any("hubspot_owner_id" in b for b in batches) else set()
    problems: list[dict[str, Any]] = []
    for values in batches:
        for name, raw in values.items():
            value = "" if raw is None else str(raw)
            prop = defs.get(name)
            if prop is None:
                problems.append({"isValid": False, "message": f'Property "{name}" does not exist',
                                 "error": "PROPERTY_DOESNT_EXIST", "name": name})
            elif name in READ_ONLY_PROPERTIES:
                problems.append({"isValid": False, "message": f"{name} is a read only property; its value cannot "
                                 "be set.", "error": "READ_ONLY_VALUE", "name": name})
            elif value == "":
                continue
            elif name == "hubspot_owner_id" and value not in owner_ids:
                problems.append({"isValid": False, "message": f"{value} is not a valid owner id",
                                 "error": "INVALID_OWNER_ID", "name": name})
            elif prop.type == "number" and not _is_number(value):
                problems.append({"isValid": False, "message": f"{value} is not a valid number",
                                 "error": "INVALID_FLOAT", "name": name})
            elif prop.type in ("datetime", "date") and parse_time_ms(value) is None:
                problems.append({"isValid": False, "message": f"{value} is not a valid datetime",
                                 "error": "INVALID_DATE", "name": name})
            elif prop.type == "enumeration" and prop.options and value not in {o["value"] for o in prop.options}:
                problems.append({"isValid": False, "message": f"{value} was not one of the allowed options",
                                 "error": "INVALID_OPTION", "name": name})
            elif prop.type == "bool" and value not in ("true", "false"):
                problems.append({"isValid": False, "message": f"{value} is not a valid boolean",
                                 "error": "INVALID_BOOLEAN", "name": name})
    if problems:
        raise _HubSpotError(400, f"Property values were not valid: {problems}", "VALIDATION_ERROR")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---- search ----------------------------------------------------------------------------------------
_NUMERIC_TYPES = ("number", "datetime", "date")


def _search(store: HubSpotStore, object_type: str, body: Mapping[str, Any], cap: int) -> dict[str, Any]:
    limit = int(body.get("limit") or 10)
    if not 1 <= limit <= SEARCH_PAGE_LIMIT:
        raise _HubSpotError(400, f"limit must be between 1 and {SEARCH_PAGE_LIMIT}")
    after_text = str(body.get("after") or "0")
    if not after_text.isdigit():
        raise _HubSpotError(400, f"after must be a number, got {after_text!r}")
    after = int(after_text)
    if after >= cap:
        raise _HubSpotError(400, f"The search API returns at most {cap} results for a query; 'after' {after} is "
                                 "past it. Narrow the query (filter on a later lastmodifieddate or higher id).")
    groups = body.get("filterGroups") or []
    if len(groups) > MAX_FILTER_GROUPS or any(len(g.get("filters") or []) > MAX_FILTERS_PER_GROUP for g in groups) \
            or sum(len(g.get("filters") or []) for g in groups) > MAX_FILTERS:
        raise _HubSpotError(400, f"at most {MAX_FILTER_GROUPS} filterGroups of {MAX_FILTERS_PER_GROUP} filters, "
                                 f"{MAX_FILTERS} filters in all")
    defs = store.property_defs(object_type)
    kinds = {name: p.type for name, p in defs.items()}
    kinds["hs_object_id"] = "number"
    filters = [[_Filter.parse(f, kinds) for f in g.get("filters") or []] for g in groups]
    modified = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
    candidates = store.scan(object_type, _lower_bound(filters, modified))
    matched = []
    for obj in candidates:
        values = obj.property_values(object_type)
        if not filters or any(all(f.matches(values) for f in group) for group in filters):
            matched.append((obj, values))
    sort_name, descending = _sort_of(body.get("sorts") or [])
    kind = kinds.get(sort_name, "string")
    # ties come back in no particular order, as on HubSpot: a scrambled id order exposes code relying on it
    matched.sort(key=lambda ov: (_sort_value(ov[1].get(sort_name), kind), (ov[0].id * 2654435761) % 4294967296))
    if descending:
        matched.reverse()
    total = len(matched)
    end = min(after + limit, cap, total)
    names = body.get("properties") or _default_properties(object_type)
    out: dict[str, Any] = {"total": total, "results": [_public(o, object_type, names) for o, _ in matched[after:end]]}
    if end < min(total, cap):
        out["paging"] = {"next": {"after": str(end), "link": f"?after={end}"}}
    return out


def _sort_of(sorts: Sequence[Any]) -> tuple[str, bool]:
    if len(sorts) > 1:
        raise _HubSpotError(400, "search supports a single sort")
    if not sorts:
        return "hs_object_id", False
    sort = sorts[0]
    if isinstance(sort, str):
        return sort.lstrip("-"), sort.startswith("-")
    if isinstance(sort, dict) and sort.get("propertyName"):
        return str(sort["propertyName"]), str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
    raise _HubSpotError(400, f"bad sort {sort!r}: use {{'propertyName': ..., 'direction': 'ASCENDING'}}")


def _sort_value(value: str | None, kind: str) -> tuple[int, Any]:
    if value is None:
        return (1, 0)  # empty values sort last
    if kind in _NUMERIC_TYPES:
        number = _as_number(value, kind)
        return (0, number) if number is not None else (1, 0)
    return (0, value.lower())


def _as_number(value: str | None, kind: str) -> float | None:
    if value is None or value == "":
        return None
    if kind in ("datetime", "date"):
        ms = parse_time_ms(value)
        return float(ms) if ms is not None else None
    try:
        return float(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Filter:
    name: str
    operator: str
    kind: str
    value: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any], kinds: Mapping[str, str]) -> "_Filter":
        name, operator = raw.get("propertyName"), str(raw.get("operator", "")).upper()
        if not name or operator not in {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
                                        "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
            raise _HubSpotError(400, f"bad filter {dict(raw)!r}")
        if name not in kinds:
            raise _HubSpotError(400, f"There was a problem with the request: property {name!r} does not exist")
        kind = kinds[name]

        def conv(v: Any) -> Any:
            if v is None:
                return None
            if kind in _NUMERIC_TYPES:
                number = _as_number(str(v), kind)
                if number is None:
                    raise _HubSpotError(400, f"filter value {v!r} for {name} is not a {kind}")
                return number
            return str(v).lower()

        return cls(name, operator, kind, conv(raw.get("value")), conv(raw.get("highValue")),
                   tuple(conv(v) for v in raw.get("values") or ()))

    def matches(self, values: Mapping[str, str | None]) -> bool:
        raw = values.get(self.name)
        present = raw not in (None, "")
        if self.operator == "HAS_PROPERTY":
            return present
        if self.operator == "NOT_HAS_PROPERTY":
            return not present
        if not present:
            return self.operator in ("NEQ", "NOT_IN")
        value = _as_number(raw, self.kind) if self.kind in _NUMERIC_TYPES else str(raw).lower()
        if value is None:
            return False
        op = self.operator
        if op == "EQ":
            return value == self.value
        if op == "NEQ":
            return value != self.value
        if op == "IN":
            return value in self.values
        if op == "NOT_IN":
            return value not in self.values
        if op == "CONTAINS_TOKEN":
            return str(self.value).strip("*") in str(value)
        if op == "NOT_CONTAINS_TOKEN":
            return str(self.value).strip("*") not in str(value)
        if self.value is None:
            return False
        if op == "BETWEEN":
            return self.high is not None and self.value <= value <= self.high
        return {"LT": value < self.value, "LTE": value <= self.value, "GT": value > self.value,
                "GTE": value >= self.value}[op]


def _lower_bound(groups: list[list[_Filter]], modified: str) -> int | None:
    """The earliest modified time any group can match, so the store skips older rows (None: no bound)."""
    bounds: list[float] = []
    for group in groups:
        lows = [f.value for f in group if f.name == modified and f.operator in ("GT", "GTE", "EQ", "BETWEEN")
                and f.value is not None]
        if not lows:
            return None
        bounds.append(max(lows))
    return int(min(bounds)) if bounds else None
