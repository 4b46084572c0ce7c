"""The poll pipeline end to end against both sandbox CRMs over real HTTP, in process."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from sqlalchemy import func, select

from connectors.sandbox.salesforce_seed import IDENTITY
from daemon.commands.config_cmd import load_checked
from daemon.demo import DemoEnvironment
from daemon.runtime import Runtime
from daemon.store import Assignment, AuditEvent, Lead, OutboxItem, QueueEntry, Score, make_engine, session_scope
from daemon_env import crm_scores, hubspot_store, salesforce_assignments_per_lead, salesforce_leads, small_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DemoEnvironment]:
    env = small_world(tmp_path)
    try:
        yield env
    finally:
        env.close()


def once(world: DemoEnvironment) -> dict[str, object]:
    runtime = Runtime(config=world.config, load_config=lambda: load_checked(str(world.config_path)))
    return {r.connector: r for r in runtime.run_once()}


def count(world: DemoEnvironment, column: object) -> int:
    engine = make_engine(world.config)
    try:
        with session_scope(engine, readonly=True) as session:
            return int(session.execute(select(func.count(column))).scalar_one())
    finally:
        engine.dispose()


def test_given_new_leads_when_one_cycle_runs_then_every_lead_is_scored_routed_and_written_back(
        world: DemoEnvironment) -> None:
    reports = once(world)
    sf, hs = reports["salesforce"], reports["hubspot"]
    assert sf.error is None and hs.error is None
    assert sf.fetched == sf.processed == 20 and hs.fetched == hs.processed == 20
    # every lead leaves with an outcome and a reason, never silently dropped
    assert sum(sf.outcomes.values()) == 20 and sum(hs.outcomes.values()) == 20
    assert sf.written == 20 and hs.written == 20

    leads = salesforce_leads(world)
    assert all(lead.get("AI_Lead_Score__c") is not None for lead in leads)
    assert all(lead.get("Compliance_Status__c") in ("COMPLIANT", "EMAIL_ONLY", "BLOCKED") for lead in leads)
    assert all(0 <= lead["AI_Lead_Score__c"] <= 100 for lead in leads)
    assigned = sf.outcomes["assigned"] + sf.outcomes["priority_takeback"]
    per_lead = salesforce_assignments_per_lead(world)
    assert len(per_lead) == assigned and set(per_lead.values()) <= {1}
    contacts = hubspot_store(world).scan("contacts")
    assert all(c.properties.get("ai_lead_score") for c in contacts)

    # the store keeps a score, a compliance audit event and a routing audit event per lead
    assert crm_scores(world) == 40
    assert count(world, Lead.id) >= 40
    engine = make_engine(world.config)
    with session_scope(engine, readonly=True) as session:
        kinds = dict(session.execute(select(AuditEvent.kind, func.count(AuditEvent.id)).group_by(AuditEvent.kind)).all())
        pending = session.execute(select(func.count(OutboxItem.id)).where(OutboxItem.done_at.is_(None))).scalar_one()
        queued = session.execute(select(func.count(QueueEntry.id))).scalar_one()
    engine.dispose()
    assert kinds["compliance"] == 40 and kinds["routing"] >= 40
    assert pending == 0
    not_assigned = 40 - assigned - hs.outcomes["assigned"] - hs.outcomes["priority_takeback"]
    blocked = sf.outcomes["blocked"] + hs.outcomes["blocked"]
    assert queued == not_assigned - blocked  # queued, nurture and manager escalations keep a queue place


def test_given_a_quiet_crm_when_the_next_cycle_runs_then_it_writes_nothing(world: DemoEnvironment) -> None:
    once(world)
    again = once(world)
    for report in again.values():
        assert report.processed == 0 and report.written == 0
        assert report.unchanged == report.fetched  # our own write-backs came back and were recognised


def test_given_a_sales_edit_when_polled_then_the_lead_is_rescored_but_keeps_its_officer(
        world: DemoEnvironment) -> None:
    once(world)
    before = count(world, Assignment.id)
    sf_settings = next(c.settings for c in world.config.connectors if c.plugin == "salesforce")
    session = requests.Session()
    session.trust_env = False
    session.verify = sf_settings["ca_bundle"]
    sales = Salesforce(username=IDENTITY.sales_username, password=IDENTITY.sales_password,
                       security_token=IDENTITY.sales_token, domain=sf_settings["domain"], session=session)
    lead_id = salesforce_leads(world)[0]["Id"]
    sales.Lead.update(lead_id, {"Annual_Income__c": 987_654})

    reports = once(world)
    assert reports["salesforce"].processed == 1
    assert reports["salesforce"].written == 1
    assert count(world, Assignment.id) == before  # re-scored, not re-routed
    assert crm_scores(world) == 41


def test_given_new_arrivals_when_fed_then_the_next_cycle_takes_only_them(world: DemoEnvironment) -> None:
    once(world)
    world.feed(10, datetime.now(UTC))
    reports = once(world)
    assert reports["salesforce"].processed == 5 and reports["hubspot"].processed == 5


def test_given_an_ab_test_when_leads_arrive_then_each_gets_a_stable_arm_and_control_is_round_robin(
        world: DemoEnvironment) -> None:
    import yaml

    data = yaml.safe_load(world.config_path.read_text())
    data["learning"] = {"ab_test": {"enabled": True, "name": "routing-test", "split": {"champion": 0.5, "control": 0.5}}}
    world.config_path.write_text(yaml.safe_dump(data))
    world.config = load_checked(str(world.config_path))
    once(world)
    engine = make_engine(world.config)
    with session_scope(engine, readonly=True) as session:
        arms = dict(session.execute(select(Lead.crm_id, Score.variant).join(Score, Score.lead_pk == Lead.id)
                                     .where(Lead.connector != "history")).all())
        routing = session.execute(select(AuditEvent.payload).where(AuditEvent.kind == "routing")).scalars().all()
    engine.dispose()
    assert set(arms.values()) == {"champion", "control"}
    from daemon.learning.ab import assign_arm

    for crm_id, arm in arms.items():
        connector = "salesforce" if crm_id.startswith("00Q") else "hubspot"
        assert assign_arm(f"{connector}:{crm_id}", "routing-test", {"champion": 0.5, "control": 0.5}) == arm
    strategies = {p["arm"]: set() for p in routing}
    for p in routing:
        strategies[p["arm"]].add(p["strategy"])
    assert strategies["control"] == {"round_robin"} and strategies["champion"] == {"optimal"}
    # the arm reaches the CRM with the assignment record
    records = world.salesforce_store.records("Lead_Assignment__c")
    assert records and all(r.get("AB_Arm__c") in ("champion", "control") for r in records)
    contacts = hubspot_store(world).scan("contacts")
    assert {c.properties.get("leadpilot_ab_arm") for c in contacts} == {"champion", "control"}


def test_given_junk_values_then_the_lead_is_still_written_back_with_why_and_the_batch_quality_is_kept(
        world: DemoEnvironment) -> None:
    from connectors.sandbox.salesforce_seed import seed_leads

    junk = world.pool.iloc[:1].copy()
    junk["loan_amount"] = "lots of money"
    junk["annual_income"] = "$99,999,999,999"
    seed_leads(world.salesforce_store, junk)
    reports = once(world)
    assert reports["salesforce"].processed == 21 and reports["salesforce"].written == 21
    written = [lead for lead in salesforce_leads(world) if lead.get("Loan_Amount__c") == "lots of money"]
    assert len(written) == 1 and written[0].get("AI_Lead_Score__c") is not None
    reasons = written[0]["Compliance_Reasons__c"].splitlines()
    assert "DATA_INVALID:loan_amount" in reasons and "DATA_INVALID:annual_income" in reasons
    engine = make_engine(world.config)
    with session_scope(engine, readonly=True) as session:
        batches = session.execute(select(AuditEvent.payload).where(AuditEvent.kind == "batch_quality")).scalars().all()
    engine.dispose()
    assert {b["connector"] for b in batches} == {"salesforce", "hubspot"}
    assert all(set(b["groups"]) == {"contact", "financial", "behaviour", "property"} for b in batches)


def test_given_a_small_batch_then_its_object_frame_decides_exactly_like_a_typed_frame(world: DemoEnvironment) -> None:
    """Up to SMALL_FRAME leads the pipeline hands the pure packages one block of Python objects (fast to
    build); compliance, scoring and routing must read it exactly as they read the typed frame."""
    import dataclasses

    import numpy as np
    import pandas as pd

    from compliance.check import check_leads
    from daemon.context import AppContext, read_open_leads
    from daemon.lead_sync import lead_frame_rows
    from daemon.pipeline import SMALL_FRAME, lead_frame
    from routing import route

    once(world)
    ctx = AppContext.build(world.config, connectors={})
    try:
        with ctx.session(readonly=True) as session:
            leads = list(session.execute(select(Lead).order_by(Lead.id)).scalars().all())[:SMALL_FRAME]
            small, typed = lead_frame(leads), pd.DataFrame(lead_frame_rows(leads))
            assert len(leads) > 10 and (small.dtypes == object).all() and not (typed.dtypes == object).all()
            officers = ctx.officers(session, "salesforce")
            # read now: OpenLeads reads its rows lazily, on this session, and routing runs after it closed
            open_leads = read_open_leads(session).to_frame()
        now = ctx.clock()
        ids = [a.agent_id for a in officers.agents]
        outcomes = []
        for frame in (small, typed):
            checks = check_leads(frame, now=now, config=ctx.config.compliance, dnc=ctx.dnc,
                                 licences=officers.licences, agent_ids=ids)
            scored = ctx.model().score(frame)
            routed = route(frame.assign(score=scored.score, probability=scored.probability,
                                        allowed_channels=[list(c.allowed_channels) for c in checks]),
                           officers.profiles, ctx.config.routing, now, open_leads=open_leads,
                           licensed=lambda s, a: officers.licences.eligibility_mask(s, a, now.date()))
            outcomes.append((checks, scored, routed))
        (c1, s1, r1), (c2, s2, r2) = outcomes
        diffs = [(i, f.name, getattr(a, f.name), getattr(b, f.name)) for i, (a, b) in enumerate(zip(c1, c2, strict=True))
                 for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)]
        assert not diffs, diffs[:6]  # hashes included: the audit trail must not depend on the batch size
        np.testing.assert_array_equal(s1.probability, s2.probability)
        np.testing.assert_array_equal(s1.score, s2.score)
        assert s1.reason_text == s2.reason_text
        assert [(a.agent_id, a.outcome, a.reason) for a in r1.assignments] == \
            [(a.agent_id, a.outcome, a.reason) for a in r2.assignments]
    finally:
        ctx.close()
