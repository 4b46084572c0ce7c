"""Ensemble members, blend weights and calibration."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from config.sections.scoring import AlgorithmsConfig
from scoring.ensemble import (
    DEFAULT_PARAMS, PACKED_MAX_ROWS, SEED_PARAMS, fit_calibrator, forest_proba, learn_weights, logit, member_params, sigmoid,
)
from scoring.errors import ScoringInputError


def _signal(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < sigmoid(1.5 * z - 1)).astype(float)
    return z, y


def test_given_an_informative_and_a_noise_member_then_the_noise_gets_no_weight() -> None:
    z, y = _signal()
    rng = np.random.default_rng(1)
    probs = {"xgboost": sigmoid(1.5 * z - 1 + rng.normal(0, 0.3, len(z))),
             "random_forest": rng.uniform(0.05, 0.95, len(z)),
             "logistic_regression": sigmoid(0.2 * (1.5 * z) + 0.5)}  # informative but badly scaled
    w = learn_weights(probs, y)
    assert sum(w.values()) == pytest.approx(1.0) and all(v >= 0 for v in w.values())
    assert w["random_forest"] < 0.05
    assert w["xgboost"] + w["logistic_regression"] > 0.95


def test_given_default_and_configured_parameters_then_config_replaces_only_its_keys() -> None:
    params = member_params(AlgorithmsConfig(xgboost={"max_depth": 7}), random_state=5)
    assert params["xgboost"]["max_depth"] == 7
    assert params["xgboost"]["learning_rate"] == DEFAULT_PARAMS["xgboost"]["learning_rate"]
    assert params["random_forest"]["random_state"] == 5


def test_given_the_seed_hyperparameters_then_they_are_accepted() -> None:
    params = member_params(AlgorithmsConfig(**SEED_PARAMS), random_state=0)
    assert params["xgboost"]["n_estimators"] == 500 and params["xgboost"]["max_depth"] == 6
    assert params["logistic_regression"]["class_weight"] == "balanced"


@pytest.mark.parametrize("member, key", [("xgboost", "max_deepth"), ("random_forest", "trees"),
                                         ("logistic_regression", "penalty_strength")])
def test_given_a_misspelt_parameter_then_a_clear_error(member: str, key: str) -> None:
    with pytest.raises(ScoringInputError, match=f"scoring.algorithms.{member}: unknown parameter.*{key}"):
        member_params(AlgorithmsConfig(**{member: {key: 1}}), random_state=0)


def test_given_a_fitted_forest_then_the_fast_path_equals_predict_proba() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan  # the forest's own missing-value handling must be kept
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0).fit(X, y)
    np.testing.assert_allclose(forest_proba(forest, X), forest.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    # small batches walk the packed trees instead of calling each tree: the same numbers, row by row too
    assert 1 <= PACKED_MAX_ROWS < len(X)
    small = np.concatenate([forest_proba(forest, X[i:i + PACKED_MAX_ROWS]) for i in range(0, len(X), PACKED_MAX_ROWS)])
    np.testing.assert_allclose(small, forest.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    ones = np.array([forest_proba(forest, X[i:i + 1])[0] for i in range(50)])
    np.testing.assert_allclose(ones, forest.predict_proba(X[:50])[:, 1], rtol=0, atol=1e-12)


def test_given_many_rows_then_isotonic_and_few_rows_then_platt() -> None:
    z, y = _signal(3000)
    raw = logit(sigmoid(3 * z))  # miscalibrated: far too confident
    assert fit_calibrator(raw, y, "auto", isotonic_min_rows=1000).method == "isotonic"
    small = fit_calibrator(raw[:300], y[:300], "auto", isotonic_min_rows=1000)
    assert small.method == "sigmoid"
    from scoring.metrics import expected_calibration_error

    fixed = fit_calibrator(raw[:2000], y[:2000], "auto", 1000).predict(raw[2000:])
    assert expected_calibration_error(y[2000:], fixed) < expected_calibration_error(y[2000:], sigmoid(raw[2000:])) / 2
    assert fixed.min() >= 1e-3 and fixed.max() <= 1 - 1e-3  # never a certain 0 or 1


def test_given_a_fitted_logistic_member_then_the_direct_computation_equals_predict_proba() -> None:
    from scoring.ensemble import build_member, lr_proba

    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.15] = np.nan  # imputation and its indicator columns take part
    X[:, 5] = np.nan  # an all-empty column (kept: keep_empty_features)
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=400) > 0).astype(int)
    pipe = build_member("logistic_regression", {"C": 1.0, "class_weight": "balanced", "max_iter": 500}).fit(X, y)
    np.testing.assert_allclose(lr_proba(pipe, X), pipe.predict_proba(X)[:, 1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(lr_proba(pipe, X[:1]), pipe.predict_proba(X[:1])[:, 1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_given_a_fitted_calibrator_then_its_direct_curve_equals_sklearns(method: str) -> None:
    from scoring.ensemble import fit_calibrator

    rng = np.random.default_rng(8)
    raw = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(raw * 1.3 - 0.5)))).astype(int)
    cal = fit_calibrator(raw, y, method, isotonic_min_rows=100)
    probe = np.r_[rng.normal(scale=2.0, size=500), -50.0, 50.0, raw.min(), raw.max()]  # also past both ends
    expected = (cal.model.predict(probe) if method == "isotonic"
                else cal.model.predict_proba(probe.reshape(-1, 1))[:, 1])
    np.testing.assert_allclose(cal.predict(probe), np.clip(expected, cal.floor, 1 - cal.floor), rtol=0, atol=1e-12)


@pytest.mark.parametrize("early_stopping", [True, False])
def test_given_a_fitted_xgboost_member_then_the_booster_path_equals_predict_proba(early_stopping: bool) -> None:
    from xgboost import XGBClassifier

    from scoring.ensemble import xgb_proba

    rng = np.random.default_rng(3)
    X = rng.normal(size=(800, 5)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=800) > 0).astype(int)
    extra = {"early_stopping_rounds": 5} if early_stopping else {}
    model = XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.3, n_jobs=1, **extra)
    model.fit(X[:600], y[:600], **({"eval_set": [(X[600:], y[600:])], "verbose": False} if early_stopping else {}))
    if early_stopping:
        assert model.best_iteration < 199  # it stopped early: the tree count matters
    np.testing.assert_allclose(xgb_proba(model, X), model.predict_proba(X)[:, 1], rtol=0, atol=1e-7)
    np.testing.assert_allclose(xgb_proba(model, X[:1]), model.predict_proba(X[:1])[:, 1], rtol=0, atol=1e-7)
