"""Validation metrics of a probability model: ranking, calibration and the lead-buyer's lift figures."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, precision_recall_curve, roc_auc_score

ECE_BINS = 10


@dataclass(frozen=True)
class Metrics:
    """The metrics of one model on one labelled set (NaN where undefined, e.g. AUC with one class)."""

    n: int
    positives: int
    base_rate: float
    auc: float
    pr_auc: float
    brier: float
    log_loss: float
    ece: float
    precision_at_20_recall: float
    top_decile_precision: float
    lift_at_10: float
    lift_at_20: float

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready: NaN becomes None."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE with `bins` equal-width bins on [0, 1]: the share-weighted gap between mean p and the rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def calibration_curve_bins(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, count) per non-empty equal-width bin, for the calibration plot."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    return [(float(p[idx == b].mean()), float(y[idx == b].mean()), int((idx == b).sum()))
            for b in range(bins) if (idx == b).any()]


def precision_in_top(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Conversion rate among the `share` of leads with the highest predictions."""
    k = max(1, int(round(share * len(p))))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean())


def precision_at_recall(y: np.ndarray, p: np.ndarray, recall: float = 0.2) -> float:
    """The best precision at any threshold that still finds at least `recall` of the converters."""
    precision, rec, _ = precision_recall_curve(y, p)
    ok = rec >= recall
    return float(precision[ok].max()) if ok.any() else float("nan")


def compute_metrics(y: np.ndarray, p: np.ndarray) -> Metrics:
    """Every report metric of probabilities `p` against 0/1 labels `y`."""
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n, pos = len(y), int(y.sum())
    base = pos / n if n else float("nan")
    two_classes = 0 < pos < n
    nan = float("nan")
    top10 = precision_in_top(y, p, 0.10) if n else nan
    top20 = precision_in_top(y, p, 0.20) if n else nan
    return Metrics(
        n=n, positives=pos, base_rate=base,
        auc=float(roc_auc_score(y, p)) if two_classes else nan,
        pr_auc=float(average_precision_score(y, p)) if two_classes else nan,
        brier=float(brier_score_loss(y, p)) if n else nan,
        log_loss=float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])) if n else nan,
        ece=expected_calibration_error(y, p) if n else nan,
        precision_at_20_recall=precision_at_recall(y, p, 0.2) if two_classes else nan,
        top_decile_precision=top10,
        lift_at_10=top10 / base if base else nan,
        lift_at_20=top20 / base if base else nan,
    )


@dataclass(frozen=True)
class ImportanceStability:
    """How steady the feature-importance ranking is across time-ordered folds (1 = identical order)."""

    mean_spearman: float
    min_spearman: float
    folds: int
    mean_importance: dict[str, float]
    std_importance: dict[str, float]
    fold_auc: list[float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def importance_stability(importances: list[np.ndarray], names: list[str], fold_auc: list[float]) -> ImportanceStability:
    """Mean and worst pairwise Spearman correlation of per-fold importances (each normalised to sum 1)."""
    mat = np.array([imp / imp.sum() if imp.sum() > 0 else imp for imp in importances], dtype=np.float64)
    rhos = []
    for a, b in combinations(range(len(mat)), 2):
        if np.ptp(mat[a]) == 0 or np.ptp(mat[b]) == 0:
            continue
        rhos.append(float(spearmanr(mat[a], mat[b]).statistic))
    mean = mat.mean(axis=0) if len(mat) else np.zeros(len(names))
    std = mat.std(axis=0) if len(mat) else np.zeros(len(names))
    order = np.argsort(-mean)
    return ImportanceStability(
        mean_spearman=float(np.mean(rhos)) if rhos else float("nan"),
        min_spearman=float(np.min(rhos)) if rhos else float("nan"),
        folds=len(mat),
        mean_importance={names[i]: round(float(mean[i]), 5) for i in order},
        std_importance={names[i]: round(float(std[i]), 5) for i in order},
        fold_auc=[round(a, 5) for a in fold_auc],
    )
