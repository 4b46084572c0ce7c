"""NANP normalisation: every CRM spelling of a valid number gives the same integer; junk gets a reason."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.phones import mask_phone, normalise_phone, normalise_phones
from compliance.reasons import Reason


@pytest.mark.parametrize("value", [
    "(201) 234-5678", "201.234.5678", "201-234-5678", "2012345678", "+1 201 234 5678", "1-201-234-5678",
    "+1 (201) 234-5678", " 201 234 5678 ", "201/234-5678", 2012345678, 2012345678.0, np.int64(2012345678),
    "12012345678", "2012345678.0", "201-234-5678 ext. 45", "201-234-5678 x45", "(201) 234-5678 #7",
])
def test_given_a_crm_spelling_of_a_valid_number_when_normalised_then_ten_digits(value: object) -> None:
    result = normalise_phone(value)
    assert result.number == 2012345678 and result.reason is None and result.valid


@pytest.mark.parametrize("value", [None, "", "   ", "n/a", "NULL", float("nan"), pd.NA, pd.NaT])
def test_given_a_blank_phone_then_phone_missing(value: object) -> None:
    result = normalise_phone(value)
    assert result.number is None and result.reason is Reason.PHONE_MISSING


@pytest.mark.parametrize("value, detail", [
    ("234-5678", "7 digits"),
    ("201234567845", "12 digits"),
    ("22012345678", "11 digits"),               # 11 digits not starting with 1
    ("+44 20 7946 0958", "not a NANP"),
    ("0125550123", "cannot start with 0"),
    ("1235550123", "cannot start with 1"),
    ("9115550123", "N11"),
    ("2115550123", "N11"),
    ("2915550123", "N9X"),
    ("3745550123", "reserved"),
    ("9655550123", "reserved"),
    ("2010550123", "exchange 055"),
    ("2011550123", "exchange 155"),
    ("2014110123", "N11"),
    ("2015550100", "fiction"),
    ("2015550199", "fiction"),
    ("2222222222", "placeholder"),
    ("201-555-CALL", "letters"),
    ("call me maybe", "letters"),
    (True, "yes/no"),
    (2012345678.5, "fractional"),
    (float("inf"), "fractional"),
])
def test_given_an_invalid_number_then_phone_invalid_with_a_detail(value: object, detail: str) -> None:
    result = normalise_phone(value)
    assert result.number is None and result.reason is Reason.PHONE_INVALID
    assert detail in result.detail


def test_given_555_outside_the_fiction_block_then_valid() -> None:
    assert normalise_phone("201-555-0200").number == 2015550200
    assert normalise_phone("201-555-1234").number == 2015551234


def test_given_a_column_when_normalised_then_numbers_align_with_rows() -> None:
    batch = normalise_phones(["(201) 234-5678", None, "bogus", 3102340188])
    assert batch.numbers.dtype == np.uint64
    assert batch.numbers.tolist() == [2012345678, 0, 0, 3102340188]
    assert batch.valid.tolist() == [True, False, False, True]
    assert [r.reason for r in batch.results] == [None, Reason.PHONE_MISSING, Reason.PHONE_INVALID, None]


def test_masked_phone_shows_only_area_code_and_last_two_digits() -> None:
    assert mask_phone(2012345678) == "201-***-**78"
    assert mask_phone(None) == "-"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans()))
def test_given_any_value_then_a_number_or_a_reason_never_an_exception(value: object) -> None:
    result = normalise_phone(value)
    assert (result.number is None) != (result.reason is None)
    if result.number is not None:
        assert 2_000_000_000 <= result.number < 10_000_000_000 and not math.isnan(result.number)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[2-8][0-8][0-9][2-9][0-9]{6}", fullmatch=True))
def test_given_ten_digits_in_any_format_then_the_same_number(digits: str) -> None:
    plain = normalise_phone(digits)
    formatted = normalise_phone(f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}")
    assert plain == formatted
