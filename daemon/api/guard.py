"""The outermost layer of the API (plain ASGI): request id, bearer token, body size, last-resort errors, metrics.

It runs before FastAPI reads anything, so a caller without a valid token learns nothing about the body
it sent (401 first), and a body over api.max_body_bytes is refused (413) without being held in memory
past the limit.
"""
from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from daemon.api.errors import error_body
from daemon.api.metrics import ApiMetrics

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # what ops and Prometheus reach without a token
KNOWN_ENDPOINTS = frozenset({"/api/v1/score", "/api/v1/score/batch", "/api/v1/model/performance", "/api/v1/feedback",
                             "/api/v1/openapi.json", *OPEN_PATHS})


def request_id(scope: Scope) -> str:
    """The id the guard gave this request (returned as X-Request-ID and in every error body)."""
    return str(scope.get("state", {}).get("request_id", "-"))


class Guard:
    """Wraps the FastAPI app; see the module docstring."""

    def __init__(self, app: ASGIApp, *, tokens: list[str], max_body_bytes: int, metrics: ApiMetrics | None = None):
        self.app = app
        self._tokens = [t.encode() for t in tokens]
        self._max_body = max_body_bytes
        self._metrics = metrics

    def _authorised(self, scope: Scope) -> bool:
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), b"")
        scheme, _, token = header.partition(b" ")
        token = token.strip()
        # every token is compared, in constant time, so the timing tells nothing about which one is close
        matched = False
        for known in self._tokens:
            matched |= hmac.compare_digest(token, known)
        return scheme.lower() == b"bearer" and bool(token) and matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        path = scope.get("path", "")
        endpoint = path if path in KNOWN_ENDPOINTS else "other"
        started = time.perf_counter()
        status = [0]

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                headers = list(message.get("headers", []))
                headers += [(b"x-request-id", rid.encode()), (b"cache-control", b"no-store")]
                message["headers"] = headers
            await send(message)

        try:
            await self._guarded(scope, receive, send_tagged, path, rid)
        except Exception:
            # FastAPI's own handler already answered (JSON with the request id) and logged it, unless the
            # failure came before the app: then answer here. Either way uvicorn prints no traceback.
            if status[0] == 0:
                log.exception("API request %s failed before the app answered", rid)
                await _reply(send_tagged, 500, error_body("internal error; quote request id " + rid, rid))
        finally:
            if self._metrics is not None:
                self._metrics.requests.labels(endpoint=endpoint, status=str(status[0] or 500)).inc()
                self._metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, path: str, rid: str) -> None:
        if path not in OPEN_PATHS and not self._authorised(scope):
            await _reply(send, 401, error_body(
                "missing or unknown bearer token: send 'Authorization: Bearer <token>' with a token from api.tokens",
                rid), [(b"www-authenticate", b'Bearer realm="leadpilot"')])
            return
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_body):
            await self._too_large(send, rid)
            return
        body, complete = await self._read_body(receive)
        if not complete:
            if body is None:
                return  # the client went away
            await self._too_large(send, rid)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> tuple[bytes | None, bool]:
        """The whole body, or (None, False) on disconnect, or (partial, False) once past the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True

    async def _too_large(self, send: Send, rid: str) -> None:
        await _reply(send, 413, error_body(
            f"request body over api.max_body_bytes ({self._max_body:,} bytes); send fewer leads per call", rid),
            [(b"connection", b"close")])


async def _reply(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})
