"""Column types shared by the store's tables and its migrations."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the store's only clock; pure packages take `now`)."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    Naive datetimes are refused (their zone is a guess); aware ones are converted to UTC.
    SQLite keeps naive UTC text (which sorts correctly), PostgreSQL `timestamptz`; both read
    back as aware UTC datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give it a time zone (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
# Python None is SQL NULL, not the JSON literal 'null'. Reassign a value to change it:
# in-place edits of a dict or list are not tracked.
JSONType = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

# Surrogate keys: 64-bit on PostgreSQL; SQLite needs exactly INTEGER for an auto-increment rowid.
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
