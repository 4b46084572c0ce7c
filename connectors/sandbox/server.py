"""Run an ASGI app (a sandbox CRM) with uvicorn in a background thread, for tests, benches and the CLI."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import uvicorn

from config.errors import LeadpilotError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Key in scope["extensions"] of a coroutine function that closes the client's socket without a response.
ABORT_EXTENSION = "leadpilot.abort_connection"

_START_TIMEOUT_S = 15.0


class SandboxServerError(LeadpilotError):
    """The sandbox server could not start (port in use, bad certificate)."""


class _AbortableApp:
    """Outermost ASGI wrapper offering fault injection a way to drop a connection like a dead proxy would.

    uvicorn hands the app its per-request `send`, bound to the request cycle that owns the transport;
    aborting that transport closes the socket with no response, which clients see as a connection
    error. Done here, outside Starlette's error middleware, which would otherwise answer 500 first.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            cycle = getattr(send, "__self__", None)
            transport = getattr(cycle, "transport", None)
            if transport is not None:
                async def abort() -> None:
                    transport.abort()
                    # let uvicorn's connection_lost run so it does not try to answer 500 afterwards
                    for _ in range(3):
                        await asyncio.sleep(0)
                scope.setdefault("extensions", {})[ABORT_EXTENSION] = abort
        await self.app(scope, receive, send)


class RunningServer:
    """A started server; `url` is its base URL. Stop it with `.stop()` or use it as a context manager."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, scheme: str, host: str, port: int):
        self._server = server
        self._thread = thread
        self.scheme = scheme
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def stop(self, timeout_s: float = 10.0, grace_s: float = 0.5) -> None:
        """Ask uvicorn to exit; after `grace_s`, stop waiting for idle keep-alive connections; wait for its thread."""
        self._server.should_exit = True
        self._thread.join(grace_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, ssl_certfile: str | None = None,
          ssl_keyfile: str | None = None, log_level: str = "warning") -> RunningServer:
    """Start `app` on host:port (0 picks a free port) in a daemon thread; returns once it accepts connections."""
    config = uvicorn.Config(
        _AbortableApp(app), host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
        log_level=log_level, lifespan="off", access_log=False, http="h11", loop="asyncio",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"sandbox-{port or 'auto'}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if failure or not thread.is_alive():
            reason = failure[0] if failure else "uvicorn exited (is the port already in use?)"
            raise SandboxServerError(f"sandbox server on {host}:{port} did not start: {reason}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise SandboxServerError(f"sandbox server on {host}:{port} did not start within {_START_TIMEOUT_S:.0f}s")
        time.sleep(0.01)
    bound = port
    for srv in server.servers:
        for sock in srv.sockets:
            bound = sock.getsockname()[1]
            break
    logging.getLogger("leadpilot.sandbox").debug("sandbox listening on %s:%s", host, bound)
    return RunningServer(server, thread, "https" if ssl_certfile else "http", host, bound)
