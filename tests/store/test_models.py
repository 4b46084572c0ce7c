"""Every table round-trips on every backend; the constraints that keep the daemon idempotent hold."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import SQLModel, select

from config.canonical import CANONICAL_FIELDS
from daemon.store import (
    Assignment, AuditEvent, JobRun, KpiSnapshot, Lead, Lease, ModelVersion, Outcome, OutboxItem,
    QueueEntry, Score, SyncState, metadata, session_scope,
)
from daemon.store.models import TABLES
from daemon.store.types import UTCDateTime
from store_samples import T0, T1, a_lead, an_agent, rows_for


def _pk(row: SQLModel) -> Any:
    mapper = sa.inspect(type(row))
    return tuple(getattr(row, c.key) for c in mapper.primary_key)


def _normalised(row: SQLModel) -> dict[str, Any]:
    data = row.model_dump()
    return {k: (v.astimezone(UTC) if isinstance(v, datetime) else v) for k, v in data.items()}


def test_lead_table_has_every_canonical_field_with_its_kind() -> None:
    expected = {"str": sa.String, "float": sa.Float, "int": sa.Integer, "bool": sa.Boolean, "datetime": UTCDateTime}
    columns = Lead.__table__.c
    missing = [name for name in CANONICAL_FIELDS if name not in columns]
    assert missing == []

    def base(type_: sa.types.TypeEngine) -> sa.types.TypeEngine:  # sqlmodel's AutoString decorates String
        return type_ if isinstance(type_, UTCDateTime) else getattr(type_, "impl_instance", type_)

    wrong = {name: repr(columns[name].type) for name, kind in CANONICAL_FIELDS.items()
             if not isinstance(base(columns[name].type), expected[kind])}
    assert wrong == {}
    # any canonical field may be missing, except the CRM record id the store is keyed on
    assert [n for n in CANONICAL_FIELDS if not columns[n].nullable] == ["crm_id"]


def test_every_table_is_in_the_store_metadata_only() -> None:
    assert {t.__tablename__ for t in TABLES} == set(metadata.tables) == {
        "leads", "agents", "scores", "assignments", "outcomes", "audit_events", "sync_state", "queue",
        "outbox", "model_versions", "job_runs", "kpi_snapshots", "leases",
    }
    assert not set(metadata.tables) & set(SQLModel.metadata.tables)


def test_importing_the_models_has_no_side_effects(tmp_path) -> None:
    code = ("import os, sqlalchemy.pool; before = set(os.listdir('.')); import daemon.store.models, daemon.store; "
            "assert set(os.listdir('.')) == before, 'files created on import'; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_every_table_round_trips(engine: Engine) -> None:
    with session_scope(engine) as session:
        lead = a_lead()
        session.add_all([lead, an_agent(), an_agent("lo-2")])
        session.flush()
        originals = [lead, *rows_for(lead.id)]
        session.add_all(originals[1:])
    expected = {(type(r), _pk(r)): _normalised(r) for r in originals}

    with session_scope(engine, readonly=True) as session:
        for (model, pk), want in expected.items():
            got = session.get(model, pk[0] if len(pk) == 1 else pk)
            assert got is not None, model.__name__
            assert _normalised(got) == want, model.__name__
            for value in got.model_dump().values():
                if isinstance(value, datetime):
                    assert value.tzinfo is UTC, f"{model.__name__}: datetimes read back as aware UTC"
    assert expected[(Lead, (lead.id,))]["created_at"] == datetime(2026, 11, 1, 14, 30, 15, 123456, tzinfo=UTC)


def test_empty_lead_keeps_missing_fields_as_null(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Lead(connector="hubspot", crm_id="901", raw=None))
    with session_scope(engine) as session:
        lead = session.exec(select(Lead)).one()
        assert all(getattr(lead, name) is None for name in CANONICAL_FIELDS if name != "crm_id")
        assert lead.raw is None and lead.validation_problems == [] and lead.anonymised is False
        assert lead.first_seen_at.tzinfo is UTC
        # SQL NULL, not the JSON literal 'null': IS NULL finds it
        assert session.exec(select(sa.func.count()).select_from(Lead).where(Lead.raw.is_(None))).one() == 1


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        with session_scope(engine) as session:
            session.add(Lead(connector="sf", crm_id="1", created_at=datetime(2026, 1, 1)))
    with session_scope(engine) as session:
        assert session.exec(select(Lead)).all() == []


def test_datetime_comparisons_work_across_time_zones(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Lead(connector="sf", crm_id="1", created_at=T0))  # 14:30 UTC
    with session_scope(engine) as session:
        just_before = datetime(2026, 11, 1, 15, 30, tzinfo=timezone(timedelta(hours=1)))  # 14:30 UTC, earlier by 15 s
        assert session.exec(select(Lead).where(Lead.created_at > just_before)).all() != []
        assert session.exec(select(Lead).where(Lead.created_at > T0)).all() == []


def _duplicate_raises(engine: Engine, rows: list[SQLModel], duplicate: SQLModel) -> None:
    with session_scope(engine) as session:
        session.add_all(rows)
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(duplicate)


def _lead_and_agent(engine: Engine) -> int:
    with session_scope(engine) as session:
        lead = Lead(connector="sf", crm_id="L1")
        session.add_all([lead, an_agent()])
        session.flush()
        return int(lead.id)


def test_a_crm_record_is_stored_once_per_connector(engine: Engine) -> None:
    _duplicate_raises(engine, [Lead(connector="sf", crm_id="X"), Lead(connector="hubspot", crm_id="X")],
                      Lead(connector="sf", crm_id="X"))
    with session_scope(engine) as session:
        assert len(session.exec(select(Lead)).all()) == 2


def test_a_lead_has_at_most_one_active_assignment(engine: Engine) -> None:
    pk = _lead_and_agent(engine)

    def asg(ext: str, state: str) -> Assignment:
        return Assignment(lead_pk=pk, agent_id="lo-1", match_score=0.5, external_id=ext, state=state)

    # history (released, failed) may pile up; a second active one may not
    _duplicate_raises(engine, [asg("e1", "released"), asg("e2", "failed"), asg("e3", "pending")], asg("e4", "written"))


def test_an_assignment_external_id_is_unique(engine: Engine) -> None:
    pk = _lead_and_agent(engine)
    with session_scope(engine) as session:
        other = Lead(connector="sf", crm_id="L2")
        session.add(other)
        session.flush()
        other_pk = other.id
    _duplicate_raises(engine, [Assignment(lead_pk=pk, agent_id="lo-1", match_score=0.5, external_id="same")],
                      Assignment(lead_pk=other_pk, agent_id="lo-1", match_score=0.5, external_id="same"))


def test_a_lead_waits_in_the_queue_once(engine: Engine) -> None:
    pk = _lead_and_agent(engine)
    _duplicate_raises(engine, [QueueEntry(lead_pk=pk, score=90, kind="priority", state="assigned"),
                               QueueEntry(lead_pk=pk, score=90, kind="priority")],
                      QueueEntry(lead_pk=pk, score=70, kind="queue"))


def test_there_is_one_champion_model(engine: Engine) -> None:
    def mv(version: str, status: str) -> ModelVersion:
        return ModelVersion(version=version, sha256="0" * 64, path=f"{version}.joblib", status=status)

    _duplicate_raises(engine, [mv("v1", "retired"), mv("v2", "champion"), mv("v3", "challenger")], mv("v4", "champion"))
    _duplicate_raises(engine, [], mv("v2", "rejected"))  # versions are unique too


def test_outbox_keys_outcomes_and_kpi_periods_are_unique(engine: Engine) -> None:
    pk = _lead_and_agent(engine)
    _duplicate_raises(engine, [OutboxItem(connector="sf", key="k", kind="score", lead_pk=pk),
                               OutboxItem(connector="hubspot", key="k", kind="score", lead_pk=pk)],
                      OutboxItem(connector="sf", key="k", kind="score", lead_pk=pk))
    _duplicate_raises(engine, [Outcome(lead_pk=pk, converted=False)], Outcome(lead_pk=pk, converted=True))
    _duplicate_raises(engine, [KpiSnapshot(name="daily", period_start=T0, period_end=T1)],
                      KpiSnapshot(name="daily", period_start=T0, period_end=T1))
    _duplicate_raises(engine, [SyncState(connector="sf", stream="leads")], SyncState(connector="sf", stream="leads"))
    _duplicate_raises(engine, [Lease(name="poll", holder="a", expires_at=T1)], Lease(name="poll", holder="b", expires_at=T1))


@pytest.mark.parametrize("bad", [
    Score(lead_pk=0, model_version="v", probability=1.5, score=50, confidence=0.5, input_hash="h"),
    Score(lead_pk=0, model_version="v", probability=0.5, score=101, confidence=0.5, input_hash="h"),
    Score(lead_pk=0, model_version="v", probability=0.5, score=50, confidence=-0.1, input_hash="h"),
    QueueEntry(lead_pk=0, score=50, kind="vip"),
    QueueEntry(lead_pk=0, score=50, kind="queue", state="lost"),
    Assignment(lead_pk=0, agent_id="lo-1", match_score=0.5, external_id="e", state="done"),
    ModelVersion(version="v", sha256="0", path="p", status="best"),
    JobRun(job="j", status="maybe"),
], ids=["probability", "score", "confidence", "queue-kind", "queue-state", "assignment-state", "model-status", "job-status"])
def test_check_constraints_refuse_values_outside_their_range(engine: Engine, bad: SQLModel) -> None:
    pk = _lead_and_agent(engine)
    row = bad.model_copy()
    if hasattr(row, "lead_pk"):
        row.lead_pk = pk
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(type(bad).model_validate(row.model_dump()))


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(Score(lead_pk=999, model_version="v", probability=0.5, score=50, confidence=0.5, input_hash="h"))
    pk = _lead_and_agent(engine)
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(Assignment(lead_pk=pk, agent_id="nobody", match_score=0.5, external_id="e"))


def test_deleting_a_lead_removes_its_derived_rows_and_keeps_its_audit_trail(engine: Engine) -> None:
    with session_scope(engine) as session:
        lead = a_lead()
        session.add_all([lead, an_agent(), an_agent("lo-2")])
        session.flush()
        session.add_all(rows_for(lead.id))
        lead_pk = lead.id
    with session_scope(engine) as session:
        session.exec(sa.delete(Lead).where(Lead.id == lead_pk))
    with session_scope(engine) as session:
        for model in (Score, Assignment, Outcome, QueueEntry, OutboxItem):
            assert session.exec(select(model)).all() == [], model.__name__
        audit = session.exec(select(AuditEvent)).one()
        assert audit.lead_pk is None and audit.payload == {"decision": "allow", "codes": []}


def test_anonymising_a_lead_clears_its_pii_and_raw_payload(engine: Engine) -> None:
    from config.canonical import PII_FIELDS

    with session_scope(engine) as session:
        lead = a_lead()
        session.add(lead)
    with session_scope(engine) as session:
        stored = session.get(Lead, lead.id)
        for name in PII_FIELDS:
            setattr(stored, name, None)
        stored.raw = None
        stored.anonymised, stored.anonymised_at = True, T1
    with session_scope(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Lead).where(Lead.raw.is_(None))).one() == 1
        stored = session.get(Lead, lead.id)
        assert all(getattr(stored, name) is None for name in PII_FIELDS)
        assert stored.anonymised and stored.anonymised_at == T1 and stored.credit_score == 42


def test_given_values_then_the_fast_constructor_stores_the_same_row_as_the_model_constructor(engine: Engine) -> None:
    """StoreModel.new skips SQLModel's per-field setattr; what reaches the database must not differ."""
    from datetime import UTC, datetime

    from daemon.store import session_scope

    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    values = {"connector": "api", "lead_id": "L-1", "loan_amount": 350000.0, "credit_score": 742, "state": "TX",
              "tcpa_consent": True, "consent_timestamp": now, "raw": {"Source": "web"}, "first_seen_at": now,
              "last_seen_at": now}
    with session_scope(engine) as session:
        fast, slow = Lead.new(crm_id="fast", **values), Lead(crm_id="slow", **values)
        assert fast.credit_score == 742 and fast.validation_problems == [] and fast.id is None
        session.add_all([fast, slow])
        session.flush()
        assert fast.id is not None
        fast.input_hash = "changed after insert"  # a later change on the new object is still tracked
    with session_scope(engine, readonly=True) as session:
        rows = {lead.crm_id: lead for lead in session.exec(select(Lead)).all()}
    a, b = rows["fast"], rows["slow"]
    differ = {c.key for c in Lead.__table__.columns if getattr(a, c.key) != getattr(b, c.key)}
    assert differ == {"id", "crm_id", "input_hash"} and a.input_hash == "changed after insert"
    with pytest.raises(TypeError, match="no field"):
        Lead.new(crm_id="x", connector="api", not_a_field=1)
