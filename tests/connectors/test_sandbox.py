"""The sandbox infrastructure: TLS files, fault injection, request counts, SOQL subset, `leadpilot sandbox serve`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from fastapi import FastAPI
from simple_salesforce import Salesforce

from connectors.sandbox.faults import FaultInjector, FaultSettings, RequestStats, install_faults
from connectors.sandbox.server import serve
from connectors.sandbox.soql import SoqlError, parse
from connectors.sandbox.tls import TlsFiles, ensure_ca_and_cert


def _app() -> tuple[FastAPI, FaultInjector, RequestStats]:
    app = FastAPI()
    injector, stats = FaultInjector(), RequestStats()
    install_faults(app, injector, stats, name_of=lambda method, path: f"{method} {path}")

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    return app, injector, stats


def _session(tls: TlsFiles) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls.ca_cert)
    return session


def test_tls_files_are_reused_while_valid_and_verify_with_their_ca(tls_files: TlsFiles, tmp_path: Path) -> None:
    again = ensure_ca_and_cert(tls_files.ca_cert.parent)
    assert again.cert.read_bytes() == tls_files.cert.read_bytes()
    fresh = ensure_ca_and_cert(tmp_path)
    assert fresh.ca_cert.read_bytes() != tls_files.ca_cert.read_bytes()
    assert oct(fresh.key.stat().st_mode & 0o777) == "0o600"


def test_faults_counts_and_control_paths_over_https(tls_files: TlsFiles) -> None:
    app, injector, stats = _app()
    with serve(app, ssl_certfile=str(tls_files.cert), ssl_keyfile=str(tls_files.key)) as server:
        session = _session(tls_files)
        assert server.url.startswith("https://127.0.0.1:")
        assert session.get(f"{server.url}/ping").json() == {"ok": True}

        session.post(f"{server.url}/__sandbox/faults", json={"rate_429": 1.0, "retry_after_s": 3}).raise_for_status()
        limited = session.get(f"{server.url}/ping")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"

        injector.update(rate_429=0.0, rate_500=1.0)
        assert session.get(f"{server.url}/ping").status_code == 500

        injector.update(rate_500=0.0, drop_rate=1.0)
        with pytest.raises(requests.ConnectionError):
            session.get(f"{server.url}/ping")

        bad = session.post(f"{server.url}/__sandbox/faults", json={"rate_429": 2})
        assert bad.status_code == 400 and "between 0 and 1" in bad.text
        unknown = session.post(f"{server.url}/__sandbox/faults", json={"typo": 1})
        assert unknown.status_code == 400 and "unknown fault setting" in unknown.text

        counts = session.get(f"{server.url}/__sandbox/stats").json()
        assert counts == {"total": 4, "by_endpoint": {"GET /ping": 4}}  # control paths are not counted
        session.post(f"{server.url}/__sandbox/stats/reset")
        assert stats.snapshot() == {}


def test_fault_draws_are_deterministic_per_seed() -> None:
    def draws(seed: int) -> list[bool]:
        injector = FaultInjector(FaultSettings(partial_failure_rate=0.3, seed=seed))
        return [injector.partial_failure() for _ in range(50)]

    assert draws(4) == draws(4) and draws(4) != draws(5)
    assert 5 <= sum(draws(4)) <= 25


def test_faults_can_target_named_endpoints_only() -> None:
    injector = FaultInjector(FaultSettings(rate_500=1.0, endpoints=["composite"]))
    assert injector.maybe_fail("query") is None
    failed = injector.maybe_fail("composite")
    assert failed is not None and failed.status_code == 500


@pytest.mark.parametrize("soql, code", [
    ("SELECT Id FROM Lead WHERE LastName = 'O'Brien'", "MALFORMED_QUERY"),  # an unescaped quote
    ("SELECT Id FROM Lead WHERE LastName = 'a\\qb'", "MALFORMED_QUERY"),  # an unknown escape
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Id Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead LIMIT -1", "MALFORMED_QUERY"),
])
def test_soql_the_sandbox_refuses_what_salesforce_refuses(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(soql)
    assert caught.value.code == code


def test_soql_escapes_and_typed_literals_parse() -> None:
    query = parse("SELECT Id, Owner.Name FROM Lead WHERE (LastName = 'O\\'Brien \\\\ x' OR Credit_Score__c >= 700.5) "
                  "AND SystemModstamp > 2026-01-01T00:00:00.250Z AND Email NOT IN ('a', 'b') "
                  "ORDER BY SystemModstamp DESC NULLS LAST, Id LIMIT 5")
    assert query.fields == ["Id", "Owner.Name"] and query.limit == 5
    assert query.order_by == [("SystemModstamp", True, True), ("Id", False, False)]
    assert query.where is not None and query.where[1][0][1][0][3] == "O'Brien \\ x"


def test_sandbox_serve_runs_as_its_own_process_and_keeps_records(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "daemon.cli", "sandbox", "serve", "--salesforce-port", "0", "--no-hubspot",
            "--state", str(tmp_path / "state"), "--json"]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line, proc.stderr.read() if proc.stderr else ""
        info = json.loads(line)["salesforce"]
        settings = info["settings"]
        session = requests.Session()
        session.trust_env = False
        session.verify = settings["ca_bundle"]
        client = Salesforce(username=settings["username"], password=settings["password"],
                            security_token=settings["security_token"], domain=settings["domain"], session=session)
        client.Lead.create({"LastName": "Kept", "Company": "Kept household"})
        assert client.query("SELECT LastName FROM Lead")["records"][0]["LastName"] == "Kept"
        assert session.get(f"{info['url']}/__sandbox/stats").json()["by_endpoint"]["sobject_create"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    # the store outlives the process
    from connectors.sandbox.salesforce_store import SalesforceStore
    store = SalesforceStore(tmp_path / "state" / "salesforce.db")
    assert [r["LastName"] for r in store.records("Lead")] == ["Kept"]


def test_latency_is_injected_per_request(tls_files: TlsFiles) -> None:
    import time

    app, injector, _ = _app()
    injector.update(latency_ms=250)
    with serve(app, ssl_certfile=str(tls_files.cert), ssl_keyfile=str(tls_files.key)) as server:
        session = _session(tls_files)
        started = time.perf_counter()
        assert session.get(f"{server.url}/ping").status_code == 200
        assert time.perf_counter() - started >= 0.25


def test_store_writes_are_stamped_after_every_seeded_stamp_even_future_ones(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from connectors.sandbox.salesforce_seed import setup_org
    from connectors.sandbox.salesforce_store import SalesforceStore, Write
    from connectors.sandbox.soql import parse_soql_datetime

    store = SalesforceStore(tmp_path / "sf.db")
    users = setup_org(store, with_leadpilot_fields=False)
    future = datetime.now(UTC) + timedelta(days=30)
    seeded = store.insert_raw("Lead", {"LastName": "Future"}, created=future)
    user = users["integration@leadpilot.sandbox"]

    first, second = (store.apply([Write("update", "Lead", {"Company": c}, record_id=seeded)], user) for c in "ab")

    assert first[0].success and second[0].success
    stamp = parse_soql_datetime(store.get("Lead", seeded)["SystemModstamp"])  # type: ignore[index]
    assert stamp > future
    assert store.get("Lead", seeded)["LastModifiedById"] == user  # type: ignore[index]
