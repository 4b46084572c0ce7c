"""The scheduled jobs on a small demo world: each records its run, and bad inputs keep state safe."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.sandbox.salesforce_store import Write
from daemon import jobs
from daemon.commands.config_cmd import load_checked
from daemon.context import AppContext
from daemon.demo import DemoEnvironment
from daemon.leases import LeaseManager
from daemon.learning_jobs import kpi_job, retrain_check_job
from daemon.runtime import Runtime
from daemon.store import Agent, Assignment, AuditEvent, JobRun, KpiSnapshot, Lead, Outcome, QueueEntry
from daemon.store.models import QueueState
from daemon_env import small_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DemoEnvironment]:
    env = small_world(tmp_path)
    try:
        yield env
    finally:
        env.close()


@pytest.fixture
def ctx(world: DemoEnvironment) -> Iterator[AppContext]:
    Runtime(config=world.config, load_config=lambda: load_checked(str(world.config_path))).run_once()
    context = AppContext.build(world.config)
    try:
        yield context
    finally:
        context.close()


def test_every_job_run_is_recorded_with_its_result(ctx: AppContext) -> None:
    leases = LeaseManager(ctx.engine)
    for name, task in (("kpi", kpi_job), ("retrain_check", retrain_check_job), ("agents", jobs.sync_agents)):
        result = jobs.run_job(ctx, leases, name, lambda task=task: task(ctx))
        assert result is not None and result.ok, result
    with ctx.session(readonly=True) as session:
        runs = {r.job: r for r in session.execute(select(JobRun)).scalars()}
        snapshots = session.execute(select(func.count(KpiSnapshot.id))).scalar_one()
    assert {"kpi", "retrain_check", "agents"} <= set(runs)
    assert runs["kpi"].status == "ok" and "conversion_rate" in (runs["kpi"].message or "")
    assert "no retraining needed" in (runs["retrain_check"].message or "")
    assert snapshots == 1


def test_a_job_held_by_another_instance_is_skipped(ctx: AppContext) -> None:
    other = LeaseManager(ctx.engine, holder="other-host:1:abc")
    assert other.acquire("job:kpi", 300)
    result = jobs.run_job(ctx, LeaseManager(ctx.engine), "kpi", lambda: kpi_job(ctx))
    assert result is None


def test_a_failing_job_is_recorded_and_does_not_raise(ctx: AppContext) -> None:
    def broken() -> jobs.JobResult:
        raise RuntimeError("disk on fire")

    result = jobs.run_job(ctx, LeaseManager(ctx.engine), "retention", broken)
    assert result is not None and not result.ok and "disk on fire" in result.message
    with ctx.session(readonly=True) as session:
        run = session.execute(select(JobRun).where(JobRun.job == "retention")).scalar_one()
    assert run.status == "failed"


def test_agents_sync_links_officers_to_their_crm_users(ctx: AppContext) -> None:
    with ctx.session(readonly=True) as session:
        agents = session.execute(select(Agent)).scalars().all()
    linked = [a for a in agents if set(a.crm_user_ids) == {"salesforce", "hubspot"}]
    assert len(linked) == len([a for a in agents if a.active]) > 0


def test_queue_drain_assigns_waiting_leads_when_an_officer_has_room(ctx: AppContext) -> None:
    now = ctx.clock()
    with ctx.session() as session:
        assert session.execute(select(Assignment)).first(), "the first cycle assigned nobody"
        for held in session.execute(select(Assignment).where(Assignment.state.in_(("pending", "written")))).scalars():
            held.state = "released"  # the officers' leads are withdrawn: every officer has room again
        queued = session.execute(select(Lead).where(Lead.connector.in_(list(ctx.connectors)),
                                                    Lead.id.not_in(select(QueueEntry.lead_pk)))
                                 .order_by(Lead.id).limit(6)).scalars().all()
        for lead in queued:
            session.add(QueueEntry(lead_pk=lead.id, score=70, kind="queue", reason="officers were full",
                                   enqueued_at=now, updated_at=now))
    assert queued, "the world needs leads to queue"
    result = jobs.drain(ctx)
    assert result.ok
    with ctx.session(readonly=True) as session:
        states = dict(session.execute(select(QueueEntry.lead_pk, QueueEntry.state).where(
            QueueEntry.lead_pk.in_([lead.id for lead in queued]))).all())
        audited = {pk: payload for pk, payload in session.execute(select(AuditEvent.lead_pk, AuditEvent.payload).where(
            AuditEvent.kind == "routing", AuditEvent.lead_pk.in_([lead.id for lead in queued])))
            if payload.get("outcome") == "assigned_from_queue"}
        holding = set(session.execute(select(Assignment.lead_pk).where(
            Assignment.state.in_(("pending", "written")))).scalars())
    # none is lost: each was served, or left (no officer may take it), or still waits
    assert set(states) == {lead.id for lead in queued}
    served = {pk for pk, state in states.items() if state == QueueState.ASSIGNED.value}
    assert served, f"no queued lead was served: {states}"
    assert result.message.startswith(f"{len(served)} queued leads assigned")
    # each lead served from the queue has its officer and a routing audit event saying who and why
    assert served == set(audited) and served <= holding
    assert all(payload["agent_id"] and payload["reason"] for payload in audited.values())


def test_queue_drain_looks_at_one_page_of_the_backlog_in_serving_order(ctx: AppContext,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "DRAIN_PAGE", 1)
    now = ctx.clock()
    with ctx.session() as session:  # a backlog: leads without an officer or a queue place, queued at other scores
        held = select(Assignment.lead_pk).where(Assignment.state.in_(("pending", "written")))
        free = session.execute(select(Lead).where(Lead.id.not_in(held), Lead.id.not_in(select(QueueEntry.lead_pk)))
                               .order_by(Lead.id)).scalars().all()
        for i, lead in enumerate(free):
            session.add(QueueEntry(lead_pk=lead.id, score=60 + (i * 7) % 30, kind="queue", reason="test backlog",
                                   enqueued_at=now, updated_at=now))
    with ctx.session(readonly=True) as session:
        before = session.execute(select(QueueEntry.id, Lead.connector).join(Lead, Lead.id == QueueEntry.lead_pk)
                                 .where(QueueEntry.state == QueueState.WAITING.value,
                                        QueueEntry.kind.in_(("queue", "priority")))
                                 .order_by(QueueEntry.score.desc(), QueueEntry.enqueued_at, QueueEntry.id)).all()
    per_connector: dict[str, list[int]] = {}
    for entry_id, connector in before:
        per_connector.setdefault(connector, []).append(entry_id)
    assert max(len(ids) for ids in per_connector.values()) >= 2, "the world needs a backlog for this test"
    assert jobs.drain(ctx).ok
    with ctx.session(readonly=True) as session:
        after = dict(session.execute(select(QueueEntry.id, QueueEntry.state)
                                     .where(QueueEntry.id.in_([i for i, _ in before]))).all())
    # per connector only the first in serving order may have moved; the rest waits for the next run
    for ids in per_connector.values():
        assert all(after[i] == QueueState.WAITING.value for i in ids[1:])


def test_outcomes_from_the_crm_become_labels(ctx: AppContext, world: DemoEnvironment) -> None:
    store = world.salesforce_store
    lead = store.records("Lead")[0]
    sales = store.user_id("sales@leadpilot.sandbox") or ""
    # a sales user converts the lead: a won opportunity, then the lead marked converted
    opportunity = store.insert_raw("Opportunity", {
        "Name": "Won", "StageName": "Closed Won", "IsClosed": True, "IsWon": True, "Amount": 4200.0,
        "CloseDate": "2026-11-20"}, user_id=sales)
    store.apply([Write("update", "Lead", {"IsConverted": True, "ConvertedOpportunityId": opportunity,
                                          "ConvertedDate": "2026-11-20"}, record_id=lead["Id"])], sales)
    result = jobs.sync_outcomes(ctx)
    assert result.ok and result.message.startswith("1 outcomes")
    with ctx.session(readonly=True) as session:
        row = session.execute(select(Outcome, Lead).join(Lead, Lead.id == Outcome.lead_pk)
                              .where(Lead.crm_id == lead["Id"])).one()
    assert row[0].converted is True and row[0].conversion_value == 4200.0 and row[1].converted is True


def test_retention_anonymises_old_leads_and_keeps_the_rest(ctx: AppContext, world: DemoEnvironment) -> None:
    config = world.config.model_copy(deep=True)
    config.compliance.retention.id_salt = SecretStr("test-salt")
    ctx.config = config
    with ctx.session(readonly=True) as session:
        before = session.execute(select(func.count(Lead.id))).scalar_one()
    # a year or two from now: the history (90+ days old today) is past retention, today's leads are not
    ctx.clock = lambda: datetime.now(UTC) + timedelta(days=config.compliance.retention.days - 30)
    result = jobs.retention(ctx)
    assert result.ok
    with ctx.session(readonly=True) as session:
        leads = session.execute(select(Lead)).scalars().all()
    anonymised = [lead for lead in leads if lead.anonymised]
    assert len(leads) == before  # nothing deleted: analytics keep their rows
    assert anonymised and all(lead.email is None and lead.phone is None and lead.raw is None for lead in anonymised)
    assert all(lead.crm_id.startswith("anon_") for lead in anonymised)
    fresh = [lead for lead in leads if not lead.anonymised and lead.connector != "history"]
    assert fresh and all(lead.crm_id and not lead.crm_id.startswith("anon_") for lead in fresh)
    again = jobs.retention(ctx)
    assert again.message == "nothing past retention"


def test_retention_without_a_salt_refuses_with_a_clear_message(ctx: AppContext) -> None:
    ctx.clock = lambda: datetime.now(UTC) + timedelta(days=3000)
    result = jobs.run_job(ctx, LeaseManager(ctx.engine), "retention", lambda: jobs.retention(ctx))
    assert result is not None and not result.ok and "id_salt" in result.message


def test_a_corrupt_dnc_delivery_keeps_the_old_registry(ctx: AppContext, world: DemoEnvironment) -> None:
    version = ctx.dnc.version if ctx.dnc else None
    drop = Path(world.config.state_path(world.config.compliance.dnc.drop_dir))
    (drop / "dnc_999_full.txt").write_text("99955501\n12")  # truncated mid-number
    result = jobs.dnc_refresh(ctx)
    assert not result.ok
    assert ctx.dnc is not None and ctx.dnc.version == version
