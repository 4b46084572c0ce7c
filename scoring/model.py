"""The trained model as one object: feature transformer, members, blend weights, calibrator, reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scoring.ensemble import Calibrator, blend_raw, predict_members
from scoring.features import FeaturePlan, FeatureTransformer

if TYPE_CHECKING:
    from scoring.score import ScoredBatch


def midrank_share(sorted_ref: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of the reference below each value, ties counted half (0..1)."""
    if len(sorted_ref) == 0:
        return np.full(len(values), 0.5)
    left = np.searchsorted(sorted_ref, values, side="left")
    right = np.searchsorted(sorted_ref, values, side="right")
    return (left + right) / (2.0 * len(sorted_ref))


@dataclass
class Reference:
    """How leads scored at training time: the yardstick for score, confidence, reason points and drift.

    Built from the validation and holdout leads, which no member was trained on.
    """

    raw: np.ndarray  # sorted blend log-odds
    members: dict[str, np.ndarray]  # sorted probability of each member
    xgb_margin: np.ndarray  # sorted XGBoost margin (log-odds), the scale of TreeSHAP contributions
    feature_deciles: np.ndarray  # (11, n_matrix_columns) deciles of the model matrix, NaN-aware
    probability_deciles: np.ndarray  # deciles of the calibrated probability
    n: int
    window: tuple[str, str]  # first and last time key of the reference leads


@dataclass
class ScoringModel:
    """Everything needed to score a batch; saved as one joblib artifact by the registry."""

    name: str
    plan: FeaturePlan
    transformer: FeatureTransformer
    members: dict[str, Any]
    weights: dict[str, float]
    calibrator: Calibrator
    reference: Reference
    top_reasons: int = 3
    reason_method: str = "treeshap"  # or "approximate" (see scoring.explain.contributions)
    xgb_iterations: int = 0  # trees used (early stopping's best iteration + 1)
    version: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def member_probabilities(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Each member's raw probability for a ready model matrix."""
        return predict_members(self.members, X)

    def probability_from_matrix(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(calibrated probability, blend log-odds, member probabilities) for a ready matrix."""
        probs = self.member_probabilities(X)
        raw = blend_raw(probs, self.weights)
        return self.calibrator.predict(raw), raw, probs

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated conversion probability per lead (no reasons): for evaluation."""
        return self.probability_from_matrix(self.transformer.transform(frame))[0]

    def score(self, frame: pd.DataFrame, *, reasons: bool = True, top_reasons: int | None = None,
              reason_method: str | None = None) -> "ScoredBatch":
        """Score a batch of leads (one lead is a batch of one); see scoring.score.score."""
        from scoring.score import score

        return score(self, frame, reasons=reasons, top_reasons=top_reasons, reason_method=reason_method)
