"""TCPA consent and email permission: each missing or bad field gives its own reason code."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.consent import certificate_kind, check_consent, check_email
from compliance.reasons import Reason
from compliance.values import TimestampError, flag, timestamp
from config.sections.compliance import ConsentConfig
from compliance_builders import NOW, good_lead

CFG = ConsentConfig()


def reasons(**overrides: object) -> tuple[Reason, ...]:
    return check_consent(good_lead(**overrides), now=NOW, config=CFG).reasons


def test_given_complete_recent_consent_then_valid_with_its_age() -> None:
    result = check_consent(good_lead(), now=NOW, config=CFG)
    assert result.valid and result.reasons == ()
    assert result.age_days == pytest.approx(3.0)
    assert result.certificate_kind == "trustedform"


@pytest.mark.parametrize("field, value, expected", [
    ("tcpa_consent", None, Reason.CONSENT_MISSING),
    ("tcpa_consent", "maybe", Reason.CONSENT_MISSING),
    ("tcpa_consent", False, Reason.CONSENT_DECLINED),
    ("tcpa_consent", "no", Reason.CONSENT_DECLINED),
    ("consent_timestamp", None, Reason.CONSENT_TIMESTAMP_MISSING),
    ("consent_timestamp", "", Reason.CONSENT_TIMESTAMP_MISSING),
    ("consent_timestamp", "last tuesday", Reason.CONSENT_TIMESTAMP_INVALID),
    ("consent_timestamp", "2026-13-45T99:00:00", Reason.CONSENT_TIMESTAMP_INVALID),
    ("consent_timestamp", -5, Reason.CONSENT_TIMESTAMP_INVALID),
    ("consent_method", None, Reason.CONSENT_METHOD_MISSING),
    ("consent_method", "  ", Reason.CONSENT_METHOD_MISSING),
    ("consent_ip", None, Reason.CONSENT_IP_MISSING),
    ("consent_ip", "999.1.1.1", Reason.CONSENT_IP_INVALID),
    ("consent_ip", "localhost", Reason.CONSENT_IP_INVALID),
])
def test_given_one_bad_consent_field_then_exactly_its_reason(field: str, value: object, expected: Reason) -> None:
    assert reasons(**{field: value}) == (expected,)


def test_given_consent_older_than_max_age_then_expired_and_at_the_limit_still_valid() -> None:
    assert reasons(consent_timestamp=NOW - timedelta(days=30, seconds=1)) == (Reason.CONSENT_EXPIRED,)
    assert reasons(consent_timestamp=NOW - timedelta(days=30)) == ()
    # consent is 3 days old at NOW: 8 days old five days later
    later = NOW + timedelta(days=5)
    assert check_consent(good_lead(), now=later, config=ConsentConfig(max_age_days=9)).valid
    assert check_consent(good_lead(), now=later, config=ConsentConfig(max_age_days=7)).reasons == (
        Reason.CONSENT_EXPIRED,)


def test_given_future_consent_then_refused_beyond_the_clock_skew_only() -> None:
    assert reasons(consent_timestamp=NOW + timedelta(minutes=4)) == ()
    assert reasons(consent_timestamp=NOW + timedelta(minutes=6)) == (Reason.CONSENT_IN_FUTURE,)
    strict = ConsentConfig(future_tolerance_minutes=0)
    result = check_consent(good_lead(consent_timestamp=NOW + timedelta(seconds=1)), now=NOW, config=strict)
    assert result.reasons == (Reason.CONSENT_IN_FUTURE,)


@pytest.mark.parametrize("value", [
    (NOW - timedelta(days=1)).isoformat(), (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    int((NOW - timedelta(days=1)).timestamp()), int((NOW - timedelta(days=1)).timestamp() * 1000),
    pd.Timestamp(NOW - timedelta(days=1)), (NOW - timedelta(days=1)).replace(tzinfo=None),
    (NOW - timedelta(days=1)).strftime("%m/%d/%Y %I:%M %p"), str(int((NOW - timedelta(days=1)).timestamp())),
])
def test_given_each_crm_timestamp_format_then_read_as_utc(value: object) -> None:
    moment = timestamp(value)
    assert moment is not None and moment.utcoffset() == timedelta(0)
    assert abs((NOW - timedelta(days=1) - moment).total_seconds()) < 60


def test_given_a_missing_consent_then_every_problem_is_listed_not_just_the_first() -> None:
    lead = good_lead(tcpa_consent=None, consent_timestamp=None, consent_method=None, consent_ip=None,
                     consent_text=None, consent_certificate=None)
    assert set(check_consent(lead, now=NOW, config=CFG).reasons) == {
        Reason.CONSENT_MISSING, Reason.CONSENT_TIMESTAMP_MISSING, Reason.CONSENT_METHOD_MISSING,
        Reason.CONSENT_IP_MISSING, Reason.CONSENT_PROOF_MISSING}


def test_given_no_text_then_a_recognised_certificate_is_proof_and_junk_is_not() -> None:
    assert reasons(consent_text=None) == ()
    assert reasons(consent_text=None, consent_certificate=None) == (Reason.CONSENT_PROOF_MISSING,)
    assert reasons(consent_text=None, consent_certificate="see file") == (Reason.CONSENT_CERTIFICATE_INVALID,)
    assert reasons(consent_certificate=None) == ()  # text alone is proof


@pytest.mark.parametrize("ref, kind", [
    ("https://cert.trustedform.com/" + "0f" * 20, "trustedform"),
    ("0f" * 20, "trustedform"),
    ("1D8C3F9B-6A2E-4B7C-9D11-2E3F4A5B6C7D", "jornaya"),
    ("https://create.leadid.com/token/abc", "jornaya"),
    ("https://proof.example.com/consents/991", "url"),
    ("http://insecure.example.com/x", None),
    ("see file", None),
    (None, None),
])
def test_certificate_references_are_recognised(ref: object, kind: str | None) -> None:
    assert certificate_kind(ref) == kind


def test_given_ip_and_proof_not_required_then_their_absence_is_fine() -> None:
    relaxed = ConsentConfig(require_ip=False, require_text_or_certificate=False)
    lead = good_lead(consent_ip=None, consent_text=None, consent_certificate=None)
    assert check_consent(lead, now=NOW, config=relaxed).valid


@pytest.mark.parametrize("overrides, expected", [
    ({}, ()),
    ({"email": None}, (Reason.EMAIL_MISSING,)),
    ({"email": "ann.lee@"}, (Reason.EMAIL_INVALID,)),
    ({"email": "ann lee@example.com"}, (Reason.EMAIL_INVALID,)),
    ({"email_opt_out": True}, (Reason.EMAIL_OPT_OUT,)),
    ({"email_opt_out": "yes", "email": ""}, (Reason.EMAIL_MISSING, Reason.EMAIL_OPT_OUT)),
    ({"tcpa_consent": False}, ()),  # email needs no TCPA consent
])
def test_email_permission(overrides: dict[str, object], expected: tuple[Reason, ...]) -> None:
    assert check_email(good_lead(**overrides)) == expected


@pytest.mark.parametrize("value, expected", [
    (True, True), ("Yes", True), ("1", True), (1, True), ("opted in", True), (False, False), ("N", False),
    (0.0, False), (None, None), ("perhaps", None), (2, None), (float("nan"), None),
])
def test_flags_read_crm_yes_no_spellings(value: object, expected: bool | None) -> None:
    assert flag(value) is expected


def test_unreadable_timestamp_raises_its_own_error() -> None:
    with pytest.raises(TimestampError):
        timestamp("not a date")
    assert timestamp(None) is None and timestamp("n/a") is None


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["tcpa_consent", "consent_timestamp", "consent_method", "consent_ip",
                                        "consent_text", "consent_certificate"]),
                       st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none(), st.booleans())))
def test_given_any_junk_consent_fields_then_reasons_never_an_exception(junk: dict[str, object]) -> None:
    result = check_consent(good_lead(**junk), now=NOW, config=CFG)
    assert all(isinstance(r, Reason) for r in result.reasons)


@pytest.mark.parametrize("stamp", [67768036191676796929, 10**17, 1e300])
def test_given_an_epoch_past_any_calendar_then_a_consent_reason_not_a_crash(stamp: float) -> None:
    result = check_consent(good_lead(consent_timestamp=stamp), now=NOW, config=CFG)
    assert result.reasons  # unreadable consent time: the lead gets a reason, never an exception
