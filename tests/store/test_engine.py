"""Engine set-up: SQLite pragmas and locking, PostgreSQL pool, and clear errors when the store is unreachable."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from config.errors import BadInputError
from config.loader import validate
from daemon.store import (
    AuditEvent, Lead, StoreError, check_connection, ensure_schema, make_engine, masked, read_scope,
    session_scope,
)
from store_backends import POSTGRES, SQLITE, make_test_engine


def _pragma(engine: Engine, name: str) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_store_is_created_under_state_dir_with_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_test_engine(SQLITE, tmp_path, database={"path": "deep/er/store.db", "busy_timeout_ms": 1234})
    try:
        ensure_schema(engine)
        assert (tmp_path / "state" / "deep" / "er" / "store.db").is_file()
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "busy_timeout") == 1234
        assert _pragma(engine, "foreign_keys") == 1
        assert _pragma(engine, "synchronous") == 1  # NORMAL
    finally:
        engine.dispose()


def test_sqlite_url_in_database_url_gets_the_same_settings(tmp_path: Path) -> None:
    config = validate({"database": {"url": f"sqlite:///{tmp_path}/new/x.db", "busy_timeout_ms": 250}}, "t")
    engine = make_engine(config)
    try:
        check_connection(engine)
        assert (tmp_path / "new" / "x.db").is_file()
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "busy_timeout") == 250
    finally:
        engine.dispose()


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(AuditEvent(kind="kept"))
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.add(AuditEvent(kind="dropped"))
            session.flush()
            raise RuntimeError("boom")
    with session_scope(engine, readonly=True) as session:
        assert [e.kind for e in session.exec(select(AuditEvent)).all()] == ["kept"]


def test_objects_stay_readable_after_their_session_ends(engine: Engine) -> None:
    with session_scope(engine) as session:
        lead = Lead(connector="sf", crm_id="1", email="a@example.com")
        session.add(lead)
    assert lead.id is not None and lead.email == "a@example.com"


def test_sqlite_writers_queue_on_the_busy_timeout_instead_of_failing(tmp_path: Path) -> None:
    engine = make_test_engine(SQLITE, tmp_path, database={"busy_timeout_ms": 5000})
    ensure_schema(engine)
    errors: list[BaseException] = []
    holding = threading.Event()

    def slow_writer() -> None:
        try:
            with session_scope(engine) as session:
                session.add(AuditEvent(kind="first"))
                session.flush()  # holds the write lock
                holding.set()
                time.sleep(0.4)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert holding.wait(5)
    started = time.monotonic()
    # reads then writes: with a DEFERRED transaction this would fail at once with "database is locked"
    with session_scope(engine) as session:
        count = len(session.exec(select(AuditEvent)).all())
        session.add(AuditEvent(kind=f"second-after-{count}"))
    waited = time.monotonic() - started
    thread.join()
    try:
        assert errors == []
        assert waited >= 0.2  # it waited for the first writer's commit
        with session_scope(engine, readonly=True) as session:
            kinds = sorted(e.kind for e in session.exec(select(AuditEvent)).all())
        assert kinds == ["first", "second-after-1"]  # the second saw the first's committed row
    finally:
        engine.dispose()


def _session_kinds(engine: Engine) -> list[str]:
    with session_scope(engine, readonly=True) as reader:
        return [e.kind for e in reader.exec(select(AuditEvent)).all()]


def _connection_kinds(engine: Engine) -> list[str]:
    with read_scope(engine) as conn:
        return list(conn.execute(sa.select(AuditEvent.kind)).scalars().all())


@pytest.mark.parametrize("read", [_session_kinds, _connection_kinds], ids=["session_scope", "read_scope"])
def test_sqlite_readers_see_the_last_commit_without_waiting_for_a_writer(
        tmp_path: Path, read: Callable[[Engine], list[str]]) -> None:
    engine = make_test_engine(SQLITE, tmp_path, database={"busy_timeout_ms": 3000})
    ensure_schema(engine)
    try:
        with session_scope(engine) as first:
            first.add(AuditEvent(kind="committed"))
        with session_scope(engine) as writer:
            writer.add(AuditEvent(kind="uncommitted"))
            writer.flush()
            started = time.monotonic()
            kinds = read(engine)  # WAL: sees the last commit
            assert time.monotonic() - started < 1
        assert kinds == ["committed"]
    finally:
        engine.dispose()


def test_read_scope_on_an_unreachable_postgresql_gives_a_store_error() -> None:
    config = validate({"database": {"url": "postgresql+psycopg://lp:s3cret@127.0.0.1:1/leadpilot",
                                    "connect_timeout_s": 2}}, "t")
    engine = make_engine(config)
    try:
        with pytest.raises(StoreError, match="Check database.url") as caught:
            with read_scope(engine) as conn:
                conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    assert "s3cret" not in str(caught.value)


def test_a_store_locked_longer_than_the_busy_timeout_gives_a_store_error(tmp_path: Path) -> None:
    engine = make_test_engine(SQLITE, tmp_path, database={"busy_timeout_ms": 100})
    ensure_schema(engine)
    try:
        with session_scope(engine) as holder:
            holder.add(AuditEvent(kind="holder"))
            holder.flush()
            with pytest.raises(StoreError) as caught:
                with session_scope(engine) as second:
                    second.add(AuditEvent(kind="blocked"))
        message = str(caught.value)
        assert "locked" in message and "busy_timeout_ms" in message and "leadpilot.db" in message
    finally:
        engine.dispose()


def test_unwritable_state_dir_gives_a_store_error_naming_the_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = validate({"state_dir": str(blocker / "state")}, "t")
    with pytest.raises(StoreError, match="cannot create the folder .*state_dir"):
        make_engine(config)


def test_unreachable_postgresql_gives_a_store_error_without_the_password() -> None:
    config = validate({"database": {"url": "postgresql+psycopg://lp:s3cret@127.0.0.1:1/leadpilot",
                                    "connect_timeout_s": 2}}, "t")
    engine = make_engine(config)
    try:
        with pytest.raises(StoreError) as caught:
            check_connection(engine)
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "s3cret" not in message
    assert "postgresql+psycopg://lp:***@127.0.0.1:1/leadpilot" in message
    assert "Check database.url" in message and "server is running" in message


def test_postgresql_engine_uses_the_configured_pool_and_psycopg() -> None:
    config = validate({"database": {"url": "postgresql://lp@db.example:5432/leadpilot", "pool_size": 7}}, "t")
    engine = make_engine(config)
    try:
        assert engine.url.drivername == "postgresql+psycopg"  # plain postgresql:// would need psycopg2
        assert engine.pool.size() == 7
        assert engine.pool._pre_ping is True
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_connections_identify_themselves(pg_shared_schema: str, tmp_path: Path) -> None:
    engine = make_test_engine(POSTGRES, tmp_path, schema=pg_shared_schema)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW application_name").scalar() == "leadpilot"
            assert conn.exec_driver_sql("SELECT current_schema()").scalar() == pg_shared_schema
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["postgresql+nosuchdriver://x@y/z", "postgresql+psycopg://x@y:notaport/z"])
def test_a_bad_database_url_is_bad_input(url: str) -> None:
    config = validate({"database": {"url": url}}, "t")
    with pytest.raises(BadInputError, match="database.url"):
        make_engine(config)


def test_masked_hides_only_the_password() -> None:
    assert masked("postgresql+psycopg://lp:pw@h:5432/db") == "postgresql+psycopg://lp:***@h:5432/db"
    assert masked("sqlite:////var/lib/leadpilot/leadpilot.db") == "sqlite:////var/lib/leadpilot/leadpilot.db"
    assert "pw" not in masked(sa.engine.make_url("postgresql://u:pw@h/d"))


def test_given_a_password_file_then_the_postgresql_url_gets_it_and_logs_never_show_it(tmp_path: Path) -> None:
    from config.loader import validate
    from daemon.store import database_url, masked

    (tmp_path / "db_password").write_text("s3cr3t\n")
    config = validate({"database": {"url": "postgresql+psycopg://lp@db.internal:5432/lp",
                                    "password_file": str(tmp_path / "db_password")}}, "test", env={})
    url = database_url(config)
    assert url == "postgresql+psycopg://lp:s3cr3t@db.internal:5432/lp"
    assert "s3cr3t" not in masked(url)


def test_given_capacity_locked_then_another_transaction_waits_for_it_until_commit(engine: Engine) -> None:
    """On PostgreSQL the advisory lock orders reservations across daemons; SQLite's BEGIN IMMEDIATE does."""
    import threading
    import time as clock

    from daemon.store import JobRun, lock_capacity, utcnow

    waited: list[float] = []

    def second() -> None:
        started = clock.perf_counter()
        with session_scope(engine) as other:
            lock_capacity(other)
            other.execute(sa.text("SELECT 1"))
            if engine.dialect.name == "sqlite":
                other.add(JobRun(job="probe", started_at=utcnow(), status="ok"))  # a write: needs the lock
        waited.append(clock.perf_counter() - started)

    with session_scope(engine) as first:
        lock_capacity(first)
        first.add(JobRun(job="holder", started_at=utcnow(), status="ok"))
        first.flush()  # SQLite takes its write lock here, PostgreSQL took the advisory one above
        t = threading.Thread(target=second)
        t.start()
        clock.sleep(0.6)
        assert not waited, "the second transaction got the capacity while the first held it"
    t.join(timeout=30)
    assert waited and waited[0] >= 0.5
