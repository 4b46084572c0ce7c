"""The background WAL checkpoint: copies a SQLite store's log into its file off the request path."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from daemon.store import AuditEvent, ensure_schema, session_scope
from daemon.store.checkpoint import WalCheckpointer, checkpoint
from store_backends import SQLITE, make_test_engine, require_postgres


def _write(engine: Engine, n: int) -> None:
    with session_scope(engine) as session:
        for i in range(n):
            session.add(AuditEvent(kind=f"event-{i}", payload={"text": "x" * 500}))


def _file_size(engine: Engine) -> int:
    return Path(str(engine.url.database)).stat().st_size


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Engine:
    engine = make_test_engine(SQLITE, tmp_path)
    ensure_schema(engine)
    checkpoint(engine)  # start from a database file that holds everything so far
    yield engine
    engine.dispose()


def test_given_writes_in_the_log_when_checkpointed_then_the_database_file_holds_them(sqlite_store: Engine) -> None:
    before = _file_size(sqlite_store)
    _write(sqlite_store, 100)  # some 20 pages: far below SQLite's own 1,000-page checkpoint
    assert _file_size(sqlite_store) == before  # still only in the log
    assert checkpoint(sqlite_store) is True
    assert _file_size(sqlite_store) > before


def test_given_a_store_that_is_not_a_sqlite_file_then_nothing_is_done(tmp_path: Path) -> None:
    memory = make_test_engine(SQLITE, tmp_path, database={"url": "sqlite:///:memory:"})
    try:
        assert checkpoint(memory) is False
    finally:
        memory.dispose()


@pytest.mark.postgres
def test_given_postgresql_then_nothing_is_done() -> None:
    engine = sa.create_engine(require_postgres())
    try:
        assert checkpoint(engine) is False
    finally:
        engine.dispose()


def test_given_the_thread_running_then_writes_reach_the_database_file_and_stop_ends_it(sqlite_store: Engine) -> None:
    before = _file_size(sqlite_store)
    keeper = WalCheckpointer(lambda: sqlite_store, interval_s=0.02)
    keeper.start()
    try:
        _write(sqlite_store, 100)
        deadline = time.monotonic() + 5
        while _file_size(sqlite_store) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _file_size(sqlite_store) > before
        assert keeper.runs >= 1
    finally:
        keeper.stop()
    assert keeper._thread is None


def test_given_no_context_yet_or_a_failing_one_then_the_thread_waits_and_lives_on() -> None:
    calls = []

    def getter() -> Engine | None:
        calls.append(1)
        if len(calls) % 2:
            return None  # the daemon still starting
        raise RuntimeError("context not ready")

    keeper = WalCheckpointer(getter, interval_s=0.01)
    keeper.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) >= 6 and keeper.runs == 0
        assert keeper._thread is not None and keeper._thread.is_alive()
    finally:
        keeper.stop()


def test_given_no_pooled_connection_free_for_a_while_then_the_thread_lives_on_and_checkpoints_later(
        tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=0.02)
    keeper = WalCheckpointer(lambda: engine, interval_s=0.01)
    try:
        held = engine.connect()  # the pool's only connection: every checkpoint meanwhile times out
        keeper.start()
        time.sleep(0.3)
        assert keeper.runs == 0
        held.close()
        deadline = time.monotonic() + 5
        while keeper.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keeper.runs > 0 and keeper._thread is not None and keeper._thread.is_alive()
    finally:
        keeper.stop()
        engine.dispose()
