"""Batch scoring: calibrated probability, a 0-100 score, confidence and reasons for each lead.

Meaning of the outputs (what the CRM shows):

- `probability`: the calibrated chance that the lead converts (the blend, calibrated on the most recent
  validation leads).
- `score` (integer 0-100): the lead's percentile among the leads the model saw at training time (its
  validation and holdout leads, none of which a member trained on), ranked by the blend. A score of s
  means the lead ranks above s% of those leads, so `score >= 80` selects the top 20% and `score >= 60`
  the top 40% as long as the mix of incoming leads is like the training window's; a share that moves
  away from 20% / 40% is drift. Scores rise with probability (the calibration is monotone).
- `confidence` (0-1): member agreement x input completeness. Agreement is 1 minus the spread (max - min)
  of the three members' own percentiles for the lead; completeness is the share of the model's input
  columns the lead has. 1 means every member ranks the lead alike and nothing was missing.
- `reasons`: the top features by XGBoost TreeSHAP, as sentences ("Credit score 760: +9 points"); see
  scoring.explain for what a point is. They explain the XGBoost member, also when the shipped blend gives
  it little weight (the decided design: TreeSHAP from XGBoost's own pred_contribs).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.explain import Reason, contributions, format_value, group_contributions, to_points
from scoring.explain import top_reasons as pick_reasons
from scoring.model import ScoringModel, midrank_share
from scoring.parsing import SMALL_BATCH


@dataclass
class ScoredBatch:
    """Per-lead results of one `score` call, as arrays in the order of the input rows."""

    lead_id: np.ndarray
    probability: np.ndarray
    score: np.ndarray
    confidence: np.ndarray
    model_version: str
    reason_text: list[list[str]]
    reason_feature: np.ndarray  # (n, k) feature index into plan.features
    contribution: np.ndarray  # (n, n_features) TreeSHAP log-odds per feature
    points: np.ndarray  # (n, n_features) score points per feature
    member_probability: dict[str, np.ndarray]
    completeness: np.ndarray
    agreement: np.ndarray
    feature_names: list[str]
    warnings: list[str] = field(default_factory=list)
    _model: ScoringModel | None = field(default=None, repr=False)
    _clean: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.probability)

    def reasons(self, i: int) -> list[Reason]:
        """The top reasons of lead `i` with their raw numbers."""
        assert self._model is not None and self._clean is not None
        feats = self._model.plan.features
        out = []
        for slot, j in enumerate(self.reason_feature[i]):
            f = feats[j]
            out.append(Reason(f.name, f.label, format_value(f, self._clean[f.name][i]),
                              float(self.contribution[i, j]), float(self.points[i, j]), self.reason_text[i][slot]))
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per lead: lead_id, probability, score, confidence, model_version, reasons (list of text)."""
        return pd.DataFrame({
            "lead_id": self.lead_id,
            "probability": np.round(self.probability, 6),
            "score": self.score,
            "confidence": np.round(self.confidence, 4),
            "model_version": self.model_version,
            "reasons": self.reason_text,
        })


def score(model: ScoringModel, frame: pd.DataFrame, *, reasons: bool = True,
          top_reasons: int | None = None, reason_method: str | None = None) -> ScoredBatch:
    """Score every row of `frame` (canonical or the model's own columns); missing or malformed values never raise."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("score() takes a pandas DataFrame of leads (one row per lead)")
    if len(frame) == 0:
        return _empty(model)
    batch = model.transformer.transform_details(frame)
    X = batch.matrix
    # the API's few leads: XGBoost's C calls without the Python wrapper's per-call checks (same numbers)
    fast = model.fast_booster() if len(X) <= SMALL_BATCH else None
    method = reason_method or getattr(model, "reason_method", "treeshap")
    known: dict[str, np.ndarray] = {}
    contrib = None
    if reasons and fast is not None:
        known["xgboost"], contrib = fast.proba_and_contributions(X, approximate=method == "approximate")
    probability, raw, members = model.probability_from_matrix(X, fast, known)
    ref = model.reference
    score_ = np.clip(np.floor(midrank_share(ref.raw, raw) * 100.0), 0, 100).astype(np.int64)
    shares = np.column_stack([midrank_share(ref.members[n], members[n]) for n in members])
    agreement = 1.0 - (shares.max(axis=1) - shares.min(axis=1))
    completeness = batch.clean.completeness
    confidence = agreement * completeness
    n_feat = len(model.plan.features)
    if reasons:
        if contrib is None:
            contrib = contributions(model.members["xgboost"], X, model.xgb_iterations,
                                    approximate=method == "approximate")
        per_feature, bias = group_contributions(contrib, model.transformer.output_source_, n_feat)
        points = to_points(per_feature, bias, ref.xgb_margin)
        k = model.top_reasons if top_reasons is None else top_reasons
        order, texts = pick_reasons(model.plan, batch.clean.values, per_feature, points, k)
    else:
        per_feature = points = np.zeros((len(frame), n_feat))
        order, texts = np.zeros((len(frame), 0), dtype=np.int64), [[] for _ in range(len(frame))]
    id_col = model.plan.id_column
    warnings: list[str] = []
    if id_col in frame.columns:
        lead_id = _lead_ids(frame, id_col)
    else:
        lead_id = np.array([str(i) for i in range(len(frame))], dtype=object)
        warnings.append(f"no '{id_col}' column: leads are numbered by row")
    if batch.clean.absent_columns:
        warnings.append("column(s) missing from the data, scored as missing: " + ", ".join(batch.clean.absent_columns))
    warnings += [f"{col}: {p.n_bad} value(s) not understood, e.g. {', '.join(p.examples)}; scored as missing"
                 for col, p in batch.clean.unreadable.items()]
    return ScoredBatch(
        lead_id=lead_id, probability=probability, score=score_, confidence=confidence,
        model_version=model.version or "unregistered", reason_text=texts, reason_feature=order,
        contribution=per_feature, points=points, member_probability=members, completeness=completeness,
        agreement=agreement, feature_names=[f.name for f in model.plan.features], warnings=warnings,
        _model=model, _clean=batch.clean.values,
    )



def _lead_ids(frame: pd.DataFrame, id_col: str) -> np.ndarray:
    """frame[id_col].astype(str) as an object array; a few leads' text or empty ids without pandas' astype
    (a Series and a string array per call: a tenth of a lead's scoring)."""
    where = frame.columns.get_loc(id_col)
    if len(frame) <= SMALL_BATCH and isinstance(where, int):
        cells = frame.to_numpy(dtype=object)[:, where].tolist()
        if all(type(v) is str or v is None for v in cells):
            empty = _none_as_text()
            return np.array([empty if v is None else v for v in cells], dtype=object)
    return frame[id_col].astype(str).to_numpy(dtype=object)


_NONE_AS_TEXT: list[object] = []


def _none_as_text() -> object:
    """What pandas' astype(str) makes of None: NaN since pandas 3 (its str dtype), 'None' before; asked once."""
    if not _NONE_AS_TEXT:
        _NONE_AS_TEXT.append(pd.Series([None], dtype=object).astype(str).to_numpy(dtype=object)[0])
    return _NONE_AS_TEXT[0]


def _empty(model: ScoringModel) -> ScoredBatch:
    n_feat = len(model.plan.features)
    nothing = np.zeros(0)
    return ScoredBatch(
        lead_id=np.zeros(0, dtype=object), probability=nothing, score=np.zeros(0, dtype=np.int64), confidence=nothing,
        model_version=model.version or "unregistered", reason_text=[], reason_feature=np.zeros((0, 0), dtype=np.int64),
        contribution=np.zeros((0, n_feat)), points=np.zeros((0, n_feat)),
        member_probability={name: nothing for name in model.members}, completeness=nothing, agreement=nothing,
        feature_names=[f.name for f in model.plan.features], _model=model, _clean={},
    )
