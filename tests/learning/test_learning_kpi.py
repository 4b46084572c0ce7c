"""KPIs and the HTML report: figures checked against direct computations, and every bad input still renders."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from config.sections.learning import RetrainConfig, RoiConfig
from daemon.learning.ab import analyse, assign_arm
from daemon.learning.data import LearningData
from daemon.learning.drift import drift_report
from daemon.learning.errors import LearningInputError
from daemon.learning.kpi import compute_kpis
from daemon.learning.report import ReportInputs, render_html
from daemon.learning.retrain import RetrainInputs, decide
from daemon.learning.roi import compute_roi
from daemon.synthetic import generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SPLIT = {"champion": 0.8, "control": 0.2}


def synthetic_data(n: int = 1500, seed: int = 4, version: str = "v0001") -> LearningData:
    """Synthetic leads with outcomes, officers, arms and a noisy-but-informative score by `version`."""
    d = generate(n_leads=n, n_agents=8, seed=seed, now=NOW, messy=False)
    rng = np.random.default_rng(seed)
    leads = d.leads.copy()
    leads.insert(0, "lead_pk", np.arange(1, n + 1))
    outcomes = d.outcomes.set_index("lead_id").loc[leads["lead_id"]]
    leads["agent_id"] = outcomes["agent_id"].to_numpy()
    leads["assigned_at"] = outcomes["assigned_at"].to_numpy()
    leads["arm"] = [assign_arm(i, "routing-2026", SPLIT) for i in leads["lead_id"]]
    p = np.clip(leads["true_probability"].to_numpy() * np.exp(rng.normal(0, 0.3, n)), 0, 1)
    leads["probability"] = p
    leads["score"] = np.floor(pd.Series(p).rank(pct=True).to_numpy() * 99.999).astype(int)
    leads["model_version"] = version
    scores = pd.DataFrame({"lead_pk": leads["lead_pk"], "model_version": version, "probability": p,
                           "score": leads["score"], "variant": leads["arm"], "scored_at": leads["assigned_at"]})
    return LearningData(leads, scores)


@pytest.fixture(scope="module")
def data() -> LearningData:
    return synthetic_data()


def _settled(data: LearningData, window: int = 90) -> pd.DataFrame:
    leads = data.leads
    old = pd.to_datetime(leads["created_at"], utc=True) <= pd.Timestamp(NOW - timedelta(days=window))
    return leads[old.to_numpy()]


def test_model_kpis_agree_with_direct_computations_on_settled_leads(data: LearningData) -> None:
    report = compute_kpis(data, as_of=NOW, window_days=90, threshold_score=80)
    (m,) = report.models
    settled = _settled(data)
    y = settled["converted"].to_numpy(dtype=float)  # synthetic conversions all fall inside the window
    p = settled["probability"].to_numpy()
    assert m.n == len(settled) and m.positives == int(y.sum())
    assert m.auc == pytest.approx(roc_auc_score(y, p)) and m.auc > 0.7
    assert m.brier == pytest.approx(brier_score_loss(y, p))
    flagged = settled["score"].to_numpy() >= 80
    assert m.precision == pytest.approx(y[flagged].mean())
    assert m.recall == pytest.approx(y[flagged].sum() / y.sum())
    assert m.f1 == pytest.approx(2 * m.precision * m.recall / (m.precision + m.recall))
    top = np.argsort(-p, kind="stable")[: round(0.2 * len(p))]
    assert m.lift_at_20 == pytest.approx(y[top].mean() / y.mean())
    assert m.gains[3][0] == pytest.approx(0.2) and m.gains[3][1] == pytest.approx(y[top].sum() / y.sum(), abs=0.01)
    assert m.calibration and sum(c[2] for c in m.calibration) == m.n
    assert report.labels.settled == len(settled) and report.labels.pending > 0


def test_business_kpis_on_synthetic_data(data: LearningData) -> None:
    b = compute_kpis(data, as_of=NOW, window_days=90, threshold_score=80).business
    settled = _settled(data)
    assert b.settled_leads == len(settled) and b.conversions == int(settled["converted"].sum())
    assert sum(r.leads for r in b.deciles) == len(settled)
    assert b.deciles[9].rate is not None and b.deciles[0].rate is not None and b.deciles[9].rate > 3 * b.deciles[0].rate
    control = settled["arm"] == "control"
    assert b.control_leads == int(control.sum()) and b.scored_leads == int((~control).sum())
    assert b.control_conversion == pytest.approx(settled.loc[control, "converted"].mean())
    assert b.cost_per_acquisition == pytest.approx(settled["lead_cost"].mean() * len(settled) / b.conversions)
    assert b.revenue_per_lead == pytest.approx(settled["conversion_value"].sum() / len(settled))
    minutes = (data.leads["assigned_at"] - data.leads["created_at"]).dt.total_seconds() / 60
    assert b.speed_to_lead_p50_minutes == pytest.approx(np.percentile(minutes, 50))
    assert len(b.officers) == 8 and sum(o.leads for o in b.officers) == len(data.leads)


def _tiny() -> LearningData:
    """Six settled leads and one young one, with figures easy to check by hand."""
    created = [NOW - timedelta(days=200)] * 6 + [NOW - timedelta(days=5)]
    leads = pd.DataFrame({
        "lead_pk": range(1, 8), "lead_id": [f"L{i}" for i in range(1, 8)], "created_at": created,
        "converted": [True, True, False, False, False, False, True],
        "converted_at": [created[0] + timedelta(days=20)] * 2 + [None] * 4 + [NOW - timedelta(days=1)],
        "conversion_value": [4000.0, 2000.0, None, None, None, None, 3000.0],
        "lead_cost": [50.0, 50.0, 50.0, 50.0, None, 50.0, 80.0],
        "agent_id": ["A", "A", "B", "B", "B", None, "A"],
        "assigned_at": [c + timedelta(minutes=m) for c, m in zip(created, [10, 20, 30, 40, 50, 0, 5])],
        "arm": ["champion", "champion", "control", "control", "champion", None, "champion"],
        "model_version": ["v1"] * 7, "probability": [0.9, 0.6, 0.4, 0.2, 0.1, 0.05, 0.5],
        "score": [95, 85, 70, 40, 20, 5, 60],
    })
    leads.loc[5, "assigned_at"] = None
    scores = leads[["lead_pk", "model_version", "probability", "score"]].assign(variant=leads["arm"], scored_at=created)
    return LearningData(leads, scores)


def test_business_kpis_by_hand_on_a_tiny_period() -> None:
    report = compute_kpis(_tiny(), as_of=NOW, window_days=90, threshold_score=80)
    b = report.business
    assert (b.settled_leads, b.conversions) == (6, 2)
    assert b.cost_per_acquisition == pytest.approx(50.0 * 6 / 2)  # the missing cost is taken at the mean
    assert b.revenue_per_lead == pytest.approx(6000 / 6) and b.revenue_per_conversion == pytest.approx(3000)
    # AI-routed (scored, not control): leads 1, 2, 5, 6 -> 2 of 4; control: leads 3, 4 -> 0 of 2
    assert (b.scored_leads, b.scored_conversion, b.control_leads, b.control_conversion) == (4, 0.5, 2, 0.0)
    assert b.scored_vs_control_lift is None and any("control arm has 2" in m for m in b.messages)
    # speed to lead over the 6 assigned leads of the period (young lead 7 included): 5, 10, 20, 30, 40, 50 min
    assert b.speed_to_lead_p50_minutes == pytest.approx(25.0)
    assert b.speed_to_lead_p95_minutes == pytest.approx(np.percentile([5, 10, 20, 30, 40, 50], 95))
    weeks = 200 / 7 - 0  # the period runs from the first lead (200 days ago) to as_of
    officers = {o.agent_id: o for o in b.officers}
    assert (officers["A"].leads, officers["A"].conversions) == (3, 3)  # lead 7 converted early: it counts here
    assert officers["A"].conversions_per_week == pytest.approx(3 / weeks)
    assert b.load_cv == pytest.approx(0.0) and b.load_max_over_mean == pytest.approx(1.0)
    (m,) = report.models
    assert (m.precision, m.recall) == (1.0, 1.0)  # scores >= 80: leads 1 and 2, both converted


def test_given_no_matured_outcomes_then_a_clear_message_and_the_report_still_renders() -> None:
    data = _tiny()
    created = NOW - timedelta(days=3)
    young = data.leads.assign(created_at=created, assigned_at=created + timedelta(minutes=12),
                              converted_at=[NOW - timedelta(days=1)] * 2 + [None] * 4 + [NOW - timedelta(days=1)])
    report = compute_kpis(LearningData(young, data.scores), as_of=NOW, window_days=90, threshold_score=80)
    assert any("no matured outcomes yet" in m for m in report.messages)
    assert report.business.conversion_rate is None and report.business.deciles == []
    assert report.models[0].n == 0 and "no scores on settled leads" in (report.models[0].message or "")
    assert report.business.speed_to_lead_p50_minutes == pytest.approx(12.0)  # needs no label: still measured
    page = render_html(ReportInputs(report))
    assert "no matured outcomes yet" in page and page.count("Not shown yet") == 4 and "<img" not in page


def test_given_a_single_class_then_auc_is_undefined_with_a_message_and_the_report_renders() -> None:
    data = _tiny()
    none_converted = data.leads.assign(converted=False, converted_at=None, conversion_value=None)
    report = compute_kpis(LearningData(none_converted, data.scores), as_of=NOW, window_days=90, threshold_score=80)
    (m,) = report.models
    assert m.auc is None and m.pr_auc is None and m.recall is None and m.brier is not None
    assert m.message is not None and "single class" in m.message and "did not convert" in m.message
    assert report.business.cost_per_acquisition is None
    page = render_html(ReportInputs(report))
    assert "single class" in page and "Calibration" in page


def test_given_a_model_version_with_no_scores_then_it_says_so() -> None:
    report = compute_kpis(_tiny(), as_of=NOW, window_days=90, threshold_score=80, model_versions=["v9"])
    by_version = {m.model_version: m for m in report.models}
    assert by_version["v9"].n == 0 and by_version["v1"].n == 6
    assert any("model v9 has no scores on settled leads" in m for m in report.messages)
    page = render_html(ReportInputs(report, main_model="v9"))  # falls back to a model that has data
    assert page.count("<img") >= 2


def test_given_no_leads_at_all_then_everything_says_why() -> None:
    report = compute_kpis(LearningData.empty(), as_of=NOW, window_days=90, threshold_score=80)
    assert report.models == [] and report.business.leads == 0 and "no leads in this period yet" in report.messages
    assert "<html>" in render_html(ReportInputs(report))


def test_the_full_report_has_plots_explanations_and_every_section(data: LearningData) -> None:
    report = compute_kpis(data, as_of=NOW, window_days=90, threshold_score=80)
    settled = _settled(data).assign(label=lambda f: f["converted"].astype(float))
    ab = analyse(settled, test="routing-2026", arms=list(SPLIT), min_sample_per_arm=400)
    drift = drift_report(data.leads.iloc[:700], data.leads.iloc[700:], numeric=["credit_score"],
                         categorical=["loan_type"], live_scores=data.leads["score"], threshold=0.1,
                         reference_label="training leads")
    decision = decide(RetrainInputs("v1", 0.8, 0.7, 1000, 0.05, "credit_score", 10), RetrainConfig(), now=NOW)
    page = render_html(ReportInputs(report, drift=drift, ab=ab, decision=decision, roi=compute_roi(RoiConfig())))
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4 and all(len(i) > 5000 for i in images)
    for text in ("Lift chart", "Calling the top 20% of leads by score reaches", "Conversion by score band",
                 "Calibration", "Trend over time", "Drift", "Champion / challenger test", "Retraining",
                 "live AUC 0.700", "Return on investment", "$262,000", "Officers"):
        assert text in page
    assert "not shown yet" not in page.lower()


def test_naive_times_and_a_reversed_period_are_refused() -> None:
    with pytest.raises(LearningInputError, match="period_start .* no time zone"):
        compute_kpis(_tiny(), as_of=NOW, window_days=90, threshold_score=80, period_start=datetime(2026, 1, 1))
    with pytest.raises(LearningInputError, match="starts .* after it ends"):
        compute_kpis(_tiny(), as_of=NOW, window_days=90, threshold_score=80, period_start=NOW + timedelta(days=1))
