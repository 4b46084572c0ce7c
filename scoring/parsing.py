"""Tolerant, vectorised parsing of messy CRM values ("$350,000", "n/a", "california") into numbers and codes.

Every function here returns missing (NaN/None) for what it cannot read, never raises on a value,
and counts what it could not read so that training can name a column that has the wrong type.
"""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from config.canonical import US_STATES

STATE_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "washington dc": "DC", "washington d c": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE",
    "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
    "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA", "west virginia": "WV",
    "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR", "guam": "GU", "virgin islands": "VI",
    "american samoa": "AS", "northern mariana islands": "MP",
    # common abbreviations in web forms
    "calif": "CA", "cal": "CA", "fla": "FL", "mass": "MA", "penn": "PA", "penna": "PA", "tex": "TX", "wash": "WA",
    "ill": "IL", "mich": "MI", "minn": "MN", "wis": "WI", "ariz": "AZ", "colo": "CO", "conn": "CT", "ore": "OR",
}

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0", "converted", "won"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", "not converted", "lost"})
_NUMBER_JUNK = re.compile(r"[$€£,\s_]|usd")
_SUFFIX = re.compile(r"^(-?\d+(?:\.\d+)?)([km])$")


@dataclass(frozen=True)
class Parsed:
    """Parsed values plus how many non-missing inputs could not be read (with a few examples)."""

    values: np.ndarray
    n_bad: int = 0
    examples: tuple[str, ...] = ()


# Up to this many values, a plain loop beats pd.factorize's fixed cost (tens of microseconds a call);
# the scoring API decides one lead at a time.
SMALL_BATCH = 32


_NA, _NAT = pd.NA, pd.NaT


def is_missing(value: object) -> bool:
    """What pd.factorize treats as missing: None, NaN, NaT, pd.NA."""
    return value is None or value is _NA or value is _NAT or (isinstance(value, float) and value != value)


def _map_unique(values: pd.Series | np.ndarray, fn: Callable[[object], object]) -> np.ndarray:
    """Apply a Python function once per distinct value: fast for one lead and for ten thousand."""
    arr = np.asarray(values, dtype=object)
    if len(arr) <= SMALL_BATCH:
        out = np.empty(len(arr), dtype=object)
        for i, value in enumerate(arr):
            out[i] = None if is_missing(value) else fn(value)
        return out
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        mapped[i] = fn(u)
    mapped[-1] = None  # code -1: missing
    return mapped[codes]


_WORD_JOIN = re.compile(r"(?<=[a-z])-(?=[a-z])|_")


def _text(value: object, missing_tokens: frozenset[str]) -> str | None:
    text = " ".join(str(value).split()).lower()
    return None if text in missing_tokens else text


def _category(value: object, missing_tokens: frozenset[str]) -> str | None:
    # "SINGLE_FAMILY", "Single Family" and "single-family" are one level; "1-3 months" keeps its range
    text = _text(value, missing_tokens)
    return None if text is None else " ".join(_WORD_JOIN.sub(" ", text).split())


def _examples(original: pd.Series | np.ndarray, bad: np.ndarray, limit: int = 3) -> tuple[str, ...]:
    seen: list[str] = []
    for value in np.asarray(original, dtype=object)[bad]:
        if str(value) not in seen:
            seen.append(str(value))
        if len(seen) >= limit:
            break
    return tuple(seen)


def _number(value: object, missing_tokens: frozenset[str]) -> float:
    """NaN for missing; BAD for text that is not a number."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else np.nan
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    text = _text(value, missing_tokens)
    if text is None:
        return np.nan
    try:
        number = float(text)
    except ValueError:
        text = _NUMBER_JUNK.sub("", text).rstrip("%")
        match = _SUFFIX.match(text)
        try:
            number = float(match.group(1)) * (1e3 if match.group(2) == "k" else 1e6) if match else float(text)
        except ValueError:
            return _BAD
    return number if math.isfinite(number) else np.nan


_BAD = float("inf")  # marker inside parse_numeric only; never returned


def parse_numeric(values: pd.Series, missing_tokens: frozenset[str]) -> Parsed:
    """Numbers from numbers or text such as '$350,000', '72k', '45%'; inf and junk become NaN."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        out = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, copy=True)
        out[~np.isfinite(out)] = np.nan
        return Parsed(out)
    if len(values) <= SMALL_BATCH:
        arr = np.asarray(values, dtype=object)
        out = np.array([np.nan if is_missing(v) else _number(v, missing_tokens) for v in arr], dtype=np.float64)
    else:
        out = _parse_many(values, missing_tokens)
    bad = np.isposinf(out)
    out[bad | np.isneginf(out)] = np.nan
    return Parsed(out, int(bad.sum()), _examples(values, bad) if bad.any() else ())


def _parse_many(values: pd.Series, missing_tokens: frozenset[str]) -> np.ndarray:
    # plain numbers in C first; only what that cannot read goes through the per-value rules
    out = np.array(pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
                   dtype=np.float64, copy=True)
    out[np.isinf(out)] = np.nan  # "inf" typed as text: missing, as _number reads it
    todo = np.isnan(out) & ~np.asarray(pd.isna(values), dtype=bool)
    if todo.any():
        fixed = _map_unique(np.asarray(values, dtype=object)[todo], lambda v: _number(v, missing_tokens))
        out[todo] = np.where(pd.isna(fixed), np.nan, fixed).astype(np.float64)
    return out


def normalize_category(values: pd.Series | np.ndarray, missing_tokens: frozenset[str]) -> np.ndarray:
    """Lower-cased, trimmed, single-spaced text ('_' and word hyphens as spaces); None for placeholders."""
    return _map_unique(values, lambda v: _category(v, missing_tokens))


def _flag(value: object, missing_tokens: frozenset[str]) -> str | None:
    text = _category(value, missing_tokens)
    if text is None:
        return None
    return "yes" if text in _TRUE else "no" if text in _FALSE else text


def normalize_flag(values: pd.Series | np.ndarray, missing_tokens: frozenset[str]) -> np.ndarray:
    """'yes'/'no' from true/false, Y/N, 1/0 and the like; other text kept as a category of its own."""
    return _map_unique(values, lambda v: _flag(v, missing_tokens))


def _state(value: object, missing_tokens: frozenset[str]) -> object:
    text = _text(value, missing_tokens)
    if text is None:
        return None
    text = text.replace(".", "").strip()
    upper = text.upper()
    return upper if upper in US_STATES else STATE_NAMES.get(text, _BAD)


def normalize_state(values: pd.Series, missing_tokens: frozenset[str]) -> Parsed:
    """Two-letter US state codes from codes or names ('ca', 'California', 'Calif.'); None otherwise."""
    out = _map_unique(values, lambda v: _state(v, missing_tokens))
    bad = np.array([v is _BAD for v in out], dtype=bool) if len(out) else np.zeros(0, dtype=bool)
    out[bad] = None
    return Parsed(out, int(bad.sum()), _examples(values, bad) if bad.any() else ())


_ZIP = re.compile(r"^(\d{3,5})(?:\.0+)?(?:-\d{4})?$")


def _zip3(value: object, missing_tokens: frozenset[str]) -> str | None:
    if isinstance(value, str) and len(value) == 5 and value.isdigit():
        return value[:3]  # the common case, without the general rules below
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    text = _text(value, missing_tokens)
    match = _ZIP.match(text) if text is not None else None
    # a ZIP read as a number lost its leading zeros: 2134 is 02134
    return match.group(1).zfill(5)[:3] if match else None


def zip3(values: pd.Series, missing_tokens: frozenset[str]) -> np.ndarray:
    """First three digits of a US ZIP code (as text, zero-padded); None when it is not a ZIP."""
    return _map_unique(values, lambda v: _zip3(v, missing_tokens))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RETRY = -float("inf")  # not ISO 8601: left to pandas' slower mixed-format parser


def _epoch_ns(value: object) -> float:
    """ns since 1970 (UTC; a time without zone counts as UTC), NaN if empty, _RETRY if not ISO 8601."""
    if isinstance(value, pd.Timestamp):
        stamp = value.tz_localize("UTC") if value.tzinfo is None else value
        try:
            return float(stamp.value)
        except OverflowError:  # a Timestamp in another unit, past 2262
            return _RETRY
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return float((moment - _EPOCH) // timedelta(microseconds=1) * 1000)
    if isinstance(value, np.datetime64):
        return float(pd.Timestamp(value).tz_localize("UTC").value)
    text = str(value).strip()
    if not text or text.lower() in {"nan", "nat", "none", "null", "n/a"}:
        return np.nan
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return _RETRY
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float((moment - _EPOCH) // timedelta(microseconds=1) * 1000)


def _float_or_nan(value: object) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        return np.nan


def parse_time(values: pd.Series, kind: str | None = None) -> tuple[np.ndarray, str, Parsed]:
    """Order key of each lead: ('datetime', ns since epoch as float) or ('numeric', the number).

    `kind=None` detects it: a column whose values are all numbers (a lead number) is numeric.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = pd.Series(values)
        stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        return np.where(stamps.isna(), np.nan, ns), "datetime", Parsed(ns)
    numeric_dtype = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    if kind is None:
        if numeric_dtype:
            kind = "numeric"
        else:
            as_num = _map_unique(values, _float_or_nan)
            text = _map_unique(values, lambda v: str(v).strip() or None)
            filled = pd.notna(text)
            kind = "numeric" if filled.any() and not pd.isna(as_num[filled]).any() else "datetime"
    if kind == "numeric":
        if numeric_dtype:
            out = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, copy=True)
        else:
            out = _map_unique(values, _float_or_nan)
        out = np.where(pd.isna(out), np.nan, out).astype(np.float64)
        text = _map_unique(values, lambda v: str(v).strip() or None)
        bad = pd.notna(text) & np.isnan(out)
        return out, kind, Parsed(out, int(bad.sum()), _examples(values, bad) if bad.any() else ())
    out = _map_unique(values, _epoch_ns)
    out = np.where(pd.isna(out), np.nan, out).astype(np.float64)
    retry = out == _RETRY
    if retry.any():
        # CRM exports mix formats ("03/14/2026 09:12"); the slow parser only sees what ISO 8601 missed.
        stamps = pd.to_datetime(pd.Series(np.asarray(values, dtype=object)[retry]).astype(str), utc=True,
                                errors="coerce", format="mixed")
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        out[retry] = np.where(stamps.isna().to_numpy(), _RETRY, ns)
    # outside 1677-2262 (what datetime64[ns] holds) a date is a typing error, not a lead's time
    bad = (out == _RETRY) | (np.abs(out) > _MAX_NS)
    out[bad] = np.nan
    return out, kind, Parsed(out, int(bad.sum()), _examples(values, bad) if bad.any() else ())


_MAX_NS = float(np.iinfo(np.int64).max) * 0.999


# What each raw-column kind reads one value with (the column parsers above map these over a column).
_READERS: dict[str, Callable[[object, frozenset[str]], object]] = {
    "numeric": _number, "state": _state, "zip": _zip3, "flag": _flag, "categorical": _category,
}


def read_few(kind: str, cells: list[object], missing_tokens: frozenset[str]) -> tuple[list[object], list[int]] | None:
    """A small batch of one raw column read value by value, as the column parsers read it (tested equal):
    (values, positions of values not understood). None where only the column parser can read it.

    `kind` is a raw-column kind (numeric, time, state, zip, flag, categorical); a time is read as a
    datetime. Numbers come back as floats (NaN for missing or not understood), the rest as str or None.
    """
    if kind == "time":
        return _read_few_times(cells)
    read = _READERS[kind]
    if kind == "numeric":
        out: list[object] = [np.nan if is_missing(v) else read(v, missing_tokens) for v in cells]
        bad = [i for i, v in enumerate(out) if v == _BAD]
        # parse_numeric's -inf check; _number never returns it, kept for equality's sake
        return [np.nan if v == _BAD or v == _RETRY else v for v in out], bad
    out = [None if is_missing(v) else read(v, missing_tokens) for v in cells]
    if kind != "state":
        return out, []
    bad = [i for i, v in enumerate(out) if v is _BAD]
    return [None if v is _BAD else v for v in out], bad


def _read_few_times(cells: list[object]) -> tuple[list[object], list[int]] | None:
    out = [np.nan if is_missing(v) else _epoch_ns(v) for v in cells]
    if any(v == _RETRY for v in out):
        return None  # not ISO 8601: pandas' mixed-format parser, in parse_time
    bad = [i for i, v in enumerate(out) if abs(v) > _MAX_NS]
    return [np.nan if abs(v) > _MAX_NS else v for v in out], bad


def examples(cells: list[object] | np.ndarray, bad: list[int], limit: int = 3) -> tuple[str, ...]:
    """The first few distinct values (as text) at the positions `bad`: what a warning quotes."""
    mask = np.zeros(len(cells), dtype=bool)
    mask[bad] = True
    return _examples(np.asarray(cells, dtype=object), mask, limit)


def parse_label(values: pd.Series, positive_value: object, missing_tokens: frozenset[str]) -> Parsed:
    """1.0 where the label equals `positive_value`, 0.0 otherwise, NaN where it is empty.

    With a boolean positive value the column must read as true/false (yes/no, 1/0); other values
    are counted as bad so that a wrong label column is named, not silently learned from.
    """
    if isinstance(positive_value, bool):
        def label(value: object) -> float | None:
            text = _text(value, missing_tokens)
            if text is None:
                return None
            truth = 1.0 if text in _TRUE else 0.0 if text in _FALSE else _BAD
            return truth if truth == _BAD or positive_value else 1.0 - truth
    else:
        wanted = _text(positive_value, frozenset())
        try:
            target = float(str(positive_value))
        except ValueError:
            target = None

        def label(value: object) -> float | None:
            text = _text(value, missing_tokens)
            if text is None:
                return None
            if target is not None:
                try:
                    return 1.0 if float(text) == target else 0.0
                except ValueError:
                    pass
            return 1.0 if text == wanted else 0.0

    out = _map_unique(values, label)
    out = np.where(pd.isna(out), np.nan, out).astype(np.float64)
    bad = np.isposinf(out)
    out[bad] = np.nan
    return Parsed(out, int(bad.sum()), _examples(values, bad) if bad.any() else ())


_URGENT = re.compile(r"\b(?:immediate\w*|asap|right away|urgent\w*|this week|today|now|ready)\b")
_NOT_SOON = re.compile(r"\b(?:just|brows\w*|research\w*|looking|not sure|unsure|explor\w*|no plans?|undecided|"
                       r"someday|don'?t know)\b")
_SPAN = re.compile(r"(\d+(?:\.\d+)?)(?:\s*(?:-|to)\s*(\d+(?:\.\d+)?))?")
_WEEK = re.compile(r"\bweeks?\b")
_DAY = re.compile(r"\bdays?\b")
_YEAR = re.compile(r"\b(?:years?|yrs?)\b")


def _months(text: object) -> float:
    if text is None:
        return np.nan
    text = str(text)
    span = _SPAN.search(text)
    if span:
        low = float(span.group(1))
        months = (low + float(span.group(2) or low)) / 2
        if _WEEK.search(text):
            months /= 4.345
        elif _DAY.search(text):
            months /= 30.0
        elif _YEAR.search(text):
            months *= 12
        return months
    if _URGENT.search(text):
        return 0.0
    if _NOT_SOON.search(text):
        return 24.0
    return np.nan


def timeline_months(values: np.ndarray) -> np.ndarray:
    """Months until the borrower means to act, from text such as 'ASAP', '3-6 months', '1 year'."""
    return _map_unique(values, _months).astype(np.float64)


def tokens(missing_tokens: Iterable[str]) -> frozenset[str]:
    """The configured placeholder list in the form the parsers compare against."""
    return frozenset(t.strip().lower() for t in missing_tokens)
