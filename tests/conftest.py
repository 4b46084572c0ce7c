"""Shared fixtures: one store per test, on SQLite and on PostgreSQL (see store_backends.py)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from daemon.store import ensure_schema, metadata
from store_backends import BACKENDS, POSTGRES, SchemaFactory, drop_schemas, make_test_engine, pg_url, \
    pg_unavailable, require_postgres, truncate_all


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[SchemaFactory]:
    """Creates this run's PostgreSQL schemas on demand and drops them all when the run ends."""
    factory = SchemaFactory(pg_url())
    yield factory
    if factory.count and pg_unavailable() is None:
        drop_schemas(factory.url)


@pytest.fixture(scope="session")
def pg_shared_schema(pg_schemas: SchemaFactory, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One schema at the newest revision, shared by the tests of this run (emptied after each)."""
    require_postgres()
    name = pg_schemas.new()
    engine = make_test_engine(POSTGRES, tmp_path_factory.mktemp("pg"), schema=name)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    return name


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn; PostgreSQL skips (or fails under CI) when its server is unreachable."""
    if request.param == POSTGRES:
        require_postgres()
    return str(request.param)


@pytest.fixture
def engine(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A store at the newest schema, empty, on `backend`."""
    if backend == POSTGRES:
        schema = request.getfixturevalue("pg_shared_schema")
        eng = make_test_engine(backend, tmp_path, schema=schema)
        try:
            yield eng
        finally:
            truncate_all(eng, [t.name for t in metadata.sorted_tables])
            eng.dispose()
        return
    eng = make_test_engine(backend, tmp_path)
    ensure_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def blank_schema(backend: str, request: pytest.FixtureRequest) -> str | None:
    """A fresh empty PostgreSQL schema for this test (None on SQLite, where tmp_path is fresh)."""
    if backend != POSTGRES:
        return None
    return request.getfixturevalue("pg_schemas").new()


@pytest.fixture
def blank_engine(backend: str, tmp_path: Path, blank_schema: str | None) -> Iterator[Engine]:
    """A store with no schema yet, for migration tests."""
    eng = make_test_engine(backend, tmp_path, schema=blank_schema)
    try:
        yield eng
    finally:
        eng.dispose()
