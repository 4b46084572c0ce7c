"""Incremental polling of Salesforce leads: ties, overlap, pagination, escaping, own write-backs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sf_fixtures import T0, SfSandbox, item_for, make_leads
from connectors.base import Watermark
from connectors.salesforce import soql


def test_given_new_leads_when_polled_then_all_come_oldest_first_with_canonical_fields(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(5))
    connector = sf.connector()

    result = connector.fetch_changed(Watermark(), 100)

    assert result.complete
    assert [lead.crm_id for lead in result.leads] == ids
    first = result.leads[0]
    assert first.fields["crm_id"] == ids[0]
    assert first.fields["loan_amount"] == 300_000.0 and first.fields["credit_score"] == 700
    assert first.fields["state"] == "TX" and first.fields["tcpa_consent"] is True
    assert first.fields["created_at"] == T0
    assert first.problems == []
    assert result.next_watermark.modified_at == T0 + timedelta(seconds=4)
    assert result.next_watermark.last_id is None


def test_given_many_leads_sharing_one_stamp_when_read_in_small_batches_then_each_comes_exactly_once(
        sf: SfSandbox) -> None:
    # 23 leads with one SystemModstamp (one Salesforce transaction), 7 more a second later
    ids = sf.seed(make_leads(23, step=timedelta(0))) + sf.seed(make_leads(7, start=T0 + timedelta(seconds=1), first=23))
    connector = sf.connector(overlap_s=0)

    batches = []
    watermark = Watermark()
    while True:
        result = connector.fetch_changed(watermark, 5)
        batches.append([lead.crm_id for lead in result.leads])
        watermark = result.next_watermark
        if result.complete:
            break

    seen = [crm_id for batch in batches for crm_id in batch]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) == 30
    assert all(len(batch) <= 5 for batch in batches)
    # a page boundary inside the run of equal stamps continues after (stamp, Id), not from the stamp
    assert batches[0] == ids[:5] and batches[1] == ids[5:10]


def test_given_a_late_commit_with_an_older_stamp_when_polled_again_then_the_overlap_window_finds_it(
        sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(3))
    connector = sf.connector(overlap_s=120)
    first = connector.fetch_changed(Watermark(), 100)
    assert first.complete and len(first.leads) == 3
    # a transaction that started before our poll commits afterwards, stamped 60 s before the watermark
    late = sf.seed(make_leads(1, first=3, start=T0 - timedelta(seconds=60)))[0]

    second = connector.fetch_changed(first.next_watermark, 100)

    got = {lead.crm_id for lead in second.leads}
    assert late in got
    # the re-read records are the same (Id, SystemModstamp) pairs as before: the daemon drops them
    again = {(lead.crm_id, lead.modified_at) for lead in second.leads if lead.crm_id != late}
    assert again <= {(lead.crm_id, lead.modified_at) for lead in first.leads}
    assert got == set(ids) | {late}


def test_given_no_overlap_when_a_late_commit_lands_before_the_watermark_then_it_is_missed(sf: SfSandbox) -> None:
    # the counterpart of the test above: the window is what finds late commits
    sf.seed(make_leads(3))
    connector = sf.connector(overlap_s=0)
    first = connector.fetch_changed(Watermark(), 100)
    late = sf.seed(make_leads(1, first=3, start=T0 - timedelta(seconds=60)))[0]

    second = connector.fetch_changed(first.next_watermark, 100)

    assert late not in {lead.crm_id for lead in second.leads}


def test_given_more_leads_than_a_page_when_polled_then_pages_follow_next_records_url(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(450))
    connector = sf.connector(query_batch_size=200)
    sf.reset_stats()

    result = connector.fetch_changed(Watermark(), 1000)

    assert [lead.crm_id for lead in result.leads] == ids
    stats = sf.http_stats()
    assert stats["query"] == 1 and stats["query_more"] == 2  # 200 + 200 + 50


def test_given_a_limit_below_the_backlog_when_polled_then_the_pass_is_incomplete_and_resumes_exactly(
        sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(12))
    connector = sf.connector()

    first = connector.fetch_changed(Watermark(), 10)
    second = connector.fetch_changed(first.next_watermark, 10)

    assert not first.complete and first.next_watermark.last_id == ids[9]
    assert second.complete
    assert [l.crm_id for l in first.leads + second.leads] == ids


def test_given_an_unchanged_org_when_polled_again_then_only_the_overlap_is_reread(sf: SfSandbox) -> None:
    sf.seed(make_leads(4, step=timedelta(minutes=30)))
    connector = sf.connector(overlap_s=60)
    first = connector.fetch_changed(Watermark(), 100)

    second = connector.fetch_changed(first.next_watermark, 100)

    assert len(first.leads) == 4
    assert [l.crm_id for l in second.leads] == [first.leads[-1].crm_id]
    assert second.next_watermark == first.next_watermark


def test_given_our_own_write_back_when_polled_then_leads_are_flagged_with_the_written_hash(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(3))
    connector = sf.connector()
    first = connector.fetch_changed(Watermark(), 100)
    assert not any(l.modified_by_integration for l in first.leads)
    results = connector.write_back([item_for(ids[0], sf.users["A1"], input_hash="h-0")])
    assert results[0].ok

    second = connector.fetch_changed(first.next_watermark, 100)

    ours = {l.crm_id: l for l in second.leads}[ids[0]]
    assert ours.modified_by_integration and ours.written_input_hash == "h-0"
    assert ours.modified_at > first.next_watermark.modified_at  # the write bumped SystemModstamp


def test_given_a_sales_user_edit_after_our_write_when_polled_then_it_is_not_flagged_as_ours(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(1))
    connector = sf.connector()
    assert connector.write_back([item_for(ids[0], sf.users["A1"])])[0].ok
    sf.sales_client().Lead.update(ids[0], {"Credit_Score__c": 612})

    lead = connector.fetch_changed(Watermark(), 100).leads[0]

    assert not lead.modified_by_integration
    assert lead.fields["credit_score"] == 612 and lead.written_input_hash == "hash-1"


def test_given_quotes_and_backslashes_in_values_when_built_into_soql_then_the_sandbox_parses_them_back(
        sf: SfSandbox) -> None:
    tricky = "O'Brien \\ \"Jr\" ' OR Id != null"
    sf.seed(make_leads(1, last_name=tricky))
    sf.seed(make_leads(1, first=1, last_name="Other"))
    connector = sf.connector()

    query = soql.select(["Id", "LastName"], "Lead", [soql.equals("LastName", tricky)])
    found = connector.client.query(query)["records"]

    assert [r["LastName"] for r in found] == [tricky]


def test_given_an_id_with_a_quote_in_the_watermark_when_polled_then_the_query_stays_valid(sf: SfSandbox) -> None:
    sf.seed(make_leads(2))
    connector = sf.connector()

    result = connector.fetch_changed(Watermark(T0, "00Q'); DELETE"), 100)

    assert result.complete  # a malformed (unescaped) query would have raised


@pytest.mark.parametrize("bad", ["Lead; DELETE", "Name) OR (Id", "Loan Amount", "x'y"])
def test_given_a_config_field_name_that_is_not_an_identifier_then_no_soql_is_built(bad: str) -> None:
    from config.errors import BadInputError

    with pytest.raises(BadInputError):
        soql.select(["Id", bad], "Lead")
