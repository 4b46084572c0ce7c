"""Open the store: SQLite (WAL, busy timeout, foreign keys) by default, PostgreSQL by `database.url`."""
from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlmodel import Session
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from config.errors import BadInputError
from config.schema import LeadpilotConfig
from config.sections.database import DatabaseConfig

from daemon.store.errors import StoreError

log = logging.getLogger("leadpilot.store")

# Connection execution option: start SQLite transactions DEFERRED (readers never wait for a writer).
READONLY_OPTION = "leadpilot_readonly"


def database_url(config: LeadpilotConfig) -> str:
    """The SQLAlchemy URL the configuration points at (SQLite under state_dir unless database.url is set)."""
    if config.database.url:
        password = config.database.password.get_secret_value() if config.database.password else ""
        if password and config.database.url.startswith("postgresql"):
            url = make_url(config.database.url)
            if url.password is None:  # a password written in the URL wins
                return url.set(password=password).render_as_string(hide_password=False)
        return config.database.url
    return f"sqlite:///{config.state_path(config.database.path)}"


def masked(url: str | URL) -> str:
    """A URL safe to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparseable database URL)"


def make_engine(config: LeadpilotConfig) -> Engine:
    """An Engine for the configured store; opens no connection yet (see `check_connection`)."""
    raw = database_url(config)
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise BadInputError(f"database.url: cannot parse {masked(raw)!r}; "
                            "expected e.g. postgresql+psycopg://user@host:5432/dbname") from None
    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, config.database)
        if backend == "postgresql":
            return _postgres_engine(url, config.database)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise BadInputError(f"database.url: driver of {masked(url)} is not available ({exc}); "
                            "use postgresql+psycopg:// or sqlite:///") from None
    raise BadInputError(f"database.url: unsupported database {backend!r}; use sqlite:/// or postgresql+psycopg://")


def _sqlite_file(url: URL) -> str | None:
    name = url.database
    return None if not name or name == ":memory:" or name.startswith("file:") else name


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _use_wal(cursor: sqlite3.Cursor, busy_timeout_ms: int) -> str:
    """Switch a database file to WAL (persistent, so normally only its first connection does).

    Two first connections racing on a new file get "database is locked" at once, without the
    busy handler, so the switch is retried for up to the busy timeout.
    """
    for attempt in Retrying(stop=stop_after_delay(max(busy_timeout_ms, 100) / 1000), wait=wait_fixed(0.02),
                            retry=retry_if_exception(_is_locked), reraise=True):
        with attempt:
            mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode != "wal":
                mode = str(cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
    return mode


def _sqlite_engine(url: URL, db: DatabaseConfig) -> Engine:
    path = _sqlite_file(url)
    if path:
        folder = Path(path).resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder {folder} for the SQLite store: {exc.strerror or exc}. "
                "Set state_dir (or database.path) to a folder the service user can write."
            ) from None
    engine = sa.create_engine(url, echo=db.echo, connect_args={"timeout": db.busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, so DDL (migrations) is transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(db.busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if path:
                mode = _use_wal(cursor, db.busy_timeout_ms)
                if mode != "wal":
                    log.warning("SQLite store %s could not use WAL (journal_mode=%s); "
                                "readers will block writers", path, mode)
                # NORMAL is durable across application crashes in WAL mode, and much faster than FULL.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so writers queue on busy_timeout instead of
        # failing with "database is locked" when a read transaction later tries to write.
        deferred = conn.get_execution_options().get(READONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: URL, db: DatabaseConfig) -> Engine:
    if url.drivername == "postgresql":  # plain postgresql:// means psycopg2, which we do not ship
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {"connect_timeout": db.connect_timeout_s}
    if "application_name" not in url.query:
        connect_args["application_name"] = "leadpilot"
    return sa.create_engine(url, echo=db.echo, pool_size=db.pool_size, pool_pre_ping=True,
                            connect_args=connect_args)


def explain(engine: Engine, exc: DBAPIError) -> str:
    """An admin-facing sentence for a database error: which database, what went wrong, what to do."""
    where = masked(engine.url)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    if engine.dialect.name == "sqlite":
        path = _sqlite_file(engine.url)
        if "locked" in first or "busy" in first:
            return (f"the SQLite store {path} stayed locked by another process longer than the busy timeout "
                    f"({first}). Check no other leadpilot runs on it, or raise database.busy_timeout_ms.")
        folder = os.path.dirname(os.path.abspath(path)) if path else "its folder"
        return (f"cannot open the SQLite store {where} ({first}). Check that {folder} exists, is writable "
                "by the service user and is not full, or set database.path.")
    return (f"cannot reach the database {where} ({first}). Check database.url (host, port, database name, "
            "user and password), that the server is running and accepts connections from this host.")


def check_connection(engine: Engine) -> None:
    """Connect once; raise StoreError naming the database and what to do if that fails."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except DBAPIError as exc:
        raise StoreError(explain(engine, exc)) from exc


@contextmanager
def session_scope(engine: Engine, *, readonly: bool = False) -> Iterator[Session]:
    """A Session that commits when the block ends normally and rolls back on any exception.

    Objects stay usable after the block (no expiry on commit). `readonly=True` starts SQLite
    transactions DEFERRED so the reader never waits for a writer; do not write inside it.
    Operational failures (unreachable, locked) become StoreError; other errors
    (IntegrityError for a duplicate, ...) pass through unchanged for the caller to handle.
    """
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise StoreError(explain(engine, exc)) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(engine: Engine) -> Iterator[Connection]:
    """A plain connection for reads (SQLite: DEFERRED, never waiting for a writer), rolled back at the end.

    Lighter than `session_scope(readonly=True)` (no ORM session): for the hot read paths of the API.
    Operational failures become StoreError, as there.
    """
    try:
        with engine.connect() as conn:
            # set before the first statement begins the transaction, so the "begin" hook sees it
            yield conn.execution_options(**{READONLY_OPTION: True})
    except OperationalError as exc:
        raise StoreError(explain(engine, exc)) from exc


# Any fixed 64-bit number: the advisory lock that orders reservations of officer capacity.
CAPACITY_LOCK_KEY = 0x1EAD_C0DE_CA9A


def lock_capacity(session: Session) -> None:
    """Hold officer capacity for the rest of this transaction: who reads loads and reserves runs alone.

    Two daemons (or a poll and an API call) on one PostgreSQL would otherwise both see an officer's last
    free slot and both take it. On SQLite every writing transaction already starts with BEGIN IMMEDIATE,
    which is the same guarantee, so there is nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CAPACITY_LOCK_KEY})
