"""The daemon's store: SQLModel tables, engine set-up and schema migrations (SQLite or PostgreSQL).

Typical use::

    engine = make_engine(config)
    ensure_schema(engine)                 # at start: upgrade to the newest schema
    with session_scope(engine) as session:
        session.add(AuditEvent(kind="started"))
"""
from daemon.store.engine import (
    check_connection, database_url, lock_capacity, make_engine, masked, read_scope, session_scope,
)
from daemon.store.errors import StoreError
from daemon.store.migrate import (
    SchemaStatus, current_revision, ensure_schema, head_revision, schema_status, upgrade,
)
from daemon.store.models import (
    Agent, Assignment, AssignmentState, AuditEvent, JobRun, JobStatus, KpiSnapshot, Lead, Lease,
    ModelStatus, ModelVersion, Outcome, OutboxItem, QueueEntry, QueueKind, QueueState, Score, SyncState,
    metadata,
)
from daemon.store.types import utcnow

__all__ = [
    "Agent", "Assignment", "AssignmentState", "AuditEvent", "JobRun", "JobStatus", "KpiSnapshot", "Lead",
    "Lease", "ModelStatus", "ModelVersion", "Outcome", "OutboxItem", "QueueEntry", "QueueKind", "QueueState",
    "SchemaStatus", "Score", "StoreError", "SyncState", "check_connection", "current_revision", "database_url",
    "ensure_schema", "head_revision", "lock_capacity", "make_engine", "masked", "metadata", "read_scope", "schema_status",
    "session_scope",
    "upgrade", "utcnow",
]
