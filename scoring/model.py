"""The trained model as one object: feature transformer, members, blend weights, calibrator, reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from xgboost import XGBClassifier

from scoring.booster import FastBooster, fast_booster
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

    def member_probabilities(self, X: np.ndarray, fast: FastBooster | None = None,
                             known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Each member's raw probability for a ready model matrix (`fast`, `known`: see predict_members)."""
        return predict_members(self.members, X, fast, known)

    def probability_from_matrix(self, X: np.ndarray, fast: FastBooster | None = None,
                                known: dict[str, np.ndarray] | None = None,
                                ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(calibrated probability, blend log-odds, member probabilities) for a ready matrix."""
        probs = self.member_probabilities(X, fast, known)
        raw = blend_raw(probs, self.weights)
        return self.calibrator.predict(raw), raw, probs

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated conversion probability per lead (no reasons): for evaluation."""
        return self.probability_from_matrix(self.transformer.transform(frame))[0]

    def fast_booster(self) -> FastBooster | None:
        """The XGBoost member's C-call predictor for small batches, built on first use and kept on the model
        (never saved with it); None without an XGBoost member or where xgboost offers no C handle."""
        if "_fast_booster" not in self.__dict__:
            member = self.members.get("xgboost")
            is_xgb = isinstance(member, XGBClassifier)
            self._fast_booster = fast_booster(member, self.xgb_iterations) if is_xgb else None
        return self._fast_booster

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_fast_booster", None)  # holds a live booster handle: rebuilt after loading
        return state

    def score(self, frame: pd.DataFrame, *, reasons: bool = True, top_reasons: int | None = None,
              reason_method: str | None = None) -> "ScoredBatch":
        """Score a batch of leads (one lead is a batch of one); see scoring.score.score."""
        from scoring.score import score

        return score(self, frame, reasons=reasons, top_reasons=top_reasons, reason_method=reason_method)
