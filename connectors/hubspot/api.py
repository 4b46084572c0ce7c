"""The hubspot-api-client objects, built once, and the one way the connector calls them.

`hubspot.Client` builds a new API client (and connection pool) on every property access, so each
API object is fetched once here and kept. The client's own urllib3 retries are switched off
(`retry=False`: it would retry only idempotent methods and raise `MaxRetryError` rather than
`ApiException` when giving up); `connectors.retry.call_with_retry` is the one retry layer, fed by
`classify`, which turns every module's `ApiException` and urllib3's transport errors into a `Failure`.
Search calls are paced client-side (HubSpot allows about 5 a second per portal).
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import hubspot
import urllib3
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from connectors.base import ApiUsage, ConnectorError
from connectors.hubspot.settings import HubSpotSettings
from connectors.retry import Failure, call_with_retry, parse_retry_after

T = TypeVar("T")

# Each generated API module has its own ApiException class.
API_EXCEPTIONS: tuple[type[Exception], ...] = (
    ContactsApiException, DealsApiException, OwnersApiException, PropertiesApiException, AssociationsApiException,
)


class HubSpotRequestError(ConnectorError):
    """HubSpot refused a request in a way a retry cannot fix (bad token, missing scope, invalid values)."""

    def __init__(self, message: str, status: int | None, category: str | None, body: str):
        super().__init__(message)
        self.status = status
        self.category = category
        self.body = body


def _error_body(exc: Exception) -> tuple[str, dict[str, Any]]:
    raw = getattr(exc, "body", None)
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw or "")
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    return text, data if isinstance(data, dict) else {}


def classify(exc: BaseException) -> Failure | None:
    """The retry layer's view of a hubspot-api-client failure; None for anything else (a bug: not retried)."""
    if isinstance(exc, API_EXCEPTIONS):
        status = getattr(exc, "status", None) or None
        _, body = _error_body(exc)
        codes = tuple(str(body[k]) for k in ("policyName", "category", "errorType") if body.get(k))
        headers = getattr(exc, "headers", None) or {}
        retry_after = parse_retry_after(headers.get("Retry-After")) if hasattr(headers, "get") else None
        message = str(body.get("message") or getattr(exc, "reason", "") or "")[:300]
        return Failure(status, f"HTTP {status}: {message}" if status else message, codes, retry_after)
    if isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
        return Failure(None, f"connection failed: {type(exc).__name__}: {str(exc)[:200]}", transport=True)
    return None


class Pacer:
    """Spaces calls at least 1/rate seconds apart (client-side rate limit)."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.interval = 1.0 / rate_per_s
        self.clock, self.sleep = clock, sleep
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            if now < self._next_at:
                self.sleep(self._next_at - now)
                now = self._next_at
            self._next_at = now + self.interval


class HubSpotApi:
    """API objects for contacts, deals, owners, properties and associations, plus `call`."""

    def __init__(self, settings: HubSpotSettings, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.sleep = sleep
        options: dict[str, Any] = {"host": settings.host}
        if settings.ssl_ca_cert:
            options["ssl_ca_cert"] = settings.ssl_ca_cert
        client = hubspot.Client.create(access_token=settings.access_token.get_secret_value(), retry=False, **options)
        crm = client.crm
        contacts, deals, properties = crm.contacts, crm.deals, crm.properties
        self.contacts_search = contacts.search_api
        self.contacts_batch = contacts.batch_api
        self.deals_batch = deals.batch_api
        self.owners = crm.owners.owners_api
        self.properties = properties.core_api
        self.groups = properties.groups_api
        self.associations = crm.associations.v4.batch_api
        self._apis = (self.contacts_search, self.contacts_batch, self.deals_batch, self.owners, self.properties,
                      self.groups, self.associations)
        self.search_pacer = Pacer(settings.search_requests_per_second, clock, sleep)
        self._usage = ApiUsage()
        self._lock = threading.Lock()

    def call(self, endpoint: str, fn: Callable[..., tuple[T, int, Mapping[str, str]]], *args: Any, **kwargs: Any) -> T:
        """Call a `*_with_http_info` method through the retry layer; raises our errors, never the client's."""
        paced = endpoint.endswith(".search")

        def attempt() -> T:
            if paced:
                self.search_pacer.wait()
            self._count(endpoint)
            try:
                data, _status, headers = fn(*args, _request_timeout=self.settings.timeout_s, **kwargs)
            except Exception as exc:
                self._note_error(exc)
                raise
            self._note_headers(headers)
            return data

        try:
            return call_with_retry(attempt, what=f"HubSpot {endpoint}", classify=classify,
                                   settings=self.settings.retry, sleep=self.sleep)
        except API_EXCEPTIONS as exc:
            raise self._request_error(endpoint, exc) from exc

    def usage(self) -> ApiUsage:
        with self._lock:
            return replace(self._usage, calls_by_endpoint=dict(self._usage.calls_by_endpoint))

    def close(self) -> None:
        """Close every API client's connection pool."""
        for api in self._apis:
            rest = getattr(api.api_client, "rest_client", None)
            pool = getattr(rest, "pool_manager", None)
            if pool is not None:
                pool.clear()

    # ---- bookkeeping -----------------------------------------------------------------------------
    def _count(self, endpoint: str) -> None:
        with self._lock:
            self._usage.calls += 1
            by = self._usage.calls_by_endpoint
            by[endpoint] = by.get(endpoint, 0) + 1

    def _note_error(self, exc: BaseException) -> None:
        with self._lock:
            self._usage.errors += 1
        headers = getattr(exc, "headers", None)
        if headers:
            self._note_headers(headers)

    def _note_headers(self, headers: Mapping[str, str] | None) -> None:
        if not headers:
            return
        remaining, limit = headers.get("X-HubSpot-RateLimit-Daily-Remaining"), headers.get("X-HubSpot-RateLimit-Daily")
        with self._lock:
            if remaining is not None and str(remaining).isdigit():
                self._usage.remaining = int(remaining)
            if limit is not None and str(limit).isdigit():
                self._usage.limit = int(limit)

    @staticmethod
    def _request_error(endpoint: str, exc: Exception) -> HubSpotRequestError:
        text, body = _error_body(exc)
        status = getattr(exc, "status", None) or None
        category = body.get("category")
        message = str(body.get("message") or getattr(exc, "reason", "") or "no detail")
        hint = {401: "check the private app access token (settings.access_token)",
                403: "give the private app the scopes crm.objects.contacts.read/write, crm.objects.owners.read, "
                     "crm.objects.deals.read and crm.schemas.contacts.read/write",
                404: "check settings.host and that the object exists"}.get(status or 0, "")
        if status is None:
            hint = "check settings.host and settings.ssl_ca_cert"
        return HubSpotRequestError(f"HubSpot {endpoint} failed (HTTP {status}, {category or 'no category'}): "
                                   f"{message[:500]}" + (f"; {hint}" if hint else ""), status, category, text)
