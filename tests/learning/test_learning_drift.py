"""Population stability index: the formula, the documented binning and epsilon, and thin data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from daemon.learning.drift import (
    MISSING_BIN, PSI_EPSILON, UNSEEN_BIN, categorical_psi, drift_report, numeric_psi, psi_from_shares, score_psi,
)


def test_psi_from_shares_matches_the_formula_by_hand() -> None:
    ref, live = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.4, 0.2])
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.4 - 0.3) * math.log(0.4 / 0.3) + 0.0
    assert psi_from_shares(ref, live) == pytest.approx(by_hand)


def test_an_empty_bin_is_floored_at_epsilon_so_the_psi_is_finite() -> None:
    psi = psi_from_shares(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    by_hand = (1.0 - 0.5) * math.log(1.0 / 0.5) + (PSI_EPSILON - 0.5) * math.log(PSI_EPSILON / 0.5)
    assert math.isfinite(psi) and psi == pytest.approx(by_hand)
    assert psi_from_shares(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.5, 0.0])) == 0.0


def test_same_distribution_is_stable_and_a_shifted_one_is_a_major_shift() -> None:
    rng = np.random.default_rng(1)
    ref = pd.Series(rng.normal(700, 50, 5000))
    same = numeric_psi("credit_score", ref, pd.Series(rng.normal(700, 50, 5000)))
    moved = numeric_psi("credit_score", ref, pd.Series(rng.normal(760, 50, 5000)))
    assert same.psi is not None and same.psi < 0.02 and same.level == "stable"
    assert moved.psi is not None and moved.psi > 0.25 and moved.level == "major"
    # deciles of the reference: each of the 10 value bins holds about 10% of it
    assert len(same.bins) == 11 and same.bins[-1] == MISSING_BIN
    assert np.allclose(same.reference_share[:10], 0.1, atol=0.002)


def test_a_discrete_feature_gets_one_bin_per_value_and_missing_values_their_own() -> None:
    ref = pd.Series([0] * 60 + [1] * 30 + [2] * 10 + [None] * 0, dtype=float)
    live = pd.Series([0] * 30 + [1] * 30 + [2] * 30 + [np.nan] * 10)
    result = numeric_psi("calculator_uses", ref, live, min_rows=10)
    assert result.bins == ["<= 0", "(0, 1]", "> 1", MISSING_BIN]
    assert result.reference_share == pytest.approx([0.6, 0.3, 0.1, 0.0])
    assert result.live_share == pytest.approx([0.3, 0.3, 0.3, 0.1])
    expected = psi_from_shares(np.array([0.6, 0.3, 0.1, 0.0]), np.array([0.3, 0.3, 0.3, 0.1]))
    assert result.psi == pytest.approx(expected)


def test_categorical_levels_are_normalised_and_unseen_levels_share_a_bin() -> None:
    ref = pd.Series(["FHA", "va", "conventional", "Conventional "] * 50)
    live = pd.Series(["fha", "VA", "usda", None] * 50)
    result = categorical_psi("loan_type", ref, live)
    assert result.bins == ["conventional", "fha", "va", UNSEEN_BIN, MISSING_BIN]
    assert result.reference_share == pytest.approx([0.5, 0.25, 0.25, 0, 0])
    assert result.live_share == pytest.approx([0, 0.25, 0.25, 0.25, 0.25])
    assert result.psi is not None and result.psi > 0.25


def test_score_psi_compares_deciles_with_ten_percent_each() -> None:
    uniform = pd.Series(np.arange(1000) % 100)
    assert score_psi(uniform).psi == pytest.approx(0.0, abs=1e-9)
    top_heavy = pd.Series([95] * 500 + list(range(0, 100, 2)) * 10)
    result = score_psi(top_heavy)
    assert result.bins[-1] == "90-100" and result.live_share[-1] == pytest.approx(0.55)
    assert result.psi is not None and result.psi > 0.25


def test_too_few_leads_give_no_psi_and_a_message() -> None:
    result = numeric_psi("loan_amount", pd.Series(range(500)), pd.Series(range(20)))
    assert result.psi is None and result.level == "not measured"
    assert "only 20 recent lead(s)" in (result.message or "")
    assert score_psi(pd.Series([50, 60])).psi is None


def test_drift_report_names_the_worst_feature_and_skips_missing_columns() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"credit_score": rng.normal(700, 50, 800), "loan_type": rng.choice(["fha", "va"], 800)})
    live = pd.DataFrame({"credit_score": rng.normal(700, 50, 800), "loan_type": ["fha"] * 800})
    report = drift_report(ref, live, numeric=["credit_score", "annual_income"], categorical=["loan_type"],
                          live_scores=pd.Series(np.arange(800) % 100), threshold=0.1)
    assert report.worst is not None and report.worst.name == "loan_type"
    assert [r.name for r in report.over_threshold()] == ["loan_type"]
    assert any("annual_income" in m for m in report.messages)
    assert report.to_dict()["max_psi_name"] == "loan_type"
