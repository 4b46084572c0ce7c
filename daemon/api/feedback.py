"""POST /api/v1/feedback: a conversion outcome of an API lead becomes its label (one Outcome row per lead)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from daemon.api.errors import ApiError
from daemon.api.record import API_CONNECTOR
from daemon.context import AppContext
from daemon.store import Assignment, AuditEvent, Lead, Outcome

FEEDBACK_EVENT = "api_feedback"


@dataclass(frozen=True)
class Feedback:
    """What the caller reports: did the lead convert, for how much, and when."""

    lead_id: str
    converted: bool
    conversion_value: float | None
    timestamp: datetime


@dataclass(frozen=True)
class FeedbackResult:
    lead_id: str
    status: str  # created | updated | unchanged
    converted: bool
    converted_at: datetime | None
    conversion_value: float | None


def record_feedback(ctx: AppContext, feedback: Feedback) -> FeedbackResult:
    """Store the outcome of an API lead; the same feedback twice changes nothing, a new one replaces it."""
    now = ctx.clock()
    converted_at = feedback.timestamp if feedback.converted else None
    with ctx.session() as session:
        lead = session.execute(select(Lead).where(
            Lead.connector == API_CONNECTOR, Lead.crm_id == feedback.lead_id)).scalar_one_or_none()
        if lead is None or lead.id is None:
            raise ApiError(404, f"no lead {feedback.lead_id!r} was scored through the API; score it first "
                                "(POST /api/v1/score) — CRM leads get their outcomes from the CRM")
        row = session.execute(select(Outcome).where(Outcome.lead_pk == lead.id)).scalar_one_or_none()
        wanted = (feedback.converted, converted_at, feedback.conversion_value)
        if row is not None and (row.converted, row.converted_at, row.conversion_value) == wanted:
            return FeedbackResult(feedback.lead_id, "unchanged", *wanted)
        status = "created" if row is None else "updated"
        if row is None:
            row = Outcome(lead_pk=lead.id, converted=feedback.converted, source=API_CONNECTOR)
            session.add(row)
        holder = _last_officer(session, lead.id)
        row.converted, row.converted_at, row.conversion_value = wanted
        row.agent_id, row.observed_at = holder.agent_id if holder else None, now
        lead.converted, lead.converted_at, lead.conversion_value = wanted
        session.add(AuditEvent(kind=FEEDBACK_EVENT, lead_pk=lead.id, created_at=now, payload={
            "status": status, "converted": feedback.converted, "conversion_value": feedback.conversion_value,
            "timestamp": feedback.timestamp.isoformat(), "agent_id": row.agent_id}))
    ctx.forget_profiles()  # officer history moved
    return FeedbackResult(feedback.lead_id, status, *wanted)


def _last_officer(session: Session, lead_pk: int) -> Assignment | None:
    """The lead's latest assignment (as the CRM outcome sync does): the officer the outcome counts for."""
    return session.execute(select(Assignment).where(Assignment.lead_pk == lead_pk)
                           .order_by(Assignment.assigned_at.desc(), Assignment.id.desc()).limit(1)).scalar_one_or_none()
