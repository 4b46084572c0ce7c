"""Alembic migrations of the store, run by `daemon.store.migrate` (no alembic.ini needed)."""
