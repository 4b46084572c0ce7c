"""The outbox: CRM write-backs recorded in the same transaction as the results they carry.

A crash after the results are committed loses nothing: the next flush sends what is pending.
Sending twice is harmless because every CRM write is an update of fields or an upsert by an
external id. Per-record failures are retried with back-off and never dropped: after
`max_attempts` an item is parked (`gave_up_at`) with an audit event an admin can act on.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.base import (
    Connector, QuotaExhaustedError, RetryableConnectorError, WriteBackItem, WriteBackResult,
)
from daemon.store import Assignment, AssignmentState, AuditEvent, OutboxItem, session_scope

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def to_payload(item: WriteBackItem) -> dict[str, Any]:
    """JSON for the outbox row."""
    data = dataclasses.asdict(item)
    if item.scored_at is not None:
        data["scored_at"] = item.scored_at.isoformat()
    return data


def from_payload(data: dict[str, Any]) -> WriteBackItem:
    """The write-back item an outbox row carries."""
    values = dict(data)
    if values.get("scored_at"):
        values["scored_at"] = datetime.fromisoformat(values["scored_at"])
    known = {f.name for f in dataclasses.fields(WriteBackItem)}
    return WriteBackItem(**{k: v for k, v in values.items() if k in known})


def enqueue(session: Session, connector: str, lead_pk: int, kind: str, item: WriteBackItem, now: datetime) -> None:
    """Record a write-back in the caller's transaction; the same key twice is one write."""
    key = f"{kind}:{lead_pk}:{item.idempotency_key}"
    # no autoflush: flushing the whole pending batch before each lookup made persist quadratic-ish
    with session.no_autoflush:
        exists = session.execute(
            select(OutboxItem.id).where(OutboxItem.connector == connector, OutboxItem.key == key)
        ).first()
    if exists is None:
        session.add(OutboxItem(connector=connector, key=key, kind=kind, lead_pk=lead_pk,
                               payload=to_payload(item), next_attempt_at=now, created_at=now))


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


@dataclass
class FlushReport:
    sent: int = 0
    written: int = 0
    failed: int = 0
    gave_up: int = 0
    calls_error: str | None = None


def pending_count(session: Session, connector: str | None = None) -> int:
    """Write-backs waiting (including those waiting for their retry time)."""
    query = select(OutboxItem.id).where(OutboxItem.done_at.is_(None), OutboxItem.gave_up_at.is_(None))
    if connector:
        query = query.where(OutboxItem.connector == connector)
    return len(session.execute(query).all())


def _due(session: Session, connector: str, now: datetime, limit: int) -> list[OutboxItem]:
    rows = session.execute(
        select(OutboxItem)
        .where(OutboxItem.connector == connector, OutboxItem.done_at.is_(None),
               OutboxItem.gave_up_at.is_(None), OutboxItem.next_attempt_at <= now)
        .order_by(OutboxItem.id).limit(limit * 2)
    ).scalars().all()
    # one write per CRM record per call: a later item for the same lead waits for the next round
    seen: set[int] = set()
    batch = []
    for row in rows:
        if row.lead_pk in seen:
            continue
        seen.add(row.lead_pk)
        batch.append(row)
        if len(batch) == limit:
            break
    return batch


def _apply(session: Session, rows: list[OutboxItem], results: list[WriteBackResult], now: datetime,
           report: FlushReport, max_attempts: int) -> None:
    written_keys: list[str] = []
    for row, result in zip(rows, results, strict=True):
        row = session.merge(row)
        if result.ok:
            row.done_at = now
            report.written += 1
            external = row.payload.get("assignment_external_id")
            if external:
                written_keys.append(external)
            continue
        row.attempts += 1
        row.last_error = (result.error or "unknown error")[:2000]
        if not result.retryable or row.attempts >= max_attempts:
            row.gave_up_at = now
            report.gave_up += 1
            session.add(AuditEvent(kind="writeback_parked", lead_pk=row.lead_pk, created_at=now,
                                   payload={"connector": row.connector, "key": row.key, "error": row.last_error,
                                            "attempts": row.attempts}))
        else:
            row.next_attempt_at = now + backoff(row.attempts)
            report.failed += 1
    if written_keys:
        session.execute(update(Assignment).where(
            Assignment.external_id.in_(written_keys), Assignment.state == AssignmentState.PENDING.value,
        ).values(state=AssignmentState.WRITTEN.value, updated_at=now))


def flush(engine: Engine, connector: Connector, clock: Callable[[], datetime], *, batch_size: int = 1000,
          max_attempts: int = MAX_ATTEMPTS, stop: Callable[[], bool] = lambda: False,
          on_batch: Callable[[list[OutboxItem], list[WriteBackResult]], None] | None = None) -> FlushReport:
    """Send due write-backs in batches until none is due; CRM-wide failures leave them pending."""
    report = FlushReport()
    while not stop():
        now = clock()
        with session_scope(engine) as session:
            rows = _due(session, connector.name, now, batch_size)
            for row in rows:
                session.expunge(row)
        if not rows:
            break
        items = [from_payload(row.payload) for row in rows]
        try:
            results = connector.write_back(items)
        except (RetryableConnectorError, QuotaExhaustedError) as exc:
            # nothing is known to be written: all stay pending, tried again next cycle
            report.calls_error = str(exc)
            log.warning("write-back to %s postponed: %s", connector.name, exc)
            break
        report.sent += len(items)
        with session_scope(engine) as session:
            _apply(session, rows, results, clock(), report, max_attempts)
        if on_batch is not None:
            on_batch(rows, results)
    return report
