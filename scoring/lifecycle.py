"""Train, gate, register and (if it passes) promote: the one path used by `leadpilot train` and retraining."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from config.sections.scoring import ScoringConfig
from scoring.card import render_card
from config.errors import LeadpilotError
from scoring.gate import FairnessAudit, FairnessInput, GateResult, evaluate_gate, protected_frame
from scoring.metrics import compute_metrics
from scoring.rates import RateSeries
from scoring.registry import ModelEntry, ModelRegistry
from scoring.train import Progress, TrainingResult, train


@dataclass
class TrainOutcome:
    """What a training run produced and what happened to the model."""

    result: TrainingResult
    gate: GateResult
    entry: ModelEntry
    promoted: bool

    def report(self) -> dict[str, Any]:
        """The JSON of `leadpilot train --json`: version, metrics (final holdout), gate, and the details."""
        return {"version": self.entry.version, "promoted": self.promoted, "metrics": self.result.metrics.to_dict(),
                "gate": self.gate.to_dict(), **{k: v for k, v in self.result.report().items() if k != "metrics"}}


def champion_auc_on(registry: ModelRegistry, holdout: pd.DataFrame, y: np.ndarray) -> tuple[str | None, float | None, str]:
    """(champion version, its AUC on these leads, note); a champion that cannot score them is noted, not fatal."""
    version = registry.champion()
    if version is None:
        return None, None, "no champion yet"
    champion = registry.load(version)  # integrity errors propagate: a tampered champion needs a person
    try:
        p = champion.predict_proba(holdout)
    except (LeadpilotError, KeyError, ValueError) as exc:
        return version, None, f"champion {version} cannot score this data ({exc}); not compared"
    return version, compute_metrics(y, p).auc, ""


def train_and_register(frame: pd.DataFrame, settings: ScoringConfig, registry: ModelRegistry, *, now: datetime,
                       rates: RateSeries | None = None, maturity_days: int | None = None,
                       as_of: datetime | None = None, fairness: FairnessAudit | Any = None,
                       promote: bool = True, progress: Progress | None = None,
                       extra_metadata: dict[str, Any] | None = None) -> TrainOutcome:
    """Train on labelled leads, gate against the champion on the same holdout, register; promote on a pass.

    Bad data raises ScoringInputError before anything is written.
    """
    result = train(frame, settings, rates=rates, as_of=as_of, maturity_days=maturity_days, progress=progress)
    assert result.holdout is not None and result.holdout_y is not None
    version, champ_auc, note = champion_auc_on(registry, result.holdout, result.holdout_y)
    protected = protected_frame(result.holdout)
    features = result.holdout[[c for c in result.model.plan.input_columns if c in result.holdout.columns]]
    fairness_input = FairnessInput(result.holdout_probability, result.holdout_score, result.holdout_y,  # type: ignore[arg-type]
                                   protected, [f.name for f in result.model.plan.features], features)
    gate = evaluate_gate(result.metrics, settings.gate, champion_auc=champ_auc, champion_version=version,
                         fairness=fairness, fairness_input=fairness_input,
                         extra_notes=[note] if note else [])
    entry = registry.register(result, gate, now=now, extra=extra_metadata,
                              card=lambda v: render_card(result, gate, v, now.isoformat()))
    promoted = False
    if gate.passed and promote:
        registry.promote(entry.version, now=now, reason="gate passed")
        promoted = True
    return TrainOutcome(result, gate, registry.entry(entry.version), promoted)

