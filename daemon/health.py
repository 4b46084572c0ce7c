"""/healthz, /readyz and /metrics over HTTP, from a stdlib server in a background thread.

The stdlib server is enough for three GET routes scraped every few seconds, and keeps the
daemon free of an event loop: `start()` binds synchronously (a port in use fails there, with a
clear message) and `.port` is known at once, which port 0 needs.

- /healthz: 200 while the main loop beats the `Heartbeat` at least every `liveness_limit_s`, else 503;
- /readyz: 200 when the runtime's `readiness()` says ok (database reachable, every connector's last
  successful poll recent enough), else 503; the body lists every check;
- /metrics: Prometheus text exposition of the daemon's `Metrics`.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from config.errors import LeadpilotError
from config.sections.observability import MetricsConfig

from daemon.metrics import EXPOSITION_CONTENT_TYPE, Metrics
from daemon.store import StoreError, SyncState, utcnow
from daemon.store.engine import READONLY_OPTION, explain

log = logging.getLogger(__name__)

DEFAULT_LIVENESS_LIMIT_S = 120.0


class HealthServerError(LeadpilotError):
    """The health and metrics endpoint cannot listen where the configuration says."""


@dataclass(frozen=True)
class Check:
    """One readiness condition: whether it holds, and a sentence saying why."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class ReadinessReport:
    """The daemon is ready when every check is ok; /readyz returns this as JSON."""

    ok: bool
    checks: dict[str, Check] = field(default_factory=dict)

    @classmethod
    def of(cls, checks: Mapping[str, Check]) -> ReadinessReport:
        """A report that is ok when there is at least one check and all are ok."""
        return cls(ok=bool(checks) and all(c.ok for c in checks.values()), checks=dict(checks))

    def to_json(self) -> dict[str, Any]:
        """{"ok": bool, "checks": {name: {"ok": bool, "detail": str}}}."""
        return {"ok": self.ok, "checks": {name: asdict(check) for name, check in self.checks.items()}}


Readiness = Callable[[], ReadinessReport]


class Heartbeat:
    """The main loop's sign of life: `beat()` each turn; `age()` is the seconds since the last beat."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()  # a fresh process counts as alive until its first limit passes

    def beat(self) -> None:
        """Record that the main loop is alive now."""
        self._last = self._clock()

    def age(self) -> float:
        """Seconds since the last beat."""
        return max(0.0, self._clock() - self._last)


def store_readiness(engine: Engine, limits: Mapping[str, float], *, stream: str = "leads",
                    clock: Callable[[], datetime] = utcnow) -> Readiness:
    """A `readiness()` over the store: the database answers, and each connector in `limits`
    (name -> seconds) had a successful sync of `stream` (SyncState.last_success_at) within its limit.
    """
    def readiness() -> ReadinessReport:
        checks: dict[str, Check] = {}
        try:
            with engine.execution_options(**{READONLY_OPTION: True}).connect() as conn:
                rows = conn.execute(
                    sa.select(SyncState.connector, SyncState.last_success_at)  # type: ignore[call-overload]
                    .where(SyncState.stream == stream, SyncState.connector.in_(list(limits)))  # type: ignore[union-attr]
                ).all()
        except DBAPIError as exc:
            checks["database"] = Check(False, explain(engine, exc))
            for name in limits:
                checks[f"connector:{name}"] = Check(False, "unknown: the database cannot be read")
            return ReadinessReport.of(checks)
        checks["database"] = Check(True, "reachable")
        last = {connector: at for connector, at in rows}
        now = clock()
        for name, limit in limits.items():
            checks[f"connector:{name}"] = _connector_check(last.get(name), limit, now)
        return ReadinessReport.of(checks)

    return readiness


def _connector_check(last_success: datetime | None, limit_s: float, now: datetime) -> Check:
    if last_success is None:
        return Check(False, "no successful poll yet")
    age = (now - last_success).total_seconds()
    if age > limit_s:
        return Check(False, f"last successful poll {age:.0f} s ago, over the {limit_s:.0f} s limit")
    return Check(True, f"last successful poll {max(age, 0):.0f} s ago")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request stuck on a slow database never blocks stop()

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, owner: HealthServer) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("health endpoint: error while answering %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds a client may take to send its request
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's naming)
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        if path == "/healthz":
            self._json(*owner.liveness())
        elif path == "/readyz":
            self._json(*owner.readiness_response())
        elif path == "/metrics":
            self._send(HTTPStatus.OK, owner.metrics.exposition(), EXPOSITION_CONTENT_TYPE)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}; "
                                                        "try /healthz, /readyz or /metrics"})

    def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's signature)
        # scrapes every few seconds: debug only, and through logging rather than stderr
        log.debug("health endpoint %s: " + format, self.client_address[0], *args)


class HealthServer:
    """Serves /healthz, /readyz and /metrics on host:port from a daemon thread."""

    def __init__(self, *, metrics: Metrics, readiness: Readiness, heartbeat: Heartbeat,
                 host: str = "127.0.0.1", port: int = 0,
                 liveness_limit_s: float = DEFAULT_LIVENESS_LIMIT_S) -> None:
        if liveness_limit_s <= 0:
            raise ValueError(f"liveness_limit_s must be positive, got {liveness_limit_s}")
        self.metrics = metrics
        self.readiness = readiness
        self.heartbeat = heartbeat
        self.host = host
        self.liveness_limit_s = liveness_limit_s
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: MetricsConfig, *, metrics: Metrics, readiness: Readiness,
                    heartbeat: Heartbeat, liveness_limit_s: float = DEFAULT_LIVENESS_LIMIT_S) -> HealthServer:
        """A server on observability.metrics host and port (the caller checks `config.enabled`)."""
        return cls(metrics=metrics, readiness=readiness, heartbeat=heartbeat, host=config.host,
                   port=config.port, liveness_limit_s=liveness_limit_s)

    @property
    def port(self) -> int:
        """The port listened on (the one picked by the system when configured as 0)."""
        if self._server is None:
            raise RuntimeError("the health server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:9464."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind and start serving in a daemon thread; HealthServerError when the address cannot be used."""
        if self._server is not None:
            return
        where = f"{self.host}:{self._requested_port}"
        try:
            family = socket.getaddrinfo(self.host, self._requested_port, type=socket.SOCK_STREAM)[0][0]
            self._server = _Server((self.host, self._requested_port), family, self)
        except OSError as exc:
            raise HealthServerError(
                f"cannot serve /healthz and /metrics on {where}: {exc.strerror or exc}. Set "
                "observability.metrics.host to an address of this machine and .port to a free port "
                "(0 picks one), or set observability.metrics.enabled to false."
            ) from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="health-http", daemon=True)
        self._thread.start()
        log.info("health and metrics endpoint listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def liveness(self) -> tuple[HTTPStatus, dict[str, Any]]:
        """The /healthz answer: 200 when the heartbeat is within the limit, else 503."""
        age = self.heartbeat.age()
        alive = age <= self.liveness_limit_s
        body = {"ok": alive, "heartbeat_age_s": round(age, 3), "limit_s": self.liveness_limit_s}
        return (HTTPStatus.OK if alive else HTTPStatus.SERVICE_UNAVAILABLE), body

    def readiness_response(self) -> tuple[HTTPStatus, dict[str, Any]]:
        """The /readyz answer: 200 when `readiness()` is ok, else 503 (also when it raises)."""
        try:
            report = self.readiness()
        except StoreError as exc:
            log.warning("readiness check failed: %s", exc)
            return HTTPStatus.SERVICE_UNAVAILABLE, {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug in a check: report not-ready (and log it) rather than 500
            log.exception("readiness check raised")
            return HTTPStatus.SERVICE_UNAVAILABLE, {
                "ok": False, "error": f"the readiness check raised {type(exc).__name__} (see the daemon's log)"}
        return (HTTPStatus.OK if report.ok else HTTPStatus.SERVICE_UNAVAILABLE), report.to_json()
