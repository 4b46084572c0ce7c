"""The batch decision: every lead gets a result, in order, with channels, reasons and audit hashes."""
from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compliance.reasons as reasons_module
from compliance.check import ComplianceResult, canonical_json, check_leads, results_frame, sha256_hex
from compliance.dnc import DncRegistry
from compliance.licensing import Licence, LicenceRegistry
from compliance.reasons import REASONS, Reason
from config.canonical import CANONICAL_FIELDS
from config.sections.compliance import ComplianceConfig, DncConfig
from compliance_builders import GOOD_PHONE_INT, NOW, frame, good_lead

CFG = ComplianceConfig()
DNC = DncRegistry.from_numbers(federal=[2019999999], state=[2012223333], internal=[2014445555],
                               covered_areas=[201], federal_updated_at=NOW - timedelta(days=1))
LICENCES = LicenceRegistry([Licence("lo-1", "CA", date(2027, 12, 31), "CA-1"),
                            Licence("lo-2", "CA", date(2026, 1, 1), "CA-2"),  # expired
                            Licence("lo-3", "TX", date(2027, 12, 31), "TX-3")])


def check(*leads: dict[str, object], **kwargs: object) -> list[ComplianceResult]:
    options: dict[str, object] = {"now": NOW, "config": CFG, "dnc": DNC, "licences": LICENCES} | kwargs
    return check_leads(frame(*leads), **options)  # type: ignore[arg-type]


def test_given_a_good_lead_then_compliant_on_every_channel_with_licensed_officers() -> None:
    [result] = check(good_lead())
    assert result.compliant and result.status == "COMPLIANT"
    assert result.allowed_channels == ("call", "text", "email") and result.reasons == ()
    assert result.eligible_agents == ("lo-1",)  # lo-2's licence expired, lo-3 is in TX
    assert result.phone == GOOD_PHONE_INT and result.state == "CA" and result.lead_id == "L-1"
    assert result.rule_set_version == "2026.11" and result.checked_at == NOW
    assert result.quality == {"contact": 1.0, "financial": 1.0, "behaviour": 1.0, "property": 1.0}
    assert re.fullmatch(r"[0-9a-f]{64}", result.input_hash)


@pytest.mark.parametrize("overrides, reason, channels", [
    ({"phone": None}, Reason.PHONE_MISSING, ("email",)),
    ({"phone": "12345"}, Reason.PHONE_INVALID, ("email",)),
    ({"phone": "201-999-9999"}, Reason.DNC_FEDERAL, ("email",)),
    ({"phone": "201-222-3333"}, Reason.DNC_STATE, ("email",)),
    ({"phone": "201-444-5555"}, Reason.DNC_INTERNAL, ("email",)),
    ({"phone": "310-234-0188"}, Reason.DNC_NOT_COVERED, ("email",)),
    ({"do_not_call": "true"}, Reason.CRM_DO_NOT_CALL, ("email",)),
    ({"tcpa_consent": False}, Reason.CONSENT_DECLINED, ("email",)),
    ({"consent_timestamp": "not a time"}, Reason.CONSENT_TIMESTAMP_INVALID, ("email",)),
    ({"consent_timestamp": (NOW + timedelta(days=1)).isoformat()}, Reason.CONSENT_IN_FUTURE, ("email",)),
    ({"consent_timestamp": (NOW - timedelta(days=45)).isoformat()}, Reason.CONSENT_EXPIRED, ("email",)),
    ({"consent_ip": None}, Reason.CONSENT_IP_MISSING, ("email",)),
    ({"email_opt_out": True}, Reason.EMAIL_OPT_OUT, ("call", "text")),
])
def test_given_one_failed_check_then_its_reason_and_the_channels_left(overrides: dict[str, object], reason: Reason,
                                                                      channels: tuple[str, ...]) -> None:
    [result] = check(good_lead(**overrides))
    assert reason in result.reasons
    assert result.allowed_channels == channels
    assert result.compliant is ("call" in channels)
    assert result.status == ("COMPLIANT" if "call" in channels else "EMAIL_ONLY")


@pytest.mark.parametrize("state, reason", [("ZZ", Reason.STATE_UNKNOWN), (None, Reason.STATE_MISSING),
                                           ("NV", Reason.NO_LICENSED_AGENT)])
def test_given_no_routable_state_then_not_compliant_but_channels_are_kept(state: object, reason: Reason) -> None:
    [result] = check(good_lead(state=state))
    assert reason in result.reasons and not result.compliant
    assert result.allowed_channels == ("call", "text", "email") and result.eligible_agents == ()


def test_given_agent_ids_then_only_those_officers_are_considered() -> None:
    [result] = check(good_lead(state="TX"), agent_ids=["lo-1"])
    assert result.reasons == (Reason.NO_LICENSED_AGENT,)
    [without] = check(good_lead(state="NV"), licences=None)
    assert without.compliant and without.eligible_agents == ()  # licensing left to the caller


def test_given_no_registry_or_stale_data_then_calls_are_blocked() -> None:
    [missing] = check(good_lead(), dnc=None)
    assert missing.reasons == (Reason.DNC_REGISTRY_MISSING,) and missing.allowed_channels == ("email",)
    old = DncRegistry.from_numbers(federal=[2019999999], federal_updated_at=NOW - timedelta(days=32))
    [stale] = check(good_lead(), dnc=old)
    assert stale.reasons == (Reason.DNC_REGISTRY_STALE,) and not stale.compliant
    relaxed = CFG.model_copy(update={"dnc": DncConfig(max_age_days=0, require_coverage=False)})
    [ok] = check(good_lead(phone="310-234-0188"), dnc=old, config=relaxed)
    assert ok.compliant


def test_given_a_bad_phone_then_no_dnc_noise_is_added() -> None:
    [result] = check(good_lead(phone="n/a"), dnc=None)
    assert result.reasons == (Reason.PHONE_MISSING, Reason.QUALITY_CONTACT_LOW)  # a phone is a contact field


def test_given_a_lead_failing_everything_then_blocked_with_every_reason() -> None:
    lead = {"lead_id": "L-junk", "phone": "call me", "email": "nope", "state": "Atlantis", "tcpa_consent": "??",
            "consent_timestamp": "yesterday-ish", "email_opt_out": "yes"}
    [result] = check(lead)
    assert result.status == "BLOCKED" and result.allowed_channels == ()
    assert {Reason.PHONE_INVALID, Reason.EMAIL_INVALID, Reason.EMAIL_OPT_OUT, Reason.STATE_UNKNOWN,
            Reason.CONSENT_MISSING, Reason.CONSENT_TIMESTAMP_INVALID, Reason.CONSENT_METHOD_MISSING,
            Reason.CONSENT_IP_MISSING, Reason.CONSENT_PROOF_MISSING, Reason.QUALITY_CONTACT_LOW,
            Reason.QUALITY_FINANCIAL_LOW, Reason.QUALITY_BEHAVIOUR_LOW, Reason.QUALITY_PROPERTY_LOW} == \
        set(result.reasons)
    assert len(result.reasons) == len(set(result.reasons))
    assert result.reason_text.startswith("PHONE_INVALID;")


def test_every_row_gets_a_result_in_input_order_even_with_an_odd_index() -> None:
    leads = frame(good_lead(lead_id="a"), good_lead(lead_id="b", phone=None), good_lead(lead_id=None, crm_id="c"))
    leads.index = [17, 17, -3]
    results = check_leads(leads, now=NOW, config=CFG, dnc=DNC, licences=LICENCES)
    assert [r.row for r in results] == [0, 1, 2]
    assert [r.lead_id for r in results] == ["a", "b", "c"]
    assert [r.compliant for r in results] == [True, False, True]
    assert check_leads(pd.DataFrame(), now=NOW, config=CFG, dnc=DNC, licences=LICENCES) == []


def test_hashes_are_stable_and_change_with_any_input_that_matters() -> None:
    [a] = check(good_lead())
    [b] = check(good_lead(first_name="Ann"))
    assert (a.input_hash, a.lead_hash) == (b.input_hash, b.lead_hash)
    [other_field] = check(good_lead(lead_cost=999.0))  # not read by compliance: same hashes
    assert other_field.lead_hash == a.lead_hash
    [changed_lead] = check(good_lead(consent_ip="203.0.113.8"))
    assert changed_lead.lead_hash != a.lead_hash and changed_lead.input_hash != a.input_hash
    [later] = check(good_lead(), now=NOW + timedelta(seconds=1))
    assert later.lead_hash == a.lead_hash and later.input_hash != a.input_hash
    [new_rules] = check(good_lead(), config=CFG.model_copy(update={"rule_set_version": "2027.01"}))
    assert new_rules.input_hash != a.input_hash
    other_dnc = DncRegistry.from_numbers(federal=[2019999999], covered_areas=[201], version="v000009",
                                         federal_updated_at=NOW)
    [new_dnc] = check(good_lead(), dnc=other_dnc)
    assert new_dnc.input_hash != a.input_hash


def test_canonical_json_is_order_independent_and_handles_crm_values() -> None:
    one = {"b": np.int64(2), "a": float("nan"), "t": pd.Timestamp(NOW), "s": " x "}
    two = {"t": NOW, "s": " x ", "a": None, "b": 2}
    assert canonical_json(one) == canonical_json(two) == '{"a":null,"b":2,"s":" x ","t":"2026-11-01T15:00:00+00:00"}'
    assert sha256_hex(one) == sha256_hex(two)


def test_results_frame_has_one_row_per_result_for_write_back() -> None:
    results = check(good_lead(), good_lead(email_opt_out=True, phone=None))
    table = results_frame(results)
    assert len(table) == 2
    assert table["status"].tolist() == ["COMPLIANT", "BLOCKED"]
    assert table["can_call"].tolist() == [True, False] and table["can_email"].tolist() == [True, False]
    assert table["reasons"].iloc[1] == "PHONE_MISSING;EMAIL_OPT_OUT;QUALITY_CONTACT_LOW"


def test_every_reason_code_is_documented_in_the_table() -> None:
    doc = reasons_module.__doc__ or ""
    for reason in Reason:
        assert f"| {reason.value} |" in doc, reason
        assert reason in REASONS and REASONS[reason].description


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_leads(frame(good_lead()), now=NOW.replace(tzinfo=None), config=CFG, dnc=DNC, licences=None)


_junk = st.one_of(st.none(), st.text(max_size=15), st.integers(-10**12, 10**13), st.floats(), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(sorted(CANONICAL_FIELDS)), _junk, max_size=12), max_size=6))
def test_given_any_junk_batch_then_one_result_per_row_and_never_an_exception(rows: list[dict[str, object]]) -> None:
    leads = pd.DataFrame(rows) if rows else pd.DataFrame()
    results = check_leads(leads, now=NOW, config=CFG, dnc=DNC, licences=LICENCES)
    assert len(results) == len(rows)
    for result in results:
        assert result.compliant == ("call" in result.allowed_channels and not any(
            REASONS[r].blocks_routing for r in result.reasons))
        if not result.compliant:
            assert result.reasons  # a lead is never refused without saying why
