"""CRM values -> canonical typed values (config/canonical.py), keeping every problem instead of raising.

Both plugins call `map_record(raw, mapping)`; the CRM's raw record is kept by the caller, so a value
that cannot be parsed becomes None here plus a problem string an admin can act on.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from config.canonical import CANONICAL_FIELDS, US_STATES

# Values CRMs and web forms use for "nothing here".
_PLACEHOLDERS = frozenset({"n/a", "na", "none", "null", "nil", "unknown", "-", "--", "?", "tbd", "not provided"})
_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "checked", "opted in", "opt-in"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "unchecked", "opted out", "opt-out"})

_STATE_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
    "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "puerto rico": "PR", "guam": "GU", "virgin islands": "VI", "american samoa": "AS",
    "northern mariana islands": "MP", "washington dc": "DC", "d.c.": "DC",
}

# Plausible ranges; outside them a value is an entry error (an "absurd amount"), kept out of scoring.
RANGES: dict[str, tuple[float, float]] = {
    "loan_amount": (1_000, 50_000_000), "property_value": (1_000, 100_000_000),
    "down_payment": (0, 50_000_000), "annual_income": (0, 100_000_000), "monthly_debt": (0, 1_000_000),
    "credit_score": (300, 850), "employment_tenure_months": (0, 720),
    "website_sessions": (0, 100_000), "page_views": (0, 1_000_000), "calculator_uses": (0, 100_000),
    "email_opens": (0, 100_000), "email_clicks": (0, 100_000),
    "conversion_value": (0, 100_000_000), "lead_cost": (0, 100_000),
}

_NUMBER_JUNK = re.compile(r"[\s$,_]|usd", re.IGNORECASE)
_SUFFIX = {"k": 1e3, "m": 1e6}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")


class _Bad(ValueError):
    """A value that could not be converted; its message becomes the problem text."""


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad("is a yes/no value where a number is expected")
    if isinstance(value, int | float | Decimal):
        number = float(value)
    else:
        text = _NUMBER_JUNK.sub("", str(value)).lower()
        scale = 1.0
        if text[-1:] in _SUFFIX:
            text, scale = text[:-1], _SUFFIX[text[-1]]
        try:
            number = float(Decimal(text)) * scale
        except InvalidOperation:
            raise _Bad("is not a number") from None
    if not math.isfinite(number):
        raise _Bad("is not a finite number")
    return number


def _to_int(value: Any) -> int:
    number = _to_float(value)
    if not number.is_integer():
        raise _Bad("is not a whole number")
    return int(number)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad("is not a yes/no value")


def parse_datetime(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 (Salesforce '+0000', HubSpot 'Z'), epoch milliseconds or a date."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # HubSpot sends epoch milliseconds; anything after 2001-09 in ms is > 1e12
        try:
            stamp = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):  # the platform's time_t cannot hold it
            raise _Bad("is not a plausible epoch time") from None
    else:
        text = str(value).strip()
        if text.isdigit():
            return parse_datetime(int(text))
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _Bad("is not a date/time (ISO 8601 expected)") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _to_datetime(value: Any) -> datetime:
    return parse_datetime(value)


def normalize_phone(value: Any) -> str:
    """A US phone number as its 10 national digits ('5551234567'); raises ValueError when it is not one."""
    digits = re.sub(r"\D", "", str(int(value) if isinstance(value, float) and value.is_integer() else value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise _Bad("is not a 10-digit US phone number")
    if digits[0] in "01" or digits[3] in "01":
        raise _Bad("is not a valid US phone number (area code and exchange cannot start with 0 or 1)")
    return digits


def normalize_state(value: Any) -> str:
    """A US state code ('CA') from a code or a name; raises ValueError for anything else."""
    text = str(value).strip()
    code = text.upper()
    if code in US_STATES:
        return code
    named = _STATE_NAMES.get(text.lower().rstrip("."))
    if named:
        return named
    raise _Bad("is not a US state or territory")


def _to_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_CONVERTERS = {"str": _to_str, "int": _to_int, "float": _to_float, "bool": _to_bool, "datetime": _to_datetime}


def convert(canonical: str, value: Any) -> Any:
    """Convert one raw value to the canonical field's kind and domain; raises ValueError with the reason."""
    kind = CANONICAL_FIELDS[canonical]
    if isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS and canonical not in {"consent_text"}:
        raise _Bad("is a placeholder for a missing value")
    if canonical == "phone":
        return normalize_phone(value)
    if canonical == "state":
        return normalize_state(value)
    result = _CONVERTERS[kind](value)
    if canonical == "email":
        result = result.lower()
        if not _EMAIL.match(result):
            raise _Bad("is not an email address")
    elif canonical == "zip_code":
        match = _ZIP.match(result.zfill(5) if result.isdigit() and len(result) in (3, 4) else result)
        if not match:
            raise _Bad("is not a US zip code")
        result = match.group(1)
    bounds = RANGES.get(canonical)
    if bounds is not None and not bounds[0] <= result <= bounds[1]:
        raise _Bad(f"is outside the plausible range {bounds[0]:,.0f}..{bounds[1]:,.0f}")
    return result


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def map_record(raw: Mapping[str, Any], mapping: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Canonical fields from a raw CRM record via `mapping` (CRM field -> canonical field); never raises.

    Missing values become None silently; unparseable ones become None plus a problem
    "loan_amount (Loan_Amount__c): 'abc' is not a number" (a bad phone keeps its text, for compliance
    to judge). Dotted CRM names read nested dicts.
    """
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for crm_field, canonical in mapping.items():
        if canonical not in CANONICAL_FIELDS:
            problems.append(f"{canonical} ({crm_field}): not a canonical field; mapping ignored")
            continue
        value = _lookup(raw, crm_field)
        if _is_missing(value):
            fields.setdefault(canonical, None)
            continue
        try:
            fields[canonical] = convert(canonical, value)
        except (ValueError, TypeError, OverflowError) as exc:
            # a bad phone is kept as text: compliance gives it its own reason code (invalid, not missing)
            keep = canonical == "phone" and not (isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS)
            fields[canonical] = _to_str(value) if keep else fields.get(canonical)
            problems.append(f"{canonical} ({crm_field}): {_shown(value)} {_reason(exc)}")
    return fields, problems


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, _Bad) else f"could not be read ({type(exc).__name__})"


def _lookup(raw: Mapping[str, Any], dotted: str) -> Any:
    value: Any = raw
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def unmapped_required(mapping: Mapping[str, str], required: Iterable[str]) -> list[str]:
    """Canonical fields in `required` that no CRM field maps to (for `crm check`)."""
    targets = set(mapping.values())
    return sorted(f for f in required if f not in targets)
