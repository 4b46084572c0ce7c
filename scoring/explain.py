"""Per-lead reasons from XGBoost's own TreeSHAP (`pred_contribs=True`), as short sentences.

A reason's points are its share, on the score's 0-100 scale, of how far the XGBoost member places
the lead from the typical lead: contributions are in log-odds; the lead's XGBoost percentile minus
the typical lead's percentile is split among features in proportion to their contributions, so
points carry the contribution's sign and add up to that percentile gap.
"""
from __future__ import annotations

import os
import weakref
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from scoring.booster import FastBooster
from scoring.features import FeatureDef, FeaturePlan
from scoring.parsing import SMALL_BATCH


@dataclass(frozen=True)
class Reason:
    """One feature's push on one lead's score."""

    feature: str
    label: str
    value: str
    contribution: float  # log-odds, XGBoost TreeSHAP summed over the feature's matrix columns
    points: float  # the same on the 0-100 score scale (see module docstring)
    text: str


def contributions(model: xgb.XGBClassifier, X: np.ndarray, iterations: int, approximate: bool = False,
                  fast: FastBooster | None = None) -> np.ndarray:
    """TreeSHAP per matrix column plus the bias (last column), in log-odds; rows sum to the margin.

    `approximate` uses XGBoost's path attribution (Saabas, approx_contribs): also additive, about 20x
    faster, but without TreeSHAP's consistency guarantee. `fast` (built for this member and `iterations`)
    makes the same single-threaded call without the Python wrapper, for small batches.
    """
    threads = _threads(len(X))
    rng = (0, iterations) if iterations > 0 else (0, 0)
    if fast is not None and threads == 1 and fast.model is model and fast.contrib_range == rng:
        return fast.contributions(X, approximate)
    booster = model.get_booster()
    if threads > 1:
        booster = _parallel_booster(model, threads)
    dm = xgb.DMatrix(X, missing=np.nan, feature_names=booster.feature_names, nthread=1)
    return booster.predict(dm, pred_contribs=True, approx_contribs=approximate, iteration_range=rng)


# TreeSHAP costs ~100x a prediction; a big batch (a backfill, a first poll) spreads it over every core.
# Small batches stay on one thread: the API and the daemon decide them next to other work.
PARALLEL_MIN_ROWS = 2000
_PARALLEL: "weakref.WeakKeyDictionary[xgb.XGBClassifier, xgb.Booster]" = weakref.WeakKeyDictionary()


def _threads(rows: int) -> int:
    if rows < PARALLEL_MIN_ROWS:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores)


def _parallel_booster(model: xgb.XGBClassifier, threads: int) -> xgb.Booster:
    """A copy of the member's booster that predicts on `threads` threads (the original stays single-threaded,
    so a concurrent small batch never races a parameter change)."""
    booster = _PARALLEL.get(model)
    if booster is None:
        booster = model.get_booster().copy()
        booster.set_param({"nthread": threads})
        _PARALLEL[model] = booster
    return booster


def group_contributions(contrib: np.ndarray, output_source: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(per-feature contributions (n, n_features), bias (n,)): one-hot and sin/cos columns summed."""
    groups = np.zeros((contrib.shape[1] - 1, n_features), dtype=np.float64)
    groups[np.arange(len(output_source)), output_source] = 1.0
    return contrib[:, :-1].astype(np.float64) @ groups, contrib[:, -1].astype(np.float64)


def to_points(per_feature: np.ndarray, bias: np.ndarray, margin_ref: np.ndarray) -> np.ndarray:
    """Contributions (log-odds) -> score points, splitting the lead's percentile gap to the typical lead."""
    n_ref = len(margin_ref)
    grid = (np.arange(n_ref) + 0.5) / n_ref * 100.0

    margin = bias + per_feature.sum(axis=1)
    gap = margin - bias
    delta = 0.05
    # the four percentiles each lead needs in one np.interp call (it reads each point on its own)
    n = len(bias)
    pct = np.interp(np.concatenate([bias + delta, bias - delta, margin, bias]), margin_ref, grid, left=0.0, right=100.0)
    slope_at_base = (pct[:n] - pct[n:2 * n]) / (2 * delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        secant = (pct[2 * n:3 * n] - pct[3 * n:]) / gap
    scale = np.where(np.abs(gap) > 1e-6, secant, slope_at_base)
    return per_feature * scale[:, None]


def format_value(feature: FeatureDef, value: object) -> str:
    """A feature value as a person reads it: '$350,000', '45%', 'CA', 'missing'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if feature.kind == "categorical":
        text = str(value)
        return text.upper() if feature.name == "state" else text
    v = float(value)
    fmt = feature.fmt
    if fmt == "int":
        return f"{v:,.0f}"
    if fmt == "money":
        return f"${v:,.0f}"
    if fmt == "pct":
        return f"{v * 100:.0f}%"
    if fmt == "ratio":
        return f"{v:.1f}x"
    if fmt == "months":
        return f"{v:.0f} month" + ("" if round(v) == 1 else "s")
    if fmt == "days":
        return f"{v:.0f} day" + ("" if round(v) == 1 else "s")
    if fmt == "rate":
        return f"{v:+.2f} pts" if feature.name.startswith("rate_change") else f"{v:.2f}%"
    return f"{v:.0f}" if v.is_integer() else f"{v:.3g}"


def sentence(feature: FeatureDef, value_text: str, points: float) -> str:
    """'Credit score 760: +9 points'."""
    shown = f"{points:+.0f}" if abs(points) >= 0.95 else f"{points:+.1f}"
    unit = "point" if shown in {"+1", "-1"} else "points"
    if value_text == "missing":
        return f"{feature.label} missing: {shown} {unit}"
    return f"{feature.label} {value_text}: {shown} {unit}"


def top_reasons(plan: FeaturePlan, clean: dict[str, np.ndarray], per_feature: np.ndarray, points: np.ndarray,
                k: int) -> tuple[np.ndarray, list[list[str]]]:
    """Indices (n, k) of the k features with the largest |points| per lead, and their sentences."""
    k = min(k, per_feature.shape[1])
    if k == 0 or len(per_feature) == 0:
        return np.zeros((len(per_feature), 0), dtype=np.int64), [[] for _ in range(len(per_feature))]
    order = np.argsort(-np.abs(points), axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(points, order, axis=1)
    if len(order) <= SMALL_BATCH:
        return order, _sentences_few(plan, clean, order, picked)
    texts = np.empty(order.shape, dtype=object)
    feats = plan.features
    # feature by feature, each distinct value formatted once: 10,000 leads' sentences in ~50 ms, not 150
    for j in np.unique(order):
        f = feats[j]
        rows, slots = np.nonzero(order == j)
        values = clean[f.name][rows].tolist()
        memo: dict[object, str] = {}
        pts = picked[rows, slots].tolist()
        texts[rows, slots] = [_sentence_of(f, value, p, memo) for value, p in zip(values, pts)]
    return order, texts.tolist()


def _sentence_of(f: FeatureDef, value: object, pts: float, memo: dict[object, str]) -> str:
    """sentence() for one value, its text formatted once per distinct value of the feature (`memo`)."""
    try:
        text = memo[value]
    except (KeyError, TypeError):  # TypeError: an unhashable value
        text = format_value(f, value)
        if isinstance(value, (str, int, float)) and value == value:
            memo[value] = text
    return sentence(f, text, pts)


def _sentences_few(plan: FeaturePlan, clean: dict[str, np.ndarray], order: np.ndarray,
                   picked: np.ndarray) -> list[list[str]]:
    """top_reasons' sentences for a few leads, lead by lead: each feature's memo sees its leads in the same
    order as the bulk loop (rows ascending), so the texts are the same."""
    feats = plan.features
    values: dict[int, list[object]] = {}
    memos: dict[int, dict[object, str]] = {}
    out = []
    for i, (row, pts_row) in enumerate(zip(order.tolist(), picked.tolist())):
        texts = []
        for j, pts in zip(row, pts_row):
            f = feats[j]
            if j not in values:
                values[j] = clean[f.name].tolist()
                memos[j] = {}
            texts.append(_sentence_of(f, values[j][i], pts, memos[j]))
        out.append(texts)
    return out
