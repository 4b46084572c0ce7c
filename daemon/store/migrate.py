"""Schema migrations of the store with alembic, configured in code: users need no alembic.ini."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from daemon.store.engine import READONLY_OPTION, check_connection, explain, masked
from daemon.store.errors import StoreError
from daemon.store.models import metadata

# Any constant will do: every leadpilot instance upgrading one PostgreSQL database waits on it.
PG_MIGRATION_LOCK = 7_415_032_118


def migrations_dir() -> Path:
    """The shipped migrations folder (daemon/migrations)."""
    return Path(str(resources.files("daemon") / "migrations"))


def alembic_config(script_location: str | Path | None = None) -> Config:
    """An alembic Config for the shipped migrations; `script_location` overrides the folder (tests, tools)."""
    cfg = Config()
    # ConfigParser treats % specially; a path may contain one
    cfg.set_main_option("script_location", str(script_location or migrations_dir()).replace("%", "%%"))
    return cfg


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations this leadpilot ships."""

    database: str                 # URL, password masked
    current: str | None           # None: no leadpilot schema yet
    head: str
    pending: list[str] = field(default_factory=list)  # revisions `upgrade` would apply, oldest first

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def head_revision(script_location: str | Path | None = None) -> str:
    """The newest revision this leadpilot ships."""
    head = ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()
    if head is None:
        raise StoreError("no schema migrations found; the leadpilot installation is incomplete (reinstall it)")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database without leadpilot's schema."""
    check_connection(engine)
    try:
        with engine.execution_options(**{READONLY_OPTION: True}).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise StoreError(explain(engine, exc)) from exc


def schema_status(engine: Engine, *, script_location: str | Path | None = None) -> SchemaStatus:
    """Current and head revision and what an upgrade would apply; StoreError for an unknown revision."""
    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config(script_location))
    head = head_revision(script_location)
    if current is not None and _unknown(script, current):
        raise StoreError(
            f"the database {masked(engine.url)} is at schema revision {current!r}, which this leadpilot "
            "does not know: a newer leadpilot upgraded it. Run that newer version, or restore the "
            "backup taken before the upgrade."
        )
    pending = [rev.revision for rev in script.iterate_revisions(head, current or "base")]
    pending.reverse()
    return SchemaStatus(database=masked(engine.url), current=current, head=head, pending=pending)


def _unknown(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is None
    except CommandError:
        return True


def _unversioned_tables(conn: sa.Connection) -> list[str]:
    """leadpilot tables in a database that has no migration record (created some other way)."""
    return sorted(set(sa.inspect(conn).get_table_names()) & set(metadata.tables))


@contextmanager
def _foreign_keys_off(conn: sa.Connection) -> Iterator[None]:
    """SQLite: foreign keys off while migrating (batch mode's table copy would cascade deletes).

    The pragma only works outside a transaction, so it goes to the driver connection directly.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def _run_upgrade(conn: sa.Connection, cfg: Config, revision: str, database: str) -> list[str]:
    if conn.dialect.name == "postgresql":
        # held until commit: an instance starting at the same time waits here, then finds nothing to do
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
    # checked under the lock (SQLite: BEGIN IMMEDIATE), so a concurrent upgrade is seen finished
    if MigrationContext.configure(conn).get_current_revision() is None:
        stray = _unversioned_tables(conn)
        if stray:
            raise StoreError(
                f"the database {database} already has leadpilot tables ({', '.join(stray[:4])}) but no "
                "migration record, so leadpilot cannot tell their version. Point database.url/path at an "
                "empty database, or restore it from a leadpilot backup."
            )
    applied: list[str] = []
    cfg.attributes["connection"] = conn
    cfg.attributes["applied"] = applied
    command.upgrade(cfg, revision)
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(f"schema upgrade of {database} would break {len(broken)} foreign key(s) "
                             f"(first: {tuple(broken[0])}); nothing was changed. Report this as a leadpilot bug.")
    return applied


def upgrade(engine: Engine, revision: str = "head", *, script_location: str | Path | None = None) -> list[str]:
    """Apply the migrations the database lacks, in one transaction; returns the revisions applied.

    Existing rows are kept. Running it on an up-to-date database does nothing and returns [].
    Several instances may call it at once: one migrates, the others wait and find nothing to do.
    """
    status = schema_status(engine, script_location=script_location)
    cfg = alembic_config(script_location)
    try:
        with engine.connect() as conn, _foreign_keys_off(conn), conn.begin():
            return _run_upgrade(conn, cfg, revision, status.database)
    except OperationalError as exc:
        raise StoreError(f"schema upgrade failed, nothing was changed: {explain(engine, exc)}") from exc
    except DBAPIError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise StoreError(
            f"schema upgrade of {status.database} failed and was rolled back ({first}). The database may "
            "have been changed by hand; compare it with a fresh one, or report this as a leadpilot bug."
        ) from exc
    except CommandError as exc:
        raise StoreError(f"schema upgrade of {status.database} to {revision!r} failed: {exc}") from exc


def ensure_schema(engine: Engine) -> list[str]:
    """Bring the database to the newest schema at daemon start; returns the revisions applied."""
    return upgrade(engine, "head")
