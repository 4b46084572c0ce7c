"""Alembic environment: runs on the connection `daemon.store.migrate` hands over in `config.attributes`."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext

from daemon.store.models import metadata
from daemon.store.types import UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our column types as plain SQLAlchemy types, so revisions do not import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        return "sa.String()"
    return False


def run_migrations() -> None:
    config = context.config
    connection: sa.Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through daemon.store.migrate (leadpilot db upgrade), not the alembic CLI")
    applied: list[str] = config.attributes.setdefault("applied", [])

    def record(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        if step.is_upgrade:
            applied.append(step.up_revision_id)

    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        render_item=render_item,
        compare_type=True,
        on_version_apply=record,
    )
    # daemon.store.migrate opened the transaction (and took the migration lock); this joins it
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
