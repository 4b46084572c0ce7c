"""The two tables the learning loop works on, as read by `store_io` (or built by a test from synthetic data).

`leads`, one row per lead:
    lead_pk, lead_id, created_at (aware UTC), converted (bool or None), converted_at, conversion_value,
    lead_cost, agent_id (officer who worked it), assigned_at (first assignment that reached an officer; NaT
    if none), arm (A/B arm recorded with the lead's first score; None if none), model_version, probability,
    score (the lead's first score: the one its routing acted on), plus any canonical feature columns.
`scores`, one row per (lead_pk, model_version): that version's first score of the lead:
    lead_pk, model_version, probability, score, variant, scored_at.

The first score is used, not the latest: behaviour inputs (email opens, sessions) keep growing after an
officer works a lead, so a later score would know part of the outcome and flatter the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from daemon.learning.errors import LearningInputError

LEAD_COLUMNS: tuple[str, ...] = (
    "lead_pk", "lead_id", "created_at", "converted", "converted_at", "conversion_value", "lead_cost",
    "agent_id", "assigned_at", "arm", "model_version", "probability", "score",
)
SCORE_COLUMNS: tuple[str, ...] = ("lead_pk", "model_version", "probability", "score", "variant", "scored_at")


@dataclass
class LearningData:
    """Leads with their outcome, assignment and first score; and every model version's first score."""

    leads: pd.DataFrame
    scores: pd.DataFrame

    def __post_init__(self) -> None:
        for name, frame, columns in (("leads", self.leads, LEAD_COLUMNS), ("scores", self.scores, SCORE_COLUMNS)):
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise LearningInputError(f"learning data: the {name} table lacks column(s) {', '.join(missing)}")

    @classmethod
    def empty(cls) -> "LearningData":
        """No leads at all (a new installation)."""
        return cls(pd.DataFrame({c: pd.Series(dtype=object) for c in LEAD_COLUMNS}),
                   pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS}))
