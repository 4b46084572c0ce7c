"""Retraining decisions: each rule, the quiet case, thin data, and the training frame handed to scoring."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from config.sections.learning import RetrainConfig
from daemon.learning.drift import DriftReport, PsiResult
from daemon.learning.kpi import ModelKpis
from daemon.learning.outcomes import label_leads
from daemon.learning.retrain import RetrainInputs, decide, gather_inputs, new_label_count, training_frame

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SETTINGS = RetrainConfig()  # auc_ratio 0.95, psi_threshold 0.1, min_new_labels 1000, min_auc_leads 200


def _inputs(**changes: object) -> RetrainInputs:
    base: dict[str, object] = dict(model_version="v0002", validation_auc=0.80, live_auc=0.79, live_n=1500,
                                   max_psi=0.04, max_psi_name="credit_score", new_labels=300)
    return RetrainInputs(**{**base, **changes})  # type: ignore[arg-type]


def test_when_nothing_fired_then_no_retraining_and_each_check_is_explained() -> None:
    d = decide(_inputs(), SETTINGS, now=NOW)
    assert d.retrain is False and len(d.reasons) == 3
    assert "live AUC 0.790 >= 0.760" in d.reasons[0] and "<= 0.1" in d.reasons[1] and "300 new" in d.reasons[2]
    assert d.to_dict()["inputs"]["model_version"] == "v0002" and d.decided_at == NOW.isoformat()


@pytest.mark.parametrize(("changes", "fired"), [
    ({"live_auc": 0.75}, "live AUC 0.750 on 1500 settled leads is below 0.95 x validation AUC 0.800 = 0.760"),
    ({"max_psi": 0.31, "max_psi_name": "score"}, "drift: PSI of score is 0.310 > 0.1"),
    ({"new_labels": 1000}, "1000 new settled labelled leads"),
])
def test_each_rule_alone_triggers_retraining_with_its_reason(changes: dict[str, object], fired: str) -> None:
    d = decide(_inputs(**changes), SETTINGS, now=NOW)
    assert d.retrain is True and fired in d.reasons[0]
    assert all(r.startswith("checked: ") for r in d.reasons[1:])  # the rules that did not fire, for the record


def test_an_auc_on_too_few_leads_or_a_single_class_does_not_trigger() -> None:
    thin = decide(_inputs(live_auc=0.5, live_n=150), SETTINGS, now=NOW)
    assert thin.retrain is False and "fewer than 200" in thin.reasons[0]
    single = decide(_inputs(live_auc=None, live_n=400), SETTINGS, now=NOW)
    assert single.retrain is False and "live AUC not measurable" in single.reasons[0]
    unknown = decide(_inputs(validation_auc=None, live_auc=0.5), SETTINGS, now=NOW)
    assert unknown.retrain is False and "validation AUC is unknown" in unknown.reasons[0]


def test_without_a_deployed_model_training_waits_for_enough_labels() -> None:
    early = decide(_inputs(model_version=None, new_labels=999), SETTINGS, now=NOW)
    assert early.retrain is False and "no model is deployed" in early.reasons[0]
    ready = decide(_inputs(model_version=None, new_labels=1000), SETTINGS, now=NOW)
    assert ready.retrain is True


def test_gather_inputs_takes_the_worst_psi_and_the_live_model_figures() -> None:
    drift = DriftReport([PsiResult("credit_score", "numeric", 0.02, 500, 500),
                         PsiResult("loan_type", "categorical", 0.2, 500, 500),
                         PsiResult("income", "numeric", None, 10, 10, message="income: too few")],
                        PsiResult("score", "score", 0.05, 0, 500), 0.1, "ref", ["income: too few"])
    live = ModelKpis("v3", n=640, positives=80, auc=0.71)
    inputs = gather_inputs(model_version="v3", validation_auc=0.8, live=live, drift=drift, new_labels=12)
    assert (inputs.live_auc, inputs.live_n, inputs.max_psi, inputs.max_psi_name) == (0.71, 640, 0.2, "loan_type")
    assert inputs.notes == ["income: too few"]
    assert decide(inputs, SETTINGS, now=NOW).retrain is True  # 0.71 < 0.76 and PSI 0.2 > 0.1


def test_training_frame_and_new_label_count_use_settled_leads_only() -> None:
    created = [NOW - timedelta(days=d) for d in (300, 200, 120, 10, 5)]
    frame = pd.DataFrame({"lead_id": list("abcde"), "created_at": created,
                          "converted": [True, False, None, True, False], "converted_at": [None] * 5})
    labelled = label_leads(frame, as_of=NOW, window_days=90)
    out = training_frame(labelled)
    assert out["lead_id"].tolist() == ["a", "b", "c"] and out["converted"].tolist() == [True, False, False]
    assert "label" not in out.columns and "settled" not in out.columns
    assert new_label_count(labelled, None) == 3
    assert new_label_count(labelled, NOW - timedelta(days=250)) == 2
