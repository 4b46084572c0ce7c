"""Evaluate a trained model on labelled leads: the same metrics as training's holdout report."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from scoring import parsing
from scoring.errors import ScoringInputError
from scoring.metrics import Metrics, compute_metrics
from scoring.model import ScoringModel

_NS_PER_DAY = 86_400 * 10**9


@dataclass
class EvaluationResult:
    version: str
    metrics: Metrics
    rows: dict[str, int]
    warnings: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {"version": self.version, "metrics": self.metrics.to_dict(), "rows": self.rows,
                "warnings": self.warnings}


def evaluate(model: ScoringModel, frame: pd.DataFrame, *, as_of: datetime | None = None,
             maturity_days: int | None = None) -> EvaluationResult:
    """Metrics of `model` on the labelled rows of `frame` (unlabelled and immature leads are left out)."""
    plan = model.plan
    if plan.label not in frame.columns:
        raise ScoringInputError(f"label column '{plan.label}' not found; the model {model.version} was trained "
                                f"with that label")
    y = parsing.parse_label(frame[plan.label], plan.positive_value, plan.missing_tokens)
    if y.n_bad:
        raise ScoringInputError(f"label column '{plan.label}': {y.n_bad} value(s) are not true/false, e.g. "
                                f"{', '.join(map(repr, y.examples))}")
    keep = ~np.isnan(y.values)
    rows = {"given": len(frame), "no_label": int((~keep).sum()), "not_matured": 0}
    warnings: list[str] = []
    if maturity_days and plan.time_kind == "datetime" and plan.time_column in frame.columns:
        t, _, _ = parsing.parse_time(frame[plan.time_column], "datetime")
        ref = pd.Timestamp(as_of).value if as_of is not None else np.nanmax(t) if (~np.isnan(t)).any() else 0
        young = keep & (t > ref - maturity_days * _NS_PER_DAY)  # as in training: outcome not final yet
        rows["not_matured"] = int(young.sum())
        keep &= ~young
    if not keep.any():
        raise ScoringInputError(f"no labelled leads to evaluate (label column '{plan.label}' is empty)")
    labels = y.values[keep]
    if labels.min() == labels.max():
        warnings.append("only one class in the labels: AUC and PR AUC are undefined")
    p = model.predict_proba(frame.iloc[np.flatnonzero(keep)])
    rows["evaluated"] = int(keep.sum())
    return EvaluationResult(model.version or "unregistered", compute_metrics(labels, p), rows, warnings)
