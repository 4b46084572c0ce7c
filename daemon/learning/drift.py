"""Population stability index (PSI): has the mix of incoming leads moved away from what the model learned on?

PSI = sum over bins of (live share - reference share) x ln(live share / reference share).
Rule of thumb: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one.

Binning (documented so figures can be reproduced):
- numeric feature: edges are the reference's quantiles at 1/10, 2/10, ..., 9/10, taken as actual reference
  values (inverted CDF) with duplicates removed, so a discrete feature gets one bin per value; bins are closed on the right, the outer bins open to -inf and
  +inf so live values outside the reference range land in the end bins; missing values get their own bin.
- categorical feature: one bin per reference level (text stripped and lower-cased); levels the reference
  never had share one "(unseen)" bin; missing values get their own bin.
- score: the 0-100 score is by construction a percentile of the model's own reference leads, so each score
  decile (0-9, 10-19, ..., 90-100) holds 10% of the reference; live deciles are compared to 10% each.

Epsilon: a share of 0 would make ln() infinite, so every share is floored at PSI_EPSILON (1e-4) before the
sum. An empty bin then adds a large but finite term, and a bin empty on both sides adds nothing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PSI_BINS = 10
PSI_EPSILON = 1e-4
MIN_ROWS = 100  # fewer leads than this on either side: PSI is mostly noise, not reported
MISSING_BIN = "(missing)"
UNSEEN_BIN = "(unseen)"
MODERATE, MAJOR = 0.1, 0.25


@dataclass(frozen=True)
class PsiResult:
    """PSI of one feature (or the score): the figure, the bins behind it, or why it was not computed."""

    name: str
    kind: str  # numeric | categorical | score
    psi: float | None
    reference_n: int
    live_n: int
    bins: list[str] = field(default_factory=list)
    reference_share: list[float] = field(default_factory=list)
    live_share: list[float] = field(default_factory=list)
    message: str | None = None

    @property
    def level(self) -> str:
        """stable | moderate | major | not measured."""
        if self.psi is None:
            return "not measured"
        return "major" if self.psi >= MAJOR else "moderate" if self.psi >= MODERATE else "stable"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "level": self.level}


@dataclass(frozen=True)
class DriftReport:
    """PSI of each feature and of the score against the training reference."""

    features: list[PsiResult]
    score: PsiResult | None
    threshold: float
    reference: str  # what the reference was, in words
    messages: list[str] = field(default_factory=list)

    def measured(self) -> list[PsiResult]:
        return [r for r in [*self.features, *([self.score] if self.score else [])] if r.psi is not None]

    @property
    def worst(self) -> PsiResult | None:
        """The highest PSI measured, or None."""
        measured = self.measured()
        return max(measured, key=lambda r: r.psi or 0.0) if measured else None

    def over_threshold(self) -> list[PsiResult]:
        return sorted((r for r in self.measured() if (r.psi or 0.0) > self.threshold), key=lambda r: -(r.psi or 0.0))

    def to_dict(self) -> dict[str, Any]:
        worst = self.worst
        return {"threshold": self.threshold, "reference": self.reference, "messages": list(self.messages),
                "max_psi": worst.psi if worst else None, "max_psi_name": worst.name if worst else None,
                "score": self.score.to_dict() if self.score else None,
                "features": [r.to_dict() for r in self.features]}


def psi_from_shares(reference: np.ndarray, live: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """PSI of two share vectors over the same bins (each floored at `epsilon`)."""
    e = np.maximum(np.asarray(reference, dtype=np.float64), epsilon)
    a = np.maximum(np.asarray(live, dtype=np.float64), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(index: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(index, minlength=n_bins).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def _too_few(name: str, kind: str, ref_n: int, live_n: int, min_rows: int) -> PsiResult | None:
    if ref_n >= min_rows and live_n >= min_rows:
        return None
    side = "reference" if ref_n < min_rows else "recent"
    return PsiResult(name, kind, None, ref_n, live_n,
                     message=f"{name}: only {min(ref_n, live_n)} {side} lead(s); PSI needs at least {min_rows}")


def numeric_psi(name: str, reference: pd.Series, live: pd.Series, *, bins: int = PSI_BINS,
                epsilon: float = PSI_EPSILON, min_rows: int = MIN_ROWS) -> PsiResult:
    """PSI of a numeric column, binned by the reference's quantiles (see the module docstring)."""
    ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=np.float64)
    cur = pd.to_numeric(live, errors="coerce").to_numpy(dtype=np.float64)
    short = _too_few(name, "numeric", len(ref), len(cur), min_rows)
    if short:
        return short
    present = ref[~np.isnan(ref)]
    if present.size == 0:
        return PsiResult(name, "numeric", None, len(ref), len(cur), message=f"{name}: empty in the reference")
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf"))
    n_value_bins = len(edges) + 1
    missing_bin = n_value_bins

    def index(values: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(edges, values, side="left")  # bin i holds (edges[i-1], edges[i]]
        return np.where(np.isnan(values), missing_bin, idx)

    ref_share, cur_share = _shares(index(ref), n_value_bins + 1), _shares(index(cur), n_value_bins + 1)
    labels = (["all values"] if len(edges) == 0 else
              [f"<= {edges[0]:g}"] + [f"({a:g}, {b:g}]" for a, b in zip(edges[:-1], edges[1:])] + [f"> {edges[-1]:g}"])
    return PsiResult(name, "numeric", psi_from_shares(ref_share, cur_share, epsilon), len(ref), len(cur),
                     labels + [MISSING_BIN], ref_share.round(6).tolist(), cur_share.round(6).tolist())


def _levels(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.mask(text.isin(["", "nan", "none", "null"]))


def categorical_psi(name: str, reference: pd.Series, live: pd.Series, *, epsilon: float = PSI_EPSILON,
                    min_rows: int = MIN_ROWS) -> PsiResult:
    """PSI of a categorical column: one bin per reference level, plus unseen and missing bins."""
    short = _too_few(name, "categorical", len(reference), len(live), min_rows)
    if short:
        return short
    ref, cur = _levels(reference), _levels(live)
    levels = sorted(ref.dropna().unique().tolist())
    position = {level: i for i, level in enumerate(levels)}
    unseen, missing = len(levels), len(levels) + 1

    def index(values: pd.Series) -> np.ndarray:
        mapped = values.map(position)
        idx = np.where(mapped.isna(), unseen, mapped.fillna(0)).astype(np.int64)
        return np.where(values.isna().to_numpy(), missing, idx)

    ref_share, cur_share = _shares(index(ref), len(levels) + 2), _shares(index(cur), len(levels) + 2)
    return PsiResult(name, "categorical", psi_from_shares(ref_share, cur_share, epsilon), len(reference), len(live),
                     [*levels, UNSEEN_BIN, MISSING_BIN], ref_share.round(6).tolist(), cur_share.round(6).tolist())


def score_psi(scores: pd.Series, *, epsilon: float = PSI_EPSILON, min_rows: int = MIN_ROWS,
              name: str = "score") -> PsiResult:
    """PSI of live 0-100 scores against the model's reference, where each score decile holds 10%."""
    values = pd.to_numeric(scores, errors="coerce").dropna().to_numpy(dtype=np.float64)
    if len(values) < min_rows:
        return PsiResult(name, "score", None, 0, len(values),
                         message=f"{name}: only {len(values)} scored lead(s); PSI needs at least {min_rows}")
    deciles = np.clip(np.floor(values / 10), 0, 9).astype(np.int64)
    live = _shares(deciles, 10)
    ref = np.full(10, 0.1)
    return PsiResult(name, "score", psi_from_shares(ref, live, epsilon), 0, len(values),
                     [f"{10 * d}-{10 * d + 9 if d < 9 else 100}" for d in range(10)], ref.tolist(),
                     live.round(6).tolist(), message="reference: 10% per score decile by construction")


def drift_report(reference: pd.DataFrame, live: pd.DataFrame, *, numeric: list[str], categorical: list[str],
                 live_scores: pd.Series | None = None, threshold: float = MODERATE, reference_label: str = "",
                 bins: int = PSI_BINS, epsilon: float = PSI_EPSILON, min_rows: int = MIN_ROWS) -> DriftReport:
    """PSI per feature (columns absent from either frame are noted and skipped) and for the live scores."""
    results: list[PsiResult] = []
    messages: list[str] = []
    thin = min(len(reference), len(live)) < min_rows
    if thin:  # one sentence instead of the same one per feature
        messages.append(f"too few leads for feature drift: {len(reference)} reference and {len(live)} recent; PSI "
                        f"needs at least {min_rows} on each side")
    for kind, columns in (("numeric", numeric), ("categorical", categorical)):
        for col in columns:
            if col not in reference.columns or col not in live.columns:
                messages.append(f"{col}: not in the lead data; skipped")
                continue
            if kind == "numeric":
                results.append(numeric_psi(col, reference[col], live[col], bins=bins, epsilon=epsilon,
                                           min_rows=min_rows))
            else:
                results.append(categorical_psi(col, reference[col], live[col], epsilon=epsilon, min_rows=min_rows))
    if not thin:
        messages += [r.message for r in results if r.psi is None and r.message]
    score = score_psi(live_scores, epsilon=epsilon, min_rows=min_rows) if live_scores is not None else None
    if score is not None and score.psi is None and score.message:
        messages.append(score.message)
    return DriftReport(results, score, threshold, reference_label, messages)
