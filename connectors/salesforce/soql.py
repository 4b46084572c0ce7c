"""SOQL for the connector's reads, with values quoted by simple-salesforce's `format_soql` and names checked.

Field and object names come from the YAML; they are checked against Salesforce's identifier syntax
so a typo (or worse) in the config can never change a query's meaning.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from simple_salesforce.format import format_soql

from config.errors import BadInputError
from connectors.base import Watermark

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}(\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$")


def name(value: str) -> str:
    """A field or object name, refused unless it is a plain (or dotted relationship) Salesforce identifier."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise BadInputError(f"{value!r} is not a Salesforce field or object name")
    return value


def datetime_literal(value: datetime) -> str:
    """A SOQL dateTime literal in UTC with milliseconds (SystemModstamp's precision)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def window(since: Watermark, overlap: timedelta, stamp_field: str = "SystemModstamp") -> str:
    """The WHERE condition of an incremental read.

    Mid-pass (`last_id` set): strictly after (stamp, Id), so a page boundary inside a run of equal
    stamps neither repeats nor skips. A new pass: from the watermark minus the overlap, so a record
    committed late with an older stamp is still seen (duplicates are dropped by (Id, stamp)).
    """
    field = name(stamp_field)
    if since.modified_at is None:
        return ""
    if since.last_id is not None:
        stamp = datetime_literal(since.modified_at)
        return format_soql(f"({field} > {{stamp:literal}} OR ({field} = {{stamp:literal}} AND Id > {{last_id}}))",
                           stamp=stamp, last_id=since.last_id)
    return f"{field} >= {datetime_literal(since.modified_at - overlap)}"


def select(fields: Iterable[str], sobject: str, conditions: Sequence[str] = (), order_by: str = "",
           limit: int | None = None) -> str:
    """SELECT ... FROM ... [WHERE a AND b] [ORDER BY ...] [LIMIT n], every name checked."""
    soql = f"SELECT {', '.join(name(f) for f in dict.fromkeys(fields))} FROM {name(sobject)}"
    conditions = [c for c in conditions if c]
    if conditions:
        soql += " WHERE " + (conditions[0] if len(conditions) == 1 else " AND ".join(f"({c})" for c in conditions))
    if order_by:
        soql += f" ORDER BY {order_by}"
    if limit is not None:
        soql += f" LIMIT {int(limit)}"
    return soql


def equals(field: str, value: object) -> str:
    """`field = value` with the value quoted and escaped for SOQL."""
    return format_soql(f"{name(field)} = {{}}", value)
