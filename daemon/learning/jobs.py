"""The learning loop's scheduled work, wired to the store and the model registry: the KPI job (with drift,
A/B analysis and ROI, snapshot kept) and the retraining check (decision recorded; training via the gate)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.schema import LeadpilotConfig
from config.sections.scoring import ScoringConfig
from config.errors import LeadpilotError as ScoringError
from scoring.features import plan_features

from daemon.learning.ab import AbAnalysis, analyse
from daemon.learning.data import LearningData
from daemon.learning.drift import DriftReport, drift_report
from daemon.learning.kpi import KpiReport, clean, compute_kpis, require_aware
from daemon.learning.outcomes import label_leads, settled_leads
from daemon.learning.report import ReportInputs, render_html
from daemon.learning.retrain import Decision, decide, gather_inputs, new_label_count, training_frame
from daemon.learning.roi import MeasuredFigures, RoiResult, assumptions_from_measured, compute_roi
from daemon.learning.store_io import (
    RETRAIN_DECISION, RETRAIN_RESULT, SnapshotRecord, load_snapshots, read_learning_data, record_event, save_snapshot,
)
from daemon.store import session_scope

KPI_SNAPSHOT = "kpi"


@dataclass(frozen=True)
class Deployed:
    """The champion model as the registry describes it (no artifact is loaded)."""

    version: str | None
    validation_auc: float | None = None
    training_start: datetime | None = None
    training_end: datetime | None = None
    note: str | None = None


def deployed_model(registry: Any) -> Deployed:
    """The registry's champion: version, holdout AUC and training window; a registry problem becomes a note."""
    if registry is None:
        return Deployed(None, note="no model registry configured")
    try:
        version = registry.champion()
        if version is None:
            return Deployed(None, note="no model has been promoted yet (leadpilot train)")
        entry = registry.entry(version)
    except ScoringError as exc:
        return Deployed(None, note=f"model registry unreadable: {exc}")
    window = entry.training_window or {}

    def when(key: str) -> datetime | None:
        value = pd.to_datetime(window.get(key), utc=True, errors="coerce")
        return None if pd.isna(value) else value.to_pydatetime()

    return Deployed(version, entry.auc, when("start"), when("end"))


def drift_features(settings: ScoringConfig) -> tuple[list[str], list[str]]:
    """(numeric, categorical) raw columns the scoring features read; ZIP and time columns are left out."""
    plan = plan_features(settings.features)
    numeric = [c for c, k in plan.raw_kinds.items() if k == "numeric"]
    categorical = [c for c, k in plan.raw_kinds.items() if k in ("categorical", "state")]
    return numeric, categorical


def measure_drift(data: LearningData, deployed: Deployed, config: LeadpilotConfig, settings: ScoringConfig, *,
                  as_of: datetime) -> DriftReport | None:
    """PSI of the last drift_window_days of leads against the champion's training window (None: no champion)."""
    if deployed.version is None or deployed.training_start is None or deployed.training_end is None:
        return None
    created = pd.to_datetime(data.leads["created_at"], utc=True, errors="coerce")
    start, end = pd.Timestamp(deployed.training_start), pd.Timestamp(deployed.training_end)
    recent_from = pd.Timestamp(as_of - timedelta(days=config.learning.drift_window_days))
    reference = data.leads[((created >= start) & (created <= end)).to_numpy()]
    live = data.leads[((created > recent_from) & (created <= pd.Timestamp(as_of))).to_numpy()]
    scores = data.scores[(data.scores["model_version"] == deployed.version)
                         & data.scores["lead_pk"].isin(live["lead_pk"])]["score"]
    numeric, categorical = drift_features(settings)
    label = (f"the leads model {deployed.version} trained on ({start.date()} to {end.date()}, {len(reference)} in "
             f"the store); recent = the last {config.learning.drift_window_days} days ({len(live)} leads)")
    return drift_report(reference, live, numeric=numeric, categorical=categorical, live_scores=scores,
                        threshold=config.learning.retrain.psi_threshold, reference_label=label)


def ab_analysis(data: LearningData, config: LeadpilotConfig, *, as_of: datetime) -> AbAnalysis | None:
    """The configured A/B test over settled leads (None when the test is disabled)."""
    test = config.learning.ab_test
    if not test.enabled:
        return None
    labelled = label_leads(data.leads, as_of=as_of, window_days=config.learning.conversion_window_days)
    return analyse(settled_leads(labelled), test=test.name, arms=list(test.split),
                   min_sample_per_arm=test.min_sample_per_arm)


def measured_roi(config: LeadpilotConfig, kpis: KpiReport | dict[str, Any]) -> RoiResult:
    """The ROI with the figures measured by a KPI report (or snapshot headline) replacing assumptions."""
    h = kpis.headline() if isinstance(kpis, KpiReport) else kpis
    figures = MeasuredFigures(h.get("leads_per_month"), h.get("control_conversion"), h.get("scored_conversion"),
                              h.get("revenue_per_conversion"), h.get("mean_lead_cost"))
    assumptions, notes = assumptions_from_measured(config.learning.roi, figures)
    return compute_roi(assumptions, sources=notes)


@dataclass
class KpiBundle:
    """One run of the KPI job: the report and what goes with it on the page."""

    kpis: KpiReport
    deployed: Deployed
    drift: DriftReport | None
    ab: AbAnalysis | None
    roi: RoiResult
    snapshots: list[SnapshotRecord] = field(default_factory=list)
    snapshot_saved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return clean({
            **self.kpis.to_dict(), "champion": self.deployed.version,
            "drift": self.drift.to_dict() if self.drift else None, "ab_test": self.ab.to_dict() if self.ab else None,
            "roi": self.roi.to_dict(), "snapshot_saved": self.snapshot_saved,
        })

    def html(self) -> str:
        return render_html(ReportInputs(self.kpis, main_model=self.deployed.version, drift=self.drift, ab=self.ab,
                                        roi=self.roi, snapshots=self.snapshots))


def build_kpis(session: Session, config: LeadpilotConfig, *, now: datetime, since: datetime | None = None,
               until: datetime | None = None, registry: Any = None, settings: ScoringConfig | None = None,
               model_versions: list[str] | None = None) -> KpiBundle:
    """KPIs of the leads created in [since, until] as of `now`, with drift, the A/B test and the ROI."""
    require_aware(now=now, since=since, until=until)
    as_of = min(until, now) if until else now
    data = read_learning_data(session)  # everything: drift needs the training window, the period is cut below
    deployed = deployed_model(registry)
    versions = list(model_versions or ([deployed.version] if deployed.version else []))
    kpis = compute_kpis(data, as_of=as_of, window_days=config.learning.conversion_window_days,
                        threshold_score=config.routing.thresholds.priority_score, period_start=since,
                        period_end=until, model_versions=versions)
    if deployed.note:
        kpis.messages.append(deployed.note)
    drift = measure_drift(data, deployed, config, settings or config.scoring, as_of=as_of)
    ab = ab_analysis(_in_period(data, since, until), config, as_of=as_of)
    if ab is not None:
        kpis.messages.extend(ab.messages)
    roi = measured_roi(config, kpis)
    return KpiBundle(kpis, deployed, drift, ab, roi, load_snapshots(session, KPI_SNAPSHOT))


def _in_period(data: LearningData, since: datetime | None, until: datetime | None) -> LearningData:
    created = pd.to_datetime(data.leads["created_at"], utc=True, errors="coerce")
    keep = pd.Series(True, index=data.leads.index)
    if since is not None:
        keep &= created >= pd.Timestamp(since)
    if until is not None:
        keep &= created <= pd.Timestamp(until)
    leads = data.leads[keep.to_numpy(dtype=bool)]
    return LearningData(leads, data.scores[data.scores["lead_pk"].isin(leads["lead_pk"])])


def kpi_job(engine: Engine, config: LeadpilotConfig, *, now: datetime, registry: Any = None,
            settings: ScoringConfig | None = None, since: datetime | None = None, until: datetime | None = None,
            save: bool = True) -> KpiBundle:
    """The scheduled KPI run: compute, and keep the headline figures as a snapshot of the period."""
    with session_scope(engine) as session:
        bundle = build_kpis(session, config, now=now, since=since, until=until, registry=registry, settings=settings)
        if save:
            record = save_snapshot(session, name=KPI_SNAPSHOT,
                                   period_start=datetime.fromisoformat(bundle.kpis.period_start),
                                   period_end=datetime.fromisoformat(bundle.kpis.period_end),
                                   metrics=bundle.kpis.headline(), now=now)
            bundle.snapshots = [s for s in bundle.snapshots if (s.period_start, s.period_end)
                                != (record.period_start, record.period_end)] + [record]
            bundle.snapshot_saved = True
    return bundle


@dataclass
class RetrainRun:
    """A retraining check: the decision, and what training did if it ran."""

    decision: Decision
    trained: bool = False
    version: str | None = None
    promoted: bool = False
    gate: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return clean({"decision": self.decision.to_dict(), "trained": self.trained, "version": self.version,
                      "promoted": self.promoted, "gate": self.gate, "error": self.error})


def retrain_check(engine: Engine, config: LeadpilotConfig, *, now: datetime, registry: Any,
                  settings: ScoringConfig | None = None, train: bool = True, rates: Any = None,
                  fairness: Any = None) -> RetrainRun:
    """Decide whether to retrain, record the decision, and retrain through the scoring gate when it says so.

    A training failure (bad data) is recorded as the result and raised again, so the job run shows it.
    """
    settings = settings or config.scoring
    window = config.learning.conversion_window_days
    with session_scope(engine, readonly=True) as session:
        data = read_learning_data(session)
    deployed = deployed_model(registry)
    labelled = label_leads(data.leads, as_of=now, window_days=window)
    live = None
    if deployed.version is not None:
        kpis = compute_kpis(data, as_of=now, window_days=window, threshold_score=config.routing.thresholds.priority_score,
                            model_versions=[deployed.version])
        live = next((m for m in kpis.models if m.model_version == deployed.version), None)
    drift = measure_drift(data, deployed, config, settings, as_of=now)
    inputs = gather_inputs(model_version=deployed.version, validation_auc=deployed.validation_auc, live=live,
                           drift=drift, new_labels=new_label_count(labelled, deployed.training_end))
    decision = decide(inputs, config.learning.retrain, now=now)
    run = RetrainRun(decision)
    with session_scope(engine) as session:
        record_event(session, RETRAIN_DECISION, decision.to_dict(), now=now)
    if not (decision.retrain and train):
        return run

    from scoring.lifecycle import train_and_register

    try:
        outcome = train_and_register(training_frame(labelled, settings.features.label), settings, registry, now=now,
                                     rates=rates, maturity_days=window, as_of=now, fairness=fairness, promote=True,
                                     extra_metadata={"trigger": decision.reasons})
    except ScoringError as exc:
        run.error = str(exc)
        with session_scope(engine) as session:
            record_event(session, RETRAIN_RESULT, run.to_dict(), now=now)
        raise
    run.trained, run.version, run.promoted = True, outcome.entry.version, outcome.promoted
    run.gate = outcome.gate.to_dict()
    with session_scope(engine) as session:
        record_event(session, RETRAIN_RESULT, run.to_dict(), now=now)
    return run
