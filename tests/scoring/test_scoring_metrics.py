"""Report metrics computed as defined, on hand-checked examples."""
from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.metrics import compute_metrics, expected_calibration_error, importance_stability


def test_given_perfectly_calibrated_bins_then_ece_is_zero() -> None:
    p = np.array([0.1] * 10 + [0.5] * 10)
    y = np.array([1] + [0] * 9 + [1] * 5 + [0] * 5)
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_given_overconfident_predictions_then_ece_is_the_weighted_gap() -> None:
    p = np.array([0.9] * 4 + [0.2] * 6)
    y = np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    # bin 0.9: mean p 0.9 vs rate 0.5 (share 0.4); bin 0.2: 0.2 vs 0 (share 0.6)
    assert expected_calibration_error(y, p) == pytest.approx(0.4 * 0.4 + 0.6 * 0.2)


def test_given_probability_one_then_it_falls_in_the_last_bin() -> None:
    assert expected_calibration_error(np.array([1, 1]), np.array([1.0, 1.0])) == pytest.approx(0.0)


def test_given_a_ranked_example_then_lift_precision_and_recall_metrics_match_hand_counts() -> None:
    # 20 leads, 4 converters; the top 2 by score are converters, the rest scattered
    p = np.linspace(1, 0, 20, endpoint=False)
    y = np.zeros(20)
    y[[0, 1, 7, 15]] = 1
    m = compute_metrics(y, p)
    assert m.base_rate == pytest.approx(0.2)
    assert m.top_decile_precision == pytest.approx(1.0)  # top 2 of 20
    assert m.lift_at_10 == pytest.approx(5.0)
    assert m.lift_at_20 == pytest.approx((2 / 4) / 0.2)  # top 4: two converters
    assert m.precision_at_20_recall == pytest.approx(1.0)  # recall 0.25 reached at precision 1
    assert 0.5 < m.auc < 1.0 and 0 < m.pr_auc <= 1 and 0 <= m.brier <= 1


def test_given_one_class_then_ranking_metrics_are_undefined_not_an_error() -> None:
    m = compute_metrics(np.zeros(5), np.full(5, 0.1))
    assert math.isnan(m.auc) and math.isnan(m.pr_auc) and m.to_dict()["auc"] is None
    assert m.brier == pytest.approx(0.01)


def test_given_identical_fold_importances_then_stability_is_one_and_shuffled_is_lower() -> None:
    imp = np.array([5.0, 3.0, 1.0, 0.5])
    same = importance_stability([imp, imp * 2, imp], ["a", "b", "c", "d"], [0.7, 0.7, 0.7])
    assert same.mean_spearman == pytest.approx(1.0) and same.folds == 3
    assert list(same.mean_importance) == ["a", "b", "c", "d"]
    mixed = importance_stability([imp, imp[::-1]], ["a", "b", "c", "d"], [])
    assert mixed.mean_spearman == pytest.approx(-1.0)
