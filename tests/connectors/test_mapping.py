"""CRM values to canonical typed values: parsed when possible, None plus a problem when not, never an exception."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.canonical import CANONICAL_FIELDS
from connectors.mapping import map_record, unmapped_required


@pytest.mark.parametrize("canonical, raw, expected", [
    ("loan_amount", "$350,000", 350_000.0),
    ("loan_amount", "350k", 350_000.0),
    ("loan_amount", 425000, 425_000.0),
    ("annual_income", "USD 95,500.50", 95_500.5),
    ("credit_score", "720", 720),
    ("credit_score", 720.0, 720),
    ("tcpa_consent", "Yes", True),
    ("tcpa_consent", "false", False),
    ("tcpa_consent", 1, True),
    ("state", "ca", "CA"),
    ("state", "New York", "NY"),
    ("phone", "+1 (214) 555-2368", "2145552368"),
    ("phone", 2145552368.0, "2145552368"),
    ("zip_code", "75001-1234", "75001"),
    ("zip_code", 2134, "02134"),
    ("email", "Pat@Example.COM", "pat@example.com"),
    ("created_at", "2026-01-02T03:04:05.000+0000", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("created_at", "2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("created_at", 1767323045000, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("converted_at", "2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
])
def test_given_a_parseable_value_then_it_becomes_the_canonical_type(canonical: str, raw: object,
                                                                    expected: object) -> None:
    fields, problems = map_record({"X": raw}, {"X": canonical})
    assert fields[canonical] == expected and problems == []


@pytest.mark.parametrize("canonical, raw, reason", [
    ("loan_amount", "abc", "is not a number"),
    ("loan_amount", 9e15, "is outside the plausible range"),
    ("annual_income", -5, "is outside the plausible range"),
    ("credit_score", 1200, "is outside the plausible range"),
    ("credit_score", 712.5, "is not a whole number"),
    ("credit_score", True, "is a yes/no value"),
    ("tcpa_consent", "maybe", "is not a yes/no value"),
    ("state", "Narnia", "is not a US state"),
    ("email", "not-an-email", "is not an email address"),
    ("zip_code", "ABCDE", "is not a US zip code"),
    ("created_at", "last tuesday", "is not a date/time"),
    ("annual_income", "n/a", "is a placeholder"),
    ("loan_amount", float("inf"), "is not a finite number"),
])
def test_given_junk_then_the_value_is_none_with_a_problem_naming_field_and_reason(canonical: str, raw: object,
                                                                                 reason: str) -> None:
    fields, problems = map_record({"Crm_Field__c": raw}, {"Crm_Field__c": canonical})
    assert fields[canonical] is None
    assert len(problems) == 1 and problems[0].startswith(f"{canonical} (Crm_Field__c): ") and reason in problems[0]


def test_given_a_junk_phone_then_its_text_is_kept_for_compliance_with_a_problem() -> None:
    fields, problems = map_record({"Phone": "call me maybe"}, {"Phone": "phone"})
    assert fields["phone"] == "call me maybe" and "is not a 10-digit US phone number" in problems[0]


def test_given_missing_values_then_they_are_none_without_problems() -> None:
    fields, problems = map_record({"A": None, "B": "  ", "C": float("nan")},
                                  {"A": "loan_amount", "B": "email", "C": "credit_score", "D": "state"})
    assert fields == {"loan_amount": None, "email": None, "credit_score": None, "state": None}
    assert problems == []


def test_given_a_dotted_field_then_the_nested_value_is_read() -> None:
    fields, _ = map_record({"ConvertedOpportunity": {"Amount": 5000}}, {"ConvertedOpportunity.Amount": "conversion_value"})
    assert fields["conversion_value"] == 5000.0


def test_given_a_mapping_to_an_unknown_field_then_it_is_reported_not_raised() -> None:
    fields, problems = map_record({"X": 1}, {"X": "shoe_size"})
    assert fields == {} and "not a canonical field" in problems[0]


def test_unmapped_required_lists_canonical_fields_nothing_maps_to() -> None:
    assert unmapped_required({"A": "email", "B": "phone"}, ["phone", "state", "email", "loan_amount"]) == \
        ["loan_amount", "state"]


_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.lists(st.integers(), max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(CANONICAL_FIELDS)), _values, max_size=12))
def test_given_any_values_then_mapping_never_raises_and_every_field_is_accounted_for(raw: dict[str, object]) -> None:
    mapping = {name: name for name in raw}
    fields, problems = map_record(raw, mapping)
    assert set(fields) == set(raw)
    for name, value in fields.items():
        if value is None and raw[name] not in (None, "") and not (isinstance(raw[name], float) and raw[name] != raw[name]):
            if not (isinstance(raw[name], str) and not raw[name].strip()):
                assert any(p.startswith(f"{name} (") for p in problems), (name, raw[name])
