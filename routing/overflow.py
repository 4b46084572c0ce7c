"""Capacity overflow (the seed's 3.3): what happens to a lead when every eligible officer is full.

score >= priority_score: take back the lowest-scored uncontacted lead (scored below the incoming one) from
an eligible officer, re-queue it, and give the slot to the incoming lead; with nothing to take back, queue.
score >= queue_score: queue (served highest score first, first-in first-out within a score).
Lower: automated nurture. Leads no officer may ever take go to the manager queue (see routing.route).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import pandas as pd

from config.errors import BadInputError
from config.sections.routing import OverflowThresholds
from routing.outcome import QueueItem

OPEN_LEAD_COLUMNS = ("lead_id", "agent_id", "score", "contacted", "assigned_at")


def _is_false(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return not bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value) == 0
    return isinstance(value, str) and value.strip().lower() in {"false", "0", "no"}


class Overflow(StrEnum):
    PRIORITY = "priority"
    QUEUE = "queue"
    NURTURE = "nurture"


def overflow_tier(score: float, thresholds: OverflowThresholds) -> Overflow:
    """Which overflow rule a lead with this (valid) score falls under."""
    if score >= thresholds.priority_score:
        return Overflow.PRIORITY
    return Overflow.QUEUE if score >= thresholds.queue_score else Overflow.NURTURE


def queue_order(items: Sequence[QueueItem]) -> list[QueueItem]:
    """Serving order: highest score first, first-in first-out within a score (lead_id breaks exact ties)."""
    return sorted(items, key=lambda q: (-q.score, q.enqueued_at, q.lead_id))


@dataclass
class Held:
    """A lead an officer holds that could be taken back; `in_batch` if it was assigned in this very batch."""

    lead_id: str
    score: float  # -inf when unknown: an unscored lead is the first to give way
    assigned_at: datetime | None
    in_batch: bool
    batch_row: int = -1


class Holdings:
    """Uncontacted leads per officer (column index), the pool priority leads take back from."""

    def __init__(self, agent_ids: Sequence[str]):
        self._index = {a: j for j, a in enumerate(agent_ids)}
        self.by_agent: dict[int, list[Held]] = {j: [] for j in range(len(agent_ids))}

    @classmethod
    def from_open_leads(cls, agent_ids: Sequence[str], open_leads: pd.DataFrame | None) -> "Holdings":
        """Uncontacted open leads from the store (columns OPEN_LEAD_COLUMNS; `contacted` missing = contacted)."""
        holdings = cls(agent_ids)
        if open_leads is None or not len(open_leads):
            return holdings
        missing = [c for c in ("lead_id", "agent_id") if c not in open_leads.columns]
        if missing:
            raise BadInputError(f"open leads need the columns {', '.join(missing)}")
        scores = pd.to_numeric(open_leads.get("score"), errors="coerce") if "score" in open_leads else None
        contacted = open_leads["contacted"] if "contacted" in open_leads else pd.Series(True, index=open_leads.index)
        assigned = open_leads["assigned_at"] if "assigned_at" in open_leads else pd.Series(None, index=open_leads.index)
        for pos, (lead_id, agent_id) in enumerate(zip(open_leads["lead_id"], open_leads["agent_id"])):
            j = holdings._index.get(str(agent_id))
            # only a lead nobody has called yet may move; unknown contact state counts as contacted
            if j is None or not _is_false(contacted.iloc[pos]):
                continue
            score = float(scores.iloc[pos]) if scores is not None else math.nan
            when = assigned.iloc[pos]
            holdings.by_agent[j].append(Held(str(lead_id), score if np.isfinite(score) else -math.inf,
                                             None if pd.isna(when) else pd.Timestamp(when).to_pydatetime(), False))
        return holdings

    def add(self, j: int, held: Held) -> None:
        self.by_agent[j].append(held)

    def take_lowest(self, agents: np.ndarray, below: float) -> tuple[int, Held] | None:
        """Remove and return the lowest-scored held lead scored below `below` among officers `agents`.

        Ties go to the most recently assigned lead (least work invested), then the lead id.
        """
        best: tuple[tuple[float, float, str], int, Held] | None = None
        for j in agents:
            for held in self.by_agent[int(j)]:
                if not held.score < below:
                    continue
                recency = -held.assigned_at.timestamp() if held.assigned_at else math.inf
                key = (held.score, recency, held.lead_id)
                if best is None or key < best[0]:
                    best = (key, int(j), held)
        if best is None:
            return None
        _, j, held = best
        self.by_agent[j].remove(held)
        return j, held
