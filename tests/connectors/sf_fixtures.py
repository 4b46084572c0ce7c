"""Fixtures and helpers of the Salesforce connector tests: a sandbox org served over real HTTPS, connectors aimed at it.

The real simple-salesforce client talks to the sandbox through TLS with the sandbox's own CA; nothing
is patched. Retry waits go to a recorder (`Sleeps`) instead of sleeping, so Retry-After is asserted,
not waited out. (hubspot_fixtures.py holds the HubSpot tests' fixtures.)
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from simple_salesforce import Salesforce

from config.sections.connectors import ConnectorConfig
from connectors.base import WriteBackItem
from connectors.salesforce import SalesforceConnector
from connectors.sandbox.faults import FaultInjector, RequestStats
from connectors.sandbox.salesforce_app import create_salesforce_app, fault_body
from connectors.sandbox.salesforce_seed import IDENTITY, seed_leads, seed_users, setup_org
from connectors.sandbox.salesforce_store import SalesforceStore
from connectors.sandbox.server import RunningServer, serve
from connectors.sandbox.tls import TlsFiles, ensure_ca_and_cert

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
AGENTS = [
    {"agent_id": "A1", "name": "Ana Lopez", "email": "ana@lender.example", "active": True},
    {"agent_id": "A2", "name": "Ben Okafor", "email": "ben@lender.example", "active": True},
    {"agent_id": "A3", "name": "Cy Retired", "email": "cy@lender.example", "active": False},
]
FAST_RETRY = {"initial_wait_s": 0.001, "max_wait_s": 0.01, "jitter_s": 0.0, "max_total_s": 60.0, "max_attempts": 8}


class Sleeps:
    """Stands in for time.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_leads(n: int, *, start: datetime = T0, step: timedelta = timedelta(seconds=1), first: int = 0,
               **overrides: Any) -> pd.DataFrame:
    """n clean canonical leads, created `step` apart from `start`."""
    rows = []
    for i in range(first, first + n):
        created = start + step * (i - first)
        rows.append({
            "lead_id": f"L{i:05d}", "first_name": "Pat", "last_name": f"Lead{i}", "email": f"lead{i}@example.com",
            "phone": f"201{(2000000 + i) % 10_000_000:07d}", "state": "TX", "zip_code": "75001",
            "loan_amount": 300_000 + i, "loan_purpose": "purchase", "loan_type": "conventional",
            "credit_score": 700 + i % 100, "annual_income": 95_000.0, "tcpa_consent": True,
            "created_at": created, "updated_at": created, "converted": False, **overrides,
        })
    return pd.DataFrame(rows)


@dataclass
class SfSandbox:
    """One sandbox org behind a running HTTPS server."""

    server: RunningServer
    store: SalesforceStore
    injector: FaultInjector
    stats: RequestStats
    tls: TlsFiles
    users: dict[str, str]
    connectors: list[SalesforceConnector] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.server.port}/login"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        base = {"auth": "password", "username": IDENTITY.integration_username, "password": IDENTITY.password,
                "security_token": IDENTITY.security_token, "domain": self.domain, "ca_bundle": str(self.tls.ca_cert),
                "quota_floor": 0, "retry": dict(FAST_RETRY)}
        base.update(overrides)
        return base

    def connector(self, *, field_mapping: dict[str, str] | None = None, **overrides: Any) -> SalesforceConnector:
        config = ConnectorConfig(name="sf-test", plugin="salesforce", settings=self.settings(**overrides),
                                 field_mapping=field_mapping or {})
        connector = SalesforceConnector.from_config(config)
        connector.sleep = Sleeps()
        self.connectors.append(connector)
        return connector

    def http_stats(self) -> dict[str, int]:
        """Requests per endpoint, read from the sandbox's stats endpoint over HTTPS."""
        response = requests.get(f"{self.server.url}/__sandbox/stats", verify=str(self.tls.ca_cert), timeout=10)
        response.raise_for_status()
        return dict(response.json()["by_endpoint"])

    def reset_stats(self) -> None:
        requests.post(f"{self.server.url}/__sandbox/stats/reset", verify=str(self.tls.ca_cert), timeout=10)

    def set_faults(self, **settings: Any) -> None:
        response = requests.post(f"{self.server.url}/__sandbox/faults", json=settings, verify=str(self.tls.ca_cert),
                                 timeout=10)
        assert response.status_code == 200, response.text

    def sales_client(self) -> Salesforce:
        """simple-salesforce logged in as the sales user, as a person on the sales team would be."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the sandbox CA
        session.verify = str(self.tls.ca_cert)
        return Salesforce(username=IDENTITY.sales_username, password=IDENTITY.sales_password,
                          security_token=IDENTITY.sales_token, domain=self.domain, session=session)

    def seed(self, leads: pd.DataFrame) -> list[str]:
        return seed_leads(self.store, leads)

    def assignments(self) -> list[dict[str, Any]]:
        return self.store.records("Lead_Assignment__c")


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_ca_and_cert(tmp_path_factory.mktemp("tls"))


def _start(tmp_path: Path, tls: TlsFiles, *, with_fields: bool, page_size: int = 2000) -> SfSandbox:
    store = SalesforceStore(tmp_path / "salesforce.db")
    setup_org(store, with_leadpilot_fields=with_fields)
    users = seed_users(store, AGENTS)
    injector = FaultInjector(error_body=fault_body)
    stats = RequestStats()
    app = create_salesforce_app(store, injector, stats, page_size=page_size)
    server = serve(app, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))
    return SfSandbox(server, store, injector, stats, tls, users)


@pytest.fixture
def sf(tmp_path: Path, tls_files: TlsFiles) -> Iterator[SfSandbox]:
    """A sandbox org with leadpilot's fields installed and three agents (one inactive), no leads."""
    sandbox = _start(tmp_path, tls_files, with_fields=True)
    yield sandbox
    for connector in sandbox.connectors:
        connector.close()
    sandbox.server.stop()
    sandbox.store.close()


@pytest.fixture
def bare_sf(tmp_path: Path, tls_files: TlsFiles) -> Iterator[SfSandbox]:
    """A sandbox org without leadpilot's custom fields (for crm check/setup)."""
    sandbox = _start(tmp_path, tls_files, with_fields=False)
    yield sandbox
    for connector in sandbox.connectors:
        connector.close()
    sandbox.server.stop()
    sandbox.store.close()


def item_for(crm_id: str, owner: str | None, *, key: str | None = None, score: int = 72,
             input_hash: str = "hash-1", **extra: Any) -> WriteBackItem:
    """A write-back item with every score field set."""
    values: dict[str, Any] = dict(
        crm_id=crm_id, idempotency_key=key or f"assign:{crm_id}:{input_hash}", score=score, probability=0.3172,
        confidence=0.81, model_version="2026.10-a", scored_at=T0 + timedelta(hours=1),
        reasons=["Credit score 760: +9", "Loan-to-value 80%: +4"], compliance_status="eligible",
        compliance_reasons=[], owner_crm_user_id=owner, assignment_external_id=key or f"assign:{crm_id}",
        assignment_reason="best match: licensed in TX, capacity 12/25", match_score=0.8123,
        routing_outcome="assigned", ab_arm="champion", input_hash=input_hash,
    )
    values.update(extra)
    return WriteBackItem(**values)
