"""Schema migrations: a fresh store reaches the newest schema, upgrades keep data, and only new revisions run."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import select

from daemon.store import (
    Lead, Score, StoreError, current_revision, ensure_schema, head_revision, metadata, schema_status,
    session_scope, upgrade,
)
from daemon.store.migrate import alembic_config, migrations_dir
from store_backends import make_test_engine
from store_samples import a_lead, an_agent, rows_for, shipped_revisions

SHIPPED = shipped_revisions()
HEAD = SHIPPED[-1]
# A revision after the shipped head, for tests only: adds a column and a table, and rebuilds `leads`
# the way SQLite batch mode does (copy, drop, rename) — the step that would cascade-delete scores if
# foreign keys stayed on.
TEST_REVISION = "9001"
REVISION_9001 = f'''
"""test only: a column, a table and a rebuilt leads table"""
import sqlalchemy as sa
from alembic import op

revision = "{TEST_REVISION}"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("leads", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("note", sa.String(), nullable=True))
    op.create_table("extra", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("extra")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("note")
'''


@pytest.fixture
def migrations_with_9001(tmp_path: Path) -> Path:
    """A copy of the shipped migrations plus the test-only revision 9001 on top of the shipped head."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9001_test_only.py").write_text(REVISION_9001, encoding="utf-8")
    return folder


def _fill(engine: Engine) -> int:
    with session_scope(engine) as session:
        lead = a_lead()
        session.add_all([lead, an_agent(), an_agent("lo-2")])
        session.flush()
        session.add_all(rows_for(lead.id))
        return int(lead.id)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in metadata.sorted_tables}


def _table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_the_shipped_migrations_have_one_head() -> None:
    script = alembic_config()
    from alembic.script import ScriptDirectory

    assert len(ScriptDirectory.from_config(script).get_heads()) == 1
    assert head_revision() == HEAD
    assert SHIPPED[0] == "0001" and len(set(SHIPPED)) == len(SHIPPED)


def test_a_fresh_database_upgrades_to_the_newest_schema(blank_engine: Engine) -> None:
    before = schema_status(blank_engine)
    assert before.current is None and before.pending == SHIPPED and not before.up_to_date
    assert upgrade(blank_engine) == SHIPPED
    assert current_revision(blank_engine) == head_revision()
    assert _table_names(blank_engine) >= set(metadata.tables) | {"alembic_version"}
    assert schema_status(blank_engine).up_to_date


def test_the_migrated_schema_matches_the_models(blank_engine: Engine) -> None:
    ensure_schema(blank_engine)
    with blank_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    # SQLite cannot reflect the DESC in ix_queue_order, so it sees that one index as different
    ignored = {"ix_queue_order"} if blank_engine.dialect.name == "sqlite" else set()
    real = [d for d in diffs if not (isinstance(d, tuple) and getattr(d[1], "name", None) in ignored)]
    assert real == []


def test_upgrading_an_up_to_date_database_changes_nothing_and_keeps_rows(engine: Engine) -> None:
    lead_pk = _fill(engine)
    before = _counts(engine)
    assert all(before.values()), before
    assert ensure_schema(engine) == []
    assert upgrade(engine) == []
    assert _counts(engine) == before
    with session_scope(engine) as session:
        assert session.get(Lead, lead_pk).email == "ann@example.com"


def test_an_older_database_gets_only_the_new_revisions_and_keeps_its_data(
        blank_engine: Engine, migrations_with_9001: Path) -> None:
    assert upgrade(blank_engine, HEAD, script_location=migrations_with_9001) == SHIPPED
    lead_pk = _fill(blank_engine)
    before = _counts(blank_engine)
    assert schema_status(blank_engine, script_location=migrations_with_9001).pending == [TEST_REVISION]

    assert upgrade(blank_engine, script_location=migrations_with_9001) == [TEST_REVISION]

    assert current_revision(blank_engine) == TEST_REVISION
    assert _counts(blank_engine) == before  # the rebuilt leads table took no score, queue or outbox row with it
    assert "extra" in _table_names(blank_engine)
    with blank_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT email, note FROM leads WHERE id = :id"), {"id": lead_pk}).one()
    assert tuple(row) == ("ann@example.com", None)
    with session_scope(blank_engine) as session:
        assert session.exec(select(Score).where(Score.lead_pk == lead_pk)).one().score == 71
    assert upgrade(blank_engine, script_location=migrations_with_9001) == []


def test_the_first_time_buyer_revision_keeps_existing_leads_as_unknown(blank_engine: Engine) -> None:
    assert upgrade(blank_engine, "0001") == ["0001"]
    with blank_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO leads (connector, crm_id, anonymised, validation_problems, first_seen_at, "
                             "last_seen_at) VALUES ('sf', '00Q1', false, '[]', :t, :t)"),
                     {"t": "2026-11-01 00:00:00+00:00"})
    assert upgrade(blank_engine) == SHIPPED[1:]
    with session_scope(blank_engine) as session:
        lead = session.exec(select(Lead)).one()
        assert lead.crm_id == "00Q1" and lead.first_time_buyer is None
        lead.first_time_buyer = True
    with session_scope(blank_engine) as session:
        assert session.exec(select(Lead)).one().first_time_buyer is True


def test_a_database_newer_than_this_leadpilot_is_refused(blank_engine: Engine, migrations_with_9001: Path) -> None:
    upgrade(blank_engine, script_location=migrations_with_9001)
    with pytest.raises(StoreError, match=f"revision '{TEST_REVISION}', which this leadpilot does not know"):
        ensure_schema(blank_engine)
    assert current_revision(blank_engine) == TEST_REVISION


def test_tables_without_a_migration_record_are_not_touched(blank_engine: Engine) -> None:
    metadata.create_all(blank_engine)
    lead_pk = _fill(blank_engine)
    with pytest.raises(StoreError, match="no migration record"):
        ensure_schema(blank_engine)
    with session_scope(blank_engine) as session:
        assert session.get(Lead, lead_pk) is not None
    assert current_revision(blank_engine) is None


def test_instances_starting_together_migrate_once(blank_engine: Engine, tmp_path: Path,
                                                  backend: str, blank_schema: str | None) -> None:
    other = make_test_engine(backend, tmp_path, schema=blank_schema)
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def start(engine: Engine) -> None:
        try:
            barrier.wait(5)
            results.append(ensure_schema(engine))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in (blank_engine, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.dispose()
    assert errors == []
    assert sorted(results) == [[], SHIPPED]
    assert current_revision(blank_engine) == HEAD


def test_the_initial_revision_downgrades_to_an_empty_database(blank_engine: Engine) -> None:
    ensure_schema(blank_engine)
    cfg = alembic_config()
    with blank_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert _table_names(blank_engine) & set(metadata.tables) == set()
    assert current_revision(blank_engine) is None
