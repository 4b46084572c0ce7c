"""Scoring: the model's feature set, algorithms, blend, calibration and deployment gate."""
from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from config.base import Section


class FeatureSpec(Section):
    """Which columns feed the model; the default is the canonical mortgage set."""

    numerical: list[str] | None = Field(None, description="numeric columns; null means the mortgage default set")
    categorical: list[str] | None = Field(None, description="categorical columns; null means the default set")
    derived: bool = Field(True, description="add derived mortgage features (DTI, LTV, engagement, ...)")
    label: str = "converted"
    positive_value: Any = Field(True, description="label value that means converted")
    time_column: str = "created_at"
    id_column: str = "lead_id"


class AlgorithmsConfig(Section):
    xgboost: dict[str, Any] = Field(default_factory=dict, description="XGBClassifier parameters")
    random_forest: dict[str, Any] = Field(default_factory=dict, description="RandomForestClassifier parameters")
    logistic_regression: dict[str, Any] = Field(default_factory=dict, description="LogisticRegression parameters")


class GateConfig(Section):
    min_auc: float = Field(0.6, ge=0, le=1)
    max_ece: float = Field(0.05, ge=0, le=1)
    champion_tolerance: float = Field(0.005, ge=0, le=1, description="may be this much worse in AUC than the champion")


class ScoringConfig(Section):
    """Model configuration (the seed's Appendix A.2 shape)."""

    model_dir: str = Field("models", description="model registry, relative to state_dir")
    model_config_file: str | None = Field(None, description="a separate model YAML; overrides the keys below")
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    algorithms: AlgorithmsConfig = Field(default_factory=AlgorithmsConfig)
    weights: dict[str, float] | None = Field(None, description="fixed blend weights; null learns them on validation data")
    holdout_fraction: float = Field(0.2, gt=0, lt=0.5, description="latest share of leads kept for the final holdout")
    min_training_rows: int = Field(200, ge=10)
    rate_series_file: str | None = Field(None, description="CSV of date,rate for the rate-environment feature")
    top_reasons: int = Field(3, ge=1, le=10)
    gate: GateConfig = Field(default_factory=GateConfig)

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, weights: dict[str, float] | None) -> dict[str, float] | None:
        if weights is None:
            return None
        unknown = set(weights) - {"xgboost", "random_forest", "logistic_regression"}
        if unknown:
            raise ValueError(f"unknown model(s) {', '.join(sorted(unknown))}")
        if any(w < 0 for w in weights.values()) or abs(sum(weights.values()) - 1) > 1e-6:
            raise ValueError("must be non-negative and sum to 1")
        return weights
