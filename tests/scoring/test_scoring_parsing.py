"""Messy CRM values become numbers and codes, the same way every time; nothing raises on a value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from config.sections.scoring import DEFAULT_MISSING_TOKENS
from scoring import parsing

TOKENS = parsing.tokens(DEFAULT_MISSING_TOKENS)


def test_given_amounts_typed_as_text_when_parsed_then_numbers_and_junk_is_counted() -> None:
    values = pd.Series(["$350,000", "350000", "72k", "1.2m", "45%", "n/a", "", None, "abc", "$425,000.00", " 12 "],
                       dtype=object)
    parsed = parsing.parse_numeric(values, TOKENS)
    expected = [350000, 350000, 72000, 1.2e6, 45, np.nan, np.nan, np.nan, np.nan, 425000, 12]
    np.testing.assert_allclose(parsed.values, expected, equal_nan=True)
    assert parsed.n_bad == 1 and parsed.examples == ("abc",)


def test_given_numeric_dtype_when_parsed_then_infinities_become_missing() -> None:
    parsed = parsing.parse_numeric(pd.Series([1.0, np.inf, -np.inf, np.nan, 3]), TOKENS)
    np.testing.assert_allclose(parsed.values, [1, np.nan, np.nan, np.nan, 3], equal_nan=True)
    assert parsed.n_bad == 0


@pytest.mark.parametrize("raw, code", [
    ("CA", "CA"), (" ca ", "CA"), ("california", "CA"), ("CALIFORNIA", "CA"), ("Calif.", "CA"),
    ("New York", "NY"), ("dc", "DC"), ("n/a", None), (None, None),
])
def test_given_a_state_in_any_spelling_when_normalised_then_its_code(raw: object, code: str | None) -> None:
    assert parsing.normalize_state(pd.Series([raw], dtype=object), TOKENS).values[0] == code


def test_given_unknown_states_when_normalised_then_missing_and_counted() -> None:
    parsed = parsing.normalize_state(pd.Series(["XX", "UK", "--", "TX"], dtype=object), TOKENS)
    assert list(parsed.values) == [None, None, None, "TX"]
    assert parsed.n_bad == 2  # "--" is a placeholder, not junk


@pytest.mark.parametrize("raw, area", [
    ("02134", "021"), (2134, "021"), ("2134", "021"), ("02134-1234", "021"), (2134.0, "021"), ("501", "005"),
    ("abc", None), ("123456", None), (None, None), (float("nan"), None),
])
def test_given_zip_codes_with_lost_zeros_or_plus4_when_cut_then_three_digit_area(raw: object, area: str | None) -> None:
    assert parsing.zip3(pd.Series([raw], dtype=object), TOKENS)[0] == area


def test_given_iso_and_other_formats_when_parsed_then_one_utc_clock() -> None:
    values = pd.Series(["2026-03-14T09:12:00Z", "2026-03-14T09:12:00", "2026-03-14 10:12:00+01:00",
                        "03/14/2026 09:12", "", "not a date"], dtype=object)
    out, kind, parsed = parsing.parse_time(values)
    assert kind == "datetime"
    stamp = pd.Timestamp("2026-03-14T09:12:00Z").value
    assert out[:4].tolist() == [stamp] * 4
    assert np.isnan(out[4]) and np.isnan(out[5])
    assert parsed.n_bad == 1 and parsed.examples == ("not a date",)


def test_given_lead_numbers_when_parsed_then_a_numeric_time_key() -> None:
    out, kind, parsed = parsing.parse_time(pd.Series(["660737", "660728", None], dtype=object))
    assert kind == "numeric" and out[:2].tolist() == [660737.0, 660728.0] and np.isnan(out[2])
    assert parsed.n_bad == 0


@pytest.mark.parametrize("raw, label", [
    (True, 1.0), ("yes", 1.0), ("TRUE", 1.0), ("1", 1.0), (1, 1.0), (False, 0.0), ("No", 0.0), ("0", 0.0),
])
def test_given_boolean_labels_in_any_form_when_parsed_then_0_or_1(raw: object, label: float) -> None:
    assert parsing.parse_label(pd.Series([raw], dtype=object), True, TOKENS).values[0] == label


def test_given_a_label_that_is_not_a_boolean_when_parsed_then_it_is_counted_bad() -> None:
    parsed = parsing.parse_label(pd.Series(["yes", "maybe", None], dtype=object), True, TOKENS)
    assert parsed.n_bad == 1 and parsed.examples == ("maybe",) and np.isnan(parsed.values[2])


def test_given_a_custom_positive_value_when_parsed_then_only_it_is_positive() -> None:
    parsed = parsing.parse_label(pd.Series(["Won", "Lost", "open", "won "], dtype=object), "Won", TOKENS)
    assert parsed.values.tolist() == [1.0, 0.0, 0.0, 1.0]
    numeric = parsing.parse_label(pd.Series(["1", "0", "1.0"], dtype=object), 1, TOKENS)
    assert numeric.values.tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("raw, months", [
    ("immediately", 0.0), ("ASAP", 0.0), ("1-3 months", 2.0), ("3 to 6 months", 4.5), ("6+ months", 6.0),
    ("2 weeks", 2 / 4.345), ("1 year", 12.0), ("just browsing", 24.0), ("don't know", 24.0), ("unknown", np.nan),
])
def test_given_timeline_text_when_parsed_then_months_to_purchase(raw: str, months: float) -> None:
    text = parsing.normalize_category(pd.Series([raw], dtype=object), TOKENS)
    np.testing.assert_allclose(parsing.timeline_months(text), [months], equal_nan=True)


def test_given_category_spellings_when_normalised_then_one_level() -> None:
    out = parsing.normalize_category(pd.Series(["SINGLE_FAMILY", "Single Family", "single-family", " single  family",
                                                "1-3 Months", "Select", "N/A"], dtype=object), TOKENS)
    assert list(out) == ["single family"] * 4 + ["1-3 months", None, None]


def test_given_flags_typed_as_words_when_normalised_then_yes_or_no() -> None:
    out = parsing.normalize_flag(pd.Series([True, "Yes", "Y", "1", False, "No", "0", None], dtype=object), TOKENS)
    assert list(out) == ["yes"] * 4 + ["no"] * 3 + [None]


MESSY = ["$350,000", "72k", "45%", "n/a", None, np.nan, "", "  12 ", "abc", 7, 3.5, True, "inf", "1e3", "2.5m",
         "Calif.", "california", "02134", 2134, "02134-1234", "ASAP", "3-6 months", "yes", "N", "Single_Family"]


@pytest.mark.parametrize("parse", [
    lambda v: parsing.parse_numeric(v, TOKENS).values,
    lambda v: parsing.parse_numeric(v, TOKENS).n_bad,
    lambda v: parsing.normalize_state(v, TOKENS).values,
    lambda v: parsing.normalize_category(v, TOKENS),
    lambda v: parsing.normalize_flag(v, TOKENS),
    lambda v: parsing.zip3(v, TOKENS),
    lambda v: parsing.timeline_months(np.asarray(v, dtype=object)),
])
def test_given_the_same_values_when_parsed_one_at_a_time_or_in_bulk_then_the_same_results(parse) -> None:  # type: ignore[no-untyped-def]
    # the small-batch path (a loop) and the bulk path (pd.factorize, pd.to_numeric) must agree value by value
    bulk = pd.Series(MESSY * 3, dtype=object)
    assert len(bulk) > parsing.SMALL_BATCH
    whole = parse(bulk)
    if np.isscalar(whole):
        assert whole == sum(parse(pd.Series([v], dtype=object)) for v in bulk) > 0
        return
    singles = np.concatenate([np.asarray(parse(pd.Series([v], dtype=object)), dtype=object) for v in bulk])
    assert [None if pd.isna(x) else x for x in whole] == [None if pd.isna(x) else x for x in singles]


def test_given_dates_beyond_what_a_timestamp_holds_then_missing_and_counted_not_a_crash() -> None:
    from datetime import UTC, datetime

    values = np.array([datetime(2263, 1, 1), "2263-01-01", "1600-01-01", datetime(2026, 1, 1, tzinfo=UTC), None],
                      dtype=object)
    for batch in (values, np.concatenate([values] * 10)):  # the one-lead path and the bulk path
        out, kind, parsed = parsing.parse_time(pd.Series(batch, dtype=object), "datetime")
        assert kind == "datetime"
        assert np.isnan(out[:3]).all() and out[3] == pd.Timestamp("2026-01-01", tz="UTC").value
        assert parsed.n_bad == 3 * (len(batch) // len(values))
