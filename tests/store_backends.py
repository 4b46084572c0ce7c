"""Test databases on every backend the store supports: SQLite files and PostgreSQL schemas.

PostgreSQL comes from $LEADPILOT_TEST_PG_URL (CI sets it; then an unreachable server FAILS the
tests), else from DEFAULT_PG_URL when that server answers (else its tests are skipped). Each
test run works in its own uniquely named schemas (`lp_test_<random>_<n>`), selected through the
URL's `options=-csearch_path=...`, so parallel runs never see each other's tables.

Nothing here is specific to tests/store: the fixtures in conftest.py can move to tests/conftest.py.
"""
from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from config.loader import validate
from config.schema import LeadpilotConfig
from daemon.store import make_engine

PG_ENV = "LEADPILOT_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
SQLITE, POSTGRES = "sqlite", "postgresql"
BACKENDS = (
    pytest.param(SQLITE, id="sqlite"),
    pytest.param(POSTGRES, id="postgresql", marks=pytest.mark.postgres),
)
RUN_TOKEN = secrets.token_hex(4)  # one per test process
SCHEMA_PREFIX = f"lp_test_{RUN_TOKEN}_"


def pg_url() -> str:
    """The PostgreSQL server tests use."""
    return os.environ.get(PG_ENV) or DEFAULT_PG_URL


@cache
def pg_unavailable() -> str | None:
    """Why the PostgreSQL server cannot be used, or None when it answers."""
    engine = sa.create_engine(pg_url(), connect_args={"connect_timeout": 3}, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        return f"{make_url(pg_url()).render_as_string(hide_password=True)}: {first}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> str:
    """The server URL; skips the test when no server answers, fails it when CI promised one."""
    reason = pg_unavailable()
    if reason is None:
        return pg_url()
    if os.environ.get(PG_ENV):
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable ({reason}); "
                    "CI must run the PostgreSQL tests, not skip them", pytrace=False)
    pytest.skip(f"PostgreSQL not reachable ({reason}); set {PG_ENV} to run these tests")


def url_in_schema(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema` (also works in a YAML config)."""
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def _admin(url: str) -> Engine:
    return sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")


def create_schema(url: str, schema: str) -> None:
    """Create an empty schema on the server."""
    engine = _admin(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    finally:
        engine.dispose()


def drop_schemas(url: str, prefix: str = SCHEMA_PREFIX) -> list[str]:
    """Drop every schema whose name starts with `prefix` (this run's by default); returns their names."""
    engine = _admin(url)
    try:
        with engine.connect() as conn:
            names = conn.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"), {"p": prefix}
            ).scalars().all()
            for name in names:
                conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        engine.dispose()
    return list(names)


class SchemaFactory:
    """Hands out fresh, uniquely named PostgreSQL schemas for one test run."""

    def __init__(self, url: str):
        self.url = url
        self.count = 0

    def new(self) -> str:
        self.count += 1
        name = f"{SCHEMA_PREFIX}{self.count}"
        create_schema(self.url, name)
        return name


def store_config(backend: str, tmp_path: Path, *, schema: str | None = None,
                database: dict[str, object] | None = None) -> LeadpilotConfig:
    """A validated config whose store is a SQLite file under tmp_path, or PostgreSQL in `schema`."""
    section: dict[str, object] = dict(database or {})
    if backend == POSTGRES:
        if schema is None:
            raise ValueError("a PostgreSQL test config needs a schema")
        section["url"] = url_in_schema(require_postgres(), schema)
    return validate({"state_dir": str(tmp_path / "state"), "database": section}, "test config")


def make_test_engine(backend: str, tmp_path: Path, *, schema: str | None = None,
                     database: dict[str, object] | None = None) -> Engine:
    """An engine for `backend` through the store's own make_engine (schema not yet created)."""
    return make_engine(store_config(backend, tmp_path, schema=schema, database=database))


def truncate_all(engine: Engine, tables: list[str]) -> None:
    """Empty the given tables (between tests sharing one PostgreSQL schema)."""
    with engine.begin() as conn:
        if engine.dialect.name == POSTGRES:
            conn.exec_driver_sql(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")
