"""The canonical first_time_buyer flag: generated leads carry it, both sandboxes declare it, both connectors read it."""
from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from config.canonical import CANONICAL_FIELDS
from connectors.base import Watermark
from connectors.hubspot.fields import DEFAULT_FIELD_MAPPING as HUBSPOT_MAPPING
from connectors.hubspot.fields import MORTGAGE_PROPERTIES
from connectors.mapping import map_record
from connectors.salesforce.schema import DEFAULT_FIELD_MAPPING as SALESFORCE_MAPPING
from connectors.sandbox.salesforce_schema import MORTGAGE_LEAD_FIELDS
from daemon.synthetic import generate
from hubspot_fixtures import SandboxFactory, drain, make_sandbox  # noqa: F401 (fixture)
from hubspot_fixtures import make_leads as hubspot_leads
from sf_fixtures import SfSandbox
from sf_fixtures import make_leads as salesforce_leads

FLAGS = [True, False, None]


def test_the_flag_is_canonical_and_both_default_mappings_and_sandboxes_declare_it() -> None:
    assert CANONICAL_FIELDS["first_time_buyer"] == "bool"
    assert SALESFORCE_MAPPING["First_Time_Buyer__c"] == "first_time_buyer"
    assert HUBSPOT_MAPPING["first_time_buyer"] == "first_time_buyer"
    assert [f.type for f in MORTGAGE_LEAD_FIELDS if f.name == "First_Time_Buyer__c"] == ["boolean"]
    assert [(p.type, p.field_type) for p in MORTGAGE_PROPERTIES if p.name == "first_time_buyer"] == [
        ("bool", "booleancheckbox")]
    # the spellings CRMs and web forms use for a checkbox all read as the flag; junk is a problem, not a guess
    read = [map_record({"f": v}, {"f": "first_time_buyer"}) for v in ("Yes", "false", 1, "", "maybe")]
    assert [fields["first_time_buyer"] for fields, _ in read] == [True, False, True, None, None]
    assert [len(problems) for _, problems in read] == [0, 0, 0, 0, 1]


def test_generated_leads_carry_the_flag_of_their_segment() -> None:
    data = generate(n_leads=400, n_agents=4, seed=2, now=datetime(2026, 11, 1, tzinfo=UTC))
    flag = data.leads["first_time_buyer"]
    assert flag.dtype == bool
    assert flag.tolist() == data.leads["segment"].str.contains("first_time_buyer").tolist()
    # only purchases have first-time buyers, and a fair share of them do
    purchase = data.clean_leads["loan_purpose"] == "purchase"
    assert not flag[~purchase.to_numpy()].any() and 0.3 < flag[purchase.to_numpy()].mean() < 0.6


def test_salesforce_reads_the_checkbox_into_the_canonical_flag(sf: SfSandbox) -> None:
    ids = sf.seed(salesforce_leads(3).assign(first_time_buyer=FLAGS))
    result = sf.connector().fetch_changed(Watermark(), 100)
    by_id = {lead.crm_id: lead.fields["first_time_buyer"] for lead in result.leads}
    assert [by_id[i] for i in ids] == FLAGS


def test_hubspot_reads_the_property_into_the_canonical_flag(make_sandbox: SandboxFactory) -> None:  # noqa: F811
    sandbox = make_sandbox(hubspot_leads(3).assign(first_time_buyer=pd.Series(FLAGS, dtype=object)))
    connector = sandbox.connector()
    result = connector.fetch_changed(Watermark(), 100)
    ids, _, _ = drain(connector, result.next_watermark, 100)
    flags = {lead.fields["email"]: lead.fields["first_time_buyer"] for lead in result.leads}
    assert ids == [] and [flags[f"pat{i}@mail.example"] for i in range(3)] == FLAGS
