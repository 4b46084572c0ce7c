"""Keep a SQLite store's write-ahead log short from a background thread, so no request pays for it.

SQLite copies the log into the database file (a checkpoint) inside the COMMIT that takes the log past
1,000 pages. An API decision writes about 19 pages, so every ~50th call stalled its commit for the copy
and its fsyncs (10-25 ms measured), and every call queued behind it waited too. This thread checkpoints
every `interval_s` instead; the copy runs in SQLite's C code without the GIL and without blocking
readers or writers (PASSIVE). SQLite's own checkpoint stays on as the fallback. PostgreSQL: nothing to do.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("leadpilot.store")

DEFAULT_INTERVAL_S = 0.25


def checkpoint(engine: Engine) -> bool:
    """One PASSIVE checkpoint of a SQLite file store; False when `engine` is not one (nothing done)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return False
    raw = engine.raw_connection()
    try:
        # the pool hands connections back with no transaction open (autocommit mode, see engine.py),
        # which a checkpoint needs
        raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # type: ignore[union-attr]
    finally:
        raw.close()
    return True


class WalCheckpointer:
    """A daemon thread that checkpoints the store of `engine_getter()` every `interval_s` until `stop()`."""

    def __init__(self, engine_getter: Callable[[], Engine | None], interval_s: float = DEFAULT_INTERVAL_S):
        self._engine_getter = engine_getter
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # checkpoints done (for tests and curiosity)

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the checkpoint in hand."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        warned = False
        while not self._stopped.wait(self._interval_s):
            try:
                engine = self._engine_getter()
            except Exception as exc:  # noqa: BLE001 - the daemon's context; the API's calls report its failures
                log.debug("no store to checkpoint yet (%s)", exc)
                continue
            if engine is None:
                continue
            try:
                if not checkpoint(engine):
                    return  # not a SQLite file: nothing to keep short
                self.runs += 1
                warned = False
            except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
                # busy, no pooled connection free, or unreachable for a moment: try again next turn;
                # SQLite's own checkpoint still runs at commit meanwhile
                if not warned:
                    log.warning("background WAL checkpoint failed (%s); SQLite checkpoints at commit meanwhile", exc)
                    warned = True
