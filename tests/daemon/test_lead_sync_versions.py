"""Overlap re-reads in the store: a record version a committed cycle stored comes back as unchanged without
a query, a rolled-back cycle vouches for nothing, and what is remembered is one fetch, never the history."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from connectors.base import CrmLead
from daemon.lead_sync import SyncedLead, stored_versions, upsert_fetched
from daemon.store import Lead, ensure_schema, session_scope
from store_backends import SQLITE, make_test_engine

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
SF = "salesforce"


def crm_lead(i: int, modified: datetime = T0, income: float = 85_000.0) -> CrmLead:
    crm_id = f"00Q{i:06d}"
    fields = {"crm_id": crm_id, "lead_id": f"L{i}", "state": "TX", "annual_income": income, "credit_score": 700}
    return CrmLead(crm_id=crm_id, modified_at=modified, fields=fields,
                   raw={"Id": crm_id, "SystemModstamp": modified.isoformat(), "Annual_Income__c": income})


def store_cycle(engine: Engine, records: list[CrmLead]) -> list[SyncedLead]:
    """One committed cycle as the pipeline runs it: upsert, then what persist does for processed leads."""
    with session_scope(engine) as session:
        synced = upsert_fetched(session, SF, records, NOW)
        for s in synced:
            if s.needs_processing:
                assert s.lead is not None
                s.lead.input_hash = s.new_hash
    return synced


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_given_versions_a_committed_cycle_stored_when_read_again_then_no_row_is_loaded_or_written(
        engine: Engine) -> None:
    records = [crm_lead(i, T0 + timedelta(seconds=i)) for i in range(40)]
    first = store_cycle(engine, records)
    assert len(first) == 40 and all(s.needs_processing for s in first)

    with statements(engine) as sql:
        again = store_cycle(engine, records)

    assert len(again) == 40  # counted as fetched and unchanged
    assert all(s.lead is None and not s.needs_processing for s in again)
    assert not [q for q in sql if "leads" in q.lower()]


def test_given_new_versions_then_they_are_loaded_and_only_changed_inputs_ask_for_processing(engine: Engine) -> None:
    store_cycle(engine, [crm_lead(i) for i in range(3)])
    later = T0 + timedelta(minutes=5)
    records = [crm_lead(0, later, income=120_000.0),  # a sales edit of an input
               crm_lead(1, later),  # our own write-back read again: new version, same inputs
               crm_lead(2)]  # the same version, re-read in the overlap window

    synced = store_cycle(engine, records)

    by_id = {s.lead.crm_id: s for s in synced if s.lead is not None}
    assert set(by_id) == {"00Q000000", "00Q000001"} and len(synced) == 3
    assert by_id["00Q000000"].needs_processing and not by_id["00Q000001"].needs_processing
    with session_scope(engine, readonly=True) as session:
        lead = session.execute(select(Lead).where(Lead.crm_id == "00Q000000")).scalar_one()
        assert lead.annual_income == 120_000.0 and lead.raw is not None and lead.raw["Annual_Income__c"] == 120_000.0


def test_given_a_cycle_that_rolled_back_then_its_versions_are_not_trusted(engine: Engine) -> None:
    records = [crm_lead(i) for i in range(5)]
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        upsert_fetched(session, SF, records, NOW)
        raise RuntimeError("scoring failed: the cycle rolls back")

    synced = store_cycle(engine, records)

    assert all(s.lead is not None and s.needs_processing for s in synced)
    with session_scope(engine, readonly=True) as session:
        assert session.execute(select(func.count(Lead.id))).scalar_one() == 5


def test_what_is_remembered_is_the_last_fetch_not_every_lead_ever_seen(engine: Engine) -> None:
    for cycle in range(5):
        store_cycle(engine, [crm_lead(100 * cycle + i) for i in range(30)])
        with session_scope(engine, readonly=True) as session:
            assert len(stored_versions(session, SF)) == 30


def test_a_version_stored_in_one_database_is_not_vouched_for_in_another(tmp_path: Path) -> None:
    records = [crm_lead(i) for i in range(4)]
    first, second = make_test_engine(SQLITE, tmp_path / "a"), make_test_engine(SQLITE, tmp_path / "b")
    try:
        for eng in (first, second):
            ensure_schema(eng)
        store_cycle(first, records)

        synced = store_cycle(second, records)

        assert all(s.lead is not None and s.needs_processing for s in synced)
    finally:
        first.dispose()
        second.dispose()


def test_given_a_field_added_after_the_first_release_then_an_empty_value_keeps_the_old_hash() -> None:
    """Adding first_time_buyer must not re-score every stored lead: empty, it is left out of the hash."""
    import hashlib
    import json

    from daemon.lead_sync import ADDED_LATER, INPUT_FIELDS, input_hash

    fields = {"lead_id": "L1", "state": "TX", "credit_score": 700, "loan_amount": 350000.0}
    before = {name: fields.get(name) for name in INPUT_FIELDS if name not in ADDED_LATER}  # the 0001 field set
    old_digest = hashlib.sha256(json.dumps(before, sort_keys=True, default=str).encode()).hexdigest()
    assert input_hash(fields) == old_digest == input_hash({**fields, "first_time_buyer": None})
    assert input_hash({**fields, "first_time_buyer": True}) != old_digest != input_hash({**fields, "first_time_buyer": False})
