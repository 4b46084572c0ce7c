"""The one retry layer of every connector, on tenacity: a decision table apart from the mechanism.

Plugins translate their client's exception into a `Failure` (status, error codes, Retry-After)
with a `classify` function; `decide` maps it to an `Action` through one table; `call_with_retry`
carries the action out: retry with exponential backoff and jitter, wait at least Retry-After,
stop after a bound, then raise `RetryableConnectorError` (try again next cycle) or
`QuotaExhaustedError` (pause). Client libraries' own retries must be off: one layer, ours.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import TypeVar

from pydantic import Field
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity import wait_exponential_jitter

from config.base import Section
from connectors.base import QuotaExhaustedError, RetryableConnectorError

log = logging.getLogger("leadpilot.connectors.retry")

T = TypeVar("T")


class Action(str, Enum):
    """What to do about a failed call."""

    RETRY = "retry"  # transient: 5xx, dropped connection, timeout
    RATE_LIMITED = "rate_limited"  # 429: wait (at least Retry-After), then retry
    QUOTA = "quota"  # the daily quota is spent: stop, keep state, resume later
    FAIL = "fail"  # an error a retry cannot fix: auth, permissions, a bad request


RETRYABLE_ACTIONS = frozenset({Action.RETRY, Action.RATE_LIMITED})

# The decision table by HTTP status; anything else >= 500 retries, anything else < 500 fails.
STATUS_ACTIONS: dict[int, Action] = {
    408: Action.RETRY, 425: Action.RETRY, 429: Action.RATE_LIMITED,
    500: Action.RETRY, 502: Action.RETRY, 503: Action.RETRY, 504: Action.RETRY,
    400: Action.FAIL, 401: Action.FAIL, 403: Action.FAIL, 404: Action.FAIL, 409: Action.FAIL,
}

# Error codes in a response body that override the status (Salesforce, HubSpot).
CODE_ACTIONS: dict[str, Action] = {
    "REQUEST_LIMIT_EXCEEDED": Action.QUOTA,  # Salesforce: 403 when the org's daily API calls are spent
    "CONCURRENT_LIMIT_EXCEEDED": Action.RATE_LIMITED,  # Salesforce's 403 for too many long requests at once
    "UNABLE_TO_LOCK_ROW": Action.RETRY,  # Salesforce: another transaction holds the record
    "SERVER_UNAVAILABLE": Action.RETRY,
    "DAILY": Action.QUOTA,  # HubSpot policyName of a 429 when the daily limit is spent
}


@dataclass(frozen=True)
class Failure:
    """A failed call as the decision table sees it."""

    status: int | None  # None: no HTTP response (dropped connection, timeout)
    detail: str
    codes: tuple[str, ...] = ()
    retry_after_s: float | None = None
    transport: bool = False  # the connection failed (retry), as opposed to an unexpected exception

    @property
    def action(self) -> Action:
        return decide(self.status, self.codes, transport=self.transport)


def decide(status: int | None, codes: Iterable[str] = (), *, transport: bool = False) -> Action:
    """The action for an HTTP status and body error codes (codes win), or for a transport failure."""
    for code in codes:
        if code in CODE_ACTIONS:
            return CODE_ACTIONS[code]
    if status is None:
        return Action.RETRY if transport else Action.FAIL
    if status in STATUS_ACTIONS:
        return STATUS_ACTIONS[status]
    return Action.RETRY if status >= 500 else Action.FAIL


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetrySettings(Section):
    """Bounds of the retry layer; each plugin's settings embed one as `retry:`."""

    max_attempts: int = Field(6, ge=1, le=20, description="tries per call, the first included")
    initial_wait_s: float = Field(0.5, ge=0, le=60, description="first backoff; doubles each retry")
    max_wait_s: float = Field(30.0, ge=0, le=600, description="longest single backoff")
    jitter_s: float = Field(0.5, ge=0, le=60, description="random extra wait spreading retries of several daemons")
    max_total_s: float = Field(120.0, ge=0, le=3600, description="give up on a call after this long; the next cycle retries")
    max_retry_after_s: float = Field(
        120.0, ge=0, le=3600,
        description="a Retry-After longer than this is not waited for: the call gives up and the next cycle retries")


Classify = Callable[[BaseException], Failure | None]


class _Wait:
    """tenacity wait: exponential backoff with jitter, but never shorter than the server's Retry-After."""

    def __init__(self, settings: RetrySettings, classify: Classify):
        self.backoff = wait_exponential_jitter(multiplier=settings.initial_wait_s, max=settings.max_wait_s,
                                               jitter=settings.jitter_s)
        self.classify = classify

    def __call__(self, state: RetryCallState) -> float:
        wait = float(self.backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        failure = self.classify(exc) if exc is not None else None
        if failure is not None and failure.retry_after_s is not None:
            wait = max(failure.retry_after_s, min(wait, failure.retry_after_s + self.backoff.jitter))
        return wait


def call_with_retry(fn: Callable[[], T], *, what: str, classify: Classify, settings: RetrySettings,
                    sleep: Callable[[float], None] = time.sleep,
                    on_retry: Callable[[Failure, int], None] | None = None) -> T:
    """Run `fn`, retrying what the decision table says is transient, within `settings`' bounds.

    Raises QuotaExhaustedError for a spent quota, RetryableConnectorError when the retries are used
    up (or a Retry-After is longer than allowed), and re-raises anything the table says not to retry.
    """
    def should_retry(exc: BaseException) -> bool:
        failure = classify(exc)
        if failure is None or failure.action not in RETRYABLE_ACTIONS:
            return False
        if failure.retry_after_s is not None and failure.retry_after_s > settings.max_retry_after_s:
            return False
        return True

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        failure = classify(exc) if exc is not None else None
        if failure is not None:
            log.warning("%s failed (%s), attempt %d of %d; retrying", what, failure.detail,
                        state.attempt_number, settings.max_attempts)
            if on_retry is not None:
                on_retry(failure, state.attempt_number)

    retrying = Retrying(
        stop=stop_after_attempt(settings.max_attempts) | stop_after_delay(settings.max_total_s),
        wait=_Wait(settings, classify), retry=retry_if_exception(should_retry), sleep=sleep,
        before_sleep=before_sleep, reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        failure = classify(exc)
        if failure is None:
            raise
        if failure.action is Action.QUOTA:
            raise QuotaExhaustedError(f"{what}: the CRM's API quota is spent ({failure.detail}); "
                                      "polling pauses and resumes when the quota resets") from exc
        if failure.action in RETRYABLE_ACTIONS:
            if failure.retry_after_s is not None and failure.retry_after_s > settings.max_retry_after_s:
                raise RetryableConnectorError(
                    f"{what}: the CRM asked to wait {failure.retry_after_s:.0f}s (more than retry.max_retry_after_s="
                    f"{settings.max_retry_after_s:.0f}); will retry next cycle") from exc
            raise RetryableConnectorError(f"{what} still failing after retries ({failure.detail}); "
                                          "will retry next cycle") from exc
        raise
