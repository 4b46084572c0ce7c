"""The learning loop on a real store: reading leads with outcomes, KPI snapshots, recorded retraining
decisions (training through the scoring gate), and the `leadpilot kpi` / `roi --measured` commands."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from config.canonical import CANONICAL_FIELDS
from config.loader import validate
from config.schema import LeadpilotConfig
from daemon.cli import main
from daemon.learning.jobs import KPI_SNAPSHOT, kpi_job, retrain_check
from daemon.learning.store_io import (
    RETRAIN_DECISION, RETRAIN_RESULT, load_events, load_snapshots, read_learning_data, record_event, save_snapshot,
)
from daemon.store import Agent, Assignment, Lead, Outcome, Score, ensure_schema, make_engine, session_scope
from daemon.synthetic import generate
from scoring.errors import ScoringInputError
from scoring.registry import ModelRegistry

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SMALL_SCORING = {"algorithms": {"xgboost": {"n_estimators": 60, "early_stopping_rounds": 10, "n_jobs": 1},
                                "random_forest": {"n_estimators": 20, "max_depth": 6, "n_jobs": 1}}}


def _py(v: Any) -> Any:
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v.item() if isinstance(v, np.generic) else v


def load_synthetic(engine: Engine, n: int, seed: int = 5, control_every: int = 5) -> None:
    """Synthetic leads, officers, assignments, settled outcomes and a noisy-but-informative score v0001."""
    d = generate(n_leads=n, n_agents=6, seed=seed, now=NOW, messy=False)
    rng = np.random.default_rng(seed)
    p = np.clip(d.leads["true_probability"].to_numpy() * np.exp(rng.normal(0, 0.3, n)), 0, 1)
    score = np.floor(pd.Series(p).rank(pct=True).to_numpy() * 99.999).astype(int)
    with session_scope(engine) as s:
        s.add_all([Agent(agent_id=a.agent_id, name=a.name) for a in d.agents])
        s.flush()
        leads = [Lead(connector="test", **{k: _py(v) for k, v in rec.items()})
                 for rec in d.leads[list(CANONICAL_FIELDS)].to_dict("records")]
        s.add_all(leads)
        s.flush()
        for i, (lead, row) in enumerate(zip(leads, d.outcomes.itertuples())):
            at = row.assigned_at.to_pydatetime()
            s.add(Assignment(lead_pk=lead.id, agent_id=row.agent_id, match_score=0.5, external_id=f"x{lead.id}",
                             assigned_at=at, state="written"))
            s.add(Score(lead_pk=lead.id, model_version="v0001", probability=float(p[i]), score=int(score[i]),
                        confidence=0.9, input_hash="h", variant="control" if i % control_every == 0 else "champion",
                        scored_at=at))
            if row.status != "open":
                s.add(Outcome(lead_pk=lead.id, agent_id=row.agent_id, converted=bool(row.converted),
                              converted_at=_py(row.converted_at), conversion_value=_py(row.conversion_value)))


# -- store_io ---------------------------------------------------------------------------------------

def test_read_learning_data_joins_outcome_first_assignment_and_first_scores(engine: Engine) -> None:
    t1, t2, t3 = NOW - timedelta(days=200), NOW - timedelta(days=100), NOW - timedelta(days=5)
    with session_scope(engine) as s:
        s.add_all([Agent(agent_id="A", name="Ann"), Agent(agent_id="B", name="Bob")])
        l1 = Lead(connector="c", crm_id="1", lead_id="L1", created_at=t1, converted=None, lead_cost=99.0,
                  credit_score=700, email="x@example.com")
        l2 = Lead(connector="c", crm_id="2", lead_id="L2", created_at=t2, converted=False, lead_cost=30.0)
        l3 = Lead(connector="c", crm_id="3", lead_id="L3", created_at=t3)
        l4 = Lead(connector="c", crm_id="4", lead_id="L4", created_at=None)
        s.add_all([l1, l2, l3, l4])
        s.flush()
        s.add(Outcome(lead_pk=l1.id, agent_id="A", converted=True, converted_at=t1 + timedelta(days=20),
                      conversion_value=5000.0, lead_cost=40.0))
        s.add_all([
            Assignment(lead_pk=l1.id, agent_id="B", match_score=0.4, external_id="a1", assigned_at=t1 + timedelta(minutes=1),
                       state="failed"),
            Assignment(lead_pk=l1.id, agent_id="A", match_score=0.6, external_id="a2", assigned_at=t1 + timedelta(minutes=5),
                       state="written"),
            Assignment(lead_pk=l2.id, agent_id="B", match_score=0.6, external_id="a3", assigned_at=t2 + timedelta(minutes=3),
                       state="released"),
            Assignment(lead_pk=l2.id, agent_id="A", match_score=0.7, external_id="a4", assigned_at=t2 + timedelta(minutes=9),
                       state="written"),
        ])
        s.add_all([
            Score(lead_pk=l1.id, model_version="v1", probability=0.3, score=70, confidence=1, input_hash="a",
                  variant="champion", scored_at=t1),
            Score(lead_pk=l1.id, model_version="v1", probability=0.5, score=90, confidence=1, input_hash="b",
                  variant="champion", scored_at=t1 + timedelta(days=1)),
            Score(lead_pk=l1.id, model_version="v2", probability=0.2, score=50, confidence=1, input_hash="b",
                  variant="challenger", scored_at=t1 + timedelta(days=2)),
        ])
    with session_scope(engine, readonly=True) as s:
        data = read_learning_data(s)
        recent = read_learning_data(s, since=NOW - timedelta(days=150))
        everything = read_learning_data(s, include_undated=True)
    leads = data.leads.set_index("lead_id")
    assert list(leads.index) == ["L1", "L2", "L3"]  # the undated lead fits no period
    assert len(everything.leads) == 4 and recent.leads["lead_id"].tolist() == ["L2", "L3"]
    one, two = leads.loc["L1"], leads.loc["L2"]
    # the CRM outcome wins over the lead's own fields
    assert (bool(one["converted"]), one["conversion_value"], one["lead_cost"], one["agent_id"]) == (True, 5000.0, 40.0, "A")
    assert one["converted_at"] == pd.Timestamp(t1 + timedelta(days=20))
    # first assignment that reached an officer (the failed one did not)
    assert one["assigned_at"] == pd.Timestamp(t1 + timedelta(minutes=5))
    assert two["assigned_at"] == pd.Timestamp(t2 + timedelta(minutes=3)) and two["agent_id"] == "A"
    assert (bool(two["converted"]), two["lead_cost"]) == (False, 30.0)
    # the first score acted on: version, score and arm
    assert (one["model_version"], one["score"], one["arm"]) == ("v1", 70, "champion")
    assert pd.isna(leads.loc["L3", "score"]) and pd.isna(leads.loc["L3", "assigned_at"])
    scores = data.scores.sort_values("model_version")
    assert scores[["model_version", "score", "variant"]].values.tolist() == [["v1", 70, "champion"],
                                                                             ["v2", 50, "challenger"]]
    assert "email" not in data.leads.columns and leads.loc["L1", "credit_score"] == 700


def test_an_empty_store_reads_as_no_leads(engine: Engine) -> None:
    with session_scope(engine, readonly=True) as s:
        data = read_learning_data(s)
    assert data.leads.empty and data.scores.empty


def test_snapshots_replace_their_period_and_come_back_oldest_first(engine: Engine) -> None:
    start = NOW - timedelta(days=365)
    with session_scope(engine) as s:
        save_snapshot(s, name="kpi", period_start=start, period_end=NOW - timedelta(days=1), metrics={"a": 1}, now=NOW)
        save_snapshot(s, name="kpi", period_start=start, period_end=NOW, metrics={"a": 2}, now=NOW)
        save_snapshot(s, name="kpi", period_start=start, period_end=NOW, metrics={"a": 3}, now=NOW)
        save_snapshot(s, name="ab:t", period_start=start, period_end=NOW, metrics={"b": 1}, now=NOW)
    with session_scope(engine, readonly=True) as s:
        snaps = load_snapshots(s, "kpi")
        last = load_snapshots(s, "kpi", limit=1)
    assert [x.metrics for x in snaps] == [{"a": 1}, {"a": 3}]
    assert [x.metrics for x in last] == [{"a": 3}] and last[0].period_end == NOW


def test_events_are_appended_and_read_newest_first(engine: Engine) -> None:
    with session_scope(engine) as s:
        record_event(s, RETRAIN_DECISION, {"retrain": False}, now=NOW - timedelta(days=1))
        record_event(s, RETRAIN_DECISION, {"retrain": True}, now=NOW)
    with session_scope(engine, readonly=True) as s:
        events = load_events(s, RETRAIN_DECISION)
    assert [e["payload"]["retrain"] for e in events] == [True, False]


def test_kpi_job_computes_from_the_store_and_keeps_a_snapshot(engine: Engine) -> None:
    load_synthetic(engine, 500)
    config = validate({"learning": {"ab_test": {"enabled": True, "split": {"champion": 0.8, "control": 0.2}}}}, "t")
    bundle = kpi_job(engine, config, now=NOW)
    k = bundle.kpis
    assert k.labels.leads == 500 and k.labels.settled > 300 and k.models[0].model_version == "v0001"
    assert k.models[0].auc is not None and k.models[0].auc > 0.65
    assert bundle.ab is not None and {a.arm for a in bundle.ab.arms} == {"champion", "control"}
    assert bundle.snapshot_saved and "no model registry configured" in k.messages
    with session_scope(engine, readonly=True) as s:
        (snap,) = load_snapshots(s, KPI_SNAPSHOT)
    assert snap.metrics["settled_leads"] == k.business.settled_leads
    assert snap.metrics["model:v0001"]["auc"] == pytest.approx(k.models[0].auc)
    again = kpi_job(engine, config, now=NOW)  # same period: the snapshot is replaced, not duplicated
    assert len(again.snapshots) == 1 and "<img" in again.html()


# -- retraining through the gate (SQLite: one training is enough) -------------------------------------

@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Any:
    eng = make_engine(validate({"state_dir": str(tmp_path / "state")}, "t"))
    ensure_schema(eng)
    yield eng
    eng.dispose()


def _config(tmp_path: Path, **learning: Any) -> LeadpilotConfig:
    return validate({"state_dir": str(tmp_path / "state"), "scoring": SMALL_SCORING,
                     "learning": {"retrain": learning}}, "t")


def test_retrain_check_records_its_decision_and_trains_through_the_gate(sqlite_engine: Engine, tmp_path: Path) -> None:
    load_synthetic(sqlite_engine, 900)
    config = _config(tmp_path, min_new_labels=500)
    registry = ModelRegistry(tmp_path / "models")
    run = retrain_check(sqlite_engine, config, now=NOW, registry=registry)
    assert run.decision.retrain and "no model is deployed" in run.decision.reasons[0]
    assert run.trained and run.version == "v0001" and run.gate is not None
    assert run.promoted == run.gate["passed"] and registry.entry("v0001").gate_passed == run.gate["passed"]
    assert (registry.champion() == "v0001") == run.promoted  # a model that fails the gate is never promoted
    with session_scope(sqlite_engine, readonly=True) as s:
        (decision,) = load_events(s, RETRAIN_DECISION)
        (result,) = load_events(s, RETRAIN_RESULT)
    assert decision["payload"]["retrain"] is True and decision["payload"]["inputs"]["new_labels"] >= 500
    assert result["payload"]["version"] == "v0001" and result["payload"]["error"] is None

    # with a champion deployed, the next check compares live AUC and drift with it (no training here)
    if not run.promoted:
        registry.promote("v0001", now=NOW, reason="test: deploy despite the gate", force=True)
    wide = validate({"state_dir": str(tmp_path / "state"), "scoring": SMALL_SCORING,
                     "learning": {"drift_window_days": 150, "retrain": {"min_new_labels": 500}}}, "t")
    again = retrain_check(sqlite_engine, wide, now=NOW, registry=registry, train=False)
    inputs = again.decision.inputs
    assert inputs.model_version == "v0001" and inputs.validation_auc == registry.entry("v0001").auc
    assert inputs.live_auc is not None and inputs.live_n >= 500  # the store's scores of v0001 on settled leads
    assert inputs.max_psi is not None and inputs.max_psi_name is not None
    assert inputs.new_labels == 0  # every settled lead is inside the training window
    assert not again.trained


def test_a_retraining_that_cannot_train_is_recorded_and_raised(sqlite_engine: Engine, tmp_path: Path) -> None:
    load_synthetic(sqlite_engine, 150)  # fewer settled leads than scoring.min_training_rows (200)
    config = _config(tmp_path, min_new_labels=10)
    with pytest.raises(ScoringInputError, match="at least 200"):
        retrain_check(sqlite_engine, config, now=NOW, registry=ModelRegistry(tmp_path / "models"))
    with session_scope(sqlite_engine, readonly=True) as s:
        (result,) = load_events(s, RETRAIN_RESULT)
    assert result["payload"]["trained"] is False and "at least 200" in result["payload"]["error"]


def test_without_enough_labels_the_check_records_a_no(sqlite_engine: Engine, tmp_path: Path) -> None:
    run = retrain_check(sqlite_engine, _config(tmp_path), now=NOW, registry=ModelRegistry(tmp_path / "models"))
    assert run.decision.retrain is False and not run.trained
    with session_scope(sqlite_engine, readonly=True) as s:
        assert len(load_events(s, RETRAIN_DECISION)) == 1 and load_events(s, RETRAIN_RESULT) == []


# -- commands ---------------------------------------------------------------------------------------

def _config_file(tmp_path: Path) -> str:
    path = tmp_path / "leadpilot.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\n", encoding="utf-8")
    return str(path)


def test_kpi_and_roi_commands_on_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADPILOT_CONFIG", raising=False)
    cfg = _config_file(tmp_path)
    # a store without schema: a clear message, exit 2, nothing created
    assert main(["kpi", "-c", cfg]) == 2
    assert "leadpilot db upgrade" in capsys.readouterr().err
    assert main(["roi", "-c", cfg, "--measured"]) == 2
    capsys.readouterr()

    eng = make_engine(validate({"state_dir": str(tmp_path / "state")}, "t"))
    ensure_schema(eng)
    assert main(["roi", "-c", cfg, "--measured"]) == 2
    assert "run `leadpilot kpi` first" in capsys.readouterr().err
    load_synthetic(eng, 400)
    eng.dispose()

    html = tmp_path / "kpi.html"
    assert main(["kpi", "-c", cfg, "--json", "--html", str(html)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["labels"]["leads"] == 400 and out["models"][0]["model_version"] == "v0001"
    assert out["snapshot_saved"] is True and out["roi"]["lines"]
    assert html.read_text(encoding="utf-8").count("data:image/png;base64,") == 4

    assert main(["kpi", "-c", cfg, "--no-save", "--since", "2026-01-01"]) == 0
    text = capsys.readouterr().out
    assert "KPIs of leads created 2026-01-01" in text and "model v0001" in text and "snapshot kept" not in text
    assert main(["kpi", "-c", cfg, "--since", "2026-13-01"]) == 2
    assert "not an ISO date" in capsys.readouterr().err

    assert main(["roi", "-c", cfg, "--measured", "--json"]) == 0
    roi = json.loads(capsys.readouterr().out)
    assert roi["assumptions"]["leads_per_month"] != 2000  # measured from the store
    assert any(s.startswith("leads_per_month: measured") for s in roi["sources"])
