"""The deployment gate: AUC, calibration, the champion on the same holdout, and the fairness audit hook."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from config.sections.scoring import GateConfig
from scoring.gate import FairnessInput, evaluate_gate, protected_frame
from scoring.metrics import compute_metrics

RNG = np.random.default_rng(0)
P = RNG.uniform(0.02, 0.6, 2000)
Y = (RNG.random(2000) < P).astype(float)
GOOD = compute_metrics(Y, P)  # calibrated by construction, AUC ~0.75


@dataclass
class Report:
    """A FairnessReport look-alike: `passed` plus `reasons`."""

    passed: bool
    reasons: tuple[str, ...] = ()
    calls: list[int] = field(default_factory=list)


def _input(protected: pd.DataFrame | None = None) -> FairnessInput:
    frame = protected if protected is not None else pd.DataFrame(index=range(len(P)))
    return FairnessInput(P, np.floor(P * 100), Y, frame)


def test_given_a_good_calibrated_model_without_champion_then_it_passes() -> None:
    gate = evaluate_gate(GOOD, GateConfig())
    assert gate.passed and gate.reasons == []


def test_given_a_weak_model_then_the_min_auc_fails_with_the_key_to_change() -> None:
    weak = compute_metrics(Y, RNG.uniform(size=len(Y)))
    gate = evaluate_gate(weak, GateConfig(min_auc=0.6))
    assert not gate.passed and "below the minimum 0.6000 (scoring.gate.min_auc)" in gate.reasons[0]


def test_given_a_miscalibrated_model_then_max_ece_fails() -> None:
    gate = evaluate_gate(compute_metrics(Y, np.clip(P * 1.6, 0, 1)), GateConfig(max_ece=0.05))
    assert not gate.passed and any("ECE" in r and "scoring.gate.max_ece" in r for r in gate.reasons)


@pytest.mark.parametrize("champion_auc, passes", [(GOOD.auc + 0.004, True), (GOOD.auc + 0.02, False),
                                                  (GOOD.auc - 0.05, True)])
def test_given_a_champion_then_worse_beyond_the_tolerance_fails(champion_auc: float, passes: bool) -> None:
    gate = evaluate_gate(GOOD, GateConfig(champion_tolerance=0.005), champion_auc=champion_auc,
                         champion_version="v0007")
    assert gate.passed is passes
    if not passes:
        assert "worse than the champion v0007" in gate.reasons[0]


def test_given_a_failed_fairness_report_then_its_reasons_fail_the_gate() -> None:
    gate = evaluate_gate(GOOD, GateConfig(), fairness=Report(False, ("FAIRNESS_EQUALIZED_ODDS [race]: gap 0.2",)),
                         fairness_input=_input(pd.DataFrame({"race": ["a", "b"] * 1000})))
    assert not gate.passed and gate.reasons == ["fairness: FAIRNESS_EQUALIZED_ODDS [race]: gap 0.2"]


def test_given_an_audit_callable_then_it_is_called_with_the_holdout_and_protected_columns() -> None:
    seen: list[FairnessInput] = []

    def audit(data: FairnessInput) -> Report:
        seen.append(data)
        return Report(True)

    protected = pd.DataFrame({"sex": ["f", "m"] * 1000})
    gate = evaluate_gate(GOOD, GateConfig(), fairness=audit, fairness_input=_input(protected))
    assert gate.passed and "fairness audit passed" in gate.notes
    assert len(seen) == 1 and list(seen[0].protected.columns) == ["sex"] and len(seen[0].probability) == 2000


def test_given_protected_columns_but_no_audit_then_the_gate_fails_unless_configured_otherwise() -> None:
    data = _input(pd.DataFrame({"race": ["a", "b"] * 1000}))
    strict = evaluate_gate(GOOD, GateConfig(), fairness_input=data)
    assert not strict.passed and "no fairness audit ran" in strict.reasons[0]
    lenient = evaluate_gate(GOOD, GateConfig(require_fairness_audit=False), fairness_input=data)
    assert lenient.passed and "fairness audit not run" in lenient.notes[0]


def test_given_no_protected_columns_then_the_audit_is_not_needed() -> None:
    calls: list[int] = []
    gate = evaluate_gate(GOOD, GateConfig(), fairness=lambda d: calls.append(1), fairness_input=_input())
    assert gate.passed and calls == []


def test_given_a_lead_frame_then_only_protected_columns_are_handed_to_the_audit() -> None:
    frame = pd.DataFrame({"race": ["a"] * 4, "Sex": ["f"] * 4, "credit_score": [700] * 4, "age": [24, 40, 64, "n/a"],
                          "page_views": [3] * 4})
    protected = protected_frame(frame)
    assert list(protected.columns) == ["race", "Sex", "age"]
    assert protected["age"].tolist()[:3] == ["<25", "35-44", "55-64"] and pd.isna(protected["age"].iloc[3])


def test_given_the_compliance_audit_then_the_gate_uses_its_report() -> None:
    fairness = pytest.importorskip("compliance.fairness")
    from config.sections.compliance import FairnessConfig

    group = np.where(np.arange(len(P)) % 2 == 0, "a", "b")
    skewed = np.where(group == "b", np.clip(P + 0.3, 0, 1), P)  # group b over-predicted by 0.3

    def audit(data: FairnessInput):  # type: ignore[no-untyped-def]
        return fairness.audit_fairness(data.probability, data.label, data.protected, threshold=0.3,
                                       config=FairnessConfig())

    data = FairnessInput(skewed, np.floor(skewed * 100), Y, pd.DataFrame({"race": group}))
    gate = evaluate_gate(GOOD, GateConfig(), fairness=audit, fairness_input=data)
    assert not gate.passed and any(r.startswith("fairness: ") for r in gate.reasons)
    assert gate.fairness is not None and gate.fairness["passed"] is False
