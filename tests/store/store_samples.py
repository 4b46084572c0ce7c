"""Filled-in rows of every store table, for round-trip and migration tests."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from config.canonical import CANONICAL_FIELDS
from daemon.store import (
    Agent, Assignment, AuditEvent, JobRun, KpiSnapshot, Lead, Lease, ModelVersion, Outcome, OutboxItem,
    QueueEntry, Score, SyncState,
)
from daemon.store.migrate import alembic_config


def shipped_revisions() -> list[str]:
    """The shipped migration revisions, oldest first (what a fresh database gets)."""
    script = ScriptDirectory.from_config(alembic_config())
    return [s.revision for s in reversed(list(script.walk_revisions()))]


EST = timezone(timedelta(hours=-5))
T0 = datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=EST)  # 14:30:15.123456 UTC
T1 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

CANONICAL_VALUES: dict[str, Any] = {
    "str": "x", "float": 1234.5, "int": 42, "bool": True, "datetime": T0,
}


def a_lead(crm_id: str = "00Q1", connector: str = "sf") -> Lead:
    values = {name: CANONICAL_VALUES[kind] for name, kind in CANONICAL_FIELDS.items()}
    values.update(crm_id=crm_id, email="ann@example.com", phone="+15551234567", state="TX")
    return Lead(connector=connector, raw={"Id": crm_id, "Email": "ann@example.com", "nested": {"a": [1, 2]}},
                input_hash="a" * 64, validation_problems=[{"field": "zip_code", "code": "malformed"}],
                first_seen_at=T0, last_seen_at=T1, **values)


def an_agent(agent_id: str = "lo-1") -> Agent:
    return Agent(agent_id=agent_id, name="Lee Officer", email="lee@example.com", states=["TX", "CA"],
                 licenses=[{"state": "TX", "license_id": "L1", "nmls_id": "123", "expires": "2027-01-31"}],
                 specialties=["fha", "va"], optimal_capacity=20, max_capacity=30, timezone="America/Chicago",
                 schedule={"mon": "09:00-17:00"}, crm_user_ids={"sf": "005xx"}, updated_at=T0)


def rows_for(lead_pk: int) -> list[SQLModel]:
    """One filled-in row of every table except leads and agents."""
    return [
        Score(lead_pk=lead_pk, model_version="2026.11.01-1", probability=0.123, score=71, confidence=0.8,
              reasons=[{"feature": "credit_score", "value": 760, "contribution": 9.0, "text": "Credit score 760: +9"}],
              input_hash="b" * 64, variant="challenger", scored_at=T0),
        Assignment(lead_pk=lead_pk, agent_id="lo-1", match_score=0.91,
                   components={"performance": 0.9, "capacity": 0.5}, alternatives=[{"agent_id": "lo-2", "match_score": 0.7}],
                   reason="best match", state="written", external_id="lp-asg-1", assigned_at=T0, updated_at=T1),
        Outcome(lead_pk=lead_pk, agent_id="lo-1", converted=True, converted_at=T1, conversion_value=4200.0,
                lead_cost=35.0, source="crm", observed_at=T1),
        AuditEvent(kind="compliance", lead_pk=lead_pk, payload={"decision": "allow", "codes": []},
                   input_hash="c" * 64, rule_set_version="2026.11", created_at=T0),
        SyncState(connector="sf", stream="leads", watermark=T0, cursor="00Q9", last_success_at=T1,
                  last_error="timeout", last_error_at=T0, updated_at=T1),
        QueueEntry(lead_pk=lead_pk, score=85, kind="priority", state="waiting", reason="no capacity",
                   enqueued_at=T0, updated_at=T1),
        OutboxItem(connector="sf", key=f"score:{lead_pk}:bbb", kind="score", lead_pk=lead_pk,
                   payload={"AI_Lead_Score__c": 71}, attempts=2, next_attempt_at=T1, last_error="429",
                   created_at=T0, done_at=None, gave_up_at=None),
        ModelVersion(version="2026.11.01-1", sha256="d" * 64, path="models/m1.joblib", metrics={"auc": 0.81},
                     info={"rows": 1000}, status="champion", created_at=T0, promoted_at=T1),
        JobRun(job="retrain", started_at=T0, finished_at=T1, status="ok", message="auc 0.81", instance="host-1"),
        KpiSnapshot(name="daily", period_start=T0, period_end=T1, metrics={"leads": 10, "conversion": 0.1},
                    created_at=T1),
        Lease(name="poll:sf", holder="host-1:123", acquired_at=T0, expires_at=T1),
    ]
