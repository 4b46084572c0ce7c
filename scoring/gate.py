"""The deployment gate: a model is promoted only if it is good enough, calibrated, fair and no worse than
the champion on the same holdout. A model that fails is kept in the registry with the reasons."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from config.canonical import PROTECTED_ATTRIBUTES
from config.sections.scoring import GateConfig
from scoring.metrics import Metrics


@runtime_checkable
class FairnessOutcome(Protocol):
    """What the gate needs from a fairness audit (compliance.fairness's report, or any look-alike)."""

    passed: bool


@dataclass(frozen=True)
class FairnessInput:
    """Holdout predictions with the protected attributes of the same leads, for an audit callable."""

    probability: np.ndarray
    score: np.ndarray
    label: np.ndarray
    protected: pd.DataFrame
    feature_names: list[str] = field(default_factory=list)
    features: pd.DataFrame | None = None  # the model's input columns, for proxy detection


FairnessAudit = Callable[[FairnessInput], Any]


@dataclass(frozen=True)
class GateResult:
    """`passed`, and one sentence per failed check (`reasons`) or remark (`notes`)."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    champion_version: str | None = None
    champion_auc: float | None = None
    fairness: dict[str, Any] | None = None  # the audit's own report, where it offers to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons), "notes": list(self.notes),
                "champion_version": self.champion_version, "champion_auc": self.champion_auc,
                "fairness": self.fairness}


# HMDA's reporting bands: an audit judges groups, and one group per year of age is only noise.
AGE_BANDS = (-np.inf, 25, 35, 45, 55, 65, 75, np.inf)
AGE_LABELS = ("<25", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")


def protected_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The protected-attribute columns present in `frame` (exact canonical names), possibly none.

    A numeric age is put in HMDA's age bands; other attributes are passed as they are.
    """
    cols = [c for c in frame.columns if str(c).strip().lower() in PROTECTED_ATTRIBUTES]
    out = frame[cols].copy()
    for col in cols:
        if str(col).strip().lower() == "age":
            years = pd.to_numeric(out[col], errors="coerce")
            if years.notna().any():
                out[col] = pd.cut(years, AGE_BANDS, right=False, labels=AGE_LABELS).astype(object)
    return out


def _fairness_reasons(outcome: Any) -> list[str]:
    for attr in ("reasons", "violations", "failures", "problems"):
        value = getattr(outcome, attr, None)
        if value:
            return [str(v) for v in value]
    return ["the fairness audit failed (no details given)"]


def evaluate_gate(metrics: Metrics, settings: GateConfig, *, champion_auc: float | None = None,
                  champion_version: str | None = None, fairness: Any = None,
                  fairness_input: FairnessInput | None = None, extra_notes: Sequence[str] = ()) -> GateResult:
    """Apply every check; `fairness` is an audit result (with `.passed`) or a callable taking FairnessInput.

    Fairness is required where `fairness_input` holds protected attributes: with no audit given the
    gate fails if `settings.require_fairness_audit`, else it passes with a note.
    """
    reasons: list[str] = []
    notes: list[str] = list(extra_notes)
    auc, ece = metrics.auc, metrics.ece
    if np.isnan(auc) or auc < settings.min_auc:
        reasons.append(f"holdout AUC {auc:.4f} is below the minimum {settings.min_auc:.4f} (scoring.gate.min_auc)")
    if np.isnan(ece) or ece > settings.max_ece:
        reasons.append(f"holdout calibration error (ECE) {ece:.4f} is above the maximum {settings.max_ece:.4f} "
                       "(scoring.gate.max_ece)")
    if champion_auc is not None and not np.isnan(champion_auc):
        if auc < champion_auc - settings.champion_tolerance:
            reasons.append(f"holdout AUC {auc:.4f} is worse than the champion {champion_version} "
                           f"({champion_auc:.4f}) on the same leads by more than {settings.champion_tolerance:.4f}")
        else:
            notes.append(f"champion {champion_version} scored AUC {champion_auc:.4f} on the same holdout")
    has_protected = fairness_input is not None and not fairness_input.protected.empty
    if fairness is not None and callable(fairness) and not isinstance(fairness, FairnessOutcome):
        fairness = fairness(fairness_input) if has_protected else None
    report = None
    if fairness is not None:
        report = fairness.to_dict() if hasattr(fairness, "to_dict") else None
        if not bool(fairness.passed):
            reasons += [f"fairness: {r}" for r in _fairness_reasons(fairness)]
        else:
            notes.append("fairness audit passed")
    elif has_protected:
        cols = ", ".join(map(str, fairness_input.protected.columns))  # type: ignore[union-attr]
        if settings.require_fairness_audit:
            reasons.append(f"the data holds protected attributes ({cols}) but no fairness audit ran "
                           "(scoring.gate.require_fairness_audit)")
        else:
            notes.append(f"protected attributes ({cols}) present; fairness audit not run")
    return GateResult(not reasons, reasons, notes, champion_version, champion_auc, report)
