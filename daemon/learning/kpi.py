"""KPIs of the model and of the business, from settled leads (see outcomes.py for why settled only).

Model KPIs, per model version, on the settled leads that version scored: AUC, PR AUC, precision, recall
and F1 at the operating threshold (score >= routing.thresholds.priority_score by default: the leads that
get priority treatment), Brier score, expected calibration error, top-decile precision and lift at 20%
(scoring.metrics computes them, the same way as at training time).

Business KPIs over the period: conversion rate by score decile, scored vs control conversion lift, cost
per acquisition, revenue per lead, speed to lead (creation to first assignment, p50/p95), officer
productivity (conversions per officer per week) and load balance (spread of leads per officer).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from scoring.metrics import calibration_curve_bins, compute_metrics

from daemon.learning.ab import CONTROL_ARM
from daemon.learning.data import LearningData
from daemon.learning.errors import LearningInputError
from daemon.learning.outcomes import CONVERTED, LabelSummary, label_leads, settled_leads, summarize_labels

MIN_TREND_AUC_LEADS = 50  # a month's AUC on fewer settled leads is noise; not drawn
GAIN_POINTS = tuple(round(0.05 * i, 2) for i in range(1, 21))  # shares of leads on the lift chart


def clean(value: Any) -> Any:
    """JSON-ready: NaN/inf -> None, numpy scalars -> Python, tuples -> lists, recursively."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ModelKpis:
    """One model version on the settled leads it scored (None where undefined, with a message)."""

    model_version: str
    n: int
    positives: int
    base_rate: float | None = None
    auc: float | None = None
    pr_auc: float | None = None
    threshold_score: int = 80
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    brier: float | None = None
    ece: float | None = None
    top_decile_precision: float | None = None
    lift_at_20: float | None = None
    calibration: list[tuple[float, float, int]] = field(default_factory=list)  # (mean predicted, observed, n)
    gains: list[tuple[float, float]] = field(default_factory=list)  # (share of leads, share of conversions)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return clean(asdict(self))


@dataclass(frozen=True)
class DecileRow:
    """Conversion among settled leads whose score fell in one decile (0 = scores 0-9, 9 = 90-100)."""

    decile: int
    scores: str
    leads: int
    conversions: int
    rate: float | None


@dataclass(frozen=True)
class OfficerRow:
    """One officer's leads and conversions over the period."""

    agent_id: str
    leads: int
    conversions: int
    conversions_per_week: float


@dataclass(frozen=True)
class BusinessKpis:
    """The business figures of the period; None where not measurable, with a message saying why."""

    leads: int
    settled_leads: int
    conversions: int
    conversion_rate: float | None
    deciles: list[DecileRow]
    scored_leads: int
    scored_conversion: float | None
    control_leads: int
    control_conversion: float | None
    scored_vs_control_lift: float | None
    mean_lead_cost: float | None
    cost_per_acquisition: float | None
    revenue_per_lead: float | None
    revenue_per_conversion: float | None
    leads_per_month: float | None
    assigned_leads: int
    speed_to_lead_p50_minutes: float | None
    speed_to_lead_p95_minutes: float | None
    weeks: float
    officers: list[OfficerRow]
    conversions_per_officer_week: float | None
    load_cv: float | None            # std / mean of leads per officer: 0 = perfectly even
    load_max_over_mean: float | None  # busiest officer's leads / the mean
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return clean(asdict(self))


@dataclass(frozen=True)
class TrendRow:
    """One month of lead creation (a cohort): settled leads, their conversion and the model's AUC."""

    month: str
    leads: int
    settled: int
    conversions: int
    rate: float | None
    auc: float | None


@dataclass(frozen=True)
class KpiReport:
    """Everything `leadpilot kpi` reports for one period."""

    as_of: str
    period_start: str
    period_end: str
    window_days: int
    threshold_score: int
    labels: LabelSummary
    models: list[ModelKpis]
    business: BusinessKpis
    trend: list[TrendRow]
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return clean({
            "as_of": self.as_of, "period_start": self.period_start, "period_end": self.period_end,
            "window_days": self.window_days, "threshold_score": self.threshold_score,
            "labels": self.labels.to_dict(), "models": [m.to_dict() for m in self.models],
            "business": self.business.to_dict(), "trend": [asdict(t) for t in self.trend],
            "messages": list(self.messages),
        })

    def headline(self) -> dict[str, Any]:
        """The figures worth keeping in a KPI snapshot's trend (small: no tables)."""
        b = self.business
        out: dict[str, Any] = {
            "leads": b.leads, "settled_leads": b.settled_leads, "conversion_rate": b.conversion_rate,
            "scored_vs_control_lift": b.scored_vs_control_lift, "cost_per_acquisition": b.cost_per_acquisition,
            "revenue_per_lead": b.revenue_per_lead, "speed_to_lead_p50_minutes": b.speed_to_lead_p50_minutes,
            "speed_to_lead_p95_minutes": b.speed_to_lead_p95_minutes,
            "conversions_per_officer_week": b.conversions_per_officer_week, "load_cv": b.load_cv,
            # what `leadpilot roi --measured` uses
            "leads_per_month": b.leads_per_month, "scored_conversion": b.scored_conversion,
            "control_conversion": b.control_conversion, "revenue_per_conversion": b.revenue_per_conversion,
            "mean_lead_cost": b.mean_lead_cost,
        }
        for m in self.models:
            out[f"model:{m.model_version}"] = {"n": m.n, "auc": m.auc, "ece": m.ece, "lift_at_20": m.lift_at_20}
        return clean(out)


# -- model KPIs -------------------------------------------------------------------------------------

def _none(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def gains_curve(y: np.ndarray, p: np.ndarray, points: Sequence[float] = GAIN_POINTS) -> list[tuple[float, float]]:
    """(share of leads called, share of all conversions among them), calling leads from the highest p down."""
    total = y.sum()
    if len(y) == 0 or total == 0:
        return []
    captured = np.cumsum(y[np.argsort(-p, kind="stable")]) / total
    return [(float(s), float(captured[max(1, math.ceil(s * len(y))) - 1])) for s in points]


def model_kpis(version: str, y: np.ndarray, p: np.ndarray, score: np.ndarray, threshold_score: int) -> ModelKpis:
    """The model KPIs of one version's settled leads (labels `y`, probabilities `p`, 0-100 scores)."""
    n, pos = len(y), int(np.sum(y))
    if n == 0:
        return ModelKpis(version, 0, 0, threshold_score=threshold_score,
                         message=f"model {version} has no scores on settled leads in this period; no model KPIs")
    m = compute_metrics(y, p)
    flagged = score >= threshold_score
    tp = int(np.sum(flagged & (y == 1)))
    precision = tp / int(flagged.sum()) if flagged.any() else None
    recall = tp / pos if pos else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (
        0.0 if precision is not None and recall is not None else None)
    message = None
    if pos in (0, n):
        what = "converted" if pos == n else "did not convert"
        message = (f"model {version}: all {n} settled lead(s) {what}, a single class; AUC and PR AUC need "
                   "both converted and unconverted leads")
    return ModelKpis(
        version, n, pos, base_rate=_none(m.base_rate), auc=_none(m.auc), pr_auc=_none(m.pr_auc),
        threshold_score=threshold_score, precision=precision, recall=recall, f1=f1, brier=_none(m.brier),
        ece=_none(m.ece), top_decile_precision=_none(m.top_decile_precision), lift_at_20=_none(m.lift_at_20),
        calibration=calibration_curve_bins(y.astype(np.float64), np.clip(p, 0, 1)), gains=gains_curve(y, p),
        message=message,
    )


# -- business KPIs ----------------------------------------------------------------------------------

def _rate(x: int, n: int) -> float | None:
    return x / n if n else None


def decile_table(settled: pd.DataFrame) -> list[DecileRow]:
    """Conversion by decile of the lead's first score, over settled leads with a score."""
    scored = settled[pd.to_numeric(settled["score"], errors="coerce").notna()]
    deciles = np.clip(pd.to_numeric(scored["score"]).to_numpy() // 10, 0, 9).astype(int)
    y = scored["label"].to_numpy(dtype=np.float64)
    rows = []
    for d in range(10):
        mask = deciles == d
        n, x = int(mask.sum()), int(y[mask].sum())
        rows.append(DecileRow(d, f"{10 * d}-{10 * d + 9 if d < 9 else 100}", n, x, _rate(x, n)))
    return rows


def _minutes(created: pd.Series, assigned: pd.Series) -> np.ndarray:
    delta = (pd.to_datetime(assigned, utc=True, errors="coerce") - pd.to_datetime(created, utc=True, errors="coerce"))
    return (delta.dt.total_seconds() / 60).to_numpy(dtype=np.float64)


def business_kpis(period: pd.DataFrame, settled: pd.DataFrame, *, weeks: float) -> BusinessKpis:
    """Business KPIs: `period` = every lead of the period, labelled; `settled` = its settled leads."""
    messages: list[str] = []
    n_settled = len(settled)
    y = settled["label"].to_numpy(dtype=np.float64) if n_settled else np.zeros(0)
    conversions = int(y.sum())

    arm = settled["arm"].astype("string") if n_settled else pd.Series([], dtype="string")
    is_control = (arm == CONTROL_ARM).fillna(False).to_numpy(dtype=bool)
    # AI-routed: scored and not in the control arm (with A/B off, no arm is recorded and every scored lead counts)
    has_score = pd.to_numeric(settled["score"], errors="coerce").notna().to_numpy() if n_settled else np.zeros(0, bool)
    is_scored = has_score & ~is_control
    n_c, x_c, n_s, x_s = int(is_control.sum()), int(y[is_control].sum()), int(is_scored.sum()), int(y[is_scored].sum())
    control_rate, scored_rate = _rate(x_c, n_c), _rate(x_s, n_s)
    lift = scored_rate / control_rate - 1 if scored_rate is not None and control_rate else None
    if n_settled and n_c == 0:
        messages.append("no settled leads in the control arm (round robin without AI): scored vs control lift is "
                        "not measured; enable learning.ab_test with a 'control' share to measure it")
    elif n_c and not x_c:
        messages.append(f"the control arm has {n_c} settled lead(s) and no conversion yet: lift not defined")

    cost = pd.to_numeric(settled["lead_cost"], errors="coerce") if n_settled else pd.Series([], dtype=float)
    mean_cost = float(cost.mean()) if cost.notna().any() else None
    if n_settled and mean_cost is None:
        messages.append("no lead costs recorded: cost per acquisition not measured (map the CRM's lead cost field)")
    elif n_settled and cost.isna().any():
        messages.append(f"{int(cost.isna().sum())} of {n_settled} settled lead(s) have no lead cost; "
                        "cost per acquisition uses the mean of the known costs")
    cpa = mean_cost * n_settled / conversions if mean_cost is not None and conversions else None
    value = pd.to_numeric(settled["conversion_value"], errors="coerce") if n_settled else pd.Series([], dtype=float)
    revenue = float(value[settled["label"] == 1].sum()) if n_settled else 0.0
    revenue_per_lead = revenue / n_settled if n_settled else None
    revenue_per_conversion = revenue / conversions if conversions else None

    leads_per_month = len(period) / (weeks * 7 / (365.25 / 12)) if weeks > 0 and len(period) else None

    minutes = _minutes(period["created_at"], period["assigned_at"]) if len(period) else np.zeros(0)
    known = minutes[~np.isnan(minutes)]
    negative = int((known < 0).sum())
    if negative:
        messages.append(f"{negative} assignment(s) dated before their lead's creation (clock skew?) left out of "
                        "speed to lead")
    known = known[known >= 0]
    p50 = float(np.percentile(known, 50)) if known.size else None
    p95 = float(np.percentile(known, 95)) if known.size else None
    if len(period) and np.isnan(minutes).all():
        messages.append("no assignments recorded in this period: speed to lead and load balance not measured")

    officers: list[OfficerRow] = []
    worked = period[period["agent_id"].notna()] if len(period) else period
    if len(worked):
        won = (worked["label_status"] == CONVERTED).to_numpy()
        grouped = pd.DataFrame({"agent_id": worked["agent_id"].astype(str).to_numpy(), "won": won})
        table = grouped.groupby("agent_id")["won"].agg(["size", "sum"]).sort_index()
        officers = [OfficerRow(str(a), int(r["size"]), int(r["sum"]), float(r["sum"]) / weeks if weeks > 0 else 0.0)
                    for a, r in table.iterrows()]
    per_officer_week = float(np.mean([o.conversions_per_week for o in officers])) if officers else None
    loads = np.array([o.leads for o in officers], dtype=np.float64)
    load_cv = float(loads.std() / loads.mean()) if loads.size and loads.mean() > 0 else None
    load_max = float(loads.max() / loads.mean()) if loads.size and loads.mean() > 0 else None
    return BusinessKpis(
        leads=len(period), settled_leads=n_settled, conversions=conversions, conversion_rate=_rate(conversions, n_settled),
        deciles=decile_table(settled) if n_settled else [], scored_leads=n_s, scored_conversion=scored_rate,
        control_leads=n_c, control_conversion=control_rate, scored_vs_control_lift=lift, mean_lead_cost=mean_cost,
        cost_per_acquisition=cpa, revenue_per_lead=revenue_per_lead, revenue_per_conversion=revenue_per_conversion,
        leads_per_month=leads_per_month, assigned_leads=int(known.size), speed_to_lead_p50_minutes=p50,
        speed_to_lead_p95_minutes=p95, weeks=weeks, officers=officers, conversions_per_officer_week=per_officer_week,
        load_cv=load_cv, load_max_over_mean=load_max, messages=messages,
    )


# -- trend ------------------------------------------------------------------------------------------

def monthly_trend(labelled: pd.DataFrame) -> list[TrendRow]:
    """Per month of creation: leads, settled leads, their conversion rate and the first scores' AUC
    (from MIN_TREND_AUC_LEADS scored settled leads of the month)."""
    if not len(labelled):
        return []
    created = pd.to_datetime(labelled["created_at"], utc=True, errors="coerce")
    month = created.dt.strftime("%Y-%m")
    rows = []
    for key in sorted(month.dropna().unique()):
        part = labelled[(month == key).to_numpy()]
        settled = part[part["settled"].to_numpy(dtype=bool)]
        y = settled["label"].to_numpy(dtype=np.float64)
        p = pd.to_numeric(settled["probability"], errors="coerce").to_numpy(dtype=np.float64)
        ok = ~np.isnan(p)
        auc = compute_metrics(y[ok], p[ok]).auc if ok.sum() >= MIN_TREND_AUC_LEADS else float("nan")
        rows.append(TrendRow(str(key), len(part), len(settled), int(y.sum()), _rate(int(y.sum()), len(settled)),
                             _none(auc)))
    return rows


# -- the report -------------------------------------------------------------------------------------

def require_aware(**moments: datetime | None) -> None:
    """Refuse naive datetimes: lead times are UTC, and comparing them with a guess of a zone is wrong."""
    for name, moment in moments.items():
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise LearningInputError(f"{name} {moment.isoformat()} has no time zone; give an aware UTC time")


def compute_kpis(data: LearningData, *, as_of: datetime, window_days: int, threshold_score: int,
                 period_start: datetime | None = None, period_end: datetime | None = None,
                 model_versions: Sequence[str] | None = None) -> KpiReport:
    """Model and business KPIs of the leads created in [period_start, period_end] (default: all, up to as_of).

    `model_versions` names versions to report even if they scored nothing (each then says so); by default
    every version that scored a lead of the period is reported.
    """
    require_aware(as_of=as_of, period_start=period_start, period_end=period_end)
    end = period_end or as_of
    if period_start is not None and period_start > end:
        raise LearningInputError(f"the period starts ({period_start.isoformat()}) after it ends ({end.isoformat()})")
    leads = data.leads
    created = pd.to_datetime(leads["created_at"], utc=True, errors="coerce")
    in_period = (created <= pd.Timestamp(end)) & (created >= pd.Timestamp(period_start) if period_start else True)
    period = leads[in_period.fillna(False).to_numpy(dtype=bool)]
    labelled = label_leads(period, as_of=as_of, window_days=window_days)
    summary = summarize_labels(labelled, as_of=as_of, window_days=window_days)
    settled = settled_leads(labelled)
    messages: list[str] = []
    if summary.message():
        messages.append(str(summary.message()))
    undated = int(created.isna().sum())
    if undated:
        messages.append(f"{undated} lead(s) have no creation time and are left out (no period, no conversion window)")

    start = period_start or (created[in_period].min() if bool(in_period.any()) else end)
    start_dt = pd.Timestamp(start).to_pydatetime()
    weeks = max((end - start_dt).total_seconds() / (7 * 86400), 1 / 7)

    scores = data.scores[data.scores["lead_pk"].isin(period["lead_pk"])]
    versions = list(dict.fromkeys([*(model_versions or []), *sorted(scores["model_version"].dropna().unique())]))
    labels = settled.set_index("lead_pk")["label"]
    models: list[ModelKpis] = []
    for version in versions:
        mine = scores[(scores["model_version"] == version) & scores["lead_pk"].isin(labels.index)]
        y = labels.loc[mine["lead_pk"]].to_numpy(dtype=np.float64)
        p = pd.to_numeric(mine["probability"], errors="coerce").to_numpy(dtype=np.float64)
        s = pd.to_numeric(mine["score"], errors="coerce").to_numpy(dtype=np.float64)
        ok = ~np.isnan(p) & ~np.isnan(s)
        kpis = model_kpis(version, y[ok], p[ok], s[ok], threshold_score)
        if kpis.message:
            messages.append(kpis.message)
        models.append(kpis)
    if not versions and len(period):
        messages.append("no lead of this period has a score yet: no model KPIs")

    business = business_kpis(labelled, settled, weeks=weeks)
    messages += business.messages
    return KpiReport(
        as_of=as_of.isoformat(), period_start=start_dt.isoformat(), period_end=end.isoformat(),
        window_days=window_days, threshold_score=threshold_score, labels=summary, models=models,
        business=business, trend=monthly_trend(labelled), messages=messages,
    )
