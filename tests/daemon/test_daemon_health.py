"""daemon/health.py over real HTTP: liveness from the heartbeat, readiness from the store, metrics."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from config.sections.observability import MetricsConfig
from daemon.health import Check, HealthServer, HealthServerError, Heartbeat, ReadinessReport, store_readiness
from daemon.metrics import Metrics
from daemon.store import StoreError, SyncState, session_scope

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def ready() -> ReadinessReport:
    return ReadinessReport.of({"database": Check(True, "reachable")})


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def server(ticks: Ticks) -> Iterator[HealthServer]:
    srv = HealthServer(metrics=Metrics.create(process_metrics=False), readiness=ready,
                       heartbeat=Heartbeat(ticks), port=0, liveness_limit_s=60)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def get(server: HealthServer, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=5)


def test_given_port_0_then_a_free_port_is_picked_on_localhost(server) -> None:
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"


def test_healthz_is_200_while_the_heartbeat_is_fresh_and_503_once_it_is_older_than_the_limit(server, ticks) -> None:
    first = get(server, "/healthz")
    assert first.status_code == 200 and first.json()["ok"] is True
    ticks.t += 61
    stale = get(server, "/healthz")
    assert stale.status_code == 503
    assert stale.json() == {"ok": False, "heartbeat_age_s": 61.0, "limit_s": 60}
    server.heartbeat.beat()
    assert get(server, "/healthz").status_code == 200


def test_readyz_returns_the_checks_and_503_when_one_fails(server) -> None:
    assert get(server, "/readyz").json() == {"ok": True, "checks": {"database": {"ok": True, "detail": "reachable"}}}
    server.readiness = lambda: ReadinessReport.of({
        "database": Check(True, "reachable"), "connector:sf": Check(False, "no successful poll yet")})
    response = get(server, "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["connector:sf"] == {"ok": False, "detail": "no successful poll yet"}


def test_readyz_is_503_with_the_reason_when_the_check_itself_fails(server, caplog) -> None:
    def store_down() -> ReadinessReport:
        raise StoreError("cannot reach the database postgresql://db/lp")

    def buggy() -> ReadinessReport:
        raise KeyError("connector")

    server.readiness = store_down
    response = get(server, "/readyz")
    assert response.status_code == 503 and "cannot reach the database" in response.json()["error"]
    server.readiness = buggy
    response = get(server, "/readyz")
    assert response.status_code == 503 and "KeyError" in response.json()["error"]
    assert "readiness check raised" in caplog.text


def test_a_report_without_checks_is_not_ready() -> None:
    assert ReadinessReport.of({}).ok is False


def test_metrics_serves_prometheus_text_of_the_registry(server) -> None:
    server.metrics.leads_fetched.labels(connector="sf").inc(3)
    response = get(server, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert 'leadpilot_leads_fetched_total{connector="sf"} 3.0' in response.text


def test_unknown_path_is_404_and_post_is_refused(server) -> None:
    missing = get(server, "/status")
    assert missing.status_code == 404 and "/healthz" in missing.json()["error"]
    assert httpx.post(server.url + "/healthz", timeout=5).status_code == 501


def test_given_the_port_is_taken_then_start_fails_with_an_actionable_error(ticks) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        srv = HealthServer.from_config(MetricsConfig(port=port), metrics=Metrics.create(process_metrics=False),
                                       readiness=ready, heartbeat=Heartbeat(ticks))
        with pytest.raises(HealthServerError, match=rf"127\.0\.0\.1:{port}.*observability\.metrics"):
            srv.start()


def test_after_stop_nothing_listens_and_stop_is_idempotent(ticks) -> None:
    srv = HealthServer(metrics=Metrics.create(process_metrics=False), readiness=ready, heartbeat=Heartbeat(ticks))
    with srv:
        url = srv.url
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    srv.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=2)


def test_an_ipv6_host_is_served_when_the_machine_has_ipv6(ticks) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    srv = HealthServer(metrics=Metrics.create(process_metrics=False), readiness=ready,
                       heartbeat=Heartbeat(ticks), host="::1")
    try:
        srv.start()
    except HealthServerError as exc:
        pytest.skip(f"::1 not configured here: {exc}")
    with srv:
        assert srv.url.startswith("http://[::1]:")
        assert httpx.get(srv.url + "/healthz", timeout=5).status_code == 200


# --- store_readiness on both backends ----------------------------------------------------------

def put_sync(engine, connector: str, last_success_at: datetime | None, stream: str = "leads") -> None:
    with session_scope(engine) as session:
        session.add(SyncState(connector=connector, stream=stream, last_success_at=last_success_at))


def test_store_readiness_needs_every_connector_polled_within_its_limit(engine) -> None:
    readiness = store_readiness(engine, {"sf": 90, "hs": 90}, clock=lambda: NOW)
    report = readiness()
    assert not report.ok and report.checks["database"].ok
    assert report.checks["connector:sf"] == Check(False, "no successful poll yet")
    put_sync(engine, "sf", NOW - timedelta(seconds=30))
    put_sync(engine, "hs", NOW - timedelta(seconds=200))
    put_sync(engine, "hs", NOW, stream="outcomes")  # another stream does not count
    report = readiness()
    assert report.checks["connector:sf"].ok
    assert report.checks["connector:hs"] == Check(False, "last successful poll 200 s ago, over the 90 s limit")
    assert not report.ok
    assert store_readiness(engine, {"sf": 90}, clock=lambda: NOW)().ok


def test_store_readiness_with_the_database_down_is_not_ready_and_says_why() -> None:
    engine = sa.create_engine("postgresql+psycopg://leadpilot@127.0.0.1:1/none", connect_args={"connect_timeout": 2},
                              poolclass=sa.NullPool)
    report = store_readiness(engine, {"sf": 90})()
    assert not report.ok
    assert not report.checks["database"].ok and "cannot reach the database" in report.checks["database"].detail
    assert report.checks["connector:sf"] == Check(False, "unknown: the database cannot be read")


def test_readyz_over_http_reflects_the_store(engine, ticks) -> None:
    put_sync(engine, "sf", NOW - timedelta(seconds=5))
    srv = HealthServer(metrics=Metrics.create(process_metrics=False), heartbeat=Heartbeat(ticks),
                       readiness=store_readiness(engine, {"sf": 60}, clock=lambda: NOW))
    with srv:
        response = httpx.get(srv.url + "/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["checks"]["connector:sf"] == {"ok": True, "detail": "last successful poll 5 s ago"}
