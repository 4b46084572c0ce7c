"""Retention: old leads lose their PII, keep analytics in ranges, and anonymising twice changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from pydantic import SecretStr

from compliance.retention import (BUCKETS, AnonymisationResult, RetentionError, anonymise, anonymise_expired, bucket,
                                  expired_mask, hash_id, zip3)
from config.sections.compliance import RetentionConfig
from compliance_builders import NOW, frame, good_lead

SALT = b"test-salt"
CFG = RetentionConfig(days=730, id_salt=SecretStr("test-salt"))
OLD = NOW - timedelta(days=800)


def old_lead(**overrides: object) -> dict[str, object]:
    lead = good_lead(created_at=OLD.replace(day=17, hour=9), updated_at=OLD, converted=True,
                     converted_at=OLD + timedelta(days=20), conversion_value=3500.0, race="Asian", sex="F", age=37,
                     raw_payload='{"Phone": "201-234-5678"}', Custom_Notes__c="call her husband Bob")
    lead.update(overrides)
    return lead


def run(leads: pd.DataFrame, **kwargs: object) -> AnonymisationResult:
    return anonymise_expired(leads, now=NOW, config=CFG, **kwargs)  # type: ignore[arg-type]


def test_given_old_and_recent_leads_then_only_the_old_are_returned_anonymised() -> None:
    leads = frame(old_lead(lead_id="old"), good_lead(lead_id="new"))
    result = run(leads)
    assert result.anonymised == 1 and result.already_anonymised == 0 and result.undated == 0
    assert len(result.rows) == 1 and result.rows.index.tolist() == [0]


def test_pii_is_removed_ids_hashed_and_analytics_kept_in_ranges() -> None:
    row = run(frame(old_lead())).rows.iloc[0]
    for pii in ("first_name", "last_name", "email", "phone", "consent_ip", "consent_text", "consent_certificate",
                "raw_payload", "Custom_Notes__c"):
        assert row[pii] is None, pii
    assert row["lead_id"] == hash_id("L-1", SALT) and row["lead_id"].startswith("anon_") and len(row["lead_id"]) == 37
    assert row["crm_id"] != "00Q1" and row["crm_id"].startswith("anon_")
    assert row["zip_code"] == "941"
    assert row["annual_income"] == 125_000.0       # 145k in [100k, 150k)
    assert row["loan_amount"] == 450_000.0         # 420k in [400k, 500k)
    assert row["monthly_debt"] == 750.0            # 900 in [500, 1000)
    assert row["credit_score"] == 770              # 742 in the 740-799 band
    assert row["age"] == 40                        # 37 in [35, 45)
    assert row["created_at"] == pd.Timestamp(OLD.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    assert row["converted_at"].day == 1 and row["consent_timestamp"].day == 1
    # what the model and the KPIs still need is kept as it was
    for kept in ("state", "loan_type", "loan_purpose", "website_sessions", "converted", "conversion_value",
                 "lead_cost", "tcpa_consent", "consent_method", "race", "sex", "source"):
        assert row[kept] == old_lead()[kept], kept
    assert bool(row["anonymised"]) is True


def test_anonymising_twice_is_a_no_op_with_and_without_the_marker() -> None:
    once = run(frame(old_lead())).rows
    twice = run(once)
    assert twice.already_anonymised == 1 and twice.anonymised == 0
    pd.testing.assert_frame_equal(twice.rows, once)
    # each transformation also maps its own output to itself
    unmarked = once.drop(columns=["anonymised"])
    again = anonymise(unmarked, salt=SALT).drop(columns=["anonymised"])
    pd.testing.assert_frame_equal(again, unmarked)


def test_given_a_repeated_index_then_each_row_is_anonymised_from_its_own_values() -> None:
    leads = frame(old_lead(lead_id="a", annual_income=30_000.0), old_lead(lead_id="b", annual_income=400_000.0))
    leads.index = [5, 5]
    rows = run(leads).rows
    assert rows["lead_id"].tolist() == [hash_id("a", SALT), hash_id("b", SALT)]
    assert rows["annual_income"].tolist() == [37_500.0, 400_000.0]


def test_keep_and_zip_drop_options() -> None:
    config = RetentionConfig(days=730, id_salt=SecretStr("s"), zip_code="drop")
    result = anonymise_expired(frame(old_lead(assigned_agent_id="lo-1")), now=NOW, config=config,
                               keep=["assigned_agent_id"])
    row = result.rows.iloc[0]
    assert row["zip_code"] is None and row["assigned_agent_id"] == "lo-1"
    assert result.cleared_columns == ("Custom_Notes__c",)


def test_ids_hash_with_the_salt() -> None:
    assert hash_id("L-1", b"a") != hash_id("L-1", b"b")
    assert hash_id("L-1", b"a") == hash_id("L-1", b"a")
    assert hash_id(hash_id("L-1", b"a"), b"b") == hash_id("L-1", b"a")
    assert hash_id(None, b"a") is None


def test_without_a_salt_the_job_refuses_to_run() -> None:
    with pytest.raises(RetentionError, match="id_salt is not set"):
        anonymise_expired(frame(old_lead()), now=NOW, config=RetentionConfig())
    with pytest.raises(RetentionError):
        anonymise(frame(old_lead()), salt=b"")


def test_expiry_uses_created_at_then_updated_at_and_never_guesses_undated_rows() -> None:
    leads = frame(old_lead(), old_lead(created_at=None), old_lead(created_at="garbage", updated_at=None),
                  good_lead(created_at=NOW - timedelta(days=730) + timedelta(seconds=1)))
    expired, undated = expired_mask(leads, now=NOW, days=730)
    assert expired.tolist() == [True, True, False, False]
    assert undated.tolist() == [False, False, True, False]
    assert run(leads).undated == 1


@pytest.mark.parametrize("value, expected", [("94107", "941"), ("94107-1234", "941"), ("2116", "021"),
                                             ("941", "941"), ("ABCDE", None), (None, None), (94107, "941")])
def test_zip3(value: object, expected: str | None) -> None:
    assert zip3(value) == expected


def test_buckets_are_ranges_whose_midpoints_stay_in_range() -> None:
    values = pd.Series([-5, 0, 24_999, 25_000, 10_000_000, None, "junk"])
    out = bucket(values, BUCKETS["annual_income"])
    assert pd.isna(out.iloc[0])  # negative income is not a range
    assert out.iloc[1:5].tolist() == [12_500.0, 12_500.0, 37_500.0, 500_000.0]  # open top range: its lower edge
    assert out.iloc[5:].isna().all()
    scores = bucket(pd.Series([299, 300, 579, 850, 851]), BUCKETS["credit_score"], integer=True)
    assert scores.tolist() == [pd.NA, 440, 440, 825, pd.NA]
    for edges in BUCKETS.values():
        mids = bucket(pd.Series(edges[:-1], dtype=float), edges)
        assert bucket(mids, edges).tolist() == mids.tolist()


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        anonymise_expired(frame(old_lead()), now=NOW.replace(tzinfo=None), config=CFG)
