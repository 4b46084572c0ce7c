"""Faults injected by the sandbox (429 storms, 500s, dropped connections, partial failures) lose no lead.

Also: our tenacity layer is the only one (the client's urllib3 retries are off), Retry-After is
honoured, a bound is kept and then the failure is left for the next cycle.
"""
from __future__ import annotations

import pytest
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.owners.exceptions import ServiceException
from urllib3.exceptions import MaxRetryError, ProtocolError

from connectors.base import QuotaExhaustedError, RetryableConnectorError, Watermark, WriteBackItem
from connectors.hubspot.api import HubSpotRequestError, classify
from connectors.retry import Action
from connectors.sandbox.faults import FaultSettings
from hubspot_fixtures import SandboxFactory, failed, item_for, make_leads, make_sandbox  # noqa: F401


def test_given_a_storm_of_every_fault_when_the_daemon_cycles_then_every_lead_is_written_back_exactly_once(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(150))
    connector = sandbox.connector(search_page_size=25, retry={"max_attempts": 3}, overlap_s=30)
    owner = str(sandbox.store.owners()[0].id)
    sandbox.injector.update(rate_429=0.15, retry_after_s=2, rate_500=0.1, drop_rate=0.08, drop_after_rate=0.08,
                            partial_failure_rate=0.1, seed=11)
    mark, pending, done, failed_polls = Watermark(), dict[str, WriteBackItem](), set[str](), 0
    for _cycle in range(80):
        try:
            result = connector.fetch_changed(mark, 40)
        except RetryableConnectorError:
            failed_polls += 1  # the watermark stays: the next cycle asks again
        else:
            for lead in result.leads:
                if not lead.modified_by_integration and lead.crm_id not in done:
                    pending[lead.crm_id] = item_for(lead.crm_id, owner)
            mark = result.next_watermark
        if pending:
            for outcome in connector.write_back(list(pending.values())):
                assert outcome.ok or outcome.retryable, outcome.error
                if outcome.ok:
                    done.add(outcome.crm_id)
                    pending.pop(outcome.crm_id, None)
        if len(done) == 150 and not pending:
            break
    sandbox.injector.update(rate_429=0, rate_500=0, drop_rate=0, drop_after_rate=0, partial_failure_rate=0)
    assert done == set(sandbox.contact_ids())
    for prop in ("ai_lead_score", "hubspot_owner_id", "assignment_id"):
        counts = sandbox.store.change_counts("contacts", prop)
        assert len(counts) == 150 and set(counts.values()) == {1}, prop  # written once, never twice
    assert failed_polls >= 1 and connector.usage().errors > 20  # the faults really happened
    assert any(wait >= 2.0 for wait in sandbox.sleeps.waits)  # Retry-After honoured
    # from the start again, every lead is recognised as already handled
    again = sandbox.connector().fetch_changed(Watermark(), 1000)
    assert len(again.leads) == 150 and all(lead.modified_by_integration for lead in again.leads)


def test_given_429_with_retry_after_when_it_persists_then_each_wait_honours_it_and_the_call_gives_up(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(3), faults=FaultSettings(rate_429=1.0, retry_after_s=3,
                                                              endpoints=["contacts.search"]))
    connector = sandbox.connector(retry={"max_attempts": 4})
    with pytest.raises(RetryableConnectorError, match="next cycle"):
        connector.fetch_changed(Watermark(), 10)
    assert sandbox.count("contacts.search") == 4  # our 4 attempts, no hidden retries of the client
    backoffs = [wait for wait in sandbox.sleeps.waits if wait > 0.25]  # the rest is search pacing (4/s)
    assert len(backoffs) == 3 and all(wait >= 3.0 for wait in backoffs)


def test_given_a_retry_after_longer_than_allowed_then_the_call_is_left_for_the_next_cycle_at_once(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(3), faults=FaultSettings(rate_429=1.0, retry_after_s=600))
    connector = sandbox.connector(retry={"max_retry_after_s": 30})
    with pytest.raises(RetryableConnectorError, match="asked to wait"):
        connector.fetch_changed(Watermark(), 10)
    assert sandbox.count("contacts.search") == 1 and sandbox.sleeps.waits == []


def test_given_dropped_connections_on_every_batch_update_then_only_our_retries_run_and_items_stay_pending(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(250), faults=FaultSettings(drop_rate=1.0, endpoints=["contacts.batch_update"]))
    connector = sandbox.connector(retry={"max_attempts": 3})
    results = connector.write_back([item_for(i) for i in sandbox.contact_ids()])
    assert len(failed(results)) == 250 and all(r.retryable for r in results)
    assert "connection failed" in (results[0].error or "")
    # POST is not retried by urllib3 and would surface as MaxRetryError; ours retried 3 times, then stopped
    # calling for the two other batches of this cycle
    assert sandbox.count("contacts.batch_update") == 3


def test_given_500s_on_search_when_they_persist_then_the_poll_fails_retryably_after_the_bound(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(3), faults=FaultSettings(rate_500=1.0))
    connector = sandbox.connector(retry={"max_attempts": 5})
    with pytest.raises(RetryableConnectorError):
        connector.fetch_changed(Watermark(), 10)
    assert sandbox.count("contacts.search") == 5
    sandbox.injector.update(rate_500=0.0)
    assert len(connector.fetch_changed(Watermark(), 10).leads) == 3  # next cycle: nothing lost


def test_given_a_wrong_token_then_the_error_tells_the_admin_what_to_fix_and_is_not_retried(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(1))
    connector = sandbox.connector(access_token="pat-wrong")
    with pytest.raises(HubSpotRequestError, match="access token") as caught:
        connector.fetch_changed(Watermark(), 10)
    assert caught.value.status == 401 and sandbox.count("contacts.search") == 1
    items = connector.check()
    assert items[0].ok is False and "401" in items[0].detail and len(items) == 1


def test_given_the_daily_limit_is_spent_then_polling_stops_with_quota_exhausted(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(5), daily_limit=2)
    connector = sandbox.connector()
    first = connector.fetch_changed(Watermark(), 2)
    assert len(first.leads) == 2 and connector.usage().remaining == 1
    connector.fetch_changed(first.next_watermark, 2)
    with pytest.raises(QuotaExhaustedError, match="quota"):
        connector.fetch_changed(first.next_watermark, 2)
    assert sandbox.count("contacts.search") == 3  # the spent quota is not retried


def test_given_a_quota_floor_when_remaining_calls_drop_below_it_then_polling_pauses_without_calling(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(5), daily_limit=100)
    connector = sandbox.connector(quota_floor=100)
    connector.fetch_changed(Watermark(), 10)
    with pytest.raises(QuotaExhaustedError, match="quota_floor"):
        connector.fetch_changed(Watermark(), 10)
    assert sandbox.count("contacts.search") == 1


def test_the_decision_table_sees_every_failure_the_client_can_raise() -> None:
    class Response:  # the shape ApiException reads from urllib3's response
        def __init__(self, status: int, body: bytes, headers: dict[str, str]):
            self.status, self.reason, self.data, self._headers = status, "x", body, headers

        def getheaders(self) -> dict[str, str]:
            return self._headers

    daily = ApiException(http_resp=Response(429, b'{"policyName":"DAILY","category":"RATE_LIMITS"}', {}))
    secondly = ApiException(http_resp=Response(429, b'{"policyName":"SECONDLY"}', {"Retry-After": "2"}))
    assert classify(daily).action is Action.QUOTA
    assert classify(secondly).action is Action.RATE_LIMITED and classify(secondly).retry_after_s == 2.0
    assert classify(ServiceException(http_resp=Response(503, b"", {}))).action is Action.RETRY
    assert classify(ApiException(http_resp=Response(400, b"{}", {}))).action is Action.FAIL
    # what urllib3 raises when a connection drops: with its retries on, MaxRetryError; off, the error itself
    assert classify(MaxRetryError(None, "/crm/v3/objects/contacts/batch/update")).action is Action.RETRY
    assert classify(ProtocolError("Connection aborted.")).action is Action.RETRY
    assert classify(ValueError("a bug")) is None  # not retried: surfaces
