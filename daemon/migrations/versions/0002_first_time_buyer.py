"""Leads: the canonical `first_time_buyer` flag (officers specialise in first-time buyers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

A nullable column: existing rows read as unknown until their CRM record is fetched again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add leads.first_time_buyer (SQLite and PostgreSQL add a nullable column in place, no table copy)."""
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("first_time_buyer", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Drop leads.first_time_buyer (SQLite copies the table: run with foreign keys off, as `upgrade` does)."""
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("first_time_buyer")
