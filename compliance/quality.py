"""Data-quality completeness: the share of each canonical field group filled, per lead and per batch.

Thresholds are compliance.data_quality (the seed's: contact 100%, financial 80%, behaviour 60%,
property 70%). A value counts as filled when it is not null and not a blank placeholder string; a zero
count (0 website sessions) is data and counts. Low completeness is advisory: it adds a QUALITY_* reason
and lowers the scoring confidence, it never blocks a lead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

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
    """Per-lead completeness (DataFrame: one column per group, index as the input) and per-batch groups."""

    per_lead: pd.DataFrame
    groups: dict[str, GroupQuality]
    n_leads: int

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.groups.values())

    def lead_reasons(self, config: DataQualityConfig) -> list[tuple[Reason, ...]]:
        """QUALITY_* reasons for each lead, in input order."""
        low = {g: self.per_lead[g].to_numpy() < _threshold(config, g) - 1e-9 for g in FIELD_GROUPS}
        return [tuple(GROUP_REASONS[g] for g in FIELD_GROUPS if low[g][i]) for i in range(self.n_leads)]


def _threshold(config: DataQualityConfig, group: str) -> float:
    return float(getattr(config, group))


def filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    """bool per row: the column is present and holds a non-blank value."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    series = frame[column]
    present = series.notna().to_numpy(dtype=bool)
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        as_text = series.astype("string").str.strip().str.lower()
        present = present & ~as_text.isin(BLANK_WORDS).fillna(True).to_numpy(dtype=bool)
    return present


def assess(leads: pd.DataFrame, config: DataQualityConfig) -> QualityReport:
    """Completeness of every lead and of the batch against the configured thresholds."""
    per_lead: dict[str, np.ndarray] = {}
    groups: dict[str, GroupQuality] = {}
    for group, fields in FIELD_GROUPS.items():
        fills = {f: filled(leads, f) for f in fields}
        share = np.mean(np.column_stack(list(fills.values())), axis=1) if len(leads) else np.empty(0)
        per_lead[group] = share
        threshold = _threshold(config, group)
        mean = float(share.mean()) if len(leads) else 1.0
        passing = float((share >= threshold - 1e-9).mean()) if len(leads) else 1.0
        groups[group] = GroupQuality(group, threshold, mean, passing, mean >= threshold - 1e-9,
                                     {f: float(v.mean()) if len(leads) else 1.0 for f, v in fills.items()})
    return QualityReport(pd.DataFrame(per_lead, index=leads.index), groups, len(leads))
