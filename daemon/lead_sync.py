"""Fetched CRM records into the store's `leads` table, deciding which ones need (re)processing.

A lead is processed again only when an input that matters changed: its input hash covers the
canonical fields compliance, scoring and routing read, never our own write-back fields or the
CRM's modified time. So a write-back that bumps SystemModstamp never triggers a re-score.

Each poll re-reads its overlap window (Salesforce: 300 s of records, ~800 at a steady 2.5 leads/s).
A record version (CRM id, modified time) that a committed cycle already stored is the same data
again, so it is counted as unchanged without loading or updating its row (`StoredVersions`).
"""
from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.pool import Pool
from sqlmodel import Session

from config.canonical import CANONICAL_FIELDS
from connectors.base import CrmLead
from daemon.store import Lead

# Fields that do not change what we decide about a lead.
_NOT_INPUTS = frozenset({"updated_at", "converted", "converted_at", "conversion_value", "lead_cost", "crm_id"})
INPUT_FIELDS: tuple[str, ...] = tuple(f for f in CANONICAL_FIELDS if f not in _NOT_INPUTS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


# Canonical fields added after the first release enter the hash only when they hold a value: a new
# field must not change every stored lead's hash (each lead would be re-scored and written back once).
ADDED_LATER = frozenset({"first_time_buyer"})


def input_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the decision inputs in canonical JSON; equal inputs give equal hashes in any process."""
    payload = {name: _jsonable(fields.get(name)) for name in INPUT_FIELDS}
    for name in ADDED_LATER:
        if payload.get(name) is None:
            payload.pop(name, None)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SyncedLead:
    """A fetched lead after the upsert, and whether its inputs changed since it was last processed.

    `lead` and `new_hash` are None for a record version a committed cycle already stored (not loaded)."""

    lead: Lead | None
    needs_processing: bool
    new_hash: str | None


@dataclass
class StoredVersions:
    """CRM id -> modified time of the record versions one connector's committed cycles stored.

    Replaced as a whole after each committed upsert by the versions that fetch delivered, so it holds
    at most one fetch's records: the overlap window, never the history."""

    versions: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> Mapping[str, datetime]:
        """The current versions (a replaced map is never changed again, so it is safe to read)."""
        with self.lock:
            return self.versions

    def replace(self, versions: dict[str, datetime]) -> None:
        with self.lock:
            self.versions = versions

    def __len__(self) -> int:
        with self.lock:
            return len(self.versions)


# Per store (its connection pool, shared by the engine and its option views) and connector; a new or
# disposed engine starts empty, so a version is never vouched for by another database.
_STORED: weakref.WeakKeyDictionary[Pool, dict[str, StoredVersions]] = weakref.WeakKeyDictionary()
_STORED_LOCK = threading.Lock()


def stored_versions(session: Session, connector: str) -> StoredVersions:
    """The versions already stored for `connector` in the session's database."""
    pool = session.get_bind().pool
    with _STORED_LOCK:
        return _STORED.setdefault(pool, {}).setdefault(connector, StoredVersions())


def upsert_fetched(session: Session, connector: str, records: Iterable[CrmLead], now: datetime) -> list[SyncedLead]:
    """Insert new leads and refresh known ones (one query for the lookup); nothing is committed here.

    A record version stored by an earlier committed cycle comes back as unchanged without a query."""
    records = list(records)
    # the same record twice in one batch (overlap window, ties): the latest modification wins
    latest: dict[str, CrmLead] = {}
    for record in records:
        seen = latest.get(record.crm_id)
        if seen is None or record.modified_at >= seen.modified_at:
            latest[record.crm_id] = record
    if not latest:
        return []
    stored = stored_versions(session, connector)
    known = stored.snapshot()
    delivered = {crm_id: record.modified_at for crm_id, record in latest.items()}
    changed = {crm_id: record for crm_id, record in latest.items() if known.get(crm_id) != record.modified_at}
    synced = [SyncedLead(None, False, None) for _ in range(len(latest) - len(changed))]
    # only a commit makes this fetch's versions "stored"; a rollback leaves the last committed set
    event.listen(session, "after_commit", lambda _session: stored.replace(delivered), once=True)
    if not changed:
        return synced
    existing = {
        lead.crm_id: lead
        for lead in session.execute(
            select(Lead).where(Lead.connector == connector, Lead.crm_id.in_(list(changed)))
        ).scalars()
    }
    for crm_id, record in changed.items():
        fields = {k: v for k, v in record.fields.items() if k in CANONICAL_FIELDS and k != "crm_id"}
        digest = input_hash(fields)
        problems = [{"message": p} for p in record.problems]
        lead = existing.get(crm_id)
        if lead is None:
            lead = Lead.new(connector=connector, crm_id=crm_id, **fields, raw=record.raw,
                            validation_problems=problems, first_seen_at=now, last_seen_at=now)
            session.add(lead)
        else:
            if lead.anonymised:
                del delivered[crm_id]  # never vouched for: each fetch checks it again
                continue  # retention already removed it; a stale CRM copy must not bring PII back
            for name, value in fields.items():
                setattr(lead, name, value)
            lead.raw = record.raw
            lead.validation_problems = problems
            lead.last_seen_at = now
        synced.append(SyncedLead(lead, lead.input_hash != digest, digest))
    session.flush()
    return synced


def lead_frame_rows(leads: Iterable[Lead]) -> list[dict[str, Any]]:
    """Canonical rows for the pure packages; `lead_id` is the store key so every row is addressable."""
    rows = []
    for lead in leads:
        row = {name: getattr(lead, name) for name in CANONICAL_FIELDS}
        row["crm_lead_id"] = row["lead_id"]
        row["lead_id"] = str(lead.id)
        rows.append(row)
    return rows
