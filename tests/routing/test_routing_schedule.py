"""Availability from an officer's hours in their own time zone, at an instant the caller gives."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.errors import BadInputError
from routing.schedule import availability, build_schedule, parse_spans

CHICAGO = build_schedule("America/Chicago", {"weekdays": "09:00-17:00"})


def test_given_an_instant_inside_local_hours_then_the_officer_is_on_shift() -> None:
    # 15:00 UTC on Monday is 09:00 in Chicago (CST, UTC-6)
    a = availability(CHICAGO, datetime(2026, 11, 2, 15, 0, tzinfo=UTC), unknown=0.5)
    assert a.on_shift and a.value == 1.0


def test_given_the_same_instant_then_time_zone_decides_not_utc() -> None:
    # 14:30 UTC = 08:30 Chicago (off) but 09:30 New York (on)
    now = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    new_york = build_schedule("America/New_York", {"weekdays": "09:00-17:00"})
    assert availability(new_york, now, unknown=0.5).on_shift
    chicago = availability(CHICAGO, now, unknown=0.5)
    assert not chicago.on_shift
    # half an hour before the shift: close to the off-shift ceiling, and the note says when
    assert 0.7 < chicago.value < 0.75 and "Mon 09:00" in chicago.note


def test_given_a_weekend_then_availability_falls_with_the_wait() -> None:
    saturday_noon = datetime(2026, 11, 7, 18, 0, tzinfo=UTC)
    friday_night = datetime(2026, 11, 7, 2, 0, tzinfo=UTC)  # Friday 20:00 in Chicago
    sunday_evening = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # Sunday 20:00 in Chicago, 13 h to go
    values = [availability(CHICAGO, t, unknown=0.5).value for t in (friday_night, saturday_noon, sunday_evening)]
    assert values[0] == 0.0 and values[1] == 0.0  # more than 24 h away
    assert 0.3 < values[2] < 0.4


def test_given_no_schedule_then_the_configured_default_and_a_reason() -> None:
    a = availability(None, datetime(2026, 11, 2, 15, tzinfo=UTC), unknown=0.4)
    assert (a.value, a.on_shift, a.note) == (0.4, False, "no schedule on file")


def test_given_a_naive_instant_then_it_is_refused() -> None:
    with pytest.raises(BadInputError, match="time-zone-aware"):
        availability(CHICAGO, datetime(2026, 11, 2, 15), unknown=0.5)


def test_hours_parsing_accepts_lists_and_off_and_refuses_nonsense() -> None:
    assert parse_spans(["13:00-17:00", "08:00-12:00"]) == ((480, 720), (780, 1020))
    assert parse_spans("off") == () and parse_spans(None) == () and parse_spans(False) == ()
    assert parse_spans("00:00-24:00") == ((0, 1440),)
    for bad in ("9-5", "25:00-26:00", "10:00-09:00"):
        with pytest.raises(ValueError):
            parse_spans(bad)
    with pytest.raises(ValueError, match="unknown day"):
        build_schedule("UTC", {"funday": "09:00-17:00"})
    with pytest.raises(ValueError, match="unknown time zone"):
        build_schedule("Central", {})


def test_given_empty_hours_then_never_available() -> None:
    a = availability(build_schedule("UTC", {}), datetime(2026, 11, 2, 15, tzinfo=UTC), unknown=0.5)
    assert a.value == 0.0 and "no working hours" in a.note
