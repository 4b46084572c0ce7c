"""Outcomes (converted leads and their opportunity) and agents (active Users) from Salesforce."""
from __future__ import annotations

from datetime import timedelta

from sf_fixtures import T0, SfSandbox, make_leads
from connectors.base import Watermark
from connectors.sandbox.salesforce_store import Write


def test_given_converted_leads_then_outcomes_carry_won_and_amount(sf: SfSandbox) -> None:
    converted = make_leads(2, converted=True, converted_at=T0 + timedelta(days=3), conversion_value=4200.0)
    ids = sf.seed(make_leads(3)) + sf.seed(converted.assign(lead_id=["C1", "C2"]))
    connector = sf.connector()

    batch = connector.fetch_outcomes(Watermark(), 100)

    assert {o.crm_id for o in batch.outcomes} == set(ids[3:])
    outcome = batch.outcomes[0]
    assert outcome.converted and outcome.won is True and outcome.conversion_value == 4200.0
    assert outcome.converted_at is not None and outcome.converted_at.date() == (T0 + timedelta(days=3)).date()
    assert batch.next_watermark.modified_at is not None and batch.next_watermark.last_id is None


def test_given_an_opportunity_lost_later_then_the_next_outcome_poll_reports_it(sf: SfSandbox) -> None:
    sf.seed(make_leads(1, converted=True, converted_at=T0, conversion_value=1000.0))
    connector = sf.connector(overlap_s=0)
    first = connector.fetch_outcomes(Watermark(), 100)
    assert first.outcomes[0].won is True
    opp_id = sf.store.records("Opportunity")[0]["Id"]
    # a sales user marks the deal lost: only the Opportunity changes, the Lead's SystemModstamp does not
    sales = sf.store.user_id("sales@leadpilot.sandbox") or ""
    sf.store.apply([Write("update", "Opportunity", {"IsWon": False, "StageName": "Closed Lost"}, record_id=opp_id)],
                   sales)

    second = connector.fetch_outcomes(first.next_watermark, 100)

    assert len(second.outcomes) == 1
    assert second.outcomes[0].won is False and second.outcomes[0].conversion_value is None
    third = connector.fetch_outcomes(second.next_watermark, 100)
    # the watermark moved to the opportunity's change: at most that same (Id, stamp) again, nothing older
    assert third.next_watermark == second.next_watermark
    assert {(o.crm_id, o.modified_at) for o in third.outcomes} <= {(o.crm_id, o.modified_at) for o in second.outcomes}


def test_given_users_then_agents_are_the_active_ones_without_the_integration_user(sf: SfSandbox) -> None:
    connector = sf.connector()

    agents = connector.fetch_agents()

    names = {a.name for a in agents}
    assert {"Ana Lopez", "Ben Okafor"} <= names
    assert "Cy Retired" not in names and "Leadpilot Integration" not in names and "Web Intake" not in names
    ana = next(a for a in agents if a.name == "Ana Lopez")
    assert ana.crm_user_id == sf.users["A1"] and ana.email == "ana@lender.example" and ana.active
