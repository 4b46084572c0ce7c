"""NANP phone numbers: strip CRM formatting, validate, return a 10-digit integer or a reason code.

Accepted: "(201) 555-0123", "201.555.0123", "+1 201 555 0123", "1-201-555-0123", 2015550123,
2015550123.0 (a CRM export that made the column a float), "201-555-0123 ext. 45" (extension dropped).
Refused as PHONE_INVALID, with a detail saying why:
- not 10 digits after removing a leading country code 1 (or any other country code);
- letters or symbols other than spaces, dots, dashes, slashes, parentheses and a leading '+';
- area code (NPA) starting with 0 or 1, an N11 service code (211..911), N9X (reserved for expansion),
  37X or 96X (reserved);
- exchange (NXX) starting with 0 or 1, or an N11 code;
- 555-0100..555-0199 (reserved for fiction) in any area code;
- ten identical digits (a placeholder such as 2222222222).
Empty values and placeholders ("", "n/a", "null", "none", "-") are PHONE_MISSING.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from compliance.reasons import Reason
from compliance.values import is_blank

_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
_ALLOWED = re.compile(r"^\+?[\d\s().\-/]+$")


@dataclass(frozen=True)
class PhoneResult:
    """A normalised phone: `number` (10 digits as an int) when valid, else `reason` and a `detail`."""

    number: int | None
    reason: Reason | None = None
    detail: str = ""

    @property
    def valid(self) -> bool:
        return self.number is not None


@dataclass(frozen=True)
class PhoneBatch:
    """Phones of a batch: `numbers` is uint64 with 0 where invalid; `results[i]` explains row i."""

    numbers: np.ndarray
    results: list[PhoneResult]

    @property
    def valid(self) -> np.ndarray:
        return self.numbers != 0


def nanp_problem(digits: str) -> str | None:
    """Why ten digits are not a dialable NANP number, or None when they are."""
    npa, nxx, line = digits[:3], digits[3:6], digits[6:]
    if npa[0] in "01":
        return f"area code {npa} cannot start with {npa[0]}"
    if npa[1:] == "11":
        return f"area code {npa} is an N11 service code"
    if npa[1] == "9":
        return f"area code {npa} is reserved (N9X)"
    if npa[:2] in ("37", "96"):
        return f"area code {npa} is reserved"
    if nxx[0] in "01":
        return f"exchange {nxx} cannot start with {nxx[0]}"
    if nxx[1:] == "11":
        return f"exchange {nxx} is an N11 service code"
    if nxx == "555" and line.startswith("01"):
        return "555-01xx numbers are reserved for fiction"
    if len(set(digits)) == 1:
        return "ten identical digits is a placeholder"
    return None


def normalise_phone(value: Any) -> PhoneResult:
    """One CRM phone value -> its 10-digit NANP number, or PHONE_MISSING / PHONE_INVALID with a detail."""
    if is_blank(value):
        return PhoneResult(None, Reason.PHONE_MISSING, "no phone")
    if isinstance(value, bool):
        return PhoneResult(None, Reason.PHONE_INVALID, "a yes/no value is not a phone number")
    if isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            return PhoneResult(None, Reason.PHONE_INVALID, "a fractional number is not a phone number")
        text = str(int(value))
    else:
        text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # a float column exported as text
    text = _EXTENSION.sub("", text)
    if not _ALLOWED.match(text):
        return PhoneResult(None, Reason.PHONE_INVALID, "contains letters or symbols")
    international = text.startswith("+")
    digits = "".join(ch for ch in text if ch.isdigit())
    if international and not digits.startswith("1"):
        return PhoneResult(None, Reason.PHONE_INVALID, "not a NANP (+1) number")
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return PhoneResult(None, Reason.PHONE_INVALID, f"{len(digits)} digits, expected 10")
    problem = nanp_problem(digits)
    if problem:
        return PhoneResult(None, Reason.PHONE_INVALID, problem)
    return PhoneResult(int(digits))


def normalise_phones(values: Iterable[Any]) -> PhoneBatch:
    """A column of CRM phone values -> uint64 numbers (0 where invalid) and a result per row."""
    results = [normalise_phone(v) for v in values]
    numbers = np.fromiter((r.number or 0 for r in results), dtype=np.uint64, count=len(results))
    return PhoneBatch(numbers, results)


def mask_phone(number: int | None) -> str:
    """A phone safe for logs: area code and last two digits only."""
    if number is None:
        return "-"
    digits = f"{number:010d}"
    return f"{digits[:3]}-***-**{digits[-2:]}"
