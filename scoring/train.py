"""Training: time-ordered splits, members, learned blend, calibration, holdout comparison, fold stability.

Time order throughout: the members learn from the oldest leads, XGBoost stops early and the blend
weights are learned on the next (validation) leads, the calibrator is fitted on the latest validation
leads, and every candidate is compared on the final holdout, the most recent leads of all.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import TimeSeriesSplit
from xgboost import XGBClassifier

from config.sections.scoring import MEMBERS, ScoringConfig
from scoring.data import LabelledData, prepare
from scoring.ensemble import (
    SEED_WEIGHTS, blend_raw, fit_calibrator, fit_members, learn_weights, member_params, predict_members,
)
from scoring.errors import ScoringInputError
from scoring.features import FeatureTransformer
from scoring.metrics import (
    ImportanceStability, Metrics, calibration_curve_bins, compute_metrics, importance_stability,
)
from scoring.model import Reference, ScoringModel, midrank_share
from scoring.rates import RateSeries

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Window:
    """One time-ordered slice of the labelled leads."""

    start: str
    end: str
    rows: int
    positives: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "rows": self.rows, "positives": self.positives}


@dataclass
class TrainingResult:
    """The trained model and everything the gate, the registry and the model card need."""

    model: ScoringModel
    metrics: Metrics  # the shipped model on the final holdout
    comparison: dict[str, Metrics]  # each member, the seed-weighted blend, the learned blend: same holdout
    weights: dict[str, dict[str, float]]  # learned (or configured), seed, shipped
    shipped: str
    stability: ImportanceStability
    windows: dict[str, Window]
    rows: dict[str, int]
    data_hash: str
    params: dict[str, dict[str, Any]]
    calibration: dict[str, Any]
    threshold_shares: dict[str, float]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    holdout: pd.DataFrame | None = None
    holdout_y: np.ndarray | None = None
    holdout_probability: np.ndarray | None = None
    holdout_score: np.ndarray | None = None
    calibration_curve: list[tuple[float, float, int]] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """JSON-ready summary (no leads): metrics, comparison, weights, windows, stability."""
        return {
            "name": self.model.name,
            "metrics": self.metrics.to_dict(),
            "shipped": self.shipped,
            "comparison": {k: m.to_dict() for k, m in self.comparison.items()},
            "weights": self.weights,
            "calibration": self.calibration,
            "feature_importance_stability": self.stability.to_dict(),
            "windows": {k: w.to_dict() for k, w in self.windows.items()},
            "rows": self.rows,
            "data_hash": self.data_hash,
            "threshold_shares": self.threshold_shares,
            "notes": self.notes,
            "warnings": self.warnings,
        }


def split_bounds(n: int, holdout_fraction: float, validation_fraction: float) -> tuple[int, int]:
    """(end of training, end of validation) row indices for time-sorted leads; holdout is the rest."""
    n_hold = max(1, math.ceil(n * holdout_fraction))
    pre = n - n_hold
    n_val = max(1, math.ceil(pre * validation_fraction))
    return pre - n_val, pre


def train(frame: pd.DataFrame, settings: ScoringConfig, *, rates: RateSeries | None = None,
          as_of: datetime | None = None, maturity_days: int | None = None,
          progress: Progress | None = None) -> TrainingResult:
    """Train, calibrate and evaluate a model on labelled leads; raises ScoringInputError for unusable data."""
    say = progress or (lambda _msg: None)
    say("checking the data")
    data = prepare(frame, settings, rates=rates, as_of=as_of, maturity_days=maturity_days)
    n = len(data.frame)
    tr_end, val_end = split_bounds(n, settings.holdout_fraction, settings.validation_fraction)
    parts = {"train": slice(0, tr_end), "validation": slice(tr_end, val_end), "holdout": slice(val_end, n)}
    for name, sl in parts.items():
        y_part = data.y[sl]
        if len(y_part) < 2 or y_part.min() == y_part.max():
            raise ScoringInputError(
                f"the {name} window ({len(y_part)} leads, by time) holds only one class; give more data or change "
                "scoring.holdout_fraction / scoring.validation_fraction")
    cal_start = val_end - max(2, math.ceil((val_end - tr_end) * settings.calibration.window_fraction))
    cal = slice(max(tr_end, cal_start), val_end)
    if data.y[cal].min() == data.y[cal].max():
        raise ScoringInputError(f"the calibration window (the latest {cal.stop - cal.start} validation leads) holds only "
                                "one class; raise scoring.calibration.window_fraction or give more data")

    say(f"building features ({n} leads: {tr_end} train, {val_end - tr_end} validation, {n - val_end} holdout)")
    transformer = FeatureTransformer(data.plan, rates, settings.features.max_onehot_levels,
                                     settings.features.min_category_count, settings.random_state)
    X_tr = transformer.fit_transform(data.frame.iloc[parts["train"]], data.y[parts["train"]])
    X_val = transformer.transform(data.frame.iloc[parts["validation"]])
    X_ho = transformer.transform(data.frame.iloc[parts["holdout"]])
    y_tr, y_val, y_ho = data.y[parts["train"]], data.y[parts["validation"]], data.y[parts["holdout"]]

    say("training xgboost, random forest, logistic regression")
    params = member_params(settings.algorithms, settings.random_state)
    members = fit_members(X_tr, y_tr, X_val, y_val, params)
    xgb: XGBClassifier = members["xgboost"]
    xgb_iterations = _xgb_iterations(xgb)
    probs_val = predict_members(members, X_val)
    probs_ho = predict_members(members, X_ho)

    say("learning blend weights and calibrating on the latest validation leads")
    configured = settings.weights is not None
    blend_name = "configured_blend" if configured else "learned_blend"
    blend_weights = dict(settings.weights) if configured else learn_weights(probs_val, y_val)
    blend_weights = {m: float(blend_weights.get(m, 0.0)) for m in MEMBERS}
    candidates: dict[str, dict[str, float]] = {m: {k: float(k == m) for k in MEMBERS} for m in MEMBERS}
    candidates["seed_blend"] = dict(SEED_WEIGHTS)
    candidates[blend_name] = blend_weights
    cal_offset = slice(cal.start - tr_end, cal.stop - tr_end)
    fitted: dict[str, Any] = {}
    comparison: dict[str, Metrics] = {}
    for name, w in candidates.items():
        raw_cal = blend_raw({k: v[cal_offset] for k, v in probs_val.items()}, w)
        calibrator = fit_calibrator(raw_cal, y_val[cal_offset], settings.calibration.method,
                                    settings.calibration.isotonic_min_rows)
        p_ho = calibrator.predict(blend_raw(probs_ho, w))
        fitted[name] = calibrator
        comparison[name] = compute_metrics(y_ho, p_ho)

    notes: list[str] = []
    best_member = max(MEMBERS, key=lambda m: _auc_key(comparison[m]))
    shipped = blend_name
    if _auc_key(comparison[blend_name]) < _auc_key(comparison[best_member]):
        shipped = best_member
        notes.append(f"the {blend_name.replace('_', ' ')} (AUC {comparison[blend_name].auc:.4f}) was below its best "
                     f"member {best_member} (AUC {comparison[best_member].auc:.4f}) on the holdout: shipping "
                     f"{best_member} alone")
    shipped_weights = candidates[shipped]
    calibrator = fitted[shipped]

    say("measuring feature-importance stability across time-ordered folds")
    stability = _stability(data, val_end, transformer, params, xgb_iterations, settings)

    reference = _reference(members, shipped_weights, calibrator, np.vstack([X_val, X_ho]), xgb,
                           data.time_text(data.time_key[tr_end]), data.time_text(data.time_key[-1]))
    model = ScoringModel(
        name=settings.name, plan=data.plan, transformer=transformer, members=members, weights=shipped_weights,
        calibrator=calibrator, reference=reference, top_reasons=settings.top_reasons,
        reason_method=settings.reason_method, xgb_iterations=xgb_iterations,
    )
    _for_scoring(model)
    p_ho, raw_ho, _ = model.probability_from_matrix(X_ho)
    score_ho = np.floor(midrank_share(reference.raw, raw_ho) * 100).astype(np.int64)
    windows = {name: Window(data.time_text(data.time_key[sl][0]), data.time_text(data.time_key[sl][-1]),
                            len(data.y[sl]), int(data.y[sl].sum()))
               for name, sl in {**parts, "calibration": cal}.items()}
    say("done")
    return TrainingResult(
        model=model, metrics=comparison[shipped], comparison=comparison,
        weights={blend_name: blend_weights, "seed_blend": dict(SEED_WEIGHTS), "shipped": shipped_weights},
        shipped=shipped, stability=stability, windows=windows,
        rows={"used": n, **{f"dropped_{k}": v for k, v in data.dropped.items()}},
        data_hash=data.data_hash, params=params,
        calibration={"method": calibrator.method, "rows": calibrator.n_rows},
        threshold_shares={f"{k} (score >= {v:g})": float((score_ho >= v).mean()) for k, v in settings.thresholds.items()},
        notes=notes, warnings=data.warnings,
        holdout=data.frame.iloc[parts["holdout"]].reset_index(drop=True), holdout_y=y_ho,
        holdout_probability=p_ho, holdout_score=score_ho,
        calibration_curve=calibration_curve_bins(y_ho, p_ho),
    )


def _auc_key(m: Metrics) -> float:
    return -1.0 if np.isnan(m.auc) else m.auc


def _xgb_iterations(xgb: XGBClassifier) -> int:
    best = getattr(xgb, "best_iteration", None)
    if best is not None and xgb.get_params().get("early_stopping_rounds"):
        return int(best) + 1
    return int(xgb.get_booster().num_boosted_rounds())


def _for_scoring(model: ScoringModel) -> None:
    """Scoring is single-threaded per member: the daemon and API run several batches at once, and one
    lead through a thread pool costs more than it saves."""
    for member in model.members.values():
        if hasattr(member, "n_jobs"):
            member.set_params(n_jobs=1)


def _reference(members: dict[str, Any], weights: dict[str, float], calibrator: Any, X_ref: np.ndarray,
               xgb: XGBClassifier, start: str, end: str) -> Reference:
    probs = predict_members(members, X_ref)
    raw = blend_raw(probs, weights)
    margin = xgb.predict(X_ref, output_margin=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column has NaN deciles, as it should
        deciles = np.nanquantile(X_ref.astype(np.float64), np.linspace(0, 1, 11), axis=0)
    return Reference(
        raw=np.sort(raw), members={k: np.sort(v) for k, v in probs.items()}, xgb_margin=np.sort(margin),
        feature_deciles=deciles, probability_deciles=np.quantile(calibrator.predict(raw), np.linspace(0, 1, 11)),
        n=len(raw), window=(start, end),
    )


def _stability(data: LabelledData, pre_end: int, transformer: FeatureTransformer, params: dict[str, dict[str, Any]],
               iterations: int, settings: ScoringConfig) -> ImportanceStability:
    """XGBoost refitted on TimeSeriesSplit folds of the pre-holdout leads; gain importance per feature."""
    frame, y = data.frame.iloc[:pre_end], data.y[:pre_end]
    xgb_params = {k: v for k, v in params["xgboost"].items() if k != "early_stopping_rounds"}
    xgb_params["n_estimators"] = max(1, iterations)
    n_feat = len(data.plan.features)
    importances: list[np.ndarray] = []
    aucs: list[float] = []
    for tr, te in TimeSeriesSplit(n_splits=settings.cv_folds).split(frame):
        if y[tr].min() == y[tr].max():
            continue
        fold_tf = clone(transformer)
        X_tr = fold_tf.fit_transform(frame.iloc[tr], y[tr])
        model = XGBClassifier(**xgb_params).fit(X_tr, y[tr])
        gains = model.get_booster().get_score(importance_type="total_gain")
        per_col = np.array([gains.get(f"f{i}", 0.0) for i in range(X_tr.shape[1])])
        per_feature = np.bincount(fold_tf.output_source_, weights=per_col, minlength=n_feat)
        importances.append(per_feature)
        if y[te].min() != y[te].max():
            aucs.append(float(roc_auc_score(y[te], model.predict_proba(fold_tf.transform(frame.iloc[te]))[:, 1])))
    return importance_stability(importances, [f.name for f in data.plan.features], aucs)
