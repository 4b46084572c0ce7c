"""Faults and quotas: 429 storms, 500s, dropped connections, partial failures and a spent API quota
lose no lead; every lead ends written back exactly once."""
from __future__ import annotations

from collections import Counter

import pytest

from sf_fixtures import SfSandbox, Sleeps, item_for, make_leads
from connectors.base import QuotaExhaustedError, RetryableConnectorError, Watermark, WriteBackItem


def _cycle_until_done(sf: SfSandbox, connector, expected: set[str], *, cycles: int = 40,
                      limit: int = 80) -> tuple[Counter[str], int]:
    """A daemon-like loop: poll, queue new leads, write the queue back, keep failures for the next cycle."""
    watermark = Watermark()
    outbox: dict[str, WriteBackItem] = {}
    written: Counter[str] = Counter()
    failed_calls = 0
    for cycle in range(cycles):
        try:
            result = connector.fetch_changed(watermark, limit)
        except RetryableConnectorError:
            failed_calls += 1
        else:
            for lead in result.leads:
                if lead.crm_id not in written and not lead.modified_by_integration:
                    outbox[lead.crm_id] = item_for(lead.crm_id, sf.users["A1" if cycle % 2 else "A2"])
            watermark = result.next_watermark
        if outbox:
            for res in connector.write_back(list(outbox.values())):
                if res.ok:
                    written[res.crm_id] += 1
                    del outbox[res.crm_id]
                else:
                    assert res.retryable, res.error
        if set(written) == expected and not outbox:
            break
    return written, failed_calls


@pytest.mark.parametrize("seed", [11, 12])
def test_given_storms_of_faults_when_cycling_then_every_lead_is_written_back_exactly_once(
        sf: SfSandbox, seed: int) -> None:
    ids = sf.seed(make_leads(240))
    # small batches, so that many calls meet the faults
    connector = sf.connector(collection_size=20, composite_size=3)
    sf.set_faults(rate_429=0.2, retry_after_s=0.05, rate_500=0.15, drop_rate=0.1, drop_after_rate=0.1,
                  partial_failure_rate=0.1, seed=seed)

    written, _ = _cycle_until_done(sf, connector, set(ids), limit=40)

    assert set(written) == set(ids) and set(written.values()) == {1}
    assignments = sf.assignments()
    per_lead = Counter(a["Lead__c"] for a in assignments)
    assert set(per_lead) == set(ids) and set(per_lead.values()) == {1}  # retries never duplicated one
    for crm_id in ids:
        lead = sf.store.get("Lead", crm_id)
        assert lead is not None and lead["AI_Lead_Score__c"] == 72 and lead["AI_Input_Hash__c"] == "hash-1"
    # the faults really happened, and 429s were waited out for at least their Retry-After
    sleeps: Sleeps = connector.sleep  # type: ignore[assignment]
    assert len(sleeps.waits) >= 5 and sum(w >= 0.05 for w in sleeps.waits) >= 1
    assert connector.usage().errors > 0


def test_given_only_429s_when_a_call_is_retried_then_each_wait_honours_retry_after(sf: SfSandbox) -> None:
    sf.seed(make_leads(3))
    connector = sf.connector(retry={"max_attempts": 3, "initial_wait_s": 0.001, "max_wait_s": 0.01, "jitter_s": 0})
    connector.client
    sf.set_faults(rate_429=1.0, retry_after_s=2)

    with pytest.raises(RetryableConnectorError, match="still failing after retries"):
        connector.fetch_changed(Watermark(), 10)

    assert connector.sleep.waits == [2.0, 2.0]  # type: ignore[attr-defined]
    assert sf.http_stats()["describe"] == 3  # 3 attempts, no more: the retry layer is bounded


def test_given_a_retry_after_beyond_the_bound_then_the_call_gives_up_at_once_for_the_next_cycle(
        sf: SfSandbox) -> None:
    connector = sf.connector(retry={"max_retry_after_s": 30})
    connector.client
    sf.set_faults(rate_429=1.0, retry_after_s=600)

    with pytest.raises(RetryableConnectorError, match="asked to wait 600s"):
        connector.fetch_agents()

    assert connector.sleep.waits == []  # type: ignore[attr-defined]


def test_given_dropped_connections_then_requests_are_retried_by_our_layer_only(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(5))
    connector = sf.connector()
    connector.client
    sf.set_faults(drop_rate=0.5, seed=3)

    leads = connector.fetch_changed(Watermark(), 100).leads

    assert [l.crm_id for l in leads] == ids
    # what the sandbox received equals what our layer sent: urllib3 retried nothing on its own
    assert sf.http_stats() == connector.usage().calls_by_endpoint
    assert connector.usage().errors >= 1


def test_given_an_expired_session_then_the_client_logs_in_again_and_carries_on(sf: SfSandbox) -> None:
    sf.seed(make_leads(2))
    connector = sf.connector()
    assert len(connector.fetch_changed(Watermark(), 10).leads) == 2
    sf.store.expire_sessions()

    assert len(connector.fetch_changed(Watermark(), 10).leads) == 2
    assert connector.usage().calls_by_endpoint["login"] == 2


def test_given_the_quota_below_the_floor_when_polling_then_it_pauses_mid_read_and_resumes_exactly(
        sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(450))
    connector = sf.connector(query_batch_size=200, quota_floor=5)
    # 10 calls left today: describe + first page leave 8, the second page leaves 7 ... below 5 it stops
    sf.store.set_daily_limit(100, used=93)

    first = connector.fetch_changed(Watermark(), 1000)

    assert not first.complete
    assert first.next_watermark.last_id == first.leads[-1].crm_id
    remaining = connector.usage().remaining
    assert remaining is not None and remaining < 5
    with pytest.raises(QuotaExhaustedError, match="polling paused"):
        connector.fetch_changed(first.next_watermark, 1000)

    sf.store.set_daily_limit(100_000)  # the quota resets
    rest, watermark = [], first.next_watermark
    while True:
        try:
            result = connector.fetch_changed(watermark, 1000)
        except QuotaExhaustedError:
            connector._session.quota.used = 0  # the header of the next call refreshes it
            continue
        rest += result.leads
        watermark = result.next_watermark
        if result.complete:
            break
    assert [l.crm_id for l in first.leads + rest] == ids


def test_given_request_limit_exceeded_then_polling_stops_cleanly_and_write_backs_stay_queued(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(4))
    connector = sf.connector()
    connector.client
    sf.store.set_daily_limit(50, used=50)

    with pytest.raises(QuotaExhaustedError, match="quota is spent"):
        connector.fetch_changed(Watermark(), 100)
    results = connector.write_back([item_for(i, sf.users["A1"]) for i in ids])
    assert not any(r.ok for r in results) and all(r.retryable for r in results)
    assert all("REQUEST_LIMIT_EXCEEDED" in (r.error or "") for r in results)
    assert sf.assignments() == []

    sf.store.set_daily_limit(1000, used=0)
    assert [l.crm_id for l in connector.fetch_changed(Watermark(), 100).leads] == ids
    assert all(r.ok for r in connector.write_back([item_for(i, sf.users["A1"]) for i in ids]))
