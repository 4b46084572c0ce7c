"""Checks and preparation of labelled lead data: label, time order, label maturity, usable features.

Every refusal is a ScoringInputError (exit code 2) that names the column and what to do.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from config.sections.scoring import ScoringConfig
from scoring import parsing
from scoring.errors import ScoringInputError
from scoring.features import FeaturePlan, clean_inputs, plan_features
from scoring.rates import RateSeries

_NS_PER_DAY = 86_400 * 10**9
MAX_BAD_TIME_SHARE = 0.01  # more unreadable timestamps than this: the time column is wrong, not dirty
MAX_BAD_NUMBER_SHARE = 0.5  # a numeric feature mostly made of text is listed under the wrong kind


@dataclass
class LabelledData:
    """Labelled leads sorted by time, ready to split."""

    frame: pd.DataFrame
    y: np.ndarray
    time_key: np.ndarray  # ns since epoch (datetime) or the number (numeric), ascending
    plan: FeaturePlan
    dropped: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    data_hash: str = ""

    def time_text(self, key: float) -> str:
        """A time key as people read it (ISO date-time, or the number)."""
        if self.plan.time_kind == "datetime":
            return pd.Timestamp(int(key), tz="UTC").isoformat()
        return f"{key:g}"


def _columns_hint(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    shown = ", ".join(map(str, cols[:12])) + (", ..." if len(cols) > 12 else "")
    return f"columns in the file: {shown}" if cols else "the file has no columns"


def labels(frame: pd.DataFrame, settings: ScoringConfig) -> parsing.Parsed:
    """The 0/1 label per row (NaN where empty); refuses a missing or wrongly typed label column."""
    spec = settings.features
    if spec.label not in frame.columns:
        raise ScoringInputError(
            f"label column '{spec.label}' not found ({_columns_hint(frame)}); set scoring.features.label")
    parsed = parsing.parse_label(frame[spec.label], spec.positive_value, parsing.tokens(spec.missing_tokens))
    if parsed.n_bad:
        raise ScoringInputError(
            f"label column '{spec.label}': {parsed.n_bad} value(s) are not true/false, e.g. "
            f"{', '.join(map(repr, parsed.examples))}; fix them, or set scoring.features.positive_value to the "
            "value that means converted")
    return parsed


def prepare(frame: pd.DataFrame, settings: ScoringConfig, *, rates: RateSeries | None = None,
            as_of: datetime | None = None, maturity_days: int | None = None) -> LabelledData:
    """Validate labelled data and sort it by time.

    Leads without a label or a time are dropped (counted). With `maturity_days`, every lead younger
    than that at `as_of` (default: the latest lead's time) is left out: its label is not final yet.
    Converted young leads go too: keeping only the ones whose outcome arrived early would make the most
    recent leads look better than they are, exactly where calibration and the holdout look.
    """
    spec = settings.features
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise ScoringInputError("the data has no rows")
    y_parsed = labels(frame, settings)
    if spec.time_column not in frame.columns:
        raise ScoringInputError(
            f"time column '{spec.time_column}' not found ({_columns_hint(frame)}); set scoring.features.time_column "
            "(dates, or a number that grows with arrival such as a lead number)")
    time_key, time_kind, t_parsed = parsing.parse_time(frame[spec.time_column])
    non_empty = int((~np.isnan(time_key)).sum()) + t_parsed.n_bad
    if non_empty == 0:
        raise ScoringInputError(f"time column '{spec.time_column}' is empty")
    if t_parsed.n_bad > MAX_BAD_TIME_SHARE * non_empty:
        raise ScoringInputError(
            f"time column '{spec.time_column}': {t_parsed.n_bad} of {non_empty} values are not dates or numbers, e.g. "
            f"{', '.join(map(repr, t_parsed.examples))}")
    warnings: list[str] = []
    if t_parsed.n_bad:
        warnings.append(f"time column '{spec.time_column}': {t_parsed.n_bad} unreadable value(s) dropped")
    y = y_parsed.values
    keep = ~np.isnan(y) & ~np.isnan(time_key)
    dropped = {"no_label": int(np.isnan(y).sum()), "no_time": int((~np.isnan(y) & np.isnan(time_key)).sum()),
               "not_matured": 0}
    if maturity_days and time_kind == "datetime":
        ref = pd.Timestamp(as_of).value if as_of is not None else np.nanmax(time_key[keep]) if keep.any() else 0
        young = keep & (time_key > ref - maturity_days * _NS_PER_DAY)
        dropped["not_matured"] = int(young.sum())
        keep &= ~young
    if dropped["not_matured"]:
        warnings.append(f"{dropped['not_matured']} lead(s) younger than {maturity_days} days left out: "
                        "their outcome is not final yet (learning.conversion_window_days; --as-of)")
    order = np.flatnonzero(keep)[np.argsort(time_key[keep], kind="stable")]
    data = frame.iloc[order].reset_index(drop=True)
    y_kept, t_kept = y[order], time_key[order]
    n = len(data)
    if n < settings.min_training_rows:
        raise ScoringInputError(
            f"only {n} usable labelled lead(s) (with a label and a time); at least {settings.min_training_rows} are "
            "needed (scoring.min_training_rows)")
    positives = int(y_kept.sum())
    if positives == 0 or positives == n:
        only = "converted" if positives else "not converted"
        raise ScoringInputError(f"label column '{spec.label}' has one class only (every lead is {only}); "
                                "a model needs both converted and unconverted leads")
    plan = plan_features(spec, time_kind=time_kind, has_rates=rates is not None)
    warnings += _check_features(data, plan)
    return LabelledData(data, y_kept, t_kept, plan, dropped, warnings, _data_hash(data, plan))


def _check_features(data: pd.DataFrame, plan: FeaturePlan) -> list[str]:
    """Refuse unusable features: an explicitly listed column that is absent, empty or of the wrong type."""
    warnings: list[str] = []
    clean = clean_inputs(data, plan, None)
    explicit = not plan.default_set
    listed = {f.name for f in plan.features if not f.derived}
    inputs = plan.input_columns
    present_share = clean.present.mean(axis=0) if len(inputs) else np.zeros(0)
    for col in clean.absent_columns:
        if col == plan.time_column:
            continue
        if explicit and col in listed:
            raise ScoringInputError(f"feature column '{col}' is listed in scoring.features but not in the data "
                                    f"({_columns_hint(data)})")
        warnings.append(f"column '{col}' is not in the data; it counts as missing for every lead")
    for j, col in enumerate(inputs):
        if col in clean.absent_columns:
            continue
        parsed = clean.unreadable.get(col)
        readable = int(clean.present[:, j].sum())
        if plan.raw_kinds[col] == "numeric" and parsed is not None and parsed.n_bad > MAX_BAD_NUMBER_SHARE * (
                parsed.n_bad + readable):
            raise ScoringInputError(
                f"feature column '{col}' should hold numbers but {parsed.n_bad} of {parsed.n_bad + readable} filled "
                f"values are not numbers, e.g. {', '.join(map(repr, parsed.examples))}; list it under "
                "scoring.features.categorical or fix the column mapping")
        if present_share[j] == 0:
            if explicit and col in listed:
                raise ScoringInputError(f"feature column '{col}' is empty in every row; remove it from "
                                        "scoring.features or fill it")
            warnings.append(f"column '{col}' is empty in every row; it counts as missing")
        elif parsed is not None:
            warnings.append(f"column '{col}': {parsed.n_bad} value(s) not understood, e.g. "
                            f"{', '.join(parsed.examples)}; they count as missing")
    if len(inputs) and not present_share.any():
        raise ScoringInputError("every feature column is empty or missing; check the column names "
                                f"({_columns_hint(data)}) against scoring.features")
    return warnings


def _data_hash(data: pd.DataFrame, plan: FeaturePlan) -> str:
    """sha256 of the columns the model learned from (inputs, label, time), independent of row labels."""
    cols = [c for c in [*plan.raw_kinds, plan.label, plan.time_column] if c in data.columns]
    cols = list(dict.fromkeys(cols))
    hashed = pd.util.hash_pandas_object(data[cols].astype(str), index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(cols).encode())
    return digest.hexdigest()
