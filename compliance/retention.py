"""Anonymise leads older than the retention period: PII removed, ids hashed, analytics kept in ranges.

What happens to each column (the store job writes the returned rows back and purges raw payloads):

| columns | after anonymisation |
|---|---|
| first_name, last_name, email, phone, consent_ip, consent_text, consent_certificate, date_of_birth | null |
| raw payload columns (`payload_columns`) | null (purged) |
| lead_id, crm_id | "anon_" + HMAC-SHA256(salt, id)[:32]: joins still work, the CRM id cannot be recovered |
| zip_code | first 3 digits ("zip3"), or null (`zip_code: drop`) |
| annual_income, monthly_debt, loan_amount, property_value, down_payment | midpoint of a range (BUCKETS) |
| credit_score | midpoint of its FICO band (440, 625, 705, 770, 825) |
| age | midpoint of a 10-year band |
| created_at, updated_at, converted_at, consent_timestamp | first day of the month, UTC |
| other canonical fields (state, loan type, behaviour counts, consent flag and method, outcome, lead cost, conversion value) and protected attributes other than date_of_birth | kept |
| any other column, unless named in `keep` | null (an unknown CRM field may hold PII) |

Every row gets `anonymised = True`. Anonymising an anonymised row changes nothing: rows marked
anonymised are returned as they are, and each transformation maps its own output to itself.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Iterable, Literal

import numpy as np
import pandas as pd

from compliance.values import TimestampError, flag, text, timestamp, require_aware
from config.canonical import CANONICAL_FIELDS, PROTECTED_ATTRIBUTES
from config.errors import BadInputError
from config.sections.compliance import RetentionConfig

ANON_PREFIX: Final[str] = "anon_"
MARKER: Final[str] = "anonymised"
REMOVED: Final[frozenset[str]] = frozenset({
    "first_name", "last_name", "email", "phone", "consent_ip", "consent_text", "consent_certificate", "date_of_birth",
})
HASHED: Final[tuple[str, ...]] = ("lead_id", "crm_id")
MONTH_TRUNCATED: Final[tuple[str, ...]] = ("created_at", "updated_at", "converted_at", "consent_timestamp")
_INF = float("inf")
# range edges; a value becomes the midpoint of its range (the lower edge for the open top range)
BUCKETS: Final[dict[str, tuple[float, ...]]] = {
    "annual_income": (0, 25e3, 50e3, 75e3, 100e3, 150e3, 200e3, 300e3, 500e3, _INF),
    "monthly_debt": (0, 250, 500, 1000, 1500, 2000, 3000, 5000, _INF),
    "loan_amount": (0, 50e3, 100e3, 150e3, 200e3, 300e3, 400e3, 500e3, 750e3, 1e6, 1.5e6, 2e6, _INF),
    "property_value": (0, 50e3, 100e3, 150e3, 200e3, 300e3, 400e3, 500e3, 750e3, 1e6, 1.5e6, 2e6, _INF),
    "down_payment": (0, 10e3, 25e3, 50e3, 100e3, 200e3, 500e3, _INF),
    "credit_score": (300, 580, 670, 740, 800, 851),
    "age": (18, 25, 35, 45, 55, 65, _INF),
}
_INTEGER_BUCKETS: Final[frozenset[str]] = frozenset({"credit_score", "age"})
PAYLOAD_COLUMNS: Final[tuple[str, ...]] = ("raw_payload", "payload", "raw")
KEPT: Final[frozenset[str]] = (frozenset(CANONICAL_FIELDS) | PROTECTED_ATTRIBUTES | {MARKER}) - REMOVED


class RetentionError(BadInputError):
    """The retention job cannot run as configured (no salt, say)."""


@dataclass(frozen=True)
class AnonymisationResult:
    """The anonymised rows (same index as in the input), and what was done."""

    rows: pd.DataFrame
    anonymised: int
    already_anonymised: int
    undated: int
    cleared_columns: tuple[str, ...]  # columns outside the canonical lead and `keep`, nulled as possible PII


def hash_id(value: object, salt: bytes) -> str | None:
    """An id as "anon_" + 32 hex chars of HMAC-SHA256; an already hashed id is returned unchanged."""
    raw = text(value)
    if raw is None:
        return None
    if raw.startswith(ANON_PREFIX):
        return raw
    return ANON_PREFIX + hmac.new(salt, raw.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def bucket(values: pd.Series, edges: tuple[float, ...], *, integer: bool = False) -> pd.Series:
    """Each value -> the midpoint of its range in `edges`; outside the ranges or unreadable -> null."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    lower = np.asarray(edges[:-1], dtype=float)
    upper = np.asarray(edges[1:], dtype=float)
    index = np.searchsorted(np.asarray(edges, dtype=float), numbers, side="right") - 1
    inside = np.isfinite(numbers) & (index >= 0) & (index < len(lower))
    safe = np.clip(index, 0, len(lower) - 1)
    mids = np.where(np.isinf(upper[safe]), lower[safe], (lower[safe] + upper[safe]) / 2)
    if integer:
        mids = np.floor(mids)
    out = pd.Series(np.where(inside, mids, np.nan), index=values.index)
    return out.astype("Int64") if integer else out


def zip3(value: object) -> str | None:
    """The first three digits of a US zip code, or None when it is not one."""
    raw = text(value)
    if raw is None:
        return None
    digits = raw.split("-")[0].strip()
    if digits.isdigit() and len(digits) in (3, 5, 9):
        return digits[:3]
    if digits.isdigit() and len(digits) == 4:  # a spreadsheet dropped the leading zero
        return ("0" + digits)[:3]
    return None


def _month(value: object) -> pd.Timestamp | None:
    try:
        moment = timestamp(value)
    except TimestampError:
        return None
    if moment is None:
        return None
    return pd.Timestamp(datetime(moment.year, moment.month, 1, tzinfo=moment.tzinfo))


def expired_mask(leads: pd.DataFrame, *, now: datetime, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(expired, undated): created_at (else updated_at) older than `days` before `now`; undated rows never expire."""
    cutoff = require_aware(now) - timedelta(days=days)
    expired = np.zeros(len(leads), dtype=bool)
    undated = np.zeros(len(leads), dtype=bool)
    created = leads["created_at"] if "created_at" in leads.columns else pd.Series([None] * len(leads))
    updated = leads["updated_at"] if "updated_at" in leads.columns else pd.Series([None] * len(leads))
    for i, (c, u) in enumerate(zip(created.tolist(), updated.tolist())):
        moment = None
        for value in (c, u):
            try:
                moment = timestamp(value)
            except TimestampError:
                moment = None
            if moment is not None:
                break
        if moment is None:
            undated[i] = True
        else:
            expired[i] = moment < cutoff
    return expired, undated


def anonymise(rows: pd.DataFrame, *, salt: bytes, zip_code: Literal["zip3", "drop"] = "zip3",
              keep: Iterable[str] = (), payload_columns: Iterable[str] = PAYLOAD_COLUMNS) -> pd.DataFrame:
    """Anonymise every given row (see the module table); rows already marked anonymised are left as they are."""
    if not salt:
        raise RetentionError("compliance.retention.id_salt is not set: the retention job needs a secret salt")
    out = rows.copy()
    done = out[MARKER].map(lambda v: bool(flag(v))).to_numpy(dtype=bool) if MARKER in out.columns \
        else np.zeros(len(out), dtype=bool)
    todo = np.flatnonzero(~done)  # positions, so a repeated index value cannot mix rows up
    if not todo.size:
        return out
    keep_set = set(keep)
    payload = set(payload_columns)
    part = out.iloc[todo].astype(object)
    for column in part.columns:
        series = part[column]
        if column in keep_set:
            continue
        if column in REMOVED or column in payload or column not in KEPT:
            part[column] = None
        elif column in HASHED:
            part[column] = series.map(lambda v: hash_id(v, salt))
        elif column == "zip_code":
            part[column] = series.map(zip3) if zip_code == "zip3" else None
        elif column in BUCKETS:
            part[column] = bucket(series, BUCKETS[column], integer=column in _INTEGER_BUCKETS).astype(object)
        elif column in MONTH_TRUNCATED:
            part[column] = series.map(_month)
    part[MARKER] = True
    if MARKER not in out.columns:
        out[MARKER] = False
    out = out.astype(object)
    out.iloc[todo, :] = part[out.columns].to_numpy(dtype=object)
    return out


def anonymise_expired(leads: pd.DataFrame, *, now: datetime, config: RetentionConfig, salt: bytes | None = None,
                      keep: Iterable[str] = (), payload_columns: Iterable[str] = PAYLOAD_COLUMNS) -> AnonymisationResult:
    """The rows of `leads` past `config.days` at `now`, anonymised. `salt` defaults to config.id_salt."""
    if salt is None:
        secret = config.id_salt.get_secret_value() if config.id_salt is not None else ""
        salt = secret.encode("utf-8")
    if not salt:
        raise RetentionError("compliance.retention.id_salt is not set: the retention job needs a secret salt")
    expired, undated = expired_mask(leads, now=now, days=config.days)
    rows = leads.loc[expired]
    already = rows[MARKER].map(lambda v: bool(flag(v))).to_numpy(dtype=bool) if MARKER in rows.columns \
        else np.zeros(len(rows), dtype=bool)
    keep_set = set(keep)
    payload = set(payload_columns)
    known = KEPT | REMOVED | keep_set | payload
    cleared = tuple(sorted(str(c) for c in leads.columns if c not in known))
    result = anonymise(rows, salt=salt, zip_code=config.zip_code, keep=keep, payload_columns=payload_columns)
    return AnonymisationResult(result, int((~already).sum()), int(already.sum()), int(undated.sum()), cleared)
