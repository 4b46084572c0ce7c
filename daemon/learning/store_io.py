"""The learning loop's only door to the store: read leads with outcomes, assignments and scores; keep KPI
snapshots; record retraining decisions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from config.canonical import CANONICAL_FIELDS

from daemon.learning.data import LEAD_COLUMNS, SCORE_COLUMNS, LearningData
from daemon.store import Assignment, AssignmentState, AuditEvent, KpiSnapshot, Lead, Outcome, Score

# Contact details and consent wording are not learning inputs: they stay in the store.
_NOT_READ = frozenset({"first_name", "last_name", "email", "phone", "consent_ip", "consent_text", "consent_certificate"})
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    c for c in CANONICAL_FIELDS
    if c not in _NOT_READ and c not in {"lead_id", "created_at", "converted", "converted_at", "conversion_value",
                                        "lead_cost"})
RETRAIN_DECISION = "retrain_decision"
RETRAIN_RESULT = "retrain_result"


def _period(since: datetime | None, until: datetime | None) -> list[Any]:
    conds: list[Any] = []
    if since is not None:
        conds.append(Lead.created_at >= since)
    if until is not None:
        conds.append(Lead.created_at <= until)
    return conds


def _frame(session: Session, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    rows = session.execute(stmt).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def _utc(frame: pd.DataFrame, *columns: str) -> None:
    for c in columns:
        frame[c] = pd.to_datetime(frame[c], utc=True)


def read_learning_data(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                       include_undated: bool = False) -> LearningData:
    """Leads created in [since, until] with their outcome, first assignment, officer and first scores.

    The outcome row (synced from the CRM) wins over the lead's own outcome fields; the officer is the one
    on the outcome, else the one of the lead's latest assignment that reached an officer (not failed).
    Leads without a creation time are read only when `include_undated` (no period can hold them).
    """
    conds = _period(since, until)
    if not include_undated or conds:
        conds.append(Lead.created_at.is_not(None))
    lead_cols = ["id", "lead_id", "created_at", "converted", "converted_at", "conversion_value", "lead_cost",
                 *FEATURE_COLUMNS]
    leads = _frame(session, sa.select(*[getattr(Lead, c) for c in lead_cols]).where(*conds).order_by(Lead.id),
                   ["lead_pk", *lead_cols[1:]])
    if leads.empty:
        return LearningData.empty()

    outcomes = _frame(session, sa.select(Outcome.lead_pk, Outcome.agent_id, Outcome.converted, Outcome.converted_at,
                                         Outcome.conversion_value, Outcome.lead_cost)
                      .join(Lead, Lead.id == Outcome.lead_pk).where(*conds),
                      ["lead_pk", "o_agent", "o_converted", "o_converted_at", "o_value", "o_cost"])
    assignments = _frame(session, sa.select(Assignment.lead_pk, Assignment.agent_id, Assignment.assigned_at)
                         .join(Lead, Lead.id == Assignment.lead_pk)
                         .where(*conds, Assignment.state != AssignmentState.FAILED.value)
                         .order_by(Assignment.lead_pk, Assignment.assigned_at, Assignment.id),
                         ["lead_pk", "a_agent", "assigned_at"])
    scores = _frame(session, sa.select(Score.lead_pk, Score.model_version, Score.probability, Score.score,
                                       Score.variant, Score.scored_at)
                    .join(Lead, Lead.id == Score.lead_pk).where(*conds)
                    .order_by(Score.lead_pk, Score.scored_at, Score.id), list(SCORE_COLUMNS))

    frame = leads.merge(outcomes, on="lead_pk", how="left")
    has_outcome = frame["o_converted"].notna()
    frame["converted"] = frame["o_converted"].where(has_outcome, frame["converted"])
    _utc(frame, "created_at", "converted_at", "o_converted_at", "consent_timestamp", "updated_at")
    frame["converted_at"] = frame["o_converted_at"].where(has_outcome, frame["converted_at"])
    frame["conversion_value"] = frame["o_value"].where(frame["o_value"].notna(), frame["conversion_value"])
    frame["lead_cost"] = frame["o_cost"].where(frame["o_cost"].notna(), frame["lead_cost"])

    if len(assignments):
        _utc(assignments, "assigned_at")
        first = assignments.groupby("lead_pk", sort=False).agg(assigned_at=("assigned_at", "min"),
                                                                a_agent=("a_agent", "last"))
        frame = frame.merge(first, left_on="lead_pk", right_index=True, how="left")
    else:
        frame["assigned_at"], frame["a_agent"] = pd.NaT, None
    frame["agent_id"] = frame["o_agent"].where(frame["o_agent"].notna(), frame["a_agent"])

    if len(scores):
        _utc(scores, "scored_at")
        scores = scores.drop_duplicates(["lead_pk", "model_version"], keep="first").reset_index(drop=True)
        first_score = scores.drop_duplicates("lead_pk", keep="first").set_index("lead_pk")
        frame = frame.merge(first_score[["model_version", "probability", "score", "variant"]]
                            .rename(columns={"variant": "arm"}), left_on="lead_pk", right_index=True, how="left")
    else:
        frame["model_version"], frame["probability"], frame["score"], frame["arm"] = None, None, None, None
    frame = frame.drop(columns=["o_agent", "o_converted", "o_converted_at", "o_value", "o_cost", "a_agent"])
    ordered = [*LEAD_COLUMNS, *[c for c in frame.columns if c not in LEAD_COLUMNS]]
    return LearningData(frame[ordered].reset_index(drop=True), scores.reset_index(drop=True))


# -- KPI snapshots ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SnapshotRecord:
    """One stored KPI snapshot."""

    name: str
    period_start: datetime
    period_end: datetime
    metrics: dict[str, Any]
    created_at: datetime


def save_snapshot(session: Session, *, name: str, period_start: datetime, period_end: datetime,
                  metrics: dict[str, Any], now: datetime) -> SnapshotRecord:
    """Store the snapshot of one period; a snapshot of the same name and period is replaced."""
    row = session.execute(sa.select(KpiSnapshot).where(
        KpiSnapshot.name == name, KpiSnapshot.period_start == period_start, KpiSnapshot.period_end == period_end,
    )).scalar_one_or_none()
    if row is None:
        row = KpiSnapshot(name=name, period_start=period_start, period_end=period_end, metrics=metrics, created_at=now)
        session.add(row)
    else:
        row.metrics = metrics  # reassigned, not edited in place: JSON columns track reassignment only
        row.created_at = now
    session.flush()
    return SnapshotRecord(row.name, row.period_start, row.period_end, dict(row.metrics), row.created_at)


def load_snapshots(session: Session, name: str, *, limit: int = 366) -> list[SnapshotRecord]:
    """The latest `limit` snapshots of `name`, oldest first (by period end)."""
    rows = session.execute(sa.select(KpiSnapshot).where(KpiSnapshot.name == name)
                           .order_by(KpiSnapshot.period_end.desc(), KpiSnapshot.id.desc()).limit(limit)).scalars().all()
    return [SnapshotRecord(r.name, r.period_start, r.period_end, dict(r.metrics), r.created_at) for r in reversed(rows)]


# -- decisions --------------------------------------------------------------------------------------

def record_event(session: Session, kind: str, payload: dict[str, Any], *, now: datetime) -> int:
    """Append an audit event (a retraining decision or result); returns its id."""
    event = AuditEvent(kind=kind, payload=payload, created_at=now)
    session.add(event)
    session.flush()
    assert event.id is not None
    return int(event.id)


def load_events(session: Session, kind: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest `limit` events of `kind`, newest first, as {created_at, payload}."""
    rows = session.execute(sa.select(AuditEvent).where(AuditEvent.kind == kind)
                           .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)).scalars().all()
    return [{"created_at": r.created_at.isoformat(), "payload": dict(r.payload)} for r in rows]
