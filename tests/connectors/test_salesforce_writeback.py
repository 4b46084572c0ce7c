"""Write-back to Salesforce: Composite + sObject Collections batching, idempotent assignment upserts,
per-record errors, bad CRM data still written back."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd

from sf_fixtures import T0, SfSandbox, item_for, make_leads
from connectors.base import Watermark, WriteBackItem


def test_given_450_leads_when_written_back_then_one_composite_call_carries_every_collection(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(450))
    connector = sf.connector()
    owners = [sf.users["A1"], sf.users["A2"]]
    connector.client  # log in first: only write-back calls are counted below
    sf.reset_stats()

    results = connector.write_back([item_for(crm_id, owners[i % 2]) for i, crm_id in enumerate(ids)])

    assert [r.crm_id for r in results] == ids and all(r.ok for r in results)
    # 3 Lead collections (200+200+50) and 3 assignment upserts: 6 subrequests in one Composite call
    assert sf.http_stats() == {"composite": 1}
    lead = sf.store.get("Lead", ids[1])
    assert lead is not None
    assert lead["AI_Lead_Score__c"] == 72 and lead["AI_Score_Probability__c"] == 0.3172
    assert lead["Score_Confidence__c"] == 0.81 and lead["Model_Version__c"] == "2026.10-a"
    assert lead["AI_Score_Reasons__c"] == "Credit score 760: +9\nLoan-to-value 80%: +4"
    assert lead["Compliance_Status__c"] == "eligible" and lead["AI_Input_Hash__c"] == "hash-1"
    assert lead["Score_Timestamp__c"] == "2026-10-01T10:00:00.000+0000"
    assert lead["OwnerId"] == owners[1]
    assignments = sf.assignments()
    assert len(assignments) == 450
    mine = next(a for a in assignments if a["Lead__c"] == ids[1])
    assert mine["Agent__c"] == owners[1] and mine["External_Id__c"] == f"assign:{ids[1]}"
    assert mine["Match_Score__c"] == 0.8123 and mine["AB_Arm__c"] == "champion"


def test_given_a_small_composite_size_when_written_back_then_calls_grow_with_subrequests(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(450))
    connector = sf.connector(composite_size=2)
    connector.client
    sf.reset_stats()

    results = connector.write_back([item_for(crm_id, sf.users["A1"]) for crm_id in ids])

    assert all(r.ok for r in results)
    assert sf.http_stats() == {"composite": 3}  # 6 subrequests, 2 a call


def test_given_a_batch_retried_when_written_back_again_then_no_assignment_record_is_duplicated(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(30))
    connector = sf.connector()
    items = [item_for(crm_id, sf.users["A1"]) for crm_id in ids]
    assert all(r.ok for r in connector.write_back(items))

    # the same batch again (a retry after a crash), then a re-assignment of one lead under the same key
    assert all(r.ok for r in connector.write_back(items))
    moved = item_for(ids[0], sf.users["A2"])
    assert connector.write_back([moved])[0].ok

    assignments = sf.assignments()
    assert len(assignments) == 30
    assert len({a["External_Id__c"] for a in assignments}) == 30
    assert next(a for a in assignments if a["Lead__c"] == ids[0])["Agent__c"] == sf.users["A2"]


def test_given_records_salesforce_refuses_when_written_back_then_each_gets_its_own_error(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(3))
    connector = sf.connector()
    deleted = "00QZZ00000000zzzzz"
    items = [item_for(ids[0], sf.users["A1"]), item_for(deleted, sf.users["A1"]),
             item_for(ids[1], "005ZZ0000000NOPE"), item_for(ids[2], None)]

    results = connector.write_back(items)

    assert [r.crm_id for r in results] == [ids[0], deleted, ids[1], ids[2]]
    assert results[0].ok and results[3].ok
    assert not results[1].ok and "ENTITY_IS_DELETED" in (results[1].error or "") and not results[1].retryable
    assert not results[2].ok and "INVALID_CROSS_REFERENCE_KEY" in (results[2].error or "")
    assert not results[2].retryable
    # the good records of the same batch were written; a lead without an owner gets no assignment record
    assert sf.store.get("Lead", ids[0])["AI_Lead_Score__c"] == 72  # type: ignore[index]
    assert sf.store.get("Lead", ids[2])["AI_Lead_Score__c"] == 72  # type: ignore[index]
    assert {a["Lead__c"] for a in sf.assignments()} == {ids[0]}


def test_given_a_blocked_lead_when_written_back_then_stale_scores_are_cleared_and_reasons_say_why(
        sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(1))
    connector = sf.connector()
    assert connector.write_back([item_for(ids[0], sf.users["A1"])])[0].ok
    blocked = item_for(ids[0], None, score=0)
    blocked.score, blocked.probability, blocked.confidence, blocked.reasons = None, None, None, []
    blocked.compliance_status, blocked.compliance_reasons = "blocked", ["TCPA_CONSENT_MISSING: no consent recorded"]

    assert connector.write_back([blocked])[0].ok

    lead = sf.store.get("Lead", ids[0])
    assert lead is not None
    assert lead["AI_Lead_Score__c"] is None and lead["AI_Score_Reasons__c"] is None
    assert lead["Compliance_Status__c"] == "blocked"
    assert lead["Compliance_Reasons__c"] == "TCPA_CONSENT_MISSING: no consent recorded"


def test_given_overlong_texts_when_written_back_then_they_are_cut_to_the_field_size_not_refused(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(1))
    connector = sf.connector()
    item = item_for(ids[0], sf.users["A1"], model_version="v" * 500)
    item.assignment_reason = "r" * 1000

    assert connector.write_back([item])[0].ok

    assert len(sf.store.get("Lead", ids[0])["Model_Version__c"]) == 80  # type: ignore[index]
    assert len(sf.assignments()[0]["Assignment_Reason__c"]) == 255


def test_given_messy_crm_records_when_polled_and_written_back_then_problems_are_kept_and_nothing_is_lost(
        sf: SfSandbox) -> None:
    messy = pd.DataFrame([
        {"lead_id": "M1", "last_name": "Missing", "created_at": T0},  # almost nothing filled
        {"lead_id": "M2", "last_name": "Types", "credit_score": "seven hundred", "loan_amount": "$350,000",
         "tcpa_consent": "maybe", "created_at": T0 + timedelta(seconds=1)},
        {"lead_id": "M3", "last_name": "Phone", "phone": "call me maybe", "state": "Narnia",
         "created_at": T0 + timedelta(seconds=2)},
        {"lead_id": "M4", "last_name": "Absurd", "loan_amount": 9e15, "annual_income": -5,
         "email": "not-an-email", "created_at": T0 + timedelta(seconds=3)},
        {"lead_id": "M5", "last_name": "Fine", "loan_amount": 250000, "state": "texas", "phone": "+1 (214) 555-2368",
         "created_at": T0 + timedelta(seconds=4)},
    ])
    ids = sf.seed(messy)
    connector = sf.connector()

    leads = connector.fetch_changed(Watermark(), 100).leads

    by_name = {lead.fields["last_name"]: lead for lead in leads}
    assert len(leads) == 5
    assert by_name["Missing"].problems == [] and by_name["Missing"].fields["loan_amount"] is None
    types = by_name["Types"]
    assert types.fields["credit_score"] is None and types.fields["loan_amount"] == 350_000.0
    assert any(p.startswith("credit_score (Credit_Score__c)") for p in types.problems)
    assert any(p.startswith("tcpa_consent (TCPA_Consent__c)") for p in types.problems)
    phone = by_name["Phone"]
    assert phone.fields["state"] is None and any("state (State)" in p for p in phone.problems)
    assert phone.fields["phone"] == "call me maybe"  # kept as text for compliance's own reason code
    absurd = by_name["Absurd"]
    assert absurd.fields["loan_amount"] is None and absurd.fields["annual_income"] is None
    assert absurd.fields["email"] is None and len(absurd.problems) == 3
    fine = by_name["Fine"]
    assert fine.problems == [] and fine.fields["state"] == "TX" and fine.fields["phone"] == "2145552368"

    # every record, however bad, is written back; the reasons field tells why
    items = []
    for lead in leads:
        item = item_for(lead.crm_id, None)
        item.compliance_status = "review" if lead.problems else "eligible"
        item.compliance_reasons = lead.problems
        items.append(item)
    results = connector.write_back(items)
    assert all(r.ok for r in results)
    stored = sf.store.get("Lead", by_name["Absurd"].crm_id)
    assert stored is not None and "loan_amount (Loan_Amount__c)" in stored["Compliance_Reasons__c"]
    assert {r.crm_id for r in results} == set(ids)


def test_given_records_written_back_then_a_sales_user_reads_them_with_the_real_client(sf: SfSandbox) -> None:
    ids = sf.seed(make_leads(2))
    connector = sf.connector()
    assert all(r.ok for r in connector.write_back([item_for(i, sf.users["A2"]) for i in ids]))

    sales = sf.sales_client()
    rows = sales.query_all("SELECT Id, AI_Lead_Score__c, AI_Score_Reasons__c, Owner.Name FROM Lead "
                           "ORDER BY Id")["records"]
    assignment = sales.query(f"SELECT Agent__c, Lead__c FROM Lead_Assignment__c WHERE Lead__c = '{ids[0]}'")

    assert [r["Id"] for r in rows] == ids
    assert rows[0]["AI_Lead_Score__c"] == 72 and rows[0]["Owner"]["Name"] == "Ben Okafor"
    assert rows[0]["AI_Score_Reasons__c"].startswith("Credit score 760")
    assert assignment["totalSize"] == 1 and assignment["records"][0]["Agent__c"] == sf.users["A2"]


def test_given_an_item_without_a_score_then_the_lead_update_keeps_the_score_fields() -> None:
    from connectors.salesforce.schema import ScoreFieldNames
    from connectors.salesforce.writeback import lead_record

    names = ScoreFieldNames()
    partial = WriteBackItem(crm_id="00Q1", idempotency_key="k", owner_crm_user_id="005A",
                            assignment_reason="from the queue", routing_outcome="assigned")
    record = lead_record(partial, names, "OwnerId")
    assert record["OwnerId"] == "005A"
    assert names.score not in record and names.compliance_status not in record and names.reasons not in record
    full = WriteBackItem(crm_id="00Q1", idempotency_key="k", score=80, model_version="v1", reasons=[])
    assert names.reasons in lead_record(full, names, "OwnerId")  # a full write clears stale reasons
