"""One small demo world (trained model, officers, DNC registry) and one real API server over HTTP for tests/api,
on SQLite and on PostgreSQL (see tests/store_backends.py).

A world is built once per backend and run (it takes seconds); tests keep apart by giving their leads unique ids.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from config.canonical import CANONICAL_FIELDS
from config.sections.api import ApiConfig
from connectors.mapping import map_record
from daemon.api import RunningApi, start_api
from daemon.api.schemas import LEAD_FIELDS
from daemon.context import AppContext
from daemon.demo import DemoEnvironment, prepare
from daemon.jobs import sync_agents
from daemon.metrics import Metrics
from daemon_env import SMALL
from store_backends import BACKENDS, POSTGRES, require_postgres, url_in_schema

TOKEN = "test-token-" + "x" * 24
MAX_BATCH = 20
MAX_BODY = 64_000

@pytest.fixture(scope="session", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnvironment]:
    """The demo world with its store on each backend in turn (PostgreSQL skips when no server answers)."""
    url = None
    if request.param == POSTGRES:
        url = url_in_schema(require_postgres(), request.getfixturevalue("pg_schemas").new())
    env = prepare(tmp_path_factory.mktemp(f"api-{request.param}") / "demo", SMALL, database_url=url,
                  say=lambda _: None)
    env.close()  # the sandbox CRMs are not needed: API leads never go to a CRM
    yield env


@pytest.fixture(scope="session")
def ctx(world: DemoEnvironment) -> Iterator[AppContext]:
    context = AppContext.build(world.config, connectors={})
    sync_agents(context)  # officers from the agents file into the store
    yield context
    context.close()


@pytest.fixture(scope="session")
def metrics() -> Metrics:
    return Metrics.create(process_metrics=False)


@pytest.fixture(scope="session")
def api_config() -> ApiConfig:
    return ApiConfig(enabled=True, port=0, tokens=[TOKEN], max_batch=MAX_BATCH, max_body_bytes=MAX_BODY)


@pytest.fixture(scope="session")
def api(ctx: AppContext, metrics: Metrics, api_config: ApiConfig) -> Iterator[RunningApi]:
    running = start_api(lambda: ctx, api_config, metrics=metrics)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def token() -> str:
    return TOKEN


@pytest.fixture
def client(api: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        yield c


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


@pytest.fixture(scope="session")
def pool_leads(world: DemoEnvironment) -> list[dict[str, Any]]:
    """The demo's arriving leads in canonical JSON, consent given a minute ago with its IP and wording."""
    now = datetime.now(UTC)
    leads = []
    for raw in world.pool.head(200).to_dict("records"):
        fields, _ = map_record({k: _json_value(v) for k, v in raw.items()},
                               {name: name for name in CANONICAL_FIELDS if name in raw and name in LEAD_FIELDS})
        lead = {k: _json_value(v) for k, v in fields.items() if v is not None}
        lead.update(tcpa_consent=True, consent_timestamp=(now - timedelta(minutes=1)).isoformat(),
                    consent_method="web_form", consent_ip="203.0.113.7", consent_text="I agree to be called")
        leads.append(lead)
    return leads


@pytest.fixture(scope="session")
def routable(api: RunningApi, pool_leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pool leads that pass compliance and get an officer (scored once, recommendation only)."""
    keep = []
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        for start in range(0, 100, MAX_BATCH):
            chunk = [{**lead, "lead_id": f"probe-{start + i}"} for i, lead in enumerate(pool_leads[start:start + MAX_BATCH])]
            reply = c.post("/api/v1/score/batch", json={"leads": chunk})
            assert reply.status_code == 200, reply.text
            results = reply.json()["results"]
            keep += [pool_leads[start + i] for i, r in enumerate(results)
                     if r["compliance"]["compliant"] and r["routing"]["outcome"] == "assigned"]
    assert len(keep) >= 30, f"only {len(keep)} routable leads in the demo pool"
    return keep


@pytest.fixture
def new_lead(routable: list[dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """new_lead(i, **changes): routable lead i under a lead_id no other test uses."""
    def make(i: int = 0, **changes: Any) -> dict[str, Any]:
        lead = dict(routable[i % len(routable)])
        lead["lead_id"] = f"T-{uuid.uuid4().hex[:12]}"
        lead.update(changes)
        return lead
    return make
