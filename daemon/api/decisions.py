"""Decide API leads in one transaction: store them, replay stored answers, run the pipeline's `decide` on the rest.

API leads live in the `leads` table under the connector name "api", with crm_id = the caller's lead_id.
A lead whose inputs (lead_sync.input_hash) are unchanged gets the answer stored for them; with
?assign=true that holds only while it keeps the officer it was given, otherwise it is decided again
and the officer's capacity reserved.
"""
from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from config.errors import LeadpilotError
from daemon.api.record import (
    API_CONNECTOR, active_assignments, answer, holding, record_decisions, stored_answers,
)
from daemon.context import AppContext
from daemon.lead_sync import input_hash
from daemon.pipeline import CycleReport, decide
from daemon.store import Lead, read_scope


class LeadConflictError(LeadpilotError):
    """The lead cannot be scored under this id (it was anonymised under the retention policy)."""


Answer = dict[str, Any] | LeadConflictError


@dataclass
class GroupResult:
    """Answers for one group of leads (same assign flag), in request order; an error for a lead that cannot be."""

    answers: list[Answer]
    computed: int = 0  # leads decided now (not replayed)
    reserved: list[Lead] = field(default_factory=list)  # leads given an officer now
    blocked_reasons: list[str] = field(default_factory=list)  # compliance reasons of the non-compliant ones


def _complete(answers: list[Answer | None]) -> list[Answer]:
    missing = [i for i, a in enumerate(answers) if a is None]
    assert not missing, f"no answer for requests {missing}"
    return [a for a in answers if a is not None]


def _upsert(session: Session, existing: dict[str, Lead], fields: dict[str, Any], digest: str, now: datetime) -> Lead:
    lead = existing.get(fields["lead_id"])
    if lead is None:
        # inserted with the hash its decision will record (same transaction): no UPDATE at commit
        lead = Lead.new(connector=API_CONNECTOR, crm_id=fields["lead_id"], **fields, first_seen_at=now,
                        last_seen_at=now, input_hash=digest)
        if lead.created_at is None:
            lead.created_at = now  # it arrives now: KPIs and label maturity count from here
        session.add(lead)
        existing[lead.crm_id] = lead
        return lead
    first_created = lead.created_at
    for name, value in fields.items():
        setattr(lead, name, value)
    if lead.created_at is None:
        lead.created_at = first_created
    lead.last_seen_at = now
    return lead


@dataclass
class _Known:
    """What the store already holds about a group of API leads."""

    leads: dict[str, Lead]
    answers: list[Answer | None]  # None: to be decided now
    holders: dict[int, Any]


def _replay(stored: dict[tuple[int, str], dict[str, Any]], pk: int, digest: str, assign: bool,
            holders: Container[int]) -> dict[str, Any] | None:
    """The answer stored for these inputs, if it still holds: with `assign`, only while the officer it
    reserved still holds the lead."""
    kept = stored.get((pk, digest))
    if kept is None or (assign and not (kept["routing"]["assigned"] and pk in holders)):
        return None
    return kept


# Built once (see record._ANSWERS): every call passes the replay check, new leads included.
_KEYS = (select(Lead.id, Lead.crm_id, Lead.input_hash, Lead.anonymised)
         .where(Lead.connector == API_CONNECTOR, Lead.crm_id.in_(bindparam("ids", expanding=True))))


def _known(session: Session, requests: list[dict[str, Any]], assign: bool, hashes: list[str]) -> _Known:
    """The stored leads, and the answer each request gets without a new decision (a replay or a conflict).

    A replay needs the same inputs as the lead's last decision and an answer stored for them; with
    `assign` also that this answer reserved an officer the lead still holds.
    """
    ids = [r["lead_id"] for r in requests]
    # which exist, by their key alone: whole rows are loaded only for those (new leads are the common case)
    stored_ids = [row.crm_id for row in session.connection().execute(_KEYS, {"ids": ids})]
    existing = {lead.crm_id: lead for lead in session.execute(
        select(Lead).where(Lead.connector == API_CONNECTOR, Lead.crm_id.in_(stored_ids))).scalars()} if stored_ids else {}
    pks = [lead.id for lead in existing.values() if lead.id is not None]
    stored = stored_answers(session.connection(), pks)
    holders = active_assignments(session, pks)
    answers: list[Answer | None] = [None] * len(requests)
    for i, (fields, digest) in enumerate(zip(requests, hashes, strict=True)):
        lead = existing.get(fields["lead_id"])
        if lead is None or lead.id is None:
            continue
        if lead.anonymised:
            answers[i] = LeadConflictError(
                f"lead {fields['lead_id']} was anonymised under the retention policy; send it under a new lead_id")
        elif lead.input_hash == digest:
            answers[i] = _replay(stored, int(lead.id), digest, assign, holders)
    return _Known(existing, answers, holders)


def replays(ctx: AppContext, requests: list[dict[str, Any]], *, assign: bool,
            hashes: list[str] | None = None) -> list[dict[str, Any]] | None:
    """The stored answers when every request has one (read only, so no wait behind decisions); else None.

    Every call passes here first, new leads included, so it reads only the four columns it needs, on a
    plain connection: loading lead rows in an ORM session cost more than the rest of answering a replay.
    """
    hashes = hashes if hashes is not None else [input_hash(r) for r in requests]
    with read_scope(ctx.engine) as conn:
        rows = conn.execute(_KEYS, {"ids": [r["lead_id"] for r in requests]}).all()
        found = {crm_id: (int(pk), digest, anonymised) for pk, crm_id, digest, anonymised in rows}
        pks: list[int] = []
        for request, digest in zip(requests, hashes, strict=True):
            known = found.get(request["lead_id"])
            if known is None or known[2] or known[1] != digest:
                return None  # new, anonymised (a 409 from the decider) or changed: decided
            pks.append(known[0])
        stored = stored_answers(conn, pks)
        holders = holding(conn, pks) if assign else set()
    answers = []
    for pk, digest in zip(pks, hashes, strict=True):
        kept = _replay(stored, pk, digest, assign, holders)
        if kept is None:
            return None
        answers.append(kept)
    return answers


def decide_group(ctx: AppContext, session: Session, requests: list[dict[str, Any]], now: datetime, *,
                 assign: bool, report: CycleReport | None = None, hashes: list[str] | None = None) -> GroupResult:
    """Decide `requests` (canonical fields, distinct lead_ids) in the caller's transaction.

    `report` collects the seconds spent in compliance, scoring and routing (the pipeline's stages);
    `hashes` are the requests' input hashes when the caller has them already.
    """
    hashes = hashes if hashes is not None else [input_hash(r) for r in requests]
    known = _known(session, requests, assign, hashes)
    existing, answers, holders = known.leads, known.answers, known.holders
    todo = [i for i, a in enumerate(answers) if a is None]
    if not todo:
        return GroupResult(_complete(answers))

    all_new = all(requests[i]["lead_id"] not in existing for i in todo)
    leads = [_upsert(session, existing, requests[i], hashes[i], now) for i in todo]
    session.flush()
    decisions, routing, agents = decide(ctx, session, leads, [hashes[i] for i in todo], now, API_CONNECTOR, report,
                                        reserve=assign, held=set() if all_new else None)
    blocked: list[str] = []
    reserved: list[Lead] = []
    bodies = []
    for i, d in zip(todo, decisions, strict=True):
        body = answer(d, agents, holders.get(int(d.lead.id)) if d.lead.id is not None else None, now,
                      reserve=assign)
        bodies.append(body)
        answers[i] = body
        if not d.compliance.compliant:
            blocked.extend(x.value for x in d.compliance.reasons)
        if body["routing"]["assigned"] and d.routed is not None:
            reserved.append(d.lead)
    record_decisions(session, decisions, routing, now, reserve=assign, answers=bodies)
    return GroupResult(_complete(answers), computed=len(todo), reserved=reserved, blocked_reasons=blocked)
