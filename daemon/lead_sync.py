"""Fetched CRM records into the store's `leads` table, deciding which ones need (re)processing.

A lead is processed again only when an input that matters changed: its input hash covers the
canonical fields compliance, scoring and routing read, never our own write-back fields or the
CRM's modified time. So a write-back that bumps SystemModstamp never triggers a re-score.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
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


def input_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the decision inputs in canonical JSON; equal inputs give equal hashes in any process."""
    payload = {name: _jsonable(fields.get(name)) for name in INPUT_FIELDS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SyncedLead:
    """A stored lead after a fetch, and whether its inputs changed since it was last processed."""

    lead: Lead
    needs_processing: bool
    new_hash: str


def upsert_fetched(session: Session, connector: str, records: Iterable[CrmLead], now: datetime) -> list[SyncedLead]:
    """Insert new leads and refresh known ones (one query for the lookup); nothing is committed here."""
    records = list(records)
    # the same record twice in one batch (overlap window, ties): the latest modification wins
    latest: dict[str, CrmLead] = {}
    for record in records:
        seen = latest.get(record.crm_id)
        if seen is None or record.modified_at >= seen.modified_at:
            latest[record.crm_id] = record
    if not latest:
        return []
    existing = {
        lead.crm_id: lead
        for lead in session.execute(
            select(Lead).where(Lead.connector == connector, Lead.crm_id.in_(list(latest)))
        ).scalars()
    }
    synced: list[SyncedLead] = []
    for crm_id, record in latest.items():
        fields = {k: v for k, v in record.fields.items() if k in CANONICAL_FIELDS and k != "crm_id"}
        digest = input_hash(fields)
        problems = [{"message": p} for p in record.problems]
        lead = existing.get(crm_id)
        if lead is None:
            lead = Lead(connector=connector, crm_id=crm_id, **fields, raw=record.raw,
                        validation_problems=problems, first_seen_at=now, last_seen_at=now)
            session.add(lead)
        else:
            if lead.anonymised:
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
