"""The scheduled jobs: each one a task over the AppContext, run under a database lease.

A task is what runs, a schedule (config `schedules:`) is when, a run is one go (`job_runs`).
Every run holds a lease named after its job, so several daemons on one PostgreSQL never run
the same poll or job at once; a failing run is recorded and retried at its next time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import func, select

from compliance.dnc import refresh as refresh_dnc
from compliance.retention import anonymise_expired
from config.canonical import CANONICAL_FIELDS
from config.errors import LeadpilotError
from connectors.base import Connector, QuotaExhaustedError, RetryableConnectorError, WriteBackItem
from daemon import outbox, watermarks
from daemon.context import AppContext, read_open_leads
from daemon.lead_sync import lead_frame_rows
from daemon.leases import LeaseManager
from daemon.pipeline import CycleReport, add_assignment, audit_row, insert_rows, poll_cycle
from daemon.store import (
    Agent, Assignment, AuditEvent, JobRun, JobStatus, Lead, Outcome, QueueEntry, QueueState, Score, SyncState,
    lock_capacity,
)
from routing.outcome import QueueItem, ReasonCode
from routing.route import drain_queue

log = logging.getLogger(__name__)

OUTCOMES = "outcomes"


@dataclass
class JobResult:
    """What a run did, in one line for the logs, `job_runs` and `leadpilot status`."""

    message: str
    ok: bool = True


def lease_ttl(ctx: AppContext) -> float:
    # long enough for the slowest cycle; renewed while it runs
    return max(120.0, float(ctx.config.schedules.stop_timeout_seconds) * 4)


def run_job(ctx: AppContext, leases: LeaseManager, name: str, task: Callable[[], JobResult]) -> JobResult | None:
    """Run `task` if this instance gets the job's lease; record the run; never raise."""
    with leases.hold(f"job:{name}", lease_ttl(ctx), renew_every=30.0) as held:
        if not held:
            log.debug("job %s runs on another instance", name)
            return None
        now = ctx.clock()
        with ctx.session() as session:
            run = JobRun(job=name, started_at=now, status=JobStatus.RUNNING.value)
            session.add(run)
            session.flush()
            run_id = run.id
        try:
            result = task()
        except LeadpilotError as exc:
            log.error("job %s failed: %s", name, exc)
            result = JobResult(str(exc), ok=False)
        except Exception as exc:  # noqa: BLE001 - a failing job must not stop the others; Sentry gets it
            log.exception("job %s failed unexpectedly", name)
            result = JobResult(f"unexpected {type(exc).__name__}: {exc}", ok=False)
        with ctx.session() as session:
            run = session.get(JobRun, run_id)
            if run is not None:
                run.finished_at = ctx.clock()
                run.status = (JobStatus.OK if result.ok else JobStatus.FAILED).value
                run.message = result.message[:2000]
        if ctx.metrics is not None:
            ctx.metrics.job_runs.labels(job=name, status="ok" if result.ok else "failed").inc()
        log.info("job %s: %s", name, result.message, extra={"job": name, "ok": result.ok})
        return result


def poll(ctx: AppContext, connector: Connector, stop: Callable[[], bool]) -> CycleReport:
    """One poll cycle, repeated while the CRM says more is waiting and no stop was asked for."""
    total = CycleReport(connector.name)
    for _ in range(50):  # a bound, so one busy CRM cannot starve the other jobs
        report = poll_cycle(ctx, connector)
        _observe(ctx, report)
        total.fetched += report.fetched
        total.processed += report.processed
        total.unchanged += report.unchanged
        total.outcomes.update(report.outcomes)
        total.blocked_reasons.update(report.blocked_reasons)
        total.written += report.written
        total.write_failures += report.write_failures
        total.seconds += report.seconds
        for stage, seconds in report.stage_seconds.items():
            total.stage_seconds[stage] = total.stage_seconds.get(stage, 0.0) + seconds
        total.assigned_created += report.assigned_created
        total.error = report.error or total.error
        total.complete = report.complete
        if report.complete or report.error or stop() or report.fetched == 0:
            break
    return total


def _observe(ctx: AppContext, report: CycleReport) -> None:
    """Prometheus figures of one cycle: leads by outcome, API calls, queue and outbox depth, time to assignment."""
    metrics = ctx.metrics
    if metrics is None:
        return
    name = report.connector
    now = ctx.clock()
    metrics.leads_fetched.labels(connector=name).inc(report.fetched)
    metrics.leads_scored.labels(connector=name).inc(report.processed)
    for kind, n in report.outcomes.items():
        if kind not in ("assigned", "priority_takeback", "rescored"):
            metrics.leads_queued.labels(connector=name, kind=kind).inc(n)
    for created in report.assigned_created:
        metrics.observe_assignment(name, created, now)
    for reason, n in report.blocked_reasons.items():
        metrics.leads_blocked.labels(connector=name, reason=reason).inc(n)
    metrics.observe_cycle(name, report.seconds, ok=report.error is None, finished_at=now)
    connector = ctx.connectors.get(name)
    if connector is not None:
        usage = connector.usage()
        crm = next((c.plugin for c in ctx.config.connectors if c.name == name), name)
        seen_calls, seen_errors = ctx.usage_seen.get(name, (0, 0))
        metrics.crm_api_calls.labels(connector=name, crm=crm).inc(max(0, usage.calls - seen_calls))
        if usage.errors > seen_errors:
            metrics.crm_api_errors.labels(connector=name, crm=crm, error="call").inc(usage.errors - seen_errors)
        ctx.usage_seen[name] = (usage.calls, usage.errors)
    with ctx.session(readonly=True) as session:
        metrics.outbox_pending.labels(connector=name).set(outbox.pending_count(session, name))
        depth = dict(session.execute(select(QueueEntry.kind, func.count(QueueEntry.id)).where(
            QueueEntry.state == QueueState.WAITING.value).group_by(QueueEntry.kind)).all())
    for kind in ("priority", "queue", "nurture", "manager"):
        metrics.queue_depth.labels(kind=kind).set(int(depth.get(kind, 0)))


def sync_agents(ctx: AppContext) -> JobResult:
    """Officers from the agents file into the store, then each CRM's user ids matched by email."""
    added = updated = linked = 0
    path = ctx.config.routing.agents_file
    if path:
        from routing.agents_file import load_agents_file

        specs = load_agents_file(ctx.config.input_path(path), ctx.config.routing)
        raw = yaml.safe_load(Path(ctx.config.input_path(path)).read_text(encoding="utf-8")) or {}
        entries = {str(e.get("agent_id")): e for e in (raw.get("agents", raw) if isinstance(raw, dict) else raw)}
        with ctx.session() as session:
            for spec in specs:
                entry = entries.get(spec.agent_id, {})
                row = session.get(Agent, spec.agent_id)
                if row is None:
                    row = Agent(agent_id=spec.agent_id, name=spec.name or spec.agent_id)
                    session.add(row)
                    added += 1
                else:
                    updated += 1
                row.name, row.email, row.active = spec.name or spec.agent_id, spec.email, spec.active
                row.licenses = [{"state": lic.state, "license_id": lic.license_id, "nmls_id": lic.nmls_id,
                                 "expires": lic.expires.isoformat() if lic.expires else None} for lic in spec.licences]
                row.states = sorted({lic.state for lic in spec.licences})
                row.specialties = sorted(spec.specialties)
                row.optimal_capacity, row.max_capacity = spec.optimal_capacity, spec.max_capacity
                row.timezone = str(entry.get("timezone", row.timezone or "UTC"))
                row.schedule = dict(entry.get("schedule") or {})
                row.updated_at = ctx.clock()
    for name, connector in ctx.connectors.items():
        try:
            users = connector.fetch_agents()
        except (RetryableConnectorError, QuotaExhaustedError) as exc:
            log.warning("agents from %s not refreshed: %s", name, exc)
            continue
        by_email = {u.email.lower(): u for u in users if u.email and u.active}
        with ctx.session() as session:
            for agent in session.execute(select(Agent)).scalars():
                user = by_email.get((agent.email or "").lower())
                ids = dict(agent.crm_user_ids or {})
                if user is not None and ids.get(name) != user.crm_user_id:
                    ids[name] = user.crm_user_id
                    agent.crm_user_ids = ids
                    linked += 1
    ctx.forget_profiles()
    return JobResult(f"{added} officers added, {updated} updated, {linked} CRM users linked")


def sync_outcomes(ctx: AppContext) -> JobResult:
    """Conversion outcomes from each CRM become labels (and officer history)."""
    stored = 0
    for name, connector in ctx.connectors.items():
        with ctx.session(readonly=True) as session:
            mark = watermarks.load(session, name, OUTCOMES)
        try:
            batch = connector.fetch_outcomes(mark, 2000)
        except (RetryableConnectorError, QuotaExhaustedError) as exc:
            with ctx.session() as session:
                watermarks.record_error(session, name, OUTCOMES, str(exc), ctx.clock())
            continue
        now = ctx.clock()
        with ctx.session() as session:
            crm_ids = [o.crm_id for o in batch.outcomes]
            leads = {lead.crm_id: lead for lead in session.execute(
                select(Lead).where(Lead.connector == name, Lead.crm_id.in_(crm_ids))).scalars()} if crm_ids else {}
            pks = [lead.id for lead in leads.values()]
            holders = dict(session.execute(select(Assignment.lead_pk, Assignment.agent_id).where(
                Assignment.lead_pk.in_(pks)).order_by(Assignment.assigned_at)).all()) if pks else {}
            for o in batch.outcomes:
                lead = leads.get(o.crm_id)
                if lead is None:
                    continue  # a lead we never scored: not a label of ours
                row = session.execute(select(Outcome).where(Outcome.lead_pk == lead.id)).scalar_one_or_none()
                if row is None:
                    row = Outcome(lead_pk=lead.id, converted=o.converted, source="crm")
                    session.add(row)
                row.converted, row.converted_at = o.converted, o.converted_at
                row.conversion_value, row.agent_id, row.observed_at = o.conversion_value, holders.get(lead.id), now
                lead.converted, lead.converted_at, lead.conversion_value = o.converted, o.converted_at, o.conversion_value
                stored += 1
            watermarks.save(session, name, OUTCOMES, batch.next_watermark, now)
    ctx.forget_profiles()
    return JobResult(f"{stored} outcomes stored")


# The queue is served in this order (score, then first in); a run looks at most this many waiting leads,
# so a long backlog costs each run the same, and the rest waits for the next run.
DRAIN_PAGE = 500


def drain(ctx: AppContext) -> JobResult:
    """Serve waiting queued leads (score, then first-in first-out) as officers free up."""
    served = 0
    now = ctx.clock()
    for name, connector in ctx.connectors.items():
        with ctx.session() as session:
            entries = session.execute(
                select(QueueEntry, Lead).join(Lead, Lead.id == QueueEntry.lead_pk)
                .where(QueueEntry.state == QueueState.WAITING.value, QueueEntry.kind.in_(("priority", "queue")),
                       Lead.connector == name)
                .order_by(QueueEntry.score.desc(), QueueEntry.enqueued_at, QueueEntry.id)
                .limit(DRAIN_PAGE)
            ).all()
            if not entries:
                continue
            lock_capacity(session)  # loads read and reservations written as one step (see lock_capacity)
            officers = ctx.officers(session, name)
            agents, profiles, licences = officers.agents, officers.profiles, officers.licences
            items = [QueueItem(str(lead.id), float(entry.score), entry.enqueued_at, ReasonCode.CAPACITY_FULL_QUEUED)
                     for entry, lead in entries]
            frame = pd.DataFrame(lead_frame_rows([lead for _, lead in entries]))
            frame["score"] = [entry.score for entry, _ in entries]
            result = drain_queue(items, frame, profiles, ctx.config.routing, now,
                                 licensed=lambda states, ids: licences.eligibility_mask(states, ids, now.date()),
                                 open_leads=read_open_leads(session))
            by_pk = {lead.id: (entry, lead) for entry, lead in entries}
            owners = {a.agent_id: a.crm_user_id for a in agents}
            events: list[dict[str, Any]] = []
            for decision in result.assignments:
                entry, lead = by_pk[int(decision.lead_id)]
                entry.state = QueueState.ASSIGNED.value if decision.agent_id else QueueState.REMOVED.value
                entry.reason, entry.updated_at = decision.reason, now
                if decision.agent_id is None:
                    continue
                external = add_assignment(session, lead, decision, now)
                events.append(audit_row("routing", lead.id, now, {
                    "outcome": "assigned_from_queue", "agent_id": decision.agent_id, "reason": decision.reason}))
                outbox.enqueue(session, name, lead.id, "assignment", WriteBackItem(
                    crm_id=lead.crm_id, idempotency_key=external, owner_crm_user_id=owners.get(decision.agent_id),
                    assignment_external_id=external, assignment_reason=decision.reason,
                    routing_outcome="assigned"), now)
                served += 1
            insert_rows(session, AuditEvent, events)  # in one statement, as the pipeline writes its own
        outbox.flush(ctx.engine, connector, ctx.clock)
    return JobResult(f"{served} queued leads assigned")


def dnc_refresh(ctx: AppContext) -> JobResult:
    """Validate new DNC files in the drop folder and swap them in atomically; CRM opt-outs join the internal list."""
    cfg = ctx.config.compliance.dnc
    with ctx.session(readonly=True) as session:
        opted_out = [p for (p,) in session.execute(
            select(Lead.phone).where(Lead.do_not_call.is_(True), Lead.phone.is_not(None)))]
    result = refresh_dnc(
        ctx.config.state_path(cfg.drop_dir), ctx.config.state_path(cfg.registry_dir), now=ctx.clock(),
        state_lists=[ctx.config.input_path(p) for p in cfg.state_lists],
        internal_files=[ctx.config.input_path(cfg.internal_suppression_file)] if cfg.internal_suppression_file else [],
        internal_numbers=opted_out, min_numbers=cfg.min_numbers, max_shrink=cfg.max_shrink,
        keep_versions=cfg.keep_versions,
    )
    for alert in result.alerts:
        log.error("DNC refresh alert: %s", alert)
    if result.changed:
        ctx.reload_dnc()
    return JobResult(f"DNC registry {result.version or 'unchanged'}: {len(result.alerts)} alert(s)", ok=result.ok)


def retention(ctx: AppContext) -> JobResult:
    """Anonymise leads past the retention period and purge their raw payloads."""
    cfg = ctx.config.compliance.retention
    cutoff = ctx.clock() - timedelta(days=cfg.days)
    with ctx.session() as session:
        leads = session.execute(select(Lead).where(
            Lead.anonymised.is_(False), Lead.created_at < cutoff)).scalars().all()
        if not leads:
            return JobResult("nothing past retention")
        frame = pd.DataFrame([{name: getattr(lead, name) for name in CANONICAL_FIELDS} for lead in leads])
        result = anonymise_expired(frame, now=ctx.clock(), config=cfg)
        for position, lead in enumerate(leads):
            row = result.rows.iloc[position]
            for name in CANONICAL_FIELDS:
                setattr(lead, name, _native(row[name]))
            lead.raw = None
            lead.validation_problems = []
            lead.anonymised, lead.anonymised_at = True, ctx.clock()
    return JobResult(f"{result.anonymised} leads anonymised")


def _native(value: Any) -> Any:
    """A DataFrame cell as a plain Python value for the store (NaN and NaT become None)."""
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def status_snapshot(ctx: AppContext) -> dict[str, Any]:
    """What `leadpilot status` shows: per connector, backlog, retries, model, queue, last job runs."""
    with ctx.session(readonly=True) as session:
        states = session.execute(select(SyncState)).scalars().all()
        queue = dict(session.execute(
            select(QueueEntry.kind, func.count(QueueEntry.id))
            .where(QueueEntry.state == QueueState.WAITING.value).group_by(QueueEntry.kind)).all())
        last_runs: dict[str, dict[str, Any]] = {}
        for run in session.execute(select(JobRun).order_by(JobRun.started_at.desc()).limit(200)).scalars():
            last_runs.setdefault(run.job, {"status": run.status, "started_at": run.started_at.isoformat(),
                                           "message": run.message})
        return {
            "connectors": {f"{s.connector}/{s.stream}": {
                "watermark": s.watermark.isoformat() if s.watermark else None,
                "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
                "last_error": s.last_error} for s in states},
            "outbox_pending": outbox.pending_count(session),
            "queue": {k: int(v) for k, v in sorted(queue.items())},
            "scores": int(session.execute(select(func.count(Score.id))).scalar_one()),
            "model": ctx.registry.champion(),
            "jobs": last_runs,
        }
