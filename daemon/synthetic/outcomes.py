"""History of who worked each lead and what came of it, drawn from the ground truth."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from daemon.synthetic.records import SyntheticAgent
from daemon.synthetic.truth import GroundTruth

MATURITY_DAYS = 90           # leads younger than this may still convert: status "open"
MIN_CLOSE_DAYS, MAX_CLOSE_DAYS = 7, 85  # a mortgage closes 1-12 weeks after the lead arrives
ORIGINATION_RATE = 0.01      # revenue ~1% of the loan amount


def assign_history(rng: np.random.Generator, states: np.ndarray, agents: list[SyntheticAgent]) -> np.ndarray:
    """For each lead, an officer who held a licence in its state (active or since left), uniformly at random."""
    assigned = np.empty(states.size, dtype=object)
    for state in np.unique(states):
        holders = np.array([a.agent_id for a in agents if state in a.states], dtype=object)
        where = np.flatnonzero(states == state)
        assigned[where] = holders[rng.integers(0, holders.size, where.size)]
    return assigned


def draw_outcomes(rng: np.random.Generator, leads: pd.DataFrame, truth: GroundTruth,
                  agents: list[SyntheticAgent], now: datetime) -> pd.DataFrame:
    """One row per lead: officer, assignment time, outcome as seen at `now`, and the drawn truth."""
    n = len(leads)
    agent_id = assign_history(rng, leads["state"].to_numpy(dtype=object), agents)
    p = truth.pair_probability(leads, list(agent_id))
    eventually = rng.random(n) < p
    created = leads["created_at"]
    delay = np.clip(np.exp(np.log(30.0) + 0.45 * rng.standard_normal(n)), MIN_CLOSE_DAYS, MAX_CLOSE_DAYS)
    converted_at = created + pd.to_timedelta(np.rint(delay * 86_400), unit="s")
    now_ts = pd.Timestamp(now)
    seen = eventually & (converted_at <= now_ts).to_numpy()
    young = (created > now_ts - timedelta(days=MATURITY_DAYS)).to_numpy()
    rate = np.clip(rng.normal(ORIGINATION_RATE, 0.0015, n), 0.005, 0.0175)
    value = np.where(seen, np.round(leads["loan_amount"].to_numpy(dtype=float) * rate, 2), np.nan)
    response = pd.to_timedelta(np.rint(np.exp(np.log(900.0) + rng.standard_normal(n))), unit="s")
    assigned_at = (created + response).clip(upper=now_ts)
    return pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy(),
        "agent_id": agent_id,
        "assigned_at": assigned_at,
        "status": np.select([seen, young], ["won", "open"], "lost"),
        "converted": seen,
        "converted_at": converted_at.where(seen),
        "conversion_value": value,
        # ground truth, invisible to a CRM: the worked officer's true chance and the drawn outcome
        "true_probability": np.round(p, 6),
        "converted_eventually": eventually,
    })
