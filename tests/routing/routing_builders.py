"""Small builders for routing tests: officers, lead batches, history; each test states only what matters."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from config.sections.routing import RoutingConfig
from routing.agents_file import AgentSpec, Licence
from routing.profiles import ProfileSet, build_profiles
from routing.schedule import build_schedule

# Monday 2 November 2026, 15:00 UTC = 09:00 in Chicago, 10:00 in New York
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def officer(agent_id: str, states: Sequence[str] = ("TX",), *, max_capacity: int = 10, optimal: int | None = None,
            specialties: Sequence[str] = (), active: bool = True, open_leads: int = 0,
            channels: Sequence[str] = ("call", "text"), schedule: dict[str, Any] | None = None,
            timezone: str = "America/Chicago", expires: date | None = None,
            complaint_rate: float | None = None) -> AgentSpec:
    """An officer licensed in `states`, working 09:00-17:00 on weekdays unless told otherwise."""
    hours = {"weekdays": "09:00-17:00"} if schedule is None else schedule
    return AgentSpec(
        agent_id=agent_id, name=agent_id.title(), active=active,
        licences=tuple(Licence(s, expires=expires) for s in states),
        specialties=frozenset(specialties), channels=frozenset(channels),
        optimal_capacity=min(optimal if optimal is not None else max_capacity, max_capacity),
        max_capacity=max_capacity,
        schedule=None if hours == {} else build_schedule(timezone, hours),
        open_leads=open_leads, complaint_rate=complaint_rate,
    )


def leads(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """A batch; every lead defaults to TX, score 70, FHA, credit 700, and gets lead_id L<n> unless given."""
    out = []
    for i, row in enumerate(rows):
        base = {"lead_id": f"L{i + 1}", "state": "TX", "score": 70.0, "loan_type": "fha", "credit_score": 700}
        out.append({**base, **row})
    return pd.DataFrame(out)


def history(per_agent: dict[str, tuple[int, int]], **columns: Any) -> pd.DataFrame:
    """agent_id -> (leads, conversions), the converted ones first; extra columns are constant."""
    rows = []
    for agent_id, (n, c) in per_agent.items():
        rows += [{"agent_id": agent_id, "converted": i < c, **columns} for i in range(n)]
    return pd.DataFrame(rows)


def profiles(agents: Sequence[AgentSpec], hist: pd.DataFrame | None = None,
             config: RoutingConfig | None = None) -> ProfileSet:
    return build_profiles(hist, list(agents), config or RoutingConfig())


def random_instance(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random values, an allowed mask with some holes, and small capacities."""
    value = rng.random((n, m))
    allowed = rng.random((n, m)) < 0.7
    capacity = rng.integers(0, 3, m)
    return value, allowed, capacity
