"""Masking of personal data (emails, phone numbers, contact fields) before it reaches logs or Sentry.

`mask_text` finds emails and US phone numbers in free text; `mask_value` walks dicts, lists,
dataclasses and pydantic models and also masks the values of contact fields by key name
(`email`, `phone`, `first_name`, ... in the canonical, Salesforce and HubSpot spellings).
Both are idempotent: masking masked text changes nothing.
"""
from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Final
from uuid import UUID

from config.canonical import PII_FIELDS

# Keys are compared lower-cased with '_', '-' and '.' removed, so `first_name`, `FirstName`
# (Salesforce) and `firstname` (HubSpot) are one key.
def _norm(key: str) -> str:
    return re.sub(r"[_\-. ]", "", key).lower()


PII_KEYS: Final[frozenset[str]] = frozenset(_norm(k) for k in PII_FIELDS) | frozenset({
    "email", "emailaddress", "workemail", "hsemail",
    "phone", "phonenumber", "mobile", "mobilephone", "homephone", "otherphone", "cellphone", "fax",
    "firstname", "lastname", "fullname", "middlename",
    "consentip", "ipaddress", "hsipaddress", "ip",
    "zip", "zipcode", "postalcode", "street", "streetaddress", "address", "mailingstreet",
    "ssn", "socialsecuritynumber", "dateofbirth", "dob", "birthdate",
})

_EMAIL: Final = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)\.([A-Za-z]{2,24})(?![\w-])"
)

# US (NANP) numbers: +1 555 123 4567, 1-555-123-4567, (555) 123-4567, 555.123.4567, 5551234567.
# The area code cannot start with 0 or 1, so epoch seconds (1764...) and zero-padded ids are
# left alone; the look-arounds keep digits glued to letters or other digits (UUIDs, Salesforce
# ids, 13-digit epoch milliseconds) and decimals (5551234567.50) intact. A phone preceded by
# ':', '=', '-' or '/' is still masked: a leak costs more than a masked id.
_PHONE: Final = re.compile(
    r"""
    (?<![\w.])                       # not inside a word, a longer number or a decimal
    (?:\+?1[\s.\-]?)?                # optional country code
    (?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\s.\-]?)   # area code, optionally in parentheses
    \d{3}[\s.\-]?
    \d{2}(\d{2})                      # the last two digits are kept
    (?!\w|[.\-]\d)                    # not followed by more digits, letters or decimals
    """,
    re.VERBOSE,
)

MASK: Final[str] = "***"
# what mask_email and mask_phone produce, so masking twice keeps the first result
_MASKED: Final = re.compile(r"\w?\*\*\*@\w?\*\*\*\.[A-Za-z]{2,24}|\*\*\*-\*\*\*-\*\*\d{2}|\*\*\*")

# Values of these types cannot carry an email or a name; they keep their type (a timestamp stays one).
_SAFE_TYPES: Final = (bool, int, float, Decimal, datetime.date, datetime.time, datetime.timedelta, UUID, Enum)


def mask_email(address: str) -> str:
    """`jane.doe@example.com` -> `j***@e***.com`: enough to tell two addresses apart, not to reach one."""
    match = _EMAIL.fullmatch(address.strip().strip("'\""))  # Sentry sends variables as repr()
    if not match:
        return MASK
    local, domain, tld = match.groups()
    return f"{local[0]}{MASK}@{domain[0]}{MASK}.{tld}"


def mask_phone(number: str) -> str:
    """Keep only the last two digits: `(555) 123-4567` -> `***-***-**67`."""
    digits = re.sub(r"\D", "", number)
    return f"{MASK}-{MASK}-**{digits[-2:]}" if len(digits) >= 4 else MASK


def mask_text(text: str) -> str:
    """Mask every email address and US phone number in free text; everything else is kept."""
    if not text or ("@" not in text and not any(ch.isdigit() for ch in text)):
        return text
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: f"{MASK}-{MASK}-**{m.group(1)}", text)


def is_pii_key(key: object) -> bool:
    """True for a field name whose value is personal data (`email`, `Phone`, `firstname`, ...)."""
    return isinstance(key, str) and _norm(key) in PII_KEYS


def mask_field(key: str, value: Any) -> Any:
    """The masked value of a personal-data field; None stays None so 'missing' stays visible."""
    if value is None:
        return None
    if isinstance(value, str) and _MASKED.fullmatch(value):
        return value
    norm = _norm(key)
    if "email" in norm and isinstance(value, str):
        return mask_email(value)
    if ("phone" in norm or norm in {"mobile", "fax"}) and isinstance(value, str | int):
        return mask_phone(str(value))
    return MASK


def mask_value(obj: Any, _depth: int = 0) -> Any:
    """A copy of `obj` with PII masked: strings by `mask_text`, contact fields by key, recursively."""
    if _depth > 20:  # a cyclic or absurdly deep structure: do not recurse forever
        return MASK
    if isinstance(obj, str):
        return mask_text(obj)
    if isinstance(obj, int) and not isinstance(obj, bool) and 10 <= len(str(obj)) <= 11:
        masked = mask_text(str(obj))  # a phone number stored as an integer
        return obj if masked == str(obj) else masked
    if obj is None or isinstance(obj, _SAFE_TYPES):
        return obj
    if isinstance(obj, bytes | bytearray):
        return mask_text(bytes(obj).decode("utf-8", "replace"))
    if isinstance(obj, Mapping):
        return {k: (mask_field(k, v) if is_pii_key(k) else mask_value(v, _depth + 1)) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(mask_value(v, _depth + 1) for v in obj)
    if isinstance(obj, list | set | frozenset):
        return [mask_value(v, _depth + 1) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return mask_value({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, _depth + 1)
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):  # a pydantic model (SecretStr values dump as '**********')
        return mask_value(model_dump(), _depth + 1)
    # anything else (exceptions, paths, a DataFrame, ...) by its text: emails and phones in it are
    # masked, names are not, so log lead ids rather than records
    return mask_text(str(obj))
