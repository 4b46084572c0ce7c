"""Scoring: the model's feature set, algorithms, blend, calibration and deployment gate.

The same keys can live in the main YAML's `scoring:` section or in a separate model YAML
(`scoring.model_config_file`, or `leadpilot train --model-config FILE`) written either in the seed's
Appendix A.2 shape (`model: {name, features, algorithms, ensemble: {weights}, thresholds}`) or as a
`scoring:` mapping. Keys set in the model file override the section's.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from config.base import Section

MEMBERS: tuple[str, ...] = ("xgboost", "random_forest", "logistic_regression")

# Placeholders that CRM exports use for "not answered"; compared lower-cased and stripped.
DEFAULT_MISSING_TOKENS: tuple[str, ...] = (
    "", "n/a", "na", "nan", "none", "null", "nil", "-", "--", "?", "unknown", "select", "not provided", "#n/a",
)


class FeatureSpec(Section):
    """Which columns feed the model; the default is the canonical mortgage set."""

    numerical: list[str] | None = Field(None, description="numeric columns; null means the mortgage default set")
    categorical: list[str] | None = Field(None, description="categorical columns; null means the default set")
    derived: bool = Field(True, description="add derived mortgage features (DTI, LTV, engagement, ...)")
    label: str = Field("converted", description="label column")
    positive_value: Any = Field(True, description="label value that means converted")
    time_column: str = Field("created_at", description="orders leads for time-ordered validation (dates or numbers)")
    id_column: str = Field("lead_id", description="lead id written with each score")
    missing_tokens: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MISSING_TOKENS),
        description="values that mean 'not answered' (compared case-insensitively), e.g. 'Select'",
    )
    max_onehot_levels: int = Field(10, ge=1, description="categoricals with more frequent levels are target-encoded")
    min_category_count: int = Field(20, ge=1, description="levels rarer than this in training count as 'other'")

    @field_validator("numerical", "categorical")
    @classmethod
    def _no_duplicates(cls, columns: list[str] | None) -> list[str] | None:
        if columns is None:
            return None
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            raise ValueError(f"column(s) listed twice: {', '.join(dupes)}")
        return columns

    @model_validator(mode="after")
    def _lists_disjoint(self) -> "FeatureSpec":
        both = set(self.numerical or ()) & set(self.categorical or ())
        if both:
            raise ValueError(f"column(s) both numerical and categorical: {', '.join(sorted(both))}")
        reserved = {self.label, self.time_column} & (set(self.numerical or ()) | set(self.categorical or ()))
        if reserved:
            raise ValueError(f"the label/time column cannot be a feature: {', '.join(sorted(reserved))}")
        return self


class AlgorithmsConfig(Section):
    """Parameters of each ensemble member; a key given here replaces leadpilot's default for that key."""

    xgboost: dict[str, Any] = Field(default_factory=dict, description="XGBClassifier parameters (+ early_stopping_rounds)")
    random_forest: dict[str, Any] = Field(default_factory=dict, description="RandomForestClassifier parameters")
    logistic_regression: dict[str, Any] = Field(default_factory=dict, description="LogisticRegression parameters")


class CalibrationConfig(Section):
    """How the blend's score becomes a probability, fitted on the most recent validation leads."""

    method: Literal["auto", "isotonic", "sigmoid"] = Field(
        "auto", description="auto: isotonic with enough rows, else sigmoid (Platt)")
    isotonic_min_rows: int = Field(1000, ge=10, description="auto picks isotonic from this many calibration rows")
    window_fraction: float = Field(1.0, gt=0, le=1, description="latest share of the validation split used to calibrate")


class GateConfig(Section):
    min_auc: float = Field(0.6, ge=0, le=1)
    max_ece: float = Field(0.05, ge=0, le=1)
    champion_tolerance: float = Field(0.005, ge=0, le=1, description="may be this much worse in AUC than the champion")
    require_fairness_audit: bool = Field(
        True, description="fail the gate when protected attributes are present but no fairness audit ran")


class ScoringConfig(Section):
    """Model configuration (the seed's Appendix A.2 shape)."""

    name: str = Field("lead-conversion", description="model name shown in the registry and model card")
    model_dir: str = Field("models", description="model registry, relative to state_dir")
    model_config_file: str | None = Field(None, description="a separate model YAML; overrides the keys below")
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    algorithms: AlgorithmsConfig = Field(default_factory=AlgorithmsConfig)
    weights: dict[str, float] | None = Field(None, description="fixed blend weights; null learns them on validation data")
    holdout_fraction: float = Field(0.2, gt=0, lt=0.5, description="latest share of leads kept for the final holdout")
    validation_fraction: float = Field(
        0.25, gt=0, lt=0.5, description="latest share of the rest used for early stopping, blend weights, calibration")
    cv_folds: int = Field(5, ge=2, le=20, description="TimeSeriesSplit folds for feature-importance stability")
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    min_training_rows: int = Field(200, ge=10)
    random_state: int = Field(42, description="seed of every random choice in training")
    rate_series_file: str | None = Field(None, description="CSV of date,rate for the rate-environment feature")
    top_reasons: int = Field(3, ge=1, le=10)
    reason_method: Literal["treeshap", "approximate"] = Field(
        "treeshap", description="XGBoost contributions: exact TreeSHAP, or the ~20x faster path approximation "
                                "(Saabas; XGBoost's approx_contribs)")
    thresholds: dict[str, float] = Field(
        default_factory=lambda: {"priority": 80.0, "queue": 60.0},
        description="named score cut-offs (0-100) whose share of leads the model card reports")
    gate: GateConfig = Field(default_factory=GateConfig)

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, weights: dict[str, float] | None) -> dict[str, float] | None:
        if weights is None:
            return None
        unknown = set(weights) - set(MEMBERS)
        if unknown:
            raise ValueError(f"unknown model(s) {', '.join(sorted(unknown))}")
        if any(w < 0 for w in weights.values()) or abs(sum(weights.values()) - 1) > 1e-6:
            raise ValueError("must be non-negative and sum to 1")
        return weights

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, thresholds: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in thresholds.items() if not 0 <= v <= 100)
        if bad:
            raise ValueError(f"must be between 0 and 100: {', '.join(bad)}")
        return thresholds


# ---- the separate model YAML ----------------------------------------------------------------------

class EnsembleSpec(Section):
    weights: dict[str, float] | None = Field(None, description="fixed blend weights; null learns them")


class ModelSpec(Section):
    """The seed's Appendix A.2 `model:` mapping; any ScoringConfig key may also appear here."""

    name: str | None = None
    version: str | None = Field(None, description="informational; the registry numbers versions itself")
    description: str | None = None
    features: FeatureSpec | None = None
    algorithms: AlgorithmsConfig | None = None
    ensemble: EnsembleSpec | None = None
    thresholds: dict[str, float] | None = None
    weights: dict[str, float] | None = None
    holdout_fraction: float | None = None
    validation_fraction: float | None = None
    cv_folds: int | None = None
    calibration: CalibrationConfig | None = None
    min_training_rows: int | None = None
    random_state: int | None = None
    rate_series_file: str | None = None
    top_reasons: int | None = None
    reason_method: Literal["treeshap", "approximate"] | None = None
    gate: GateConfig | None = None

    @model_validator(mode="after")
    def _one_place_for_weights(self) -> "ModelSpec":
        if self.weights is not None and self.ensemble is not None and self.ensemble.weights is not None:
            raise ValueError("give the weights either as 'weights' or as 'ensemble.weights', not both")
        return self


class ModelFile(Section):
    """A model YAML: `model:` (Appendix A.2 shape) or `scoring:` (the main file's section keys)."""

    model: ModelSpec | None = None
    scoring: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ModelFile":
        if (self.model is None) == (self.scoring is None):
            raise ValueError("a model file holds exactly one top-level key: 'model' (Appendix A.2 shape) or 'scoring'")
        return self


def merge_model_file(base: ScoringConfig, data: Any, base_dir: str) -> ScoringConfig:
    """`base` with the keys a parsed model YAML sets; relative paths in it are relative to `base_dir`.

    Raises pydantic.ValidationError (locations start at the model file's top level).
    """
    parsed = ModelFile.model_validate(data if data is not None else {})
    overrides: dict[str, Any]
    if parsed.scoring is not None:
        overrides = dict(parsed.scoring)
        overrides.pop("model_config_file", None)
        overrides.pop("model_dir", None)
    else:
        assert parsed.model is not None
        overrides = parsed.model.model_dump(exclude_unset=True, exclude={"version", "description", "ensemble"})
        if parsed.model.ensemble is not None and "weights" in parsed.model.ensemble.model_fields_set:
            overrides["weights"] = parsed.model.ensemble.weights
    if overrides.get("rate_series_file") and not os.path.isabs(overrides["rate_series_file"]):
        overrides["rate_series_file"] = str(Path(base_dir) / overrides["rate_series_file"])
    return ScoringConfig.model_validate(_deep_merge(base.model_dump(), overrides))


# Replaced whole: a blend's weights must sum to 1 together, and named thresholds are one set.
_REPLACED_WHOLE = frozenset({"weights", "thresholds"})


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in _REPLACED_WHOLE:
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_model_file(base: ScoringConfig, path: str | os.PathLike[str]) -> ScoringConfig:
    """Read a model YAML and merge it over `base`; every problem is reported as a ConfigError."""
    # Local imports: config.loader imports this module through config.schema.
    from config.errors import ConfigError, Problem
    from config.loader import interpolate, parse_yaml

    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "model file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [Problem("", f"cannot read the model file: {exc}")]) from None
    problems: list[Problem] = []
    data = interpolate(parse_yaml(text, source), os.environ, problems)
    if problems:
        raise ConfigError(source, problems)
    try:
        return merge_model_file(base, data, str(Path(path).resolve().parent))
    except ValidationError as exc:
        found = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
            found.append(Problem(loc, msg))
        raise ConfigError(source, found) from None
