"""Fair lending audit: gaps are measured as defined, small groups are reported not judged, proxies show up."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compliance.fairness import MISSING_GROUP, FairnessCode, audit_fairness, proxy_report
from config.errors import BadInputError
from config.sections.compliance import FairnessConfig

CFG = FairnessConfig()


def population(n: int = 4000, seed: int = 1, shift_b: float = 0.0, miscalibrate_b: float = 0.0):
    """Calibrated predictions for groups A and B; `shift_b` lowers B's true chance, `miscalibrate_b` inflates
    B's predictions without changing its outcomes."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.5, "A", "B")
    truth = rng.beta(2, 5, n) - np.where(group == "B", shift_b, 0.0)
    truth = np.clip(truth, 0.01, 0.99)
    outcome = (rng.random(n) < truth).astype(int)
    predicted = np.clip(truth + np.where(group == "B", miscalibrate_b, 0.0), 0, 1)
    return predicted, outcome, group


def test_given_a_fair_calibrated_model_then_it_passes_with_small_gaps() -> None:
    p, y, g = population()
    report = audit_fairness(p, y, {"race": g}, threshold=0.3, config=CFG)
    assert report.passed, report.reasons
    audit = report.attributes["race"]
    assert audit.demographic_parity_difference < 0.05
    assert audit.equalized_odds_difference < 0.06
    assert audit.calibration_gap < 0.03
    assert [m.group for m in audit.groups] == ["A", "B"] and all(m.judged for m in audit.groups)


def test_given_selection_rates_that_differ_then_demographic_parity_fails_with_numbers() -> None:
    p, y, g = population(shift_b=0.15)
    report = audit_fairness(p, y, {"race": g}, threshold=0.3, config=CFG)
    assert not report.passed
    codes = {f.code for f in report.findings}
    assert FairnessCode.DEMOGRAPHIC_PARITY in codes
    a, b = report.attributes["race"].groups
    assert report.attributes["race"].demographic_parity_difference == pytest.approx(
        a.selection_rate - b.selection_rate)
    assert any("(B) vs" in r for r in report.reasons)


def test_given_inflated_predictions_for_one_group_then_calibration_and_odds_fail() -> None:
    p, y, g = population(miscalibrate_b=0.15)
    report = audit_fairness(p, y, {"sex": g}, threshold=0.3, config=CFG)
    codes = {f.code for f in report.findings}
    assert {FairnessCode.CALIBRATION, FairnessCode.EQUALIZED_ODDS} <= codes
    b = report.attributes["sex"].groups[1]
    assert b.calibration_gap == pytest.approx(0.15, abs=0.03) and b.ece is not None and b.ece > 0.1


def test_rates_are_computed_exactly_on_a_hand_made_example() -> None:
    p = np.array([0.9, 0.8, 0.2, 0.1, 0.9, 0.2, 0.2, 0.1])
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    g = np.array(["A"] * 4 + ["B"] * 4)
    # two positives and two negatives per group: a minimum of 2 lets every rate be judged
    report = audit_fairness(p, y, {"race": g}, threshold=0.5, config=FairnessConfig(min_group_size=2))
    a, b = report.attributes["race"].groups
    assert (a.selection_rate, a.tpr, a.fpr) == (0.5, 0.5, 0.5)
    assert (b.selection_rate, b.tpr, b.fpr) == (0.25, 0.5, 0.0)
    audit = report.attributes["race"]
    assert (audit.demographic_parity_difference, audit.tpr_gap, audit.fpr_gap) == (0.25, 0.0, 0.5)
    assert audit.equalized_odds_difference == 0.5
    assert a.calibration_gap == pytest.approx(0.5 - 0.5) and b.calibration_gap == pytest.approx(0.35 - 0.5)


def test_given_small_and_missing_groups_then_reported_but_not_judged() -> None:
    p, y, g = population(n=2000)
    groups = g.astype(object)
    groups[:10] = "C"
    groups[10:20] = None
    p = p.copy()
    p[:10] = 1.0  # group C is always selected: it would fail if judged
    report = audit_fairness(p, y, {"race": groups}, threshold=0.3, config=CFG)
    by_name = {m.group: m for m in report.attributes["race"].groups}
    assert not by_name["C"].judged and by_name["C"].n == 10 and by_name["C"].selection_rate == 1.0
    assert not by_name[MISSING_GROUP].judged and by_name[MISSING_GROUP].n == 10
    assert report.passed


def test_given_one_judged_group_then_not_judged_finding_and_still_passes() -> None:
    p, y, _ = population(n=200)
    report = audit_fairness(p, y, {"race": ["A"] * 195 + ["B"] * 5}, threshold=0.3, config=CFG)
    assert report.passed and [f.code for f in report.findings] == [FairnessCode.NOT_JUDGED]
    assert "B (5)" in report.findings[0].message


def test_unlabelled_rows_count_for_selection_only() -> None:
    p = np.array([0.9, 0.9, 0.1, 0.1])
    y = [1, None, 0, float("nan")]
    report = audit_fairness(p, y, {"race": ["A", "A", "A", "A"]}, threshold=0.5,
                            config=FairnessConfig(min_group_size=1))
    [a] = report.attributes["race"].groups
    assert (a.n, a.n_labelled, a.selection_rate, a.tpr, a.fpr) == (4, 2, 0.5, 1.0, 0.0)


def test_given_a_protected_attribute_as_a_model_feature_then_it_fails() -> None:
    p, y, g = population(n=500)
    report = audit_fairness(p, y, {"race": g}, threshold=0.3, config=CFG, feature_names=["credit_score", "Age"])
    assert not report.passed
    assert [f.attribute for f in report.findings if f.code is FairnessCode.PROTECTED_FEATURE] == ["age"]


@pytest.mark.parametrize("p, y, message", [
    ([0.2, 1.5], [0, 1], "between 0 and 1"),
    ([0.2, float("nan")], [0, 1], "between 0 and 1"),
    ([0.2, 0.3], [0, 2], "0/1"),
    ([0.2, 0.3], [0], "1 outcomes for 2"),
])
def test_given_bad_inputs_then_a_clear_error(p: list[float], y: list[int], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        audit_fairness(p, y, {"race": ["A", "B"]}, threshold=0.5, config=CFG)


def test_given_a_misaligned_attribute_then_a_clear_error() -> None:
    with pytest.raises(BadInputError, match="3 values for 2 predictions"):
        audit_fairness([0.1, 0.2], [0, 1], {"race": ["A", "B", "C"]}, threshold=0.5, config=CFG)


def test_proxy_detection_flags_a_zip_code_that_encodes_race_and_not_noise() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    race = rng.choice(["white", "black", "hispanic"], n, p=[0.6, 0.25, 0.15])
    # each group lives mostly in its own zip codes; a zip code alone says a lot about race
    home = {"white": 0, "black": 40, "hispanic": 80}
    zips = np.array([f"9{home[r] + rng.integers(0, 40) if rng.random() < 0.85 else rng.integers(0, 120):04d}"
                     for r in race])
    features = pd.DataFrame({"zip_code": zips, "noise": rng.normal(size=n),
                             "credit_score": rng.normal(700, 50, n) + np.where(race == "white", 5, 0)})
    found = proxy_report(features, pd.DataFrame({"race": race}), config=CFG)
    by_feature = {f.feature: f for f in found}
    assert by_feature["zip_code"].flagged and by_feature["zip_code"].auc > 0.8
    assert by_feature["zip_code"].adjusted_mutual_information > 0.2
    assert not by_feature["noise"].flagged and by_feature["noise"].auc < 0.6
    assert abs(by_feature["noise"].adjusted_mutual_information) < 0.01
    assert found[0].feature == "zip_code"  # sorted by AUC, strongest proxy first


def test_proxies_appear_in_the_report_as_advisory_findings() -> None:
    rng = np.random.default_rng(2)
    n = 1500
    sex = rng.choice(["F", "M"], n)
    features = pd.DataFrame({"height_bucket": np.where(rng.random(n) < 0.9, sex, rng.choice(["F", "M"], n)),
                             "sex": sex})
    p = rng.beta(2, 5, n)
    y = (rng.random(n) < p).astype(int)
    report = audit_fairness(p, y, {"sex": sex}, threshold=0.3, config=CFG, features=features,
                            feature_names=list(features.columns))
    proxy = [f for f in report.findings if f.code is FairnessCode.PROXY]
    assert [f.attribute for f in proxy] == ["sex"] and "height_bucket" in proxy[0].message
    assert not proxy[0].blocking
    # the protected column itself is a blocking finding, never a "proxy"
    assert {f.feature for f in report.proxies} == {"height_bucket"}
    assert not report.passed
    assert report.to_dict()["findings"][0]["code"].startswith("FAIRNESS_")


def test_given_a_gap_that_noise_explains_then_it_is_reported_but_does_not_block() -> None:
    rng = np.random.default_rng(5)
    n = 400
    p = rng.uniform(0.05, 0.4, n)
    y = (rng.random(n) < p).astype(float)
    g = np.where(np.arange(n) < 45, "small", "large")  # 45 rows, ~10 positives: TPR is noisy
    report = audit_fairness(p, y, {"race": g}, threshold=0.25,
                            config=FairnessConfig(min_group_size=5, max_equalized_odds_difference=0.01,
                                                  max_calibration_gap=0.001))
    codes = {f.code for f in report.findings}
    assert FairnessCode.GAP_UNCERTAIN in codes
    assert report.passed, [str(f) for f in report.findings]


def test_given_a_real_gap_then_it_blocks_with_its_p_value() -> None:
    rng = np.random.default_rng(6)
    n = 4000
    g = np.where(rng.random(n) < 0.5, "a", "b")
    p = np.where(g == "a", 0.6, 0.2) + rng.normal(0, 0.02, n)
    y = (rng.random(n) < 0.3).astype(float)  # same true rate: the model selects group a far more often
    report = audit_fairness(p, y, {"race": g}, threshold=0.5, config=FairnessConfig())
    parity = [f for f in report.findings if f.code is FairnessCode.DEMOGRAPHIC_PARITY]
    assert parity and "p = " in parity[0].message
    assert not report.passed
