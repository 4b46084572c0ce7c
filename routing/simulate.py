"""Simulate routing strategies against ground truth: expected conversions = sum of the TRUE probability
of the officer each lead went to.

Round robin, greedy and batch-optimal decide on ESTIMATED performance (profiles built from history);
"best possible" is the optimal assignment on the TRUE probabilities under the same hard rules and
capacities, an upper bound no router that only sees history can beat.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.assign import UNASSIGNED, greedy_assignment, optimal_assignment, round_robin_assignment
from routing.match import Licensed
from routing.profiles import ProfileSet
from routing.route import build_problem, route

BEST = "best_possible"


@dataclass(frozen=True)
class StrategyOutcome:
    """One strategy on one batch: its choices and what they are truly worth."""

    name: str
    choice: np.ndarray  # (n,) officer column or -1
    expected_conversions: float
    assigned: int
    leads_per_agent: np.ndarray  # (m,)
    conversions_per_agent: np.ndarray  # (m,) expected conversions each officer brings in


@dataclass(frozen=True)
class SimulationReport:
    """Every strategy on the same leads, officers and capacities."""

    agent_ids: list[str]
    outcomes: dict[str, StrategyOutcome]

    def ratio(self, name: str, baseline: str) -> float:
        """Expected conversions of `name` divided by those of `baseline`."""
        base = self.outcomes[baseline].expected_conversions
        return self.outcomes[name].expected_conversions / base if base > 0 else float("nan")

    def table(self) -> pd.DataFrame:
        """Per strategy: assigned leads and expected conversions (for printing)."""
        return pd.DataFrame([{"strategy": o.name, "assigned": o.assigned,
                              "expected_conversions": round(o.expected_conversions, 2)}
                             for o in self.outcomes.values()]).set_index("strategy")

    def per_agent(self) -> pd.DataFrame:
        """Expected conversions per officer and strategy."""
        return pd.DataFrame({name: o.conversions_per_agent for name, o in self.outcomes.items()},
                            index=self.agent_ids)


def score_choice(name: str, choice: np.ndarray, true_p: np.ndarray) -> StrategyOutcome:
    """Expected conversions of a choice vector under the true probability matrix."""
    true_p = np.asarray(true_p, dtype=float)
    n, m = true_p.shape
    if choice.shape != (n,):
        raise BadInputError(f"choice has shape {choice.shape}, expected ({n},)")
    rows = np.flatnonzero(choice != UNASSIGNED)
    gained = true_p[rows, choice[rows]]
    per_agent = np.bincount(choice[rows], weights=gained, minlength=m)
    leads = np.bincount(choice[rows], minlength=m)
    return StrategyOutcome(name, choice, float(gained.sum()), int(rows.size), leads, per_agent)


def simulate_matrices(true_p: np.ndarray, estimated_p: np.ndarray, allowed: np.ndarray, capacity: np.ndarray,
                      agent_ids: list[str] | None = None, round_robin_start: int = 0) -> SimulationReport:
    """Round robin, greedy and batch-optimal on `estimated_p`, best possible on `true_p` (bare matrices)."""
    true_p, estimated_p = np.asarray(true_p, float), np.asarray(estimated_p, float)
    if true_p.shape != estimated_p.shape or true_p.shape != np.shape(allowed):
        raise BadInputError("true, estimated and allowed matrices must have the same (leads x officers) shape")
    ids = agent_ids or [str(j) for j in range(true_p.shape[1])]
    rr, _ = round_robin_assignment(allowed, capacity, start=round_robin_start)
    choices = {
        "round_robin": rr,
        "greedy": greedy_assignment(estimated_p, allowed, capacity),
        "optimal": optimal_assignment(estimated_p, allowed, capacity),
        BEST: optimal_assignment(true_p, allowed, capacity),
    }
    return SimulationReport(ids, {k: score_choice(k, v, true_p) for k, v in choices.items()})


def simulate_routing(leads: pd.DataFrame, profiles: ProfileSet, config: RoutingConfig, now: datetime,
                     true_p: np.ndarray, *, licensed: Licensed = None,
                     open_leads: pd.DataFrame | None = None) -> SimulationReport:
    """Run the real `route` with each strategy on the same batch; add the best possible on `true_p`.

    `true_p` is (n_leads x n_officers) in the batch's row order and `profiles.agent_ids` column order.
    """
    n, m = len(leads), len(profiles.agents)
    true_p = np.asarray(true_p, dtype=float)
    if true_p.shape != (n, m):
        raise BadInputError(f"true probabilities have shape {true_p.shape}, expected ({n}, {m})")
    column = {a: j for j, a in enumerate(profiles.agent_ids)}
    outcomes: dict[str, StrategyOutcome] = {}
    for strategy in ("round_robin", "greedy", "optimal"):
        result = route(leads, profiles, config, now, licensed=licensed, open_leads=open_leads, strategy=strategy)
        choice = np.array([column[a.agent_id] if a.agent_id is not None else UNASSIGNED
                           for a in result.assignments], dtype=int)
        outcomes[strategy] = score_choice(strategy, choice, true_p)
    problem = build_problem(leads, profiles, config, now, licensed=licensed, open_leads=open_leads)
    best = optimal_assignment(true_p, problem.allowed, problem.matches.free)
    outcomes[BEST] = score_choice(BEST, best, true_p)
    return SimulationReport(profiles.agent_ids, outcomes)
