"""Fault injection and request counting for the sandbox CRMs.

Every sandbox app calls `install_faults(app, injector, stats, name_of=...)`: each request to the
real API paths is counted per endpoint, may be delayed, answered 429 (with Retry-After) or 500,
or dropped (socket closed with no response). Batch endpoints ask `injector.partial_failure()` per
record. Control paths live under /__sandbox/ where no real client ever goes:
`GET /__sandbox/stats`, `POST /__sandbox/stats/reset`, `GET|POST /__sandbox/faults`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from starlette.responses import JSONResponse, Response

from connectors.sandbox.server import ABORT_EXTENSION, ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/__sandbox/"


@dataclass
class FaultSettings:
    """Probabilities are per request (per record for partial failures), drawn from numpy Generator(seed)."""

    latency_ms: int = 0
    rate_429: float = 0.0
    retry_after_s: float = 1
    rate_500: float = 0.0
    drop_rate: float = 0.0  # socket closed before the request is applied
    drop_after_rate: float = 0.0  # request applied, then the socket closed before the response: tests idempotency
    partial_failure_rate: float = 0.0
    seed: int = 0
    endpoints: list[str] = field(default_factory=list)  # faults only on these endpoint names; empty = all

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_500", "drop_rate", "drop_after_rate", "partial_failure_rate"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.latency_ms < 0 or self.retry_after_s < 0:
            raise ValueError("latency_ms and retry_after_s must not be negative")


class DroppedConnection(Exception):
    """Raised where the server cannot abort the socket itself (no uvicorn transport, e.g. a test client)."""


ErrorBody = Callable[[int, str], Any]


def _default_error_body(status: int, message: str) -> Any:
    return {"status": "error", "message": message}


class FaultInjector:
    """Decides, per request or per record, whether to inject a fault; thread-safe, reconfigurable at runtime."""

    def __init__(self, settings: FaultSettings | None = None, *, error_body: ErrorBody = _default_error_body):
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._rng = np.random.default_rng(self._settings.seed)
        self._error_body = error_body

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return dataclasses.replace(self._settings)

    def update(self, **changes: Any) -> FaultSettings:
        """Change some settings (unknown names raise ValueError); a new `seed` restarts the random sequence."""
        known = {f.name for f in dataclasses.fields(FaultSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)
            if "seed" in changes:
                self._rng = np.random.default_rng(self._settings.seed)
            return dataclasses.replace(self._settings)

    def _applies(self, endpoint: str) -> bool:
        return not self._settings.endpoints or endpoint in self._settings.endpoints

    def _draw(self, rate: float) -> bool:
        # always draw when rate > 0 so the sequence depends on the request order only
        return rate > 0 and float(self._rng.random()) < rate

    def latency_s(self, endpoint: str) -> float:
        with self._lock:
            return self._settings.latency_ms / 1000.0 if self._applies(endpoint) else 0.0

    def drop(self, endpoint: str) -> bool:
        """True: close the connection without applying the request."""
        with self._lock:
            return self._applies(endpoint) and self._draw(self._settings.drop_rate)

    def drop_after(self, endpoint: str) -> bool:
        """True: apply the request, then close the connection before the response."""
        with self._lock:
            return self._applies(endpoint) and self._draw(self._settings.drop_after_rate)

    def maybe_fail(self, endpoint: str) -> Response | None:
        """A 429 (with Retry-After) or 500 response to send instead of handling the request, or None."""
        with self._lock:
            if not self._applies(endpoint):
                return None
            if self._draw(self._settings.rate_429):
                retry_after = self._settings.retry_after_s
                header = str(int(retry_after)) if float(retry_after).is_integer() else f"{retry_after:g}"
                return JSONResponse(self._error_body(429, "Too many requests: slow down"), status_code=429,
                                    headers={"Retry-After": header})
            if self._draw(self._settings.rate_500):
                return JSONResponse(self._error_body(500, "Injected server error"), status_code=500)
        return None

    def partial_failure(self) -> bool:
        """True: fail this one record of a batch write (the others succeed)."""
        with self._lock:
            return self._draw(self._settings.partial_failure_rate)


class RequestStats:
    """Requests counted per endpoint name (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


NameOf = Callable[[str, str], str]


def _default_name_of(method: str, path: str) -> str:
    return f"{method} {path}"


class _FaultMiddleware:
    """Pure ASGI middleware: counts, delays, fails or drops requests outside /__sandbox/."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, stats: RequestStats, name_of: NameOf):
        self.app = app
        self.injector = injector
        self.stats = stats
        self.name_of = name_of

    async def _abort(self, scope: Scope) -> None:
        abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
        if abort is None:
            raise DroppedConnection("sandbox dropped the connection")
        await abort()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        endpoint = self.name_of(scope["method"], scope["path"])
        self.stats.count(endpoint)
        delay = self.injector.latency_s(endpoint)
        if delay:
            await asyncio.sleep(delay)
        if self.injector.drop(endpoint):
            await self._abort(scope)
            return
        failure = self.injector.maybe_fail(endpoint)
        if failure is not None:
            await failure(scope, receive, send)
            return
        if not self.injector.drop_after(endpoint):
            await self.app(scope, receive, send)
            return

        async def swallow(message: Any) -> None:
            return None

        await self.app(scope, receive, swallow)
        await self._abort(scope)


def install_faults(app: FastAPI, injector: FaultInjector, stats: RequestStats,
                   name_of: NameOf = _default_name_of) -> None:
    """Add fault injection and request counting to `app`, plus its /__sandbox/ control endpoints.

    `name_of(method, path)` names the endpoint a request is counted under (e.g. "query", "composite").
    """
    app.add_middleware(_FaultMiddleware, injector=injector, stats=stats, name_of=name_of)

    @app.get("/__sandbox/stats", include_in_schema=False)
    def get_stats() -> dict[str, Any]:
        counts = stats.snapshot()
        return {"total": sum(counts.values()), "by_endpoint": counts}

    @app.post("/__sandbox/stats/reset", include_in_schema=False)
    def reset_stats() -> dict[str, Any]:
        stats.reset()
        return {"total": 0, "by_endpoint": {}}

    @app.get("/__sandbox/faults", include_in_schema=False)
    def get_faults() -> dict[str, Any]:
        return dataclasses.asdict(injector.settings)

    @app.post("/__sandbox/faults", include_in_schema=False)
    async def set_faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        if not isinstance(body, dict):
            raise HTTPException(400, "body must be a JSON object of FaultSettings fields")
        try:
            return dataclasses.asdict(injector.update(**body))
        except (TypeError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
