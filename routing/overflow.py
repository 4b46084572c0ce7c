"""Capacity overflow (the seed's 3.3): what happens to a lead when every eligible officer is full.

score >= priority_score: take back the lowest-scored uncontacted lead (scored below the incoming one) from
an eligible officer, re-queue it, and give the slot to the incoming lead; with nothing to take back, queue.
score >= queue_score: queue (served highest score first, first-in first-out within a score).
Lower: automated nurture. Leads no officer may ever take go to the manager queue (see routing.route).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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


@dataclass(frozen=True)
class OpenLeadRows:
    """Open assignments as plain column lists, in the store's order."""

    lead_id: list[str]
    agent_id: list[str]
    score: list[float]  # NaN when unknown
    contacted: list[object] | None  # as given (False / 0 / "no" = not contacted); None: column absent = contacted
    assigned_at: list[object] | None  # datetime, Timestamp, None or NaT; None: column absent

    def __len__(self) -> int:
        return len(self.lead_id)

    def plus(self, other: "OpenLeadRows") -> "OpenLeadRows":
        """These rows, then `other`'s (a column absent on one side reads as absent there: contacted, no time)."""
        n, k = len(self), len(other)
        contacted = None if self.contacted is None and other.contacted is None else (
            (self.contacted if self.contacted is not None else [True] * n)
            + (other.contacted if other.contacted is not None else [True] * k))
        assigned = None if self.assigned_at is None and other.assigned_at is None else (
            (self.assigned_at if self.assigned_at is not None else [None] * n)
            + (other.assigned_at if other.assigned_at is not None else [None] * k))
        return OpenLeadRows(self.lead_id + other.lead_id, self.agent_id + other.agent_id, self.score + other.score,
                            contacted, assigned)

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with OPEN_LEAD_COLUMNS (those present)."""
        data: dict[str, object] = {"lead_id": self.lead_id, "agent_id": self.agent_id,
                                   "score": np.array(self.score, dtype=float)}
        if self.contacted is not None:
            data["contacted"] = self.contacted
        if self.assigned_at is not None:
            data["assigned_at"] = self.assigned_at
        return pd.DataFrame(data)


class OpenLeads:
    """The store's open assignments: open leads per officer (the loads) now, the rows (take-back pool) on demand.

    `rows` may be a function, called once, when a priority lead must take a lead back: the scoring API's one
    lead rarely does, and reading every open row cost more than routing it. `route` and `drain_queue` take
    this or a DataFrame with OPEN_LEAD_COLUMNS; both read alike (tested).
    """

    def __init__(self, counts: Mapping[str, int], rows: OpenLeadRows | Callable[[], OpenLeadRows]):
        self.counts: dict[str, int] = dict(counts)
        self._rows = rows

    @classmethod
    def from_rows(cls, rows: OpenLeadRows) -> "OpenLeads":
        """Open leads known row by row (counts taken from the rows)."""
        return cls(Counter(rows.agent_id), rows)

    @classmethod
    def of(cls, open_leads: "pd.DataFrame | OpenLeads | None") -> "OpenLeads | None":
        """`open_leads` as OpenLeads, checked as Holdings always checked the DataFrame; None stays None."""
        if open_leads is None or isinstance(open_leads, OpenLeads):
            return open_leads
        if not len(open_leads):
            return cls.from_rows(OpenLeadRows([], [], [], None, None))
        missing = [c for c in ("lead_id", "agent_id") if c not in open_leads.columns]
        if missing:
            raise BadInputError(f"open leads need the columns {', '.join(missing)}")
        scores = (pd.to_numeric(open_leads["score"], errors="coerce").astype(float).tolist()
                  if "score" in open_leads else [math.nan] * len(open_leads))
        return cls.from_rows(OpenLeadRows(
            [str(x) for x in open_leads["lead_id"].tolist()], [str(x) for x in open_leads["agent_id"].tolist()],
            scores, open_leads["contacted"].tolist() if "contacted" in open_leads else None,
            open_leads["assigned_at"].tolist() if "assigned_at" in open_leads else None))

    def rows(self) -> OpenLeadRows:
        """Every open assignment (read on first use)."""
        if not isinstance(self._rows, OpenLeadRows):
            self._rows = self._rows()
        return self._rows

    def __len__(self) -> int:
        return sum(self.counts.values())

    def plus(self, rows: OpenLeadRows) -> "OpenLeads":
        """These open leads and `rows` more (e.g. a batch's own assignments)."""
        counts = Counter(self.counts)
        counts.update(rows.agent_id)
        return OpenLeads(counts, lambda: self.rows().plus(rows))

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with OPEN_LEAD_COLUMNS (reads them if not read yet)."""
        return self.rows().to_frame()


def _when(value: object) -> datetime | None:
    """An assignment time as a datetime (as pd.Timestamp(...).to_pydatetime() reads it), None when missing."""
    if type(value) is datetime and value.tzinfo is UTC:  # the store's own values: already what pandas returns
        return value
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


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
    def from_open_leads(cls, agent_ids: Sequence[str], open_leads: "pd.DataFrame | OpenLeads | None") -> "Holdings":
        """Uncontacted open leads from the store (OpenLeads, or columns OPEN_LEAD_COLUMNS; `contacted` missing =
        contacted)."""
        holdings = cls(agent_ids)
        source = OpenLeads.of(open_leads)
        if source is None or not len(source):
            return holdings
        rows = source.rows()
        if rows.contacted is None:
            return holdings
        assigned = rows.assigned_at if rows.assigned_at is not None else [None] * len(rows)
        for lead_id, agent_id, score, contacted, when in zip(rows.lead_id, rows.agent_id, rows.score,
                                                              rows.contacted, assigned):
            j = holdings._index.get(agent_id)
            # only a lead nobody has called yet may move; unknown contact state counts as contacted
            if j is None or not _is_false(contacted):
                continue
            holdings.by_agent[j].append(Held(lead_id, score if np.isfinite(score) else -math.inf, _when(when), False))
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
