"""The scoring section and the separate model YAML (the seed's Appendix A.2 shape, or a `scoring:` mapping)."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import validate
from config.sections.scoring import ScoringConfig, load_model_file

A2 = """
model:
  name: lead-conversion-v2
  version: "2.0"
  features:
    numerical: [credit_score, annual_income]
    categorical: [state, loan_type]
  algorithms:
    xgboost: {n_estimators: 500, max_depth: 6, learning_rate: 0.1}
    random_forest: {n_estimators: 200, max_depth: 10}
    logistic_regression: {C: 1.0, class_weight: balanced}
  ensemble:
    weights: {xgboost: 0.60, random_forest: 0.25, logistic_regression: 0.15}
  thresholds: {priority: 80, queue: 60}
  rate_series_file: rates.csv
"""


def test_given_an_appendix_a2_model_file_then_it_overrides_the_section(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(A2)
    base = ScoringConfig.model_validate({"gate": {"min_auc": 0.7}, "algorithms": {"xgboost": {"subsample": 0.5}}})
    merged = load_model_file(base, path)
    assert merged.name == "lead-conversion-v2"
    assert merged.features.numerical == ["credit_score", "annual_income"]
    assert merged.weights == {"xgboost": 0.60, "random_forest": 0.25, "logistic_regression": 0.15}
    assert merged.algorithms.xgboost == {"subsample": 0.5, "n_estimators": 500, "max_depth": 6, "learning_rate": 0.1}
    assert merged.gate.min_auc == 0.7  # not in the model file: the section's value stays
    assert merged.rate_series_file == str(tmp_path / "rates.csv")  # relative to the model file


def test_given_a_scoring_mapping_as_model_file_then_it_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("scoring:\n  holdout_fraction: 0.3\n  calibration: {method: sigmoid}\n")
    merged = load_model_file(ScoringConfig(), path)
    assert merged.holdout_fraction == 0.3 and merged.calibration.method == "sigmoid"


@pytest.mark.parametrize("text, where, what", [
    ("model:\n  algorithms:\n    catboost: {}\n", "model.algorithms.catboost", "unknown key"),
    ("model:\n  ensemble:\n    weights: {xgboost: 0.5}\n", "weights", "sum to 1"),
    ("model:\n  features:\n    numerical: [a, a]\n", "model.features.numerical", "listed twice"),
    ("model:\n  features:\n    numerical: [a]\n    categorical: [a]\n", "model.features", "both numerical and categorical"),
    ("model: {}\nscoring: {}\n", "", "exactly one top-level key"),
    ("modle: {}\n", "modle", "unknown key"),
    ("model:\n  weights: {xgboost: 1.0}\n  ensemble: {weights: {xgboost: 1.0}}\n", "model", "not both"),
])
def test_given_a_broken_model_file_then_every_problem_names_its_place(tmp_path: Path, text: str, where: str,
                                                                        what: str) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_model_file(ScoringConfig(), path)
    assert any(where in p.path and what in p.message for p in err.value.problems), err.value.problems


def test_given_a_missing_model_file_then_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model file not found"):
        load_model_file(ScoringConfig(), tmp_path / "nope.yaml")


def test_given_the_main_yaml_then_new_scoring_keys_validate_with_paths() -> None:
    config = validate({"scoring": {"validation_fraction": 0.3, "thresholds": {"priority": 85}}}, "test")
    assert config.scoring.validation_fraction == 0.3 and config.scoring.thresholds == {"priority": 85}
    with pytest.raises(ConfigError) as err:
        validate({"scoring": {"thresholds": {"priority": 120}, "calibration": {"method": "magic"}}}, "test")
    paths = {p.path for p in err.value.problems}
    assert {"scoring.thresholds", "scoring.calibration.method"} <= paths


def test_given_the_packaged_seed_preset_then_it_loads() -> None:
    from daemon.commands.scoring_cmds import model_config_path

    merged = load_model_file(ScoringConfig(), model_config_path("seed"))
    assert merged.weights == {"xgboost": 0.60, "random_forest": 0.25, "logistic_regression": 0.15}
    assert merged.algorithms.xgboost["n_estimators"] == 500 and merged.algorithms.xgboost["max_depth"] == 6
