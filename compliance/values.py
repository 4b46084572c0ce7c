"""Tolerant readers for single CRM values: blanks, yes/no flags, timestamps. Never raise on junk."""
from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

BLANK_WORDS: Final[frozenset[str]] = frozenset({"", "n/a", "na", "null", "none", "nan", "nat", "-", "--", "unknown"})
_TRUE: Final[frozenset[str]] = frozenset({"true", "t", "yes", "y", "1", "on", "checked", "opted in", "opt-in"})
_FALSE: Final[frozenset[str]] = frozenset({"false", "f", "no", "n", "0", "off", "unchecked", "opted out", "opt-out"})
# epoch values above this are milliseconds (HubSpot); 1e11 seconds is the year 5138
_EPOCH_MS_FROM: Final[float] = 1e11


def is_blank(value: Any) -> bool:
    """None, NaN, NaT, pandas.NA, or an empty / placeholder string."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in BLANK_WORDS
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):
        return True  # pandas.NA refuses bool()


def text(value: Any) -> str | None:
    """A stripped string, or None when blank."""
    if is_blank(value):
        return None
    return str(value).strip()


def flag(value: Any) -> bool | None:
    """A CRM yes/no value as a bool; None when blank or unreadable."""
    if is_blank(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if value not in (0, 1) else bool(value)
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


class TimestampError(ValueError):
    """A value that is present but is not a readable timestamp."""


def timestamp(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime; None when blank; TimestampError when unreadable.

    Naive values are taken as UTC. Numbers are Unix epoch seconds, or milliseconds when larger
    than 1e11 (HubSpot sends milliseconds).
    """
    if type(value) is datetime and (value.tzinfo is None or value.tzinfo is UTC):
        # what the general path below gives (pd.Timestamp(value).to_pydatetime() is value again), at a
        # tenth of its cost: the daemon's leads carry their consent time as such a datetime
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise TimestampError("a yes/no value is not a timestamp")
    try:
        if isinstance(value, (int, float, np.integer, np.floating)):
            return _from_epoch(float(value))
        if isinstance(value, str):
            raw = value.strip()
            if raw.replace(".", "", 1).isdigit():
                return _from_epoch(float(raw))
            try:
                parsed: datetime = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                parsed = pd.Timestamp(raw).to_pydatetime()
        elif isinstance(value, (datetime, np.datetime64)):
            parsed = pd.Timestamp(value).to_pydatetime()
        else:
            raise TimestampError(f"a {type(value).__name__} is not a timestamp")
    except (ValueError, OverflowError, TypeError) as exc:
        raise TimestampError(f"unreadable timestamp {str(value)[:40]!r}") from exc
    if isinstance(parsed, type(pd.NaT)) or parsed != parsed:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds) or seconds < 0:
        raise TimestampError(f"{seconds} is not an epoch time")
    if seconds > _EPOCH_MS_FROM:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # past year 9999 (or what the platform's time_t holds)
        raise TimestampError(f"{seconds:.0f} is not an epoch time (too far in the future)") from None


def require_aware(now: datetime) -> datetime:
    """`now` as UTC; a naive `now` is a programming error (the caller's clock must carry its zone)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (pass datetime.now(UTC))")
    return now.astimezone(UTC)
