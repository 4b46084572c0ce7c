"""The retry layer: one decision table, carried out by tenacity, bounded, honouring Retry-After."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import QuotaExhaustedError, RetryableConnectorError
from connectors.retry import Action, Failure, RetrySettings, call_with_retry, decide, parse_retry_after


class Boom(Exception):
    def __init__(self, failure: Failure | None):
        super().__init__(failure.detail if failure else "unclassified")
        self.failure = failure


def _classify(exc: BaseException) -> Failure | None:
    return exc.failure if isinstance(exc, Boom) else None


FAST = RetrySettings(max_attempts=4, initial_wait_s=0.1, max_wait_s=1, jitter_s=0, max_total_s=60)


@pytest.mark.parametrize("status, codes, transport, action", [
    (429, (), False, Action.RATE_LIMITED), (500, (), False, Action.RETRY), (503, (), False, Action.RETRY),
    (599, (), False, Action.RETRY), (400, (), False, Action.FAIL), (401, (), False, Action.FAIL),
    (404, (), False, Action.FAIL), (403, ("REQUEST_LIMIT_EXCEEDED",), False, Action.QUOTA),
    (400, ("UNABLE_TO_LOCK_ROW",), False, Action.RETRY), (None, (), True, Action.RETRY),
    (None, (), False, Action.FAIL), (429, ("DAILY",), False, Action.QUOTA),
])
def test_the_decision_table(status: int | None, codes: tuple[str, ...], transport: bool, action: Action) -> None:
    assert decide(status, codes, transport=transport) is action


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("0.25", now) == 0.25
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None


def test_given_transient_failures_then_the_call_is_retried_until_it_succeeds() -> None:
    calls: list[int] = []
    waits: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Boom(Failure(503, "unavailable"))
        return "ok"

    assert call_with_retry(flaky, what="t", classify=_classify, settings=FAST, sleep=waits.append) == "ok"
    assert len(calls) == 3 and waits == [0.1, 0.2]  # exponential backoff


def test_given_a_retry_after_then_the_wait_is_never_shorter() -> None:
    waits: list[float] = []
    attempts = iter([Boom(Failure(429, "slow down", retry_after_s=5)), None])

    def call() -> str:
        exc = next(attempts)
        if exc:
            raise exc
        return "ok"

    call_with_retry(call, what="t", classify=_classify, settings=FAST, sleep=waits.append)
    assert waits == [5.0]


def test_given_persistent_failures_then_attempts_are_bounded_and_a_retryable_error_is_raised() -> None:
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise Boom(Failure(None, "connection reset", transport=True))

    with pytest.raises(RetryableConnectorError, match="still failing after retries \\(connection reset\\)"):
        call_with_retry(down, what="t", classify=_classify, settings=FAST, sleep=lambda s: None)
    assert len(calls) == 4


def test_given_a_spent_quota_then_there_is_no_retry_and_quota_exhausted_is_raised() -> None:
    calls: list[int] = []

    def spent() -> None:
        calls.append(1)
        raise Boom(Failure(403, "limit", ("REQUEST_LIMIT_EXCEEDED",)))

    with pytest.raises(QuotaExhaustedError):
        call_with_retry(spent, what="t", classify=_classify, settings=FAST, sleep=lambda s: None)
    assert len(calls) == 1


def test_given_a_permanent_or_unknown_error_then_it_propagates_unchanged_at_once() -> None:
    for exc in (Boom(Failure(400, "bad request")), Boom(None), ValueError("bug")):
        calls: list[int] = []

        def fail(exc: Exception = exc) -> None:
            calls.append(1)
            raise exc

        with pytest.raises(type(exc)):
            call_with_retry(fail, what="t", classify=_classify, settings=FAST, sleep=lambda s: None)
        assert len(calls) == 1
