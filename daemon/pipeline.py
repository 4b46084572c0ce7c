"""One cycle: fetch -> store -> skip unchanged -> compliance -> score -> route -> persist -> write back.

Everything a cycle decides is committed in ONE transaction together with the watermark and the
outbox rows that carry it to the CRM. A crash before that commit leaves the watermark where it
was (the batch is fetched again); a crash after it leaves write-backs in the outbox, sent by the
next flush. CRM writes are field updates and upserts by external id, so a resend is harmless.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlmodel import Session, SQLModel

from compliance.check import ComplianceResult, check_leads
from compliance.licensing import LicenceRegistry
from config.sections.compliance import DataQualityConfig
from connectors.base import Connector, QuotaExhaustedError, RetryableConnectorError, WriteBackItem
from daemon import outbox, watermarks
from daemon.context import AppContext, crash_if, read_open_leads
from daemon.lead_sync import lead_frame_rows, upsert_fetched
from daemon.store import (
    Assignment, AssignmentState, AuditEvent, Lead, QueueEntry, QueueKind, QueueState, Score, lock_capacity,
)
from daemon.store.models import ACTIVE_ASSIGNMENT_STATES
from daemon.learning.ab import CONTROL_ARM, assign_arm
from routing.agents_file import AgentSpec
from routing.outcome import Assignment as RoutedLead
from routing.outcome import OutcomeKind, ReasonCode, RoutingResult
from routing.overflow import OpenLeadRows, OpenLeads
from routing.profiles import ProfileSet
from routing.route import route
from scoring.score import ScoredBatch

log = logging.getLogger(__name__)

LEADS = "leads"

_QUEUE_KIND = {
    OutcomeKind.QUEUED: QueueKind.QUEUE, OutcomeKind.NURTURE: QueueKind.NURTURE,
    OutcomeKind.MANAGER_ESCALATION: QueueKind.MANAGER,
}


@dataclass
class CycleReport:
    """What one poll cycle did, for logs, metrics, `--once` output and the demo's progress line."""

    connector: str
    fetched: int = 0
    unchanged: int = 0
    processed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    blocked_reasons: Counter[str] = field(default_factory=Counter)
    written: int = 0
    write_failures: int = 0
    complete: bool = True
    error: str | None = None
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    assigned_created: list[datetime | None] = field(default_factory=list)  # CRM creation time of each assigned lead
    quality: dict[str, dict[str, float]] = field(default_factory=dict)  # batch completeness per field group

    def line(self) -> str:
        """One human line: 'sf: 120 fetched, 118 scored, 97 assigned, ...'."""
        parts = [f"{self.fetched} fetched", f"{self.processed} scored"]
        parts += [f"{n} {kind}" for kind, n in sorted(self.outcomes.items())]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        parts.append(f"{self.written} written back")
        short = [g for g, q in self.quality.items() if q["share_passing"] < 1.0]
        if short:
            parts.append("incomplete " + "/".join(f"{g} {self.quality[g]['share_passing']:.0%} ok" for g in short))
        if self.write_failures:
            parts.append(f"{self.write_failures} to retry")
        text = f"{self.connector}: " + ", ".join(parts) + f" in {self.seconds:.1f}s"
        return text + (f" (error: {self.error})" if self.error else "")


@dataclass
class Decision:
    """Everything decided about one lead in a cycle."""

    lead: Lead
    input_hash: str
    compliance: ComplianceResult
    probability: float
    score: int
    confidence: float
    model_version: str
    reasons: list[dict[str, Any]]
    reason_text: list[str]
    routed: RoutedLead | None  # None: it keeps the assignment or queue place it had
    arm: str | None = None  # A/B arm when a test runs (learning.ab_test)


def _stage(report: CycleReport, name: str, started: float) -> float:
    now = time.perf_counter()
    report.stage_seconds[name] = report.stage_seconds.get(name, 0.0) + now - started
    return now


def _held(session: Session, lead_pks: list[int]) -> set[int]:
    """Leads that already have an officer or a queue place: re-scored on change, never re-routed."""
    if not lead_pks:
        return set()
    assigned = session.execute(select(Assignment.lead_pk).where(
        Assignment.lead_pk.in_(lead_pks), Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES))).scalars()
    queued = session.execute(select(QueueEntry.lead_pk).where(
        QueueEntry.lead_pk.in_(lead_pks), QueueEntry.state == QueueState.WAITING.value)).scalars()
    return set(assigned) | set(queued)


# Up to this many leads the frame is one block of Python objects: building a typed frame column by
# column costs ~1.5 ms, the whole decision of one API lead ~10. The pure packages read both alike (tested).
SMALL_FRAME = 32


def lead_frame(leads: list[Lead]) -> pd.DataFrame:
    """The canonical rows of `leads` as the frame the pure packages take."""
    rows = lead_frame_rows(leads)
    if not rows or len(rows) > SMALL_FRAME:
        return pd.DataFrame(rows)
    columns = list(rows[0])
    return pd.DataFrame(np.array([[row[c] for c in columns] for row in rows], dtype=object), columns=columns,
                        dtype=object)


def ab_arms(ctx: AppContext, leads: list[Lead], connector: str) -> list[str | None]:
    """Each lead's arm from a stable hash of its CRM identity and the test name (None when no test runs)."""
    test = ctx.config.learning.ab_test
    if not test.enabled:
        return [None] * len(leads)
    return [assign_arm(f"{connector}:{lead.crm_id}", test.name, test.split) for lead in leads]


def _route_arms(ctx: AppContext, frame: pd.DataFrame, arms: list[str | None], profiles: ProfileSet,
                licences: LicenceRegistry, open_leads: pd.DataFrame | OpenLeads, now: datetime
                ) -> tuple[RoutingResult, list[RoutedLead]]:
    """AI routing for every arm but control, which is routed round robin so the lift is measured honestly."""
    def licensed(states: Any, ids: Any) -> Any:
        return licences.eligibility_mask(states, ids, now.date())

    control = np.array([arm == CONTROL_ARM for arm in arms], dtype=bool)
    if not control.any():  # the usual case (no A/B test): skip the row selection, a frame copy
        ai = route(frame, profiles, ctx.config.routing, now, licensed=licensed, open_leads=open_leads)
        return ai, list(ai.assignments)
    routed: list[RoutedLead | None] = [None] * len(arms)
    ai = route(frame.iloc[np.flatnonzero(~control)], profiles, ctx.config.routing, now, licensed=licensed,
               open_leads=open_leads)
    for row, decision in zip(np.flatnonzero(~control), ai.assignments, strict=True):
        routed[row] = decision
    # control leads see the officers' loads after the AI arm's assignments
    taken = [d for d in ai.assignments if d.agent_id]
    loads = open_leads
    if taken:
        held = OpenLeads.of(open_leads) or OpenLeads({}, OpenLeadRows([], [], [], None, None))
        loads = held.plus(OpenLeadRows(
            [d.lead_id for d in taken], [str(d.agent_id) for d in taken], [float(d.score or 0.0) for d in taken],
            [False] * len(taken), [now] * len(taken)))
    rr = route(frame.iloc[np.flatnonzero(control)], profiles, ctx.config.routing, now, licensed=licensed,
               open_leads=loads, strategy="round_robin", round_robin_start=ctx.round_robin_next)
    ctx.round_robin_next = rr.next_round_robin
    for row, decision in zip(np.flatnonzero(control), rr.assignments, strict=True):
        routed[row] = decision
    merged = RoutingResult(tuple(r for r in routed if r is not None), ai.takebacks + rr.takebacks,
                           ai.queue + rr.queue, rr.next_round_robin)
    return merged, list(merged.assignments)


def decide(ctx: AppContext, session: Session, leads: list[Lead], hashes: list[str], now: datetime,
           connector: str, report: CycleReport | None = None, *, reserve: bool = True,
           held: set[int] | None = None) -> tuple[list[Decision], RoutingResult, list[AgentSpec]]:
    """Compliance, scoring and routing for a batch of stored leads (pure packages; reads the store only).

    `reserve`: the caller will write the reservations (see persist); the officers' loads are then locked.
    `held`: the leads that have an officer or a queue place, when the caller knows (else read from the store)."""
    report = report or CycleReport(connector)
    t = time.perf_counter()
    frame = lead_frame(leads)
    officers = ctx.officers(session, connector)
    agents, profiles, licences = officers.agents, officers.profiles, officers.licences
    agent_ids = [a.agent_id for a in agents]
    checks = check_leads(frame, now=now, config=ctx.config.compliance, dnc=ctx.dnc, licences=licences,
                         agent_ids=agent_ids)
    t = _stage(report, "compliance", t)
    model = ctx.model()
    scored: ScoredBatch = model.score(frame, top_reasons=ctx.config.scoring.top_reasons)
    t = _stage(report, "score", t)

    if reserve:
        lock_capacity(session)  # until commit: the loads read below stay true until the reservations are written
    if held is None:
        held = _held(session, [lead.id for lead in leads if lead.id is not None])
    arms = ab_arms(ctx, leads, connector)
    to_route = [i for i, lead in enumerate(leads) if lead.id not in held]
    route_frame = frame.iloc[to_route].assign(
        score=scored.score[to_route], probability=scored.probability[to_route],
        allowed_channels=[list(checks[i].allowed_channels) for i in to_route],
    )
    routing, routed = _route_arms(ctx, route_frame, [arms[i] for i in to_route], profiles,
                                  licences, read_open_leads(session), now)
    _stage(report, "route", t)
    routed_by_row = dict(zip(to_route, routed, strict=True))

    decisions = []
    for i, lead in enumerate(leads):
        reasons = [
            {"feature": r.feature, "label": r.label, "value": r.value, "contribution": r.contribution,
             "points": r.points, "text": r.text}
            for r in scored.reasons(i)
        ] if len(scored.reason_feature[i]) else []
        decisions.append(Decision(
            lead=lead, input_hash=hashes[i], compliance=checks[i], probability=float(scored.probability[i]),
            score=int(scored.score[i]), confidence=float(scored.confidence[i]),
            model_version=str(scored.model_version), reasons=reasons, reason_text=list(scored.reason_text[i]),
            routed=routed_by_row.get(i), arm=arms[i],
        ))
    return decisions, routing, agents


def external_id(lead: Lead, agent_id: str, when: datetime) -> str:
    """The assignment's upsert key: fixed when decided, reused by every retry."""
    digest = hashlib.sha256(f"{lead.connector}:{lead.crm_id}:{agent_id}:{when.isoformat()}".encode()).hexdigest()
    return f"LP-{digest[:20]}"


def data_problem_codes(lead: Lead) -> list[str]:
    """`DATA_INVALID:<field>` for each CRM value that could not be read, so the CRM record says why."""
    fields = []
    for problem in lead.validation_problems or []:
        name = str(problem.get("message", "")).split(" ", 1)[0]
        if name and name not in fields:
            fields.append(name)
    return [f"DATA_INVALID:{name}" for name in fields]


def batch_quality(decisions: list[Decision], config: DataQualityConfig) -> dict[str, dict[str, float]]:
    """Completeness of the batch per field group: mean, share of leads at the threshold, the threshold."""
    out: dict[str, dict[str, float]] = {}
    for group in ("contact", "financial", "behaviour", "property"):
        values = [d.compliance.quality.get(group) for d in decisions if d.compliance.quality.get(group) is not None]
        if not values:
            continue
        threshold = float(getattr(config, group))
        out[group] = {"mean": round(float(np.mean(values)), 4), "threshold": threshold,
                      "share_passing": round(float(np.mean([v >= threshold - 1e-9 for v in values])), 4)}
    return out


def _write_back_item(decision: Decision, owner: str | None, external_id: str | None, now: datetime) -> WriteBackItem:
    c, r = decision.compliance, decision.routed
    return WriteBackItem(
        crm_id=decision.lead.crm_id,
        idempotency_key=f"{decision.input_hash[:16]}:{decision.model_version}",
        score=decision.score, probability=round(decision.probability, 6), confidence=round(decision.confidence, 4),
        model_version=decision.model_version, scored_at=now, reasons=decision.reason_text,
        compliance_status=c.status, compliance_reasons=[x.value for x in c.reasons] + data_problem_codes(decision.lead),
        owner_crm_user_id=owner, assignment_external_id=external_id,
        assignment_reason=r.reason if r else None,
        match_score=round(r.match.match_score, 4) if r and r.match else None,
        routing_outcome=r.outcome.value if r else None, ab_arm=decision.arm, input_hash=decision.input_hash,
    )


API_CONNECTOR = "api"  # leads scored through the API: the HTTP answer is their delivery


def persist(session: Session, connector: str, decisions: list[Decision], routing: RoutingResult,
            agents: list[AgentSpec], now: datetime, report: CycleReport, *, reserve: bool = True,
            more_events: Sequence[dict[str, Any]] = ()) -> None:
    """Scores, assignments, queue places, audit events and outbox rows, in the caller's transaction.

    `more_events`: the caller's own audit rows (see audit_row), inserted after these in the same statement.

    A CRM lead's results go to its CRM through the outbox. An API lead (connector "api") has no CRM: no
    outbox row, an assignment is delivered (`written`) at once, and it never waits in the overflow queue,
    whose drain serves CRM leads. `reserve=False` (an API call without ?assign=true) keeps the decision
    in the audit trail but takes no capacity: no assignment, no queue place, no take-back.
    """
    crm = connector != API_CONNECTOR
    owners = {a.agent_id: a.crm_user_id for a in agents}
    # scores and audit events are written in bulk: nothing reads them back as objects in this transaction,
    # and building one ORM object each was most of the time a batch spent in the store
    scores: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for d in decisions:
        lead, c = d.lead, d.compliance
        lead.input_hash = d.input_hash
        scores.append({"lead_pk": lead.id, "model_version": d.model_version, "probability": d.probability,
                       "score": d.score, "confidence": d.confidence, "reasons": d.reasons,
                       "input_hash": d.input_hash, "variant": d.arm, "scored_at": now})
        events.append(audit_row("compliance", lead.id, now, {
            "status": c.status, "channels": list(c.allowed_channels), "reasons": [x.value for x in c.reasons],
            "lead_hash": c.lead_hash}, input_hash=c.input_hash, rule_set_version=c.rule_set_version))
        if not c.compliant:
            report.blocked_reasons.update(x.value for x in c.reasons)
        external = owner = None
        r = d.routed
        if r is not None:
            report.outcomes[r.outcome.value] += 1
            reserved = reserve and r.agent_id is not None
            events.append(audit_row("routing", lead.id, now, {
                "outcome": r.outcome.value, "reason_code": r.reason_code.value, "reason": r.reason,
                "agent_id": r.agent_id, "score": d.score, "arm": d.arm, "strategy": r.strategy,
                "alternatives": [a.agent_id for a in r.alternatives], "source": connector, "reserved": reserved}))
            if reserved and r.agent_id is not None:
                report.assigned_created.append(lead.created_at)
                owner = owners.get(r.agent_id)
                external = add_assignment(session, lead, r, now, crm=crm)
            elif reserve and crm and r.outcome in _QUEUE_KIND:
                kind = _QUEUE_KIND[r.outcome]
                if r.reason_code is ReasonCode.PRIORITY_NO_TAKEBACK:
                    kind = QueueKind.PRIORITY
                session.add(QueueEntry(lead_pk=lead.id, score=d.score, kind=kind.value, reason=r.reason,
                                       enqueued_at=now, updated_at=now))
        else:
            report.outcomes["rescored"] += 1
        if crm:
            outbox.enqueue(session, connector, lead.id, "result", _write_back_item(d, owner, external, now), now)
    insert_rows(session, Score, scores)
    insert_rows(session, AuditEvent, [*events, *more_events])
    if reserve:
        session.flush()
        apply_takebacks(session, routing, now)


def audit_row(kind: str, lead_pk: int | None, now: datetime, payload: dict[str, Any], *,
              input_hash: str | None = None, rule_set_version: str | None = None) -> dict[str, Any]:
    """An audit event as a row for insert_rows (every column given: bulk rows skip the model's defaults)."""
    return {"kind": kind, "lead_pk": lead_pk, "payload": payload, "input_hash": input_hash,
            "rule_set_version": rule_set_version, "created_at": now}


def insert_rows(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert many rows of one table in one statement (executemany), without building ORM objects.

    A Core insert on the session's connection: the ORM's bulk path costs about a millisecond a call, which
    is most of what one API lead's audit rows take."""
    if rows:
        session.connection().execute(insert(model.__table__), rows)  # type: ignore[attr-defined]


def add_assignment(session: Session, lead: Lead, routed: RoutedLead, now: datetime, *, crm: bool = True) -> str:
    """The officer's reservation of `lead` as routed; returns its external id (the CRM upsert key)."""
    assert routed.agent_id is not None
    external = external_id(lead, routed.agent_id, now)
    match = routed.match
    session.add(Assignment(
        lead_pk=lead.id, agent_id=routed.agent_id, match_score=match.match_score if match else 0.0,
        components=vars(match.components) if match else {},
        alternatives=[{"agent_id": a.agent_id, "match_score": a.match_score} for a in routed.alternatives],
        reason=routed.reason, external_id=external, assigned_at=now, updated_at=now,
        # an API answer is the delivery; a CRM assignment is pending until the CRM confirms it
        state=(AssignmentState.PENDING if crm else AssignmentState.WRITTEN).value))
    return external


def apply_takebacks(session: Session, routing: RoutingResult, now: datetime) -> None:
    """A priority lead took an officer's lowest-scored uncontacted lead: release it, and for a CRM lead
    queue it again and tell its own CRM (an API lead is only released: the caller asks again)."""
    for takeback in routing.takebacks:
        lead_pk = int(takeback.lead_id)
        held = session.execute(select(Assignment).where(
            Assignment.lead_pk == lead_pk, Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES))).scalar_one_or_none()
        if held is not None:
            held.state = AssignmentState.RELEASED.value
            held.updated_at = now
        session.flush()
        lead = session.get(Lead, lead_pk)
        source = lead.connector if lead is not None else API_CONNECTOR
        session.add(AuditEvent(kind="routing", lead_pk=lead_pk, created_at=now, payload={
            "outcome": "taken_back", "from_agent_id": takeback.from_agent_id, "for_lead": takeback.for_lead_id,
            "reason": takeback.reason, "source": source}))
        if lead is None or source == API_CONNECTOR:
            continue
        session.add(QueueEntry(lead_pk=lead_pk, score=int(takeback.score or 0), kind=QueueKind.QUEUE.value,
                               reason=takeback.reason, enqueued_at=now, updated_at=now))
        item = WriteBackItem(crm_id=lead.crm_id, idempotency_key=f"takeback:{now.isoformat()}",
                             assignment_reason=takeback.reason, routing_outcome="queued")
        outbox.enqueue(session, source, lead_pk, "takeback", item, now)


def poll_cycle(ctx: AppContext, connector: Connector) -> CycleReport:
    """Fetch one batch of changed leads from `connector`, decide them, persist, write back."""
    report = CycleReport(connector.name)
    started = t = time.perf_counter()
    now = ctx.clock()
    limit = next((c.poll_batch_size for c in ctx.config.connectors if c.name == connector.name), 2000)
    with ctx.session(readonly=True) as session:
        mark = watermarks.load(session, connector.name, LEADS)
    try:
        fetched = connector.fetch_changed(mark, limit)
    except (RetryableConnectorError, QuotaExhaustedError) as exc:
        report.error, report.complete = str(exc), False
        with ctx.session() as session:
            watermarks.record_error(session, connector.name, LEADS, str(exc), now)
        report.seconds = time.perf_counter() - started
        return report
    t = _stage(report, "fetch", t)
    crash_if("after_fetch")
    report.fetched, report.complete = len(fetched.leads), fetched.complete
    with ctx.session() as session:
        synced = upsert_fetched(session, connector.name, fetched.leads, now)
        todo = [s for s in synced if s.needs_processing]
        report.unchanged = len(synced) - len(todo)
        t = _stage(report, "store", t)
        if todo:
            decisions, routing, agents = decide(ctx, session, [s.lead for s in todo], [s.new_hash for s in todo],
                                                now, connector.name, report)
            t = time.perf_counter()
            persist(session, connector.name, decisions, routing, agents, now, report)
            report.processed = len(decisions)
            report.quality = batch_quality(decisions, ctx.config.compliance.data_quality)
            session.add(AuditEvent(kind="batch_quality", created_at=now, payload={
                "connector": connector.name, "leads": len(decisions), "groups": report.quality}))
        watermarks.save(session, connector.name, LEADS, fetched.next_watermark, now)
    t = _stage(report, "persist", t)
    crash_if("after_persist")
    # the batch in hand is flushed even when a stop was asked for: that is what stopping cleanly means
    flushed = outbox.flush(ctx.engine, connector, ctx.clock)
    _stage(report, "write_back", t)
    report.written, report.write_failures = flushed.written, flushed.failed + flushed.gave_up
    if flushed.calls_error:
        report.error = f"write-back postponed: {flushed.calls_error}"
    crash_if("after_writeback")
    report.seconds = time.perf_counter() - started
    return report

