"""Data-quality completeness: the share of each canonical field group filled, per lead and per batch.

Thresholds are compliance.data_quality (the seed's: contact 100%, financial 80%, behaviour 60%,
property 70%). A value counts as filled when it is not null and not a blank placeholder string; a zero
count (0 website sessions) is data and counts. Low completeness is advisory: it adds a QUALITY_* reason
and lowers the scoring confidence, it never blocks a lead.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Final, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
# the scalar test pd.isna() applies to each element of an object column (isnaobj); pd.isna(list) is an array
from pandas._libs.missing import checknull

from compliance.columns import ColumnArray, column_array, column_positions, raw_items
from compliance.reasons import Reason
from compliance.values import BLANK_WORDS
from config.canonical import CANONICAL_FIELDS
from config.sections.compliance import DataQualityConfig

FIELD_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "contact": ("first_name", "last_name", "email", "phone", "state", "zip_code"),
    "financial": ("annual_income", "monthly_debt", "credit_score", "employment_status", "employment_tenure_months"),
    "behaviour": ("website_sessions", "page_views", "calculator_uses", "email_opens", "email_clicks"),
    "property": ("loan_amount", "loan_purpose", "loan_type", "property_type", "property_value", "down_payment",
                 "timeline"),
}
GROUP_REASONS: Final[dict[str, Reason]] = {
    "contact": Reason.QUALITY_CONTACT_LOW,
    "financial": Reason.QUALITY_FINANCIAL_LOW,
    "behaviour": Reason.QUALITY_BEHAVIOUR_LOW,
    "property": Reason.QUALITY_PROPERTY_LOW,
}
_FIELDS: Final[tuple[str, ...]] = tuple(f for fields in FIELD_GROUPS.values() for f in fields)
_GROUP_SIZES: Final[np.ndarray] = np.array([len(fields) for fields in FIELD_GROUPS.values()])
_GROUP_STARTS: Final[np.ndarray] = np.concatenate(([0], np.cumsum(_GROUP_SIZES)[:-1]))
assert all(f in CANONICAL_FIELDS for fields in FIELD_GROUPS.values() for f in fields)


@dataclass(frozen=True)
class GroupQuality:
    """One field group over a batch: mean completeness, share of leads at or above the threshold."""

    group: str
    threshold: float
    mean_completeness: float
    share_passing: float
    passed: bool
    field_fill_rates: dict[str, float]


@dataclass(frozen=True)
class QualityReport:
    """Per-lead completeness (`shares`: group -> float per lead, input order) and per-batch groups."""

    shares: dict[str, np.ndarray]
    index: pd.Index
    groups: dict[str, GroupQuality]
    n_leads: int

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.groups.values())

    @cached_property
    def per_lead(self) -> pd.DataFrame:
        """One column per group, index as the input (built on first use: check_leads needs only `shares`)."""
        return pd.DataFrame(self.shares, index=self.index)

    def lead_reasons(self, config: DataQualityConfig) -> list[tuple[Reason, ...]]:
        """QUALITY_* reasons for each lead, in input order."""
        low = {g: (self.shares[g] < _threshold(config, g) - 1e-9).tolist() for g in FIELD_GROUPS}
        return [tuple(GROUP_REASONS[g] for g in FIELD_GROUPS if low[g][i]) for i in range(self.n_leads)]


def _threshold(config: DataQualityConfig, group: str) -> float:
    return float(getattr(config, group))


def _text_blank(value: Any) -> bool:
    """A non-null value that reads as a blank placeholder once turned to text the way
    `Series.astype("string")` turns it (bytes decoded, floats by str(), others by format())."""
    if isinstance(value, str):
        word = value
    elif isinstance(value, bytes):
        word = value.decode()
    elif isinstance(value, (float, np.floating)):
        word = str(value)
    else:
        word = f"{value}"
    return word.strip().lower() in BLANK_WORDS


def filled_values(values: ColumnArray) -> np.ndarray:
    """bool per row of one column's array (see compliance.columns): not null and not a blank placeholder.

    Same answer as `notna() & ~astype("string").str.strip().str.lower().isin(BLANK_WORDS)` on the Series
    (text columns only), without building five pandas objects a column.
    """
    kind = values.dtype.kind if isinstance(values, np.ndarray) else "extension"
    if kind in ("b", "i", "u"):
        return np.ones(values.shape[0], dtype=bool)  # integers and bools are never null
    if kind == "f":
        return ~np.isnan(values)
    present = ~np.asarray(pd.isna(values), dtype=bool)
    if isinstance(values.dtype, pd.StringDtype) or values.dtype == object:
        blank = [ok and (v.strip().lower() in BLANK_WORDS if type(v) is str else _text_blank(v))
                 for ok, v in zip(present.tolist(), raw_items(values))]
        if any(blank):
            present &= ~np.array(blank, dtype=bool)
    return present


def _filled_item(value: Any) -> bool:
    """One element of an object column: not null and not a blank placeholder (as filled_values says)."""
    kind = type(value)
    if kind is str:
        return value.strip().lower() not in BLANK_WORDS
    if value is None:
        return False
    if kind is bool or kind is int or kind is datetime:  # never null, and their text is never a placeholder
        return True
    if kind is float:
        return value == value  # str() of a non-NaN float is never a placeholder word
    return not checknull(value) and not _text_blank(value)


def filled_items(items: Iterable[Any]) -> list[bool]:
    """filled_values() of an object column, given its raw items (see compliance.columns.raw_items)."""
    return [_filled_item(v) for v in items]


def filled_list(values: ColumnArray) -> list[bool]:
    """filled_values(values).tolist(), value by value where the array is numpy's: for a few rows numpy's
    per-call cost is most of the time."""
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind == "O":
            return filled_items(values.tolist())
        if kind in ("b", "i", "u"):
            return [True] * values.shape[0]
        if kind == "f":
            return [v == v for v in values.tolist()]
    return filled_values(values).tolist()


def filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    """bool per row: the column is present and holds a non-blank value."""
    position = column_positions(frame).get(column)
    if position is None:
        return np.zeros(len(frame), dtype=bool)
    return filled_values(column_array(frame, position))


def assess(leads: pd.DataFrame, config: DataQualityConfig) -> QualityReport:
    """Completeness of every lead and of the batch against the configured thresholds."""
    positions = column_positions(leads)
    arrays = {f: column_array(leads, positions[f]) for f in _FIELDS if f in positions}
    return assess_arrays(arrays, len(leads), leads.index, config)


def lead_shares(fills: Mapping[str, Sequence[bool]], n: int) -> dict[str, list[float]]:
    """Per-lead completeness of each group from per-field fills (a field not in `fills` is missing): what
    assess_arrays(...).shares holds, as lists, without numpy (a small batch's path)."""
    shares: dict[str, list[float]] = {}
    for group, fields in FIELD_GROUPS.items():
        columns = [fills[f] for f in fields if f in fills]
        size = len(fields)
        # exact counts over the group size: the same double numpy's counts / sizes gives
        shares[group] = [sum(row) / size for row in zip(*columns)] if columns else [0.0] * n
    return shares


def share_reasons(shares: Mapping[str, Sequence[float]], n: int,
                  config: DataQualityConfig) -> list[tuple[Reason, ...]]:
    """QualityReport.lead_reasons for per-lead shares given as lists (see lead_shares)."""
    limits = [(GROUP_REASONS[g], shares[g], _threshold(config, g) - 1e-9) for g in FIELD_GROUPS]
    return [tuple(reason for reason, share, limit in limits if share[i] < limit) for i in range(n)]


def assess_arrays(arrays: Mapping[str, ColumnArray], n: int, index: pd.Index,
                  config: DataQualityConfig) -> QualityReport:
    """assess() on columns already read (compliance.columns.column_array; a field not in `arrays` is
    missing) of a frame of `n` rows with this `index`."""
    missing = np.zeros(n, dtype=bool)
    fills = [filled_values(arrays[f]) if f in arrays else missing for f in _FIELDS]
    thresholds = [_threshold(config, g) for g in FIELD_GROUPS]
    groups: dict[str, GroupQuality] = {}
    if not n:
        shares = {g: np.empty(0) for g in FIELD_GROUPS}
        for (group, fields), threshold in zip(FIELD_GROUPS.items(), thresholds):
            groups[group] = GroupQuality(group, threshold, 1.0, 1.0, 1.0 >= threshold - 1e-9,
                                         {f: 1.0 for f in fields})
        return QualityReport(shares, index, groups, n)
    # one table and a few whole-table reductions instead of ~10 numpy calls a group (a one-lead batch
    # spends its time in call overhead). Every number is the one np.mean gave group by group: a share is
    # (exact count) / k, a rate or a passing share (exact count) / n, and each group's mean is still
    # np.mean over that group's contiguous row of shares
    table = np.column_stack(fills)
    counts = np.add.reduceat(table, _GROUP_STARTS, axis=1, dtype=np.int64)
    share_rows = np.ascontiguousarray((counts / _GROUP_SIZES).T)
    passing = (np.count_nonzero(share_rows >= np.array(thresholds)[:, None] - 1e-9, axis=1) / n).tolist()
    rates = dict(zip(_FIELDS, (np.count_nonzero(table, axis=0) / n).tolist()))
    shares = {}
    for j, ((group, fields), threshold) in enumerate(zip(FIELD_GROUPS.items(), thresholds)):
        share = share_rows[j]
        mean = float(share.mean())
        shares[group] = share
        groups[group] = GroupQuality(group, threshold, mean, passing[j], mean >= threshold - 1e-9,
                                     {f: rates[f] for f in fields})
    return QualityReport(shares, index, groups, n)
