"""Property-based fuzzing against the served OpenAPI document: no body, query or byte string gets a 5xx.

Bodies are generated from the schemas in /api/v1/openapi.json (every property, with values of its
declared type or junk of any JSON type), plus extra keys, wrong shapes and raw bytes. Hypothesis
drives it directly (no schemathesis), bounded to 100 examples so the suite stays quick.
"""
from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
JUNK = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
SPECIAL_TEXT = st.sampled_from(["", " ", "N/A", "$250,000", "250k", "1e400", "-0", "Texas", "tx", "yes", "\x00",
                                "\ud800", "(512) 555-0142", "not-an-email", "2026-13-45T99:00:00Z", "9" * 400,
                                "1700000000000", "true", "🏠" * 5])


def _typed(schema: dict[str, Any], *, within: bool = False) -> st.SearchStrategy[Any]:
    """Values of the type a (resolved) JSON schema declares; `within`: its examples, or numbers in its bounds."""
    if within and schema.get("examples"):
        return st.sampled_from(schema["examples"])
    if "anyOf" in schema:
        lo, hi = (schema.get("minimum"), schema.get("maximum")) if within else (None, None)
        return st.one_of(*[_typed({**s, "minimum": lo, "maximum": hi}, within=within) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date-time":
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if kind == "integer":
        return st.integers(min_value=int(lo) if lo is not None else -10**6, max_value=int(hi) if hi is not None else 10**6)
    if kind == "number":
        return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)
    if kind == "string":
        size = {"min_size": schema.get("minLength", 0), "max_size": min(schema.get("maxLength", 40), 40)}
        clean = st.text(st.characters(blacklist_categories=("Cs", "Cc")), **size)
        return clean if within else clean | SPECIAL_TEXT
    return {"boolean": st.booleans(), "null": st.none()}.get(kind, JUNK)


def _object(schema: dict[str, Any], *, junk: bool) -> st.SearchStrategy[dict[str, Any]]:
    """An object of the schema: required keys always, the others sometimes; values of the declared type,
    or (junk) of any type plus extra keys."""
    props = schema.get("properties", {})
    required = list(schema.get("required", []))  # a list: a set's order changes with PYTHONHASHSEED
    value = {name: (_typed(s) | JUNK) if junk else _typed(s, within=True) for name, s in props.items()}
    body = st.fixed_dictionaries({n: value[n] for n in required},
                                 optional={n: v for n, v in value.items() if n not in required})
    if not junk:
        return body
    extra = st.dictionaries(st.sampled_from(["race", "crm_id", "converted", "whatever", ""]), JUNK, max_size=2)
    return st.tuples(body, extra).map(lambda t: {**t[0], **t[1]})


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return _object(schema, junk=False) | _object(schema, junk=True)


@pytest.fixture(scope="session")
def openapi(api: Any, token: str) -> dict[str, Any]:
    doc = httpx.get(api.url + "/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    assert {"/api/v1/score", "/api/v1/score/batch", "/api/v1/feedback", "/api/v1/model/performance"} <= set(doc["paths"])
    return doc


def _requests(doc: dict[str, Any]) -> st.SearchStrategy[tuple[str, str, Any, dict[str, str]]]:
    schemas = doc["components"]["schemas"]
    lead_ids = st.sampled_from(["fz-1", "fz-2", "fz-3", " fz-1 ", "fz-4"]) | st.text(max_size=12)
    # mostly ids that recur, so replays, repeats with other inputs and feedback on scored leads happen
    def with_ids(objects: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        return st.tuples(objects, lead_ids, st.booleans()).map(lambda t: {**t[0], "lead_id": t[1]} if t[2] else t[0])

    leads = with_ids(_objects(schemas["LeadData"]))
    clean_leads = with_ids(_object(schemas["LeadData"], junk=False))
    batch = (st.lists(clean_leads, min_size=1, max_size=6, unique_by=lambda d: str(d.get("lead_id")).strip())
             | st.lists(leads, max_size=8)).map(lambda xs: {"leads": xs})
    feedback = st.tuples(_objects(schemas["FeedbackRequest"]), lead_ids, st.booleans()).map(
        lambda t: {**t[0], "lead_id": t[1]} if t[2] else t[0])
    query = st.one_of(st.just({}), st.sampled_from(["true", "false", "1", "maybe", ""]).map(lambda v: {"assign": v}))
    return st.one_of(
        st.tuples(st.just("POST"), st.just("/api/v1/score"), leads | JUNK, query),
        st.tuples(st.just("POST"), st.just("/api/v1/score/batch"), batch | JUNK, query),
        st.tuples(st.just("POST"), st.just("/api/v1/feedback"), feedback | JUNK, st.just({})),
        st.tuples(st.sampled_from(["POST", "PUT", "GET"]), st.sampled_from(sorted(doc["paths"])),
                  st.binary(max_size=64), st.just({})),
    )


def test_given_fuzzed_calls_from_the_openapi_document_then_no_5xx_and_every_error_is_json(
        api: Any, token: str, openapi: dict[str, Any]) -> None:
    client = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    seen: set[tuple[int, str]] = set()

    @settings(max_examples=100, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_requests(openapi))
    # one valid batch for certain: which generated examples are valid shifts whenever the schema grows
    @example(("POST", "/api/v1/score/batch", {"leads": [{"lead_id": "fz-ex", "state": "TX", "credit_score": 700}]}, {}))
    def call(request: tuple[str, str, Any, dict[str, str]]) -> None:
        method, path, body, params = request
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = client.request(method, path, content=content, params=params,
                           headers={"Content-Type": "application/json"})
        seen.add((r.status_code, path))
        assert r.status_code < 500, (method, path, body, r.text)
        if path == "/metrics" and r.status_code == 200:
            assert b"leadpilot_api_requests_total" in r.content
            return
        data = r.json()
        if r.status_code >= 400:
            assert data["error"] and data["request_id"] == r.headers["x-request-id"], r.text
        elif path == "/api/v1/score" and method == "POST":
            assert 0 <= data["score"] <= 100 and data["lead_id"] == body["lead_id"].strip()

    try:
        call()
    finally:
        client.close()
    # the generator reached valid calls as well as invalid ones
    assert {(200, "/api/v1/score"), (422, "/api/v1/score"), (200, "/api/v1/score/batch"), (200, "/api/v1/feedback"),
            (404, "/api/v1/feedback")} <= seen, sorted(seen)
