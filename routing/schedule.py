"""Officer working hours in their own time zone, and how available an officer is at a given instant."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.errors import BadInputError

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: dict[str, tuple[int, ...]] = {
    **{d: (i,) for i, d in enumerate(DAY_NAMES)},
    **{full: (i,) for i, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
}
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# A shift starting further ahead than this counts as no availability at all.
_HORIZON_HOURS = 24.0
# Off shift, availability starts below this so that anyone on shift always ranks higher.
_OFF_SHIFT_CEILING = 0.75


@dataclass(frozen=True)
class Schedule:
    """Working hours per weekday (0 = Monday) as minute spans [start, end) in `timezone`."""

    timezone: str
    hours: tuple[tuple[tuple[int, int], ...], ...]  # 7 entries, each a tuple of (start_min, end_min)

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Availability:
    """How reachable an officer is now: a value in [0, 1] and a short note for the reason line."""

    value: float
    on_shift: bool
    note: str


def check_timezone(name: str) -> str:
    """Return `name` if it is a known IANA time zone, else raise ValueError naming the problem."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as America/Chicago") from None
    return name


def parse_spans(value: object) -> tuple[tuple[int, int], ...]:
    """'09:00-17:00', a list of such, or null/'off' -> minute spans; raises ValueError on a malformed span."""
    # YAML reads a bare `off` / `no` as false
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in {"", "off", "closed", "none"}):
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    spans: list[tuple[int, int]] = []
    for item in items:
        match = _SPAN.match(str(item))
        if not match:
            raise ValueError(f"hours {item!r} must look like 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start > 24 * 60 or end > 24 * 60:
            raise ValueError(f"hours {item!r} is not a time of day")
        if end <= start:
            raise ValueError(f"hours {item!r} must end after it starts (split a night shift over two days)")
        spans.append((start, end))
    return tuple(sorted(spans))


def build_schedule(timezone: str, hours: dict[str, object]) -> Schedule:
    """Build a Schedule from day keys (mon..sun, monday.., weekdays, weekend); later specific days override groups."""
    check_timezone(timezone)
    days: list[tuple[tuple[int, int], ...]] = [()] * 7
    # group keys first so that e.g. `weekdays` then `fri: 09:00-13:00` lets Friday differ
    ordered = sorted(hours.items(), key=lambda kv: len(_DAY_ALIASES.get(str(kv[0]).lower(), ())), reverse=True)
    for key, value in ordered:
        idx = _DAY_ALIASES.get(str(key).strip().lower())
        if idx is None:
            raise ValueError(f"unknown day {key!r}; use mon..sun, weekdays or weekend")
        spans = parse_spans(value)
        for i in idx:
            days[i] = spans
    return Schedule(timezone=timezone, hours=tuple(days))


def availability(schedule: Schedule | None, now: datetime, *, unknown: float) -> Availability:
    """1.0 on shift; off shift it falls from 0.75 towards 0 as the next shift is up to 24 h away.

    An officer without a schedule gets `unknown` (config `unknown_schedule_availability`).
    """
    if now.tzinfo is None:
        raise BadInputError("routing needs a time-zone-aware `now` (e.g. datetime.now(UTC))")
    if schedule is None:
        return Availability(unknown, False, "no schedule on file")
    local = now.astimezone(schedule.zone())
    minute = local.hour * 60 + local.minute + local.second / 60
    today = local.weekday()
    for start, end in schedule.hours[today]:
        if start <= minute < end:
            return Availability(1.0, True, "on shift")
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for ahead in range(8):
        day = (today + ahead) % 7
        for start, _ in schedule.hours[day]:
            if ahead == 0 and start <= minute:
                continue
            # wall-clock arithmetic in the officer's zone; DST shifts are at most an hour, ignored here
            begins = midnight + timedelta(days=ahead, minutes=start)
            hours_away = (begins - local).total_seconds() / 3600
            value = max(0.0, _OFF_SHIFT_CEILING * (1 - hours_away / _HORIZON_HOURS))
            return Availability(round(value, 6), False, f"off shift, back {DAY_NAMES[day].capitalize()} "
                                                        f"{start // 60:02d}:{start % 60:02d}")
    return Availability(0.0, False, "no working hours in the schedule")
