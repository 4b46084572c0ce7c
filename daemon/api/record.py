"""What an API decision leaves in the store: the lead's score, its compliance and routing audit events,
the officer's reservation (only with ?assign=true) and the answer itself, so a repeat returns it unchanged.

Unlike a polled lead there is no CRM to write back to (the HTTP answer is the delivery), so no outbox
row is written and an assignment is `written` at once; and an API lead never enters the overflow
queue, whose drain serves CRM leads: the caller asks again later instead.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from compliance.reasons import REASONS
from daemon.pipeline import API_CONNECTOR, CycleReport, Decision, audit_row, persist
from daemon.store import Assignment, AuditEvent, Lead
from daemon.store.models import ACTIVE_ASSIGNMENT_STATES
from routing.agents_file import AgentSpec
from routing.outcome import Candidate, RoutingResult

ANSWER_EVENT = "api_score"  # audit event holding the answer given, keyed by lead and input hash


def record_decisions(session: Session, decisions: list[Decision], routing: RoutingResult, now: datetime, *,
                     reserve: bool, answers: list[dict[str, Any]]) -> None:
    """Score rows, compliance and routing audit events, (when `reserve`) assignments and take-backs, and
    the answer given for each decision (`answers`, in the same order), so a repeat gets it."""
    kept = [answer_row(d.lead, d.input_hash, body, now) for d, body in zip(decisions, answers, strict=True)]
    persist(session, API_CONNECTOR, decisions, routing, [], now, CycleReport(API_CONNECTOR), reserve=reserve,
            more_events=kept)


def _agent(agent_id: str, names: dict[str, str], match_score: float | None,
           components: dict[str, float] | None) -> dict[str, Any]:
    return {"agent_id": agent_id, "name": names.get(agent_id), "match_score": match_score,
            "components": dict(components or {})}


def _candidate(c: Candidate, names: dict[str, str]) -> dict[str, Any]:
    return _agent(c.agent_id, names, round(c.match_score, 4), {k: round(v, 4) for k, v in vars(c.components).items()})


def answer(d: Decision, agents: list[AgentSpec], holder: Assignment | None, now: datetime, *,
           reserve: bool) -> dict[str, Any]:
    """The ScoringResponse body for one decision, as JSON-ready data (stored as the lead's answer)."""
    names = {a.agent_id: a.name for a in agents}
    c, r = d.compliance, d.routed
    recommended: dict[str, Any] | None = None
    alternatives: list[dict[str, Any]] = []
    if r is not None:
        routing = {"outcome": r.outcome.value, "reason_code": r.reason_code.value, "reason": r.reason,
                   "assigned": bool(reserve and r.agent_id)}
        if r.agent_id is not None:
            recommended = (_candidate(r.match, names) if r.match is not None
                           else _agent(r.agent_id, names, None, None))
        alternatives = [_candidate(a, names) for a in r.alternatives]
    else:  # routing left it where it is: with the officer it was given earlier
        routing = {"outcome": "held", "reason_code": None, "assigned": holder is not None,
                   "reason": holder.reason if holder is not None else "keeps its current place"}
        if holder is not None:
            recommended = _agent(holder.agent_id, names, round(holder.match_score, 4), holder.components)
            alternatives = [_agent(a["agent_id"], names, a.get("match_score"), None) for a in holder.alternatives]
    return {
        "lead_id": d.lead.crm_id, "score": d.score, "probability": round(d.probability, 6),
        "confidence": round(d.confidence, 4), "model_version": d.model_version, "timestamp": now.isoformat(),
        "reasons": list(d.reason_text), "feature_contributions": [dict(x) for x in d.reasons],
        "compliance": {
            "status": c.status, "compliant": c.compliant, "allowed_channels": list(c.allowed_channels),
            "reasons": [{"code": x.value, "description": REASONS[x].description} for x in c.reasons],
            "rule_set_version": c.rule_set_version,
        },
        "recommended_agent": recommended, "alternatives": alternatives, "routing": routing, "ab_arm": d.arm,
    }


def answer_row(lead: Lead, input_hash: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The answer given, as an audit row (store with insert_rows), so the same lead and inputs get it again."""
    return audit_row(ANSWER_EVENT, lead.id, now, body, input_hash=input_hash)


# Built once: the replay check runs on every call, and building a statement cost more than running it.
_ANSWERS = (select(AuditEvent.lead_pk, AuditEvent.input_hash, AuditEvent.payload)
            .where(AuditEvent.kind == ANSWER_EVENT, AuditEvent.lead_pk.in_(bindparam("pks", expanding=True)))
            .order_by(AuditEvent.id))
_HOLDING = select(Assignment.lead_pk).where(Assignment.lead_pk.in_(bindparam("pks", expanding=True)),
                                            Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES))


def stored_answers(conn: Connection, lead_pks: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """(lead_pk, input_hash) -> the latest answer given for it."""
    if not lead_pks:
        return {}
    rows = conn.execute(_ANSWERS, {"pks": lead_pks}).all()
    return {(int(pk), str(h)): dict(payload) for pk, h, payload in rows}


def holding(conn: Connection, lead_pks: list[int]) -> set[int]:
    """The leads of `lead_pks` that hold an active (pending or written) assignment."""
    if not lead_pks:
        return set()
    return {int(pk) for pk in conn.execute(_HOLDING, {"pks": lead_pks}).scalars()}


def active_assignments(session: Session, lead_pks: list[int]) -> dict[int, Assignment]:
    """lead_pk -> its active (pending or written) assignment."""
    if not lead_pks:
        return {}
    rows = session.execute(select(Assignment).where(
        Assignment.lead_pk.in_(lead_pks), Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES))).scalars()
    return {int(a.lead_pk): a for a in rows}
