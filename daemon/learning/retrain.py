"""When to retrain (the seed's 5.2), and the call that retrains through the scoring gate.

Retrain when any of these holds (learning.retrain):
- live AUC < auc_ratio x the deployed model's validation (holdout) AUC, measured on at least min_auc_leads
  settled leads that model scored, with both outcomes present;
- a feature's or the score's PSI > psi_threshold (see drift.py);
- at least min_new_labels settled leads were created after the deployed model's training window ended.
With no deployed model, retrain once min_new_labels settled leads exist.

Every decision, retrain or not, carries its reasons and the figures behind them, so it can be recorded.
Training itself goes through scoring.lifecycle.train_and_register: the gate compares the candidate with the
champion on the same holdout, and a model that fails the gate is registered but never promoted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from config.sections.learning import RetrainConfig

from daemon.learning.drift import DriftReport
from daemon.learning.kpi import ModelKpis, clean


@dataclass(frozen=True)
class RetrainInputs:
    """What the decision looks at; None where it could not be measured."""

    model_version: str | None         # the deployed (champion) version, None before the first promotion
    validation_auc: float | None      # its AUC on its training holdout (registry)
    live_auc: float | None            # its AUC on settled leads it scored
    live_n: int                       # settled leads behind live_auc
    max_psi: float | None             # the highest PSI measured
    max_psi_name: str | None          # which feature (or "score") it was
    new_labels: int                   # settled leads created after its training window
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """Whether to retrain now, why, and the figures checked."""

    retrain: bool
    reasons: list[str]
    inputs: RetrainInputs
    decided_at: str

    def to_dict(self) -> dict[str, Any]:
        return clean(asdict(self))


def new_label_count(labelled: pd.DataFrame, since: datetime | None) -> int:
    """Settled leads (a `label_leads` result) created after `since` (all of them when None)."""
    if not len(labelled):
        return 0
    settled = labelled[labelled["settled"].to_numpy(dtype=bool)]
    if since is None:
        return len(settled)
    created = pd.to_datetime(settled["created_at"], utc=True, errors="coerce")
    return int((created > pd.Timestamp(since)).sum())


def gather_inputs(*, model_version: str | None, validation_auc: float | None, live: ModelKpis | None,
                  drift: DriftReport | None, new_labels: int) -> RetrainInputs:
    """Collect the decision's inputs from the KPI and drift reports."""
    notes: list[str] = []
    if live is not None and live.message:
        notes.append(live.message)
    if drift is not None:
        notes += drift.messages
    worst = drift.worst if drift is not None else None
    return RetrainInputs(
        model_version=model_version, validation_auc=validation_auc, live_auc=live.auc if live else None,
        live_n=live.n if live else 0, max_psi=worst.psi if worst else None, max_psi_name=worst.name if worst else None,
        new_labels=new_labels, notes=notes,
    )


def decide(inputs: RetrainInputs, settings: RetrainConfig, *, now: datetime) -> Decision:
    """Apply the three retraining rules to `inputs`; the reasons say which rule fired, or why none did."""
    fired: list[str] = []
    quiet: list[str] = []
    if inputs.model_version is None:
        if inputs.new_labels >= settings.min_new_labels:
            fired.append(f"no model is deployed and {inputs.new_labels} settled labelled leads exist "
                         f"(>= {settings.min_new_labels})")
        else:
            quiet.append(f"no model is deployed, and only {inputs.new_labels} settled labelled lead(s) exist; "
                         f"training waits for {settings.min_new_labels} (learning.retrain.min_new_labels)")
        return Decision(bool(fired), fired or quiet, inputs, now.isoformat())

    floor = settings.auc_ratio * inputs.validation_auc if inputs.validation_auc is not None else None
    if inputs.live_auc is None or floor is None:
        why = ("the deployed model's validation AUC is unknown" if floor is None
               else f"live AUC not measurable ({inputs.live_n} settled scored lead(s), or a single class)")
        quiet.append(f"AUC rule not checked: {why}")
    elif inputs.live_n < settings.min_auc_leads:
        quiet.append(f"AUC rule not checked: live AUC {inputs.live_auc:.3f} rests on {inputs.live_n} settled lead(s), "
                     f"fewer than {settings.min_auc_leads} (learning.retrain.min_auc_leads)")
    elif inputs.live_auc < floor:
        fired.append(f"live AUC {inputs.live_auc:.3f} on {inputs.live_n} settled leads is below {settings.auc_ratio:g} x "
                     f"validation AUC {inputs.validation_auc:.3f} = {floor:.3f}")
    else:
        quiet.append(f"live AUC {inputs.live_auc:.3f} >= {floor:.3f} ({settings.auc_ratio:g} x validation "
                     f"{inputs.validation_auc:.3f})")

    if inputs.max_psi is None:
        quiet.append("drift rule not checked: no PSI measured")
    elif inputs.max_psi > settings.psi_threshold:
        fired.append(f"drift: PSI of {inputs.max_psi_name} is {inputs.max_psi:.3f} > {settings.psi_threshold:g}")
    else:
        quiet.append(f"largest PSI {inputs.max_psi:.3f} ({inputs.max_psi_name}) <= {settings.psi_threshold:g}")

    if inputs.new_labels >= settings.min_new_labels:
        fired.append(f"{inputs.new_labels} new settled labelled leads since the model's training window "
                     f"(>= {settings.min_new_labels})")
    else:
        quiet.append(f"{inputs.new_labels} new settled labelled lead(s) since training (< {settings.min_new_labels})")
    return Decision(bool(fired), fired + [f"checked: {q}" for q in quiet] if fired else quiet, inputs, now.isoformat())


def training_frame(labelled: pd.DataFrame, label_column: str = "converted") -> pd.DataFrame:
    """Settled leads of a `label_leads` result, with `label_column` set to the final label (True/False).

    Only settled leads: a young lead that converted early would teach the model that recent leads convert
    more (the same reason scoring leaves out leads younger than the window).
    """
    settled = labelled[labelled["settled"].to_numpy(dtype=bool)].copy()
    settled[label_column] = settled["label"].astype(float) == 1.0
    drop = [c for c in ("label_status", "label", "final", "settled", "late_conversion") if c in settled.columns]
    return settled.drop(columns=drop).reset_index(drop=True)
