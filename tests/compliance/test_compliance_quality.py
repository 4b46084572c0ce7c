"""Data-quality completeness per lead and per batch against the seed's thresholds."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compliance.quality import FIELD_GROUPS, assess, filled
from compliance.reasons import Reason
from config.canonical import CANONICAL_FIELDS
from config.sections.compliance import DataQualityConfig
from compliance_builders import frame, good_lead

CFG = DataQualityConfig()


def test_field_groups_use_canonical_fields_without_overlap() -> None:
    fields = [f for group in FIELD_GROUPS.values() for f in group]
    assert len(fields) == len(set(fields)) and set(fields) <= set(CANONICAL_FIELDS)


def test_given_a_complete_lead_then_every_group_is_full_and_no_reason() -> None:
    report = assess(frame(good_lead()), CFG)
    assert report.per_lead.iloc[0].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert report.passed and report.lead_reasons(CFG) == [()]


def test_given_gaps_then_the_share_per_group_and_reasons_under_threshold() -> None:
    # contact: one of 6 missing -> 0.83 < 1.0; financial: 2 of 5 missing -> 0.6 < 0.8;
    # behaviour: 2 of 5 missing -> 0.6, at the threshold; property: 2 of 7 missing -> 0.71 >= 0.7
    lead = good_lead(zip_code="  ", annual_income=None, credit_score=np.nan, page_views=None, email_opens=None,
                     timeline="n/a", down_payment=None)
    report = assess(frame(lead), CFG)
    row = report.per_lead.iloc[0]
    assert row["contact"] == pytest.approx(5 / 6)
    assert row["financial"] == pytest.approx(3 / 5)
    assert row["behaviour"] == pytest.approx(3 / 5)
    assert row["property"] == pytest.approx(5 / 7)
    assert report.lead_reasons(CFG) == [(Reason.QUALITY_CONTACT_LOW, Reason.QUALITY_FINANCIAL_LOW)]


def test_zero_counts_are_data_and_missing_columns_are_empty() -> None:
    leads = pd.DataFrame({"website_sessions": [0, None], "page_views": ["0", ""]})
    assert filled(leads, "website_sessions").tolist() == [True, False]
    assert filled(leads, "page_views").tolist() == [True, False]
    assert filled(leads, "no_such_column").tolist() == [False, False]


def test_batch_report_gives_mean_share_passing_and_field_fill_rates() -> None:
    leads = frame(good_lead(), good_lead(email=None), good_lead(email=None, phone=None))
    report = assess(leads, CFG)
    contact = report.groups["contact"]
    assert contact.mean_completeness == pytest.approx((1 + 5 / 6 + 4 / 6) / 3)
    assert contact.share_passing == pytest.approx(1 / 3)
    assert not contact.passed and not report.passed
    assert contact.field_fill_rates["email"] == pytest.approx(1 / 3)
    assert report.groups["financial"].passed


def test_given_an_empty_batch_or_no_columns_then_a_report_not_an_error() -> None:
    empty = assess(pd.DataFrame(), CFG)
    assert empty.n_leads == 0 and empty.lead_reasons(CFG) == []
    bare = assess(pd.DataFrame({"lead_id": ["a", "b"]}), CFG)
    assert bare.per_lead.to_numpy().max() == 0.0
    assert all(len(r) == 4 for r in bare.lead_reasons(CFG))


def test_thresholds_come_from_config() -> None:
    lead = good_lead(annual_income=None)  # financial 0.8
    assert assess(frame(lead), CFG).lead_reasons(CFG) == [()]
    strict = DataQualityConfig(financial=0.9)
    assert assess(frame(lead), strict).lead_reasons(strict) == [(Reason.QUALITY_FINANCIAL_LOW,)]
