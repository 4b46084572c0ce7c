"""Incremental contact search over real HTTP: watermark, ties, the result cap, pacing."""
from __future__ import annotations

import time
from datetime import timedelta

import pandas as pd
import pytest
from hubspot.crm.contacts import PublicObjectSearchRequest, SimplePublicObjectInput
from hubspot.crm.contacts.exceptions import ApiException

from connectors.base import Watermark
from hubspot_fixtures import T0, SandboxFactory, drain, make_leads, make_sandbox  # noqa: F401 (fixture)


def test_given_new_leads_when_polled_in_small_batches_then_each_is_delivered_once_oldest_first(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(25))
    connector = sandbox.connector()
    first = connector.fetch_changed(Watermark(), 10)
    assert len(first.leads) == 10 and not first.complete
    ids, mark, _ = drain(connector, first.next_watermark, 10)
    everything = [lead.crm_id for lead in first.leads] + ids
    assert sorted(everything) == sandbox.contact_ids()  # all 25, none twice
    stamps = [lead.modified_at for lead in first.leads]
    assert stamps == sorted(stamps)
    assert first.leads[0].fields["email"] == "pat0@mail.example" and first.leads[0].fields["loan_amount"] == 300000.0
    # nothing changed: the next poll returns nothing and keeps the watermark
    again = connector.fetch_changed(mark, 10)
    assert again.leads == [] and again.complete and again.next_watermark == mark


def test_given_a_watermark_when_a_sales_user_edits_contacts_then_only_those_come_back(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(12))
    connector = sandbox.connector()
    _, mark, _ = drain(connector, Watermark(), 100)
    edited = sandbox.contact_ids()[3:6]
    basic = sandbox.client().crm.contacts.basic_api
    for crm_id in edited:
        basic.update(crm_id, SimplePublicObjectInput(properties={"credit_score": "745"}))
    result = connector.fetch_changed(mark, 100)
    assert sorted(lead.crm_id for lead in result.leads) == edited
    assert {lead.fields["credit_score"] for lead in result.leads} == {745}
    assert not any(lead.modified_by_integration for lead in result.leads)


def test_given_a_record_the_search_index_adds_late_when_polled_with_an_overlap_then_it_is_still_read(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(20, step=timedelta(seconds=2)))  # T0 .. T0+38s
    with_overlap, exact = sandbox.connector(overlap_s=30), sandbox.connector(overlap_s=0)
    first = with_overlap.fetch_changed(Watermark(), 100)
    assert len(first.leads) == 20 and first.next_watermark == Watermark(T0 + timedelta(seconds=8), None)
    _, exact_mark, _ = drain(exact, Watermark(), 100)
    # a change made at T0+30s shows up in search only now, behind both watermarks' newest record
    sandbox.store.create_objects("contacts", [{"lead_id": "LATE", "email": "late@mail.example",
                                               "lastmodifieddate": T0 + timedelta(seconds=30)}])
    late_id = max(sandbox.contact_ids(), key=int)
    again = with_overlap.fetch_changed(first.next_watermark, 100)
    assert late_id in [lead.crm_id for lead in again.leads]  # caught by the overlap (with 16 re-reads)
    assert len({lead.crm_id for lead in again.leads}) == len(again.leads) == 17
    assert again.next_watermark == first.next_watermark  # stable while nothing newer arrives
    assert exact.fetch_changed(exact_mark, 100).leads == []  # without the overlap it would be missed


@pytest.mark.parametrize("limit", [7, 50, 1000])
def test_given_more_records_sharing_one_timestamp_than_the_search_cap_when_polled_then_all_are_read_once(
        make_sandbox: SandboxFactory, limit: int) -> None:
    # 10 before, 120 sharing one millisecond, 10 after; the cap is 50 (HubSpot: 10,000)
    leads = [make_leads(10, start=T0 - timedelta(minutes=5)), make_leads(120, first=10, same_time=True),
             make_leads(10, first=130, start=T0 + timedelta(minutes=5))]

    sandbox = make_sandbox(pd.concat(leads, ignore_index=True), search_cap=50)
    connector = sandbox.connector(search_page_size=200)
    ids, mark, calls = drain(connector, Watermark(), limit, max_calls=200)
    assert len(ids) == 140 and sorted(ids) == sandbox.contact_ids()
    assert mark.modified_at == T0 + timedelta(minutes=5, seconds=9)
    # the cap was respected (no 400s): every search call succeeded
    usage = connector.usage()
    assert usage.errors == 0
    assert usage.calls_by_endpoint["contacts.search"] == sandbox.count("contacts.search")
    if limit == 1000:
        assert sandbox.count("contacts.search") <= 8  # range, tie group restarts past the cap, range again


def test_given_mixed_ties_when_polled_with_every_small_limit_then_no_record_is_lost_or_repeated(
        make_sandbox: SandboxFactory) -> None:

    groups = [make_leads(n, first=10 * k, start=T0 + timedelta(seconds=k), same_time=True)
              for k, n in enumerate([1, 4, 9, 2, 7, 1, 5])]
    sandbox = make_sandbox(pd.concat(groups, ignore_index=True), search_cap=6)
    for limit in (1, 2, 3, 5, 8):
        connector = sandbox.connector(search_page_size=4)
        ids, _, _ = drain(connector, Watermark(), limit)
        assert sorted(ids) == sandbox.contact_ids(), f"limit {limit}"


def test_the_sandbox_answers_400_past_the_search_cap_like_hubspot(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(30), search_cap=20)
    search = sandbox.client().crm.contacts.search_api
    page = search.do_search(PublicObjectSearchRequest(limit=15, after="10"))
    assert page.total == 30 and len(page.results) == 10 and page.paging is None  # stops at the cap
    with pytest.raises(ApiException) as caught:
        search.do_search(PublicObjectSearchRequest(limit=5, after="20"))
    assert caught.value.status == 400


def test_search_calls_are_paced_below_the_portal_limit(make_sandbox: SandboxFactory) -> None:
    # like HubSpot, the sandbox refuses a 6th search within one second (429); the connector paces itself to 4/s
    sandbox = make_sandbox(make_leads(12), search_requests_per_second=5)
    connector = sandbox.connector(sleep=time.sleep, search_page_size=2, search_requests_per_second=4)
    started = time.monotonic()
    ids, _, _ = drain(connector, Watermark(), 100)
    elapsed = time.monotonic() - started
    searches = sandbox.count("contacts.search")
    assert sorted(ids) == sandbox.contact_ids()
    assert searches >= 6 and connector.usage().errors == 0  # no 429 was ever needed
    assert elapsed >= (searches - 1) / 4 - 0.05


def test_without_pacing_the_portal_limit_answers_429_and_the_retry_layer_recovers(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(12), search_requests_per_second=5)
    connector = sandbox.connector(sleep=time.sleep, search_page_size=1, search_requests_per_second=100,
                                  retry={"initial_wait_s": 0.2, "max_wait_s": 1.0})
    ids, _, _ = drain(connector, Watermark(), 100)
    assert sorted(ids) == sandbox.contact_ids()
    assert connector.usage().errors >= 1  # 429s happened, were retried, and lost nothing
