"""Start and stop the scoring API: uvicorn in a background thread of the daemon (or of a test or bench).

    api = start_api(lambda: runtime.ctx, config.api, metrics=runtime.metrics, heartbeat=runtime.heartbeat)
    ...                      # api.url is e.g. http://127.0.0.1:8080
    api.stop()
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from sqlalchemy.engine import Engine

from config.sections.api import ApiConfig
from daemon.api.app import api_readiness, build_app
from daemon.api.errors import ApiServerError
from daemon.api.guard import ASGIApp, Guard
from daemon.api.metrics import ApiMetrics
from daemon.api.scorer import Scorer
from daemon.context import AppContext
from daemon.health import Heartbeat, HealthServer
from daemon.metrics import Metrics
from daemon.store.checkpoint import WalCheckpointer

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 15.0


@dataclass
class RunningApi:
    """A serving API; `url` is its base URL (the port is the bound one when api.port is 0)."""

    host: str
    port: int
    scorer: Scorer
    _server: uvicorn.Server
    _thread: threading.Thread
    _switch_interval_s: float  # the interpreter's before the API started, restored on stop
    _checkpointer: WalCheckpointer

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking calls, let those in flight finish (within `timeout_s`), stop the scorer."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2.0)
        self.scorer.stop(timeout_s)
        self._checkpointer.stop()
        sys.setswitchinterval(self._switch_interval_s)


def build_asgi(ctx_getter: Callable[[], AppContext | None], config: ApiConfig, *, metrics: Metrics | None = None,
               heartbeat: Heartbeat | None = None) -> tuple[ASGIApp, Scorer]:
    """The guarded application and its (not yet started) scorer, for `start_api` or another ASGI server."""
    metrics = metrics or Metrics.create(process_metrics=False)
    api_metrics = ApiMetrics.of(metrics.registry)
    scorer = Scorer(ctx_getter, config, metrics, api_metrics)
    health = HealthServer(metrics=metrics, readiness=api_readiness(ctx_getter, scorer),
                          heartbeat=heartbeat or scorer.heartbeat)
    app = build_app(ctx_getter, config, scorer, health=health)
    guard = Guard(app, tokens=[t.get_secret_value() for t in config.tokens], max_body_bytes=config.max_body_bytes,
                  metrics=api_metrics)
    return guard, scorer


def _engine_of(ctx: AppContext | None) -> Engine | None:
    return ctx.engine if ctx is not None else None


def start_api(ctx_getter: Callable[[], AppContext | None], config: ApiConfig, *, metrics: Metrics | None = None,
              heartbeat: Heartbeat | None = None) -> RunningApi:
    """Serve the API on config.host:config.port; returns once it accepts connections (ApiServerError if it cannot).

    `ctx_getter` is asked for the context on every call, so a SIGHUP reload is picked up; `metrics` is the
    daemon's (the API's series join them); `heartbeat` is the main loop's, for /healthz (default: the
    scorer thread's own).
    """
    app, scorer = build_asgi(ctx_getter, config, metrics=metrics, heartbeat=heartbeat)
    # A call crosses threads three times (HTTP loop, replay check, deciding thread); each crossing waits
    # for the running thread's turn to end, 5 ms by default: at 100 calls/s that was most of the p99.
    previous_switch = sys.getswitchinterval()
    sys.setswitchinterval(config.switch_interval_ms / 1000)
    scorer.start()
    # "auto": httptools' C parser and uvloop (both dependencies) where installed, else h11 and asyncio
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, log_level="warning", access_log=False, lifespan="off",
        http="auto", loop="auto", timeout_keep_alive=30, server_header=False))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # noqa: BLE001 - uvicorn exits with SystemExit on a bind error; reported below
            failure.append(exc)

    thread = threading.Thread(target=run, name="api-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    where = f"{config.host}:{config.port}"
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            scorer.stop()
            sys.setswitchinterval(previous_switch)
            raise ApiServerError(
                f"cannot serve the scoring API on {where} (is the port in use, or the address not of this "
                "machine?). Set api.host and api.port (0 picks a free port), or api.enabled: false.")
        time.sleep(0.01)
    port = next((sock.getsockname()[1] for srv in server.servers for sock in srv.sockets), config.port)
    checkpointer = WalCheckpointer(lambda: _engine_of(ctx_getter()))
    checkpointer.start()
    running = RunningApi(config.host, int(port), scorer, server, thread, previous_switch, checkpointer)
    log.info("scoring API listening on %s", running.url)
    return running
