"""The simple-salesforce client, built once per connector, and the translation of its failures.

One `requests.Session` subclass carries the CA bundle, the timeout, a count of calls per endpoint
and the last response's Retry-After and Sforce-Limit-Info (simple-salesforce's exceptions do not
keep headers). urllib3's own retries stay at zero: our tenacity layer is the only one.
"""
from __future__ import annotations

import json
import re
import ssl
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from connectors.retry import Failure, parse_retry_after
from connectors.salesforce.settings import SalesforceSettings

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass
class Quota:
    """The org's daily API calls as the last Sforce-Limit-Info header told."""

    used: int | None = None
    limit: int | None = None

    @property
    def remaining(self) -> int | None:
        return None if self.used is None or self.limit is None else max(0, self.limit - self.used)


def endpoint_of(method: str, url: str) -> str:
    """A short name for a call, for usage counts: login, query, query_more, composite, describe, ..."""
    path = urlparse(url).path
    if "/services/Soap/u/" in path:
        return "login"
    if path.endswith("/oauth2/token"):
        return "oauth_token"
    if "/oauth2/" in path:
        return path.rstrip("/").rsplit("/", 1)[-1]
    match = re.search(r"/services/data/v[\d.]+/(.*)$", path)
    parts = [p for p in (match.group(1) if match else "").split("/") if p]
    if not parts:
        return "other"
    if parts[0] in ("query", "queryAll"):
        return "query" if len(parts) == 1 else "query_more"
    if parts[0] == "sobjects" and len(parts) >= 3 and parts[2] == "describe":
        return "describe"
    if parts[0] == "composite" and len(parts) > 1:
        return "collections"
    return parts[0]


class SalesforceSession(requests.Session):
    """requests session with a pinned CA bundle, a default timeout and call accounting."""

    def __init__(self, ca_bundle: str | None, timeout_s: float):
        super().__init__()
        self.ca_bundle = ca_bundle
        self.timeout_s = timeout_s
        self.verify = ca_bundle or True
        # no urllib3 retries: one retry layer, ours
        adapter = HTTPAdapter(max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.calls: Counter[str] = Counter()
        self.errors = 0
        self.quota = Quota()
        self.last_headers: dict[str, str] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle:
            # REQUESTS_CA_BUNDLE would otherwise override the session's CA bundle for every request
            settings["verify"] = self.ca_bundle
        return settings

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        self.calls[endpoint_of(str(method), str(url))] += 1
        self.last_headers = {}
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException:
            self.errors += 1
            raise
        self.last_headers = {k.lower(): v for k, v in response.headers.items()}
        info = response.headers.get("Sforce-Limit-Info")
        match = _LIMIT_INFO.search(info or "")
        if match:
            self.quota = Quota(int(match.group(1)), int(match.group(2)))
        if response.status_code >= 400:
            self.errors += 1
        return response


def error_codes(content: Any) -> tuple[str, ...]:
    """errorCode values of a Salesforce error body (a list of {errorCode, message})."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except json.JSONDecodeError:
            return ()
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return tuple(str(e.get("errorCode")) for e in content if isinstance(e, dict) and e.get("errorCode"))
    return ()


def error_message(content: Any) -> str:
    """The first message of a Salesforce error body, for an admin-readable error."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return f"{content[0].get('errorCode', '')}: {content[0].get('message', '')}"
    return str(content)[:300]


def classify(session: SalesforceSession) -> Any:
    """The retry layer's view of an exception raised by simple-salesforce or requests."""
    def _classify(exc: BaseException) -> Failure | None:
        if isinstance(exc, SalesforceAuthenticationFailed):
            status = exc.code if isinstance(exc.code, int) else None
            if status is not None and status >= 500 or status == 429:
                return Failure(status, f"login: HTTP {status}",
                               retry_after_s=parse_retry_after(session.last_headers.get("retry-after")))
            return Failure(401, f"login refused: {exc.code}: {exc.message}")
        if isinstance(exc, SalesforceError):
            codes = error_codes(exc.content)
            if "REQUEST_LIMIT_EXCEEDED" in codes and "concurrent" in error_message(exc.content).lower():
                # same code, but a concurrency limit (ConcurrentPerOrgLongTxn), not the daily quota: wait
                codes = ("CONCURRENT_LIMIT_EXCEEDED",)
            return Failure(exc.status, f"HTTP {exc.status} {error_message(exc.content)}", codes,
                           retry_after_s=parse_retry_after(session.last_headers.get("retry-after")))
        if isinstance(exc, requests.exceptions.SSLError) and _certificate_refused(exc):
            return Failure(None, f"TLS certificate refused (check ca_bundle): {exc}")
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                       | requests.exceptions.ChunkedEncodingError):
            return Failure(None, f"connection failed: {type(exc).__name__}", transport=True)
        if isinstance(exc, requests.exceptions.JSONDecodeError):
            return Failure(None, "truncated or non-JSON response", transport=True)
        return None
    return _classify


def _certificate_refused(exc: BaseException) -> bool:
    """True when TLS failed on the certificate (retrying cannot help), not on a cut connection (SSLEOFError)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
    return "certificate verify failed" in str(exc).lower()


def build_client(settings: SalesforceSettings, session: SalesforceSession) -> Salesforce:
    """Log in with the configured auth mode (a network call, except for `session`)."""
    common: dict[str, Any] = {"session": session, "version": settings.api_version, "domain": settings.domain}
    secret = (lambda s: s.get_secret_value() if s is not None else None)
    if settings.auth == "password":
        return Salesforce(username=settings.username, password=secret(settings.password),
                          security_token=secret(settings.security_token), client_id="leadpilot", **common)
    if settings.auth == "jwt":
        return Salesforce(username=settings.username, consumer_key=settings.consumer_key,
                          privatekey_file=settings.private_key_file, **common)
    if settings.auth == "client_credentials":
        return Salesforce(consumer_key=settings.consumer_key, consumer_secret=secret(settings.consumer_secret),
                          **common)
    return Salesforce(session_id=secret(settings.session_id), instance_url=settings.instance_url,
                      session=session, version=settings.api_version)
