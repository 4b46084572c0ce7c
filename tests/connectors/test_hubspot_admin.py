"""Owners -> agents, outcomes from lifecycle stage and deals, check/setup of properties, the plugin entry point."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.deals import AssociationSpec, PublicAssociationsForObject, PublicObjectId, SimplePublicObjectInputForCreate

from config.sections.connectors import ConnectorConfig
from connectors.base import Watermark
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.registry import available_plugins
from connectors.sandbox.hubspot_store import PropertyDef
from hubspot_fixtures import AGENTS, T0, SandboxFactory, item_for, make_leads, make_sandbox  # noqa: F401


def test_active_owners_become_agents(make_sandbox: SandboxFactory) -> None:
    many = AGENTS + [{"name": f"Officer {i}", "email": f"o{i}@lender.example"} for i in range(600)]
    sandbox = make_sandbox(agents=many)
    agents = sandbox.connector().fetch_agents()
    assert len(agents) == 602 and sandbox.count("owners") == 2  # 500 a page
    by_email = {a.email: a for a in agents}
    assert by_email["ana@lender.example"].name == "Ana Lopez" and by_email["ana@lender.example"].active
    assert "cy@lender.example" not in by_email  # archived (deactivated) owners cannot take leads
    assert all(a.crm_user_id.isdigit() for a in agents)


def test_outcomes_come_from_lifecycle_stage_and_closed_won_deals(make_sandbox: SandboxFactory) -> None:
    leads = make_leads(6)
    leads["converted"] = [True, False, False, False, False, False]
    leads["converted_at"] = [T0 + timedelta(days=20)] + [None] * 5
    leads["conversion_value"] = [4200.0] + [None] * 5
    sandbox = make_sandbox(leads)
    ids = sandbox.contact_ids()
    client = sandbox.client()
    # lead 1 becomes an opportunity with an open deal; lead 2 an opportunity whose deal was lost;
    # lead 3 stays a lead but its deal closes won (HubSpot would move it to customer; the deal decides)
    client.crm.contacts.basic_api.update(ids[1], SimplePublicObjectInput(properties={"lifecyclestage": "opportunity"}))
    client.crm.contacts.basic_api.update(ids[2], SimplePublicObjectInput(properties={"lifecyclestage": "opportunity"}))
    for contact, stage, amount in ((ids[1], "contractsent", "1000"), (ids[2], "closedlost", "900"),
                                   (ids[3], "closedwon", "2500")):
        client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(
            properties={"dealname": "loan", "dealstage": stage, "amount": amount, "pipeline": "default",
                        "closedate": "2026-10-20T00:00:00Z"},
            associations=[PublicAssociationsForObject(to=PublicObjectId(id=contact), types=[
                AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=3)])]))
    connector = sandbox.connector()
    batch = connector.fetch_outcomes(Watermark(), 100)
    got = {o.crm_id: o for o in batch.outcomes}
    assert set(got) == {ids[0], ids[1], ids[2]}  # lifecycle stage filters the search; lead 3 stays a lead
    assert got[ids[0]].converted and got[ids[0]].won and got[ids[0]].conversion_value == 4200.0
    assert got[ids[0]].converted_at == T0 + timedelta(days=20)
    assert got[ids[1]].converted and got[ids[1]].won is None and got[ids[1]].conversion_value is None
    assert got[ids[2]].converted and got[ids[2]].won is False
    assert sandbox.count("associations.batch_read") == 1 and sandbox.count("deals.batch_read") == 1
    # our own write-back touches converted contacts too; the watermark moves on and nothing is lost
    again = connector.fetch_outcomes(batch.next_watermark, 100)
    assert again.outcomes == []
    connector.write_back([item_for(ids[0])])
    assert [o.crm_id for o in connector.fetch_outcomes(batch.next_watermark, 100).outcomes] == [ids[0]]


def test_given_a_fresh_portal_when_checked_then_every_missing_property_is_listed(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(1), with_leadpilot_properties=False)
    sandbox.store.add_property("contacts", PropertyDef("ai_lead_score", "AI score", "string", "text", "mortgage_lead"))
    connector = sandbox.connector()
    items = connector.check()
    bad = {i.what: i.detail for i in items if not i.ok}
    assert items[0].ok and items[1].ok  # token and scopes fine
    assert "property group leadpilot" in bad and "property assignment_id" in bad
    assert "type string" in bad["property ai_lead_score"]  # exists but with the wrong type
    assert not any(w.startswith("mapped property") for w in bad)  # the sandbox has the mortgage properties


def test_setup_is_a_dry_run_unless_applied_and_then_idempotent(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(2), with_leadpilot_properties=False)
    connector = sandbox.connector()
    before = set(sandbox.store.property_defs("contacts"))
    dry = connector.setup(apply=False)
    assert all(not i.ok and "dry run" in i.detail for i in dry) and len(dry) == 15  # the group + 14 properties
    assert set(sandbox.store.property_defs("contacts")) == before
    applied = connector.setup(apply=True)
    assert all(i.ok and i.detail == "created" for i in applied)
    made = sandbox.store.property_defs("contacts")
    assert made["ai_lead_score"].type == "number" and made["ai_lead_score"].group_name == "leadpilot"
    assert made["score_timestamp"].type == "datetime"
    assert all(i.ok for i in connector.check())
    assert all(i.ok and i.detail == "exists" for i in connector.setup(apply=True)[1:])  # nothing created twice
    # and the write-back works now
    assert all(r.ok for r in connector.write_back([item_for(i) for i in sandbox.contact_ids()]))


def test_a_mapped_property_missing_in_hubspot_is_reported(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(1))
    config = ConnectorConfig(name="hs", plugin="hubspot", field_mapping={"fico_score__c": "credit_score"},
                             settings={"access_token": "pat-sandbox-leadpilot", "host": sandbox.url})
    connector = HubSpotConnector.from_config(config)
    try:
        bad = [i for i in connector.check() if not i.ok]
    finally:
        connector.close()
    assert [i.what for i in bad] == ["mapped property fico_score__c"] and "credit_score" in bad[0].detail


def test_the_plugin_is_found_through_its_entry_point_and_validates_its_settings() -> None:
    plugin = available_plugins()["hubspot"].load()
    assert plugin is HubSpotConnector and plugin.config_model is HubSpotSettings
    with pytest.raises(ValueError, match="search_page_size|batch_size|host"):
        HubSpotSettings.model_validate({"access_token": "t", "search_page_size": 500, "batch_size": 101,
                                        "host": "api.hubapi.com"})
    with pytest.raises(ValueError, match="access_token"):
        HubSpotSettings.model_validate({})


def test_api_clients_are_built_once(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(3))
    connector = sandbox.connector()
    search, batch = connector.api.contacts_search, connector.api.contacts_batch
    pool = search.api_client.rest_client.pool_manager
    connector.fetch_changed(Watermark(), 10)
    connector.write_back([item_for(i) for i in sandbox.contact_ids()])
    assert connector.api.contacts_search is search and connector.api.contacts_batch is batch
    assert search.api_client.rest_client.pool_manager is pool and len(pool.pools) == 1  # one reused connection pool
    assert search.api_client.configuration.retries is False  # the client's own urllib3 retries are off
