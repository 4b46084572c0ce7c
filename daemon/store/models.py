"""The store's tables: everything the daemon keeps between cycles and across restarts.

Conventions:
- every datetime is an aware UTC datetime (`UTCDateTime`); naive ones are refused;
- `Lead.id` is the store's own key, referenced by other tables as `lead_pk`. `Lead.lead_id`
  and `Lead.crm_id` are canonical lead fields from the CRM (see DESIGN.md), not store keys;
- state-like columns are plain strings limited by CHECK constraints to the values of the
  StrEnums below (no database ENUM types: they make migrations painful);
- JSON columns must be reassigned to change: in-place edits are not tracked.

Importing this module only defines classes; it opens no database.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.orm import instrumentation as sa_instrumentation
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from daemon.store.types import IdType, JSONType, UTCDateTime, utcnow

# Stable constraint and index names on every backend, so migrations can refer to them.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The store's own registry and metadata: tables of other SQLModel users never mix in.
store_registry = registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
metadata: sa.MetaData = store_registry.metadata


class StoreModel(SQLModel, registry=store_registry):
    """Base of every store table."""

    @classmethod
    def new(cls, **values: Any) -> Self:
        """A new row to add to a session, built ~10x faster than `cls(**values)` (the same row, tested).

        SQLModel's constructor sets every one of a table's fields through pydantic and SQLAlchemy's
        instrumentation: ~450 us for a lead's sixty-odd fields, the largest single cost of storing a
        batch. A new object needs only its values in place: the INSERT reads them from there.
        """
        plain, factories = _defaults(cls)
        obj = _manager(cls).new_instance()
        data = dict(plain)
        for name, factory in factories.items():
            if name not in values:
                data[name] = factory()
        unknown = values.keys() - cls.model_fields.keys()
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        data.update(values)
        obj.__dict__.update(data)
        object.__setattr__(obj, "__pydantic_fields_set__", set(values))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


@cache
def _defaults(cls: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """A table's plain defaults and its default factories, read once from its fields."""
    plain: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            factories[name] = info.default_factory  # type: ignore[assignment]
        elif not info.is_required():
            plain[name] = info.default
    return plain, factories


@cache
def _manager(cls: type[SQLModel]) -> Any:
    return sa_instrumentation.manager_of_class(cls)


class AssignmentState(StrEnum):
    """Life of an assignment: decided, written to the CRM, or ended."""

    PENDING = "pending"      # decided, CRM write-back not yet confirmed
    WRITTEN = "written"      # the CRM holds it
    FAILED = "failed"        # the CRM refused it for good; the lead goes back to routing
    RELEASED = "released"    # replaced or withdrawn (reassignment, officer left)


ACTIVE_ASSIGNMENT_STATES: tuple[str, ...] = (AssignmentState.PENDING.value, AssignmentState.WRITTEN.value)


class QueueKind(StrEnum):
    """Overflow lanes when no officer can take a lead now."""

    PRIORITY = "priority"
    QUEUE = "queue"
    NURTURE = "nurture"
    MANAGER = "manager"


class QueueState(StrEnum):
    """Whether a queued lead still waits."""

    WAITING = "waiting"
    ASSIGNED = "assigned"
    EXPIRED = "expired"
    REMOVED = "removed"


class ModelStatus(StrEnum):
    """A trained model's place in the deployment gate."""

    CHAMPION = "champion"
    CHALLENGER = "challenger"
    REJECTED = "rejected"
    RETIRED = "retired"


class JobStatus(StrEnum):
    """Result of one scheduled job run."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


def _one_of(column: str, values: type[StrEnum], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)


def _lead_fk(ondelete: str = "CASCADE", nullable: bool = False) -> Any:
    return Field(default=None if nullable else ..., foreign_key="leads.id", ondelete=ondelete,
                 sa_type=IdType, nullable=nullable)


def _id() -> Any:
    return Field(default=None, primary_key=True, sa_type=IdType)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_type=JSONType, nullable=False)


class Lead(StoreModel, table=True):
    """One CRM record in canonical form, as last fetched; one row per (connector, crm_id)."""

    __tablename__ = "leads"
    __table_args__ = (
        sa.UniqueConstraint("connector", "crm_id"),
        sa.Index("ix_leads_created_at", "created_at"),
        sa.Index("ix_leads_lead_id", "lead_id"),
        sa.Index("ix_leads_email", "email"),
        sa.Index("ix_leads_phone", "phone"),
    )

    id: int | None = _id()
    connector: str = Field(description="name of the connector (config connectors[].name) it came from")

    # canonical fields (config/canonical.py CANONICAL_FIELDS); crm_id is required here
    lead_id: str | None = None
    crm_id: str
    source: str | None = None
    created_at: datetime | None = _when(nullable=True)
    updated_at: datetime | None = _when(nullable=True)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    state: str | None = None
    zip_code: str | None = None
    loan_amount: float | None = None
    loan_purpose: str | None = None
    loan_type: str | None = None
    property_type: str | None = None
    property_value: float | None = None
    down_payment: float | None = None
    timeline: str | None = None
    first_time_buyer: bool | None = None
    annual_income: float | None = None
    monthly_debt: float | None = None
    credit_score: int | None = None
    employment_status: str | None = None
    employment_tenure_months: int | None = None
    website_sessions: int | None = None
    page_views: int | None = None
    calculator_uses: int | None = None
    email_opens: int | None = None
    email_clicks: int | None = None
    tcpa_consent: bool | None = None
    consent_timestamp: datetime | None = _when(nullable=True)
    consent_method: str | None = None
    consent_ip: str | None = None
    consent_text: str | None = None
    consent_certificate: str | None = None
    do_not_call: bool | None = None
    email_opt_out: bool | None = None
    converted: bool | None = None
    converted_at: datetime | None = _when(nullable=True)
    conversion_value: float | None = None
    lead_cost: float | None = None

    # the store's own bookkeeping
    # the CRM payload as fetched; None once anonymised
    raw: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    input_hash: str | None = Field(default=None, description="sha256 of the scoring inputs; unchanged = no re-score")
    validation_problems: list[dict[str, Any]] = _json(list)  # [{field, code, message}] found while mapping
    anonymised: bool = False
    anonymised_at: datetime | None = _when(nullable=True)
    first_seen_at: datetime = _when()
    last_seen_at: datetime = _when()


class Score(StoreModel, table=True):
    """One scoring of a lead by one model version; the latest per lead is the current score."""

    __tablename__ = "scores"
    __table_args__ = (
        sa.Index("ix_scores_lead_pk_scored_at", "lead_pk", "scored_at"),
        sa.Index("ix_scores_model_version", "model_version"),
        sa.CheckConstraint("probability >= 0 AND probability <= 1", name="probability_range"),
        sa.CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
    )

    id: int | None = _id()
    lead_pk: int = _lead_fk()
    model_version: str
    probability: float = Field(description="calibrated probability to convert, 0..1")
    score: int = Field(description="0..100, see scoring's documentation of its meaning")
    confidence: float = Field(description="0..1")
    reasons: list[dict[str, Any]] = _json(list)  # [{feature, value, contribution, text}]
    input_hash: str
    variant: str | None = Field(default=None, description="A/B arm, e.g. champion or challenger")
    scored_at: datetime = _when()


class Agent(StoreModel, table=True):
    """A loan officer as last loaded from the agents file; never deleted, only deactivated."""

    __tablename__ = "agents"

    agent_id: str = Field(primary_key=True)
    name: str
    email: str | None = None
    active: bool = True
    states: list[str] = _json(list)
    licenses: list[dict[str, Any]] = _json(list)  # [{state, license_id, nmls_id, expires}]
    specialties: list[str] = _json(list)
    optimal_capacity: int = 0
    max_capacity: int = 0
    timezone: str = "UTC"
    schedule: dict[str, Any] = _json(dict)  # day -> "09:00-17:00"
    crm_user_ids: dict[str, str] = _json(dict)  # connector name -> the officer's CRM user id
    updated_at: datetime = _when()


class Assignment(StoreModel, table=True):
    """A routing decision; at most one active (pending or written) assignment per lead."""

    __tablename__ = "assignments"
    __table_args__ = (
        _one_of("state", AssignmentState, "state_valid"),
        sa.Index(
            "uq_assignments_active_lead", "lead_pk", unique=True,
            sqlite_where=sa.text("state IN ('pending', 'written')"),
            postgresql_where=sa.text("state IN ('pending', 'written')"),
        ),
        sa.Index("ix_assignments_agent_id_state", "agent_id", "state"),
        sa.Index("ix_assignments_lead_pk", "lead_pk"),
    )

    id: int | None = _id()
    lead_pk: int = _lead_fk()
    agent_id: str = Field(foreign_key="agents.agent_id")
    match_score: float
    components: dict[str, float] = _json(dict)  # performance, capacity, expertise, availability
    alternatives: list[dict[str, Any]] = _json(list)  # runners-up [{agent_id, match_score}]
    reason: str = ""
    state: str = AssignmentState.PENDING.value
    external_id: str = Field(unique=True, description="idempotency key sent to the CRM's upsert")
    assigned_at: datetime = _when()
    updated_at: datetime = _when()


class Outcome(StoreModel, table=True):
    """What became of a lead (the label learning trains on), one row per lead, updated in place."""

    __tablename__ = "outcomes"

    id: int | None = _id()
    lead_pk: int = Field(foreign_key="leads.id", ondelete="CASCADE", sa_type=IdType, unique=True)
    agent_id: str | None = Field(default=None, index=True, description="officer who worked it; may have left")
    converted: bool
    converted_at: datetime | None = _when(nullable=True)
    conversion_value: float | None = None
    lead_cost: float | None = None
    source: str = Field(default="crm", description="crm, import or manual")
    observed_at: datetime = _when()


class AuditEvent(StoreModel, table=True):
    """An append-only record of a decision (compliance, score, assignment, model promotion...)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_kind_created_at", "kind", "created_at"),
        sa.Index("ix_audit_events_lead_pk_created_at", "lead_pk", "created_at"),
    )

    id: int | None = _id()
    kind: str
    lead_pk: int | None = _lead_fk(ondelete="SET NULL", nullable=True)
    payload: dict[str, Any] = _json(dict)
    input_hash: str | None = None
    rule_set_version: str | None = None
    created_at: datetime = _when()


class SyncState(StoreModel, table=True):
    """How far a connector has read one stream (leads, outcomes, opt-outs...) of its CRM."""

    __tablename__ = "sync_state"

    connector: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    watermark: datetime | None = _when(nullable=True)  # never past the start of the last complete pass
    cursor: str | None = Field(default=None, description="tie-breaker at the watermark (last id, page token)")
    last_success_at: datetime | None = _when(nullable=True)
    last_error: str | None = None
    last_error_at: datetime | None = _when(nullable=True)
    updated_at: datetime = _when()


class QueueEntry(StoreModel, table=True):
    """A lead waiting in the routing overflow queue; at most one waiting entry per lead."""

    __tablename__ = "queue"
    __table_args__ = (
        _one_of("kind", QueueKind, "kind_valid"),
        _one_of("state", QueueState, "state_valid"),
        sa.Index(
            "uq_queue_waiting_lead", "lead_pk", unique=True,
            sqlite_where=sa.text("state = 'waiting'"), postgresql_where=sa.text("state = 'waiting'"),
        ),
        # dequeue order: per lane, best score first, then oldest
        sa.Index("ix_queue_order", "state", "kind", sa.desc("score"), "enqueued_at"),
        sa.Index("ix_queue_lead_pk", "lead_pk"),
    )

    id: int | None = _id()
    lead_pk: int = _lead_fk()
    score: int
    kind: str
    state: str = QueueState.WAITING.value
    reason: str | None = None
    enqueued_at: datetime = _when()
    updated_at: datetime = _when()


class OutboxItem(StoreModel, table=True):
    """A CRM write-back not yet confirmed; retried until done. `key` makes enqueueing idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("connector", "key"),
        sa.Index(
            "ix_outbox_pending", "connector", "next_attempt_at",
            sqlite_where=sa.text("done_at IS NULL AND gave_up_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL AND gave_up_at IS NULL"),
        ),
        sa.Index("ix_outbox_lead_pk", "lead_pk"),
    )

    id: int | None = _id()
    connector: str
    key: str = Field(description="stable identity of this write, e.g. 'score:<lead_pk>:<input_hash>'")
    kind: str = Field(description="what is written: score, assignment, ...")
    lead_pk: int = _lead_fk()
    payload: dict[str, Any] = _json(dict)
    attempts: int = 0
    next_attempt_at: datetime = _when()
    last_error: str | None = None
    created_at: datetime = _when()
    done_at: datetime | None = _when(nullable=True)
    gave_up_at: datetime | None = _when(nullable=True)


class ModelVersion(StoreModel, table=True):
    """A trained model artifact; loaded only if its file's sha256 matches. At most one champion."""

    __tablename__ = "model_versions"
    __table_args__ = (
        _one_of("status", ModelStatus, "status_valid"),
        sa.Index(
            "uq_model_versions_one_champion", "status", unique=True,
            sqlite_where=sa.text("status = 'champion'"), postgresql_where=sa.text("status = 'champion'"),
        ),
    )

    id: int | None = _id()
    version: str = Field(unique=True)
    sha256: str
    path: str
    metrics: dict[str, Any] = _json(dict)
    info: dict[str, Any] = _json(dict)  # training window, rows, features, parameters
    status: str
    created_at: datetime = _when()
    promoted_at: datetime | None = _when(nullable=True)
    retired_at: datetime | None = _when(nullable=True)


class JobRun(StoreModel, table=True):
    """One run of a scheduled job (a task is what runs, a schedule is when, a run is one go)."""

    __tablename__ = "job_runs"
    __table_args__ = (
        _one_of("status", JobStatus, "status_valid"),
        sa.Index("ix_job_runs_job_started_at", "job", "started_at"),
    )

    id: int | None = _id()
    job: str
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    status: str = JobStatus.RUNNING.value
    message: str | None = None
    instance: str | None = Field(default=None, description="which daemon instance ran it")


class KpiSnapshot(StoreModel, table=True):
    """Figures of one KPI report over one period; recomputing a period replaces its row."""

    __tablename__ = "kpi_snapshots"
    __table_args__ = (sa.UniqueConstraint("name", "period_start", "period_end"),)

    id: int | None = _id()
    name: str = Field(description="report name, e.g. daily or ab:<test>")
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    metrics: dict[str, Any] = _json(dict)
    created_at: datetime = _when()


class Lease(StoreModel, table=True):
    """A named lock held until `expires_at`, so one daemon instance runs each poll or job."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime = _when()
    expires_at: datetime = Field(sa_type=UTCDateTime)


# Every table, in an order that satisfies foreign keys.
TABLES: tuple[type[StoreModel], ...] = (
    Lead, Agent, Score, Assignment, Outcome, AuditEvent, SyncState, QueueEntry, OutboxItem,
    ModelVersion, JobRun, KpiSnapshot, Lease,
)
