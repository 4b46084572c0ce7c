"""Fixtures of the HubSpot connector tests: a sandbox portal served over real HTTP, and connectors aimed at it.

Imported by the tests/connectors/test_hubspot*.py modules (tests/connectors/conftest.py belongs to the
Salesforce tests). Time is injected, not slept: connectors get a `Sleeps` recorder, so retries and
Retry-After waits are asserted without waiting them out.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hubspot
import pandas as pd
import pytest

from config.sections.connectors import ConnectorConfig
from connectors.base import Watermark, WriteBackItem, WriteBackResult
from connectors.hubspot import HubSpotConnector
from connectors.sandbox.faults import FaultInjector, FaultSettings, RequestStats
from connectors.sandbox.hubspot_app import SANDBOX_TOKEN, HubSpotSandboxSettings, create_hubspot_app, hubspot_error_body
from connectors.sandbox.hubspot_store import HubSpotStore, seed_hubspot
from connectors.sandbox.server import RunningServer, serve

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
AGENTS = [
    {"name": "Ana Lopez", "email": "ana@lender.example", "active": True},
    {"name": "Ben Okafor", "email": "ben@lender.example", "active": True},
    {"name": "Cy Retired", "email": "cy@lender.example", "active": False},
]
FAST_RETRY = {"initial_wait_s": 0.001, "max_wait_s": 0.01, "jitter_s": 0.0, "max_total_s": 60.0, "max_attempts": 6}


class Sleeps:
    """Stands in for time.sleep: records each requested wait and returns at once; `clock` counts the waits as passed."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def clock(self) -> float:
        return time.monotonic() + sum(self.waits)


def make_leads(n: int, *, start: datetime = T0, step: timedelta = timedelta(seconds=1), first: int = 0,
               same_time: bool = False) -> pd.DataFrame:
    """Clean leads L<i>, modified one `step` apart (or all at `start`)."""
    rows = []
    for i in range(first, first + n):
        stamp = start if same_time else start + step * (i - first)
        rows.append({
            "lead_id": f"L{i:05d}", "first_name": "Pat", "last_name": f"Lee{i}", "email": f"pat{i}@mail.example",
            "phone": f"(415) 555-{i % 10000:04d}", "state": "CA", "zip_code": "94110", "loan_amount": 300000 + i,
            "loan_purpose": "purchase", "loan_type": "conventional", "property_value": 400000, "credit_score": 700,
            "annual_income": 120000, "tcpa_consent": True, "created_at": stamp, "updated_at": stamp,
        })
    return pd.DataFrame(rows)


def item_for(crm_id: str, owner: str | None = None, score: int = 72, hash_: str | None = None) -> WriteBackItem:
    """A write-back with a score, reasons and (optionally) an assignment to `owner`."""
    return WriteBackItem(
        crm_id=crm_id, idempotency_key=f"score:{crm_id}:v1", score=score, probability=score / 100, confidence=0.8,
        model_version="ens-2026.10", scored_at=T0, reasons=["Credit score 700: +5", "Loan amount: +2"],
        compliance_status="eligible", owner_crm_user_id=owner,
        assignment_external_id=f"asg-{crm_id}" if owner else None,
        assignment_reason="licensed in CA, best match" if owner else None, input_hash=hash_)


@dataclass
class HubSpotSandbox:
    """A running sandbox portal: its URL, store (to seed and inspect), request stats and fault injector."""

    url: str
    store: HubSpotStore
    stats: RequestStats
    injector: FaultInjector
    settings: HubSpotSandboxSettings
    sleeps: Sleeps = field(default_factory=Sleeps)
    _connectors: list[HubSpotConnector] = field(default_factory=list)

    def connector(self, *, sleep: Callable[[float], None] | None = None, **overrides: Any) -> HubSpotConnector:
        """A connector on this portal (fast retries, no real sleeping unless `sleep` is given)."""
        settings: dict[str, Any] = {"access_token": SANDBOX_TOKEN, "host": self.url, "retry": dict(FAST_RETRY),
                                    "overlap_s": 0}  # exact watermarks; test_hubspot_search covers the overlap
        retry = overrides.pop("retry", {})
        settings["retry"].update(retry)
        settings.update(overrides)
        config = ConnectorConfig(name="hubspot-test", plugin="hubspot", settings=settings)
        connector = HubSpotConnector(config, HubSpotConnector.config_model.model_validate(settings),
                                     sleep=sleep or self.sleeps,
                                     clock=time.monotonic if sleep else self.sleeps.clock)
        self._connectors.append(connector)
        return connector

    def client(self) -> hubspot.Client:
        """The real client as a sales user would use it (e.g. to edit a contact)."""
        return hubspot.Client.create(access_token=SANDBOX_TOKEN, host=self.url)

    def count(self, endpoint: str) -> int:
        return self.stats.snapshot().get(endpoint, 0)

    def contact_ids(self) -> list[str]:
        return sorted(str(o.id) for o in self.store.scan("contacts"))

    def close(self) -> None:
        for connector in self._connectors:
            connector.close()


SandboxFactory = Callable[..., HubSpotSandbox]


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[SandboxFactory]:
    """Factory: `make_sandbox(leads=DataFrame, search_cap=..., with_leadpilot_properties=...)` -> a started portal."""
    running: list[tuple[RunningServer, HubSpotSandbox]] = []

    def start(leads: pd.DataFrame | None = None, *, agents: list[dict[str, Any]] | None = None,
              with_leadpilot_properties: bool = True, faults: FaultSettings | None = None,
              **sandbox_settings: Any) -> HubSpotSandbox:
        db = tmp_path / f"hubspot-{len(running)}.sqlite"
        seed_hubspot(db, leads if leads is not None else make_leads(0), AGENTS if agents is None else agents,
                     with_leadpilot_properties=with_leadpilot_properties)
        stats = RequestStats()
        injector = FaultInjector(faults or FaultSettings(), error_body=hubspot_error_body)
        settings = HubSpotSandboxSettings(**sandbox_settings)
        server = serve(create_hubspot_app(db, injector, stats, settings=settings))
        sandbox = HubSpotSandbox(server.url, HubSpotStore(db), stats, injector, settings)
        running.append((server, sandbox))
        return sandbox

    yield start
    for server, sandbox in running:
        sandbox.close()
        server.stop()


def drain(connector: HubSpotConnector, since: Watermark, limit: int, max_calls: int = 200) -> tuple[list[str], Watermark, int]:
    """fetch_changed until complete: (crm ids in delivery order, final watermark, number of fetch calls)."""
    ids: list[str] = []
    calls = 0
    while True:
        calls += 1
        assert calls <= max_calls, "fetch_changed never completed (a paging loop?)"
        result = connector.fetch_changed(since, limit)
        assert len(result.leads) <= limit
        ids.extend(lead.crm_id for lead in result.leads)
        since = result.next_watermark
        if result.complete:
            return ids, since, calls


def failed(results: list[WriteBackResult]) -> list[WriteBackResult]:
    return [r for r in results if not r.ok]
