"""Officer profiles from past assignments: conversion shrunk towards the team's, by cell; speed; load.

Performance is measured as observed / expected conversions (O/E). A past lead's expected conversion is
its calibrated `probability` when the history has one (scaled so the team's O/E is 1), so an officer who
was sent better leads is not rated better for it; without probabilities it is the team's rate.

Shrinkage is a beta prior of strength k = `shrinkage_leads` leads: lift = (O + k r) / (E + k r), with r
the team rate, so an officer with 3 leads and 3 conversions is rated a little above the team, not 100%.
In a cell (score band, loan type, credit tier) an officer's deviation from their own level is
(O_c + P g) / (E_c + P) with P = k leads' worth of expected conversions, and g the prior: the pooled
deviation in that cell of the officers who declare it a specialty (or of those who do not). A declared
FHA specialist with little history is therefore expected to do in FHA what the team's FHA specialists do.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.agents_file import AgentSpec
from routing.leads import LeadView, credit_tiers, loan_type, score_band

DIMENSIONS: tuple[str, ...] = ("score_band", "loan_type", "credit_tier")
_MAX_RATE = 0.999


@dataclass(frozen=True)
class CellRate:
    """An officer's (or the team's) record in one cell: leads with a known outcome, conversions, shrunk rate."""

    leads: int
    conversions: int
    rate: float
    lift: float = 1.0  # rate / the team's rate in the same cell


@dataclass(frozen=True)
class TeamStats:
    """The whole team's record: the prior every officer is shrunk towards."""

    leads: int
    conversions: int
    rate: float | None  # None: no matured history at all
    by_dimension: Mapping[str, Mapping[str, CellRate]] = field(default_factory=dict)
    calibration: float = 1.0  # observed / sum of history probabilities (1.0 without probabilities)


@dataclass(frozen=True)
class AgentProfile:
    """What routing knows about one officer: the agents file plus measured performance and current load."""

    spec: AgentSpec
    leads: int
    conversions: int
    raw_rate: float | None
    conversion_rate: float | None  # shrunk; None only when the team has no history either
    lift: float  # shrunk O/E over all leads (1.0 = team average)
    by_dimension: Mapping[str, Mapping[str, CellRate]]
    days_to_close: float | None
    response_minutes: float | None
    open_load: int

    @property
    def agent_id(self) -> str:
        return self.spec.agent_id

    @property
    def by_score_band(self) -> Mapping[str, CellRate]:
        return self.by_dimension.get("score_band", {})

    @property
    def by_loan_type(self) -> Mapping[str, CellRate]:
        return self.by_dimension.get("loan_type", {})

    @property
    def free_capacity(self) -> int:
        return max(0, self.spec.max_capacity - self.open_load)


@dataclass(frozen=True)
class ProfileSet:
    """All officers' profiles in a fixed order (the columns of every routing matrix) and the team prior."""

    agents: tuple[AgentProfile, ...]
    team: TeamStats
    dimensions: tuple[str, ...]  # measured and reported
    performance_dimensions: tuple[str, ...]  # used in the lift of each (lead, officer) pair

    @property
    def agent_ids(self) -> list[str]:
        return [a.agent_id for a in self.agents]

    def with_loads(self, loads: Mapping[str, int]) -> "ProfileSet":
        """A copy with open loads replaced for the officers named in `loads` (others keep theirs)."""
        agents = tuple(replace(a, open_load=int(loads.get(a.agent_id, a.open_load))) for a in self.agents)
        return replace(self, agents=agents)

    def lift_matrix(self, leads: LeadView) -> np.ndarray:
        """(n_leads x n_agents) multiplicative lift of each officer over an average officer, for each lead.

        Log-additive: overall lift times the deviation in each of the lead's cells; an unknown cell adds nothing.
        """
        n, m = len(leads), len(self.agents)
        overall = np.array([a.lift for a in self.agents], dtype=float)
        out = np.tile(overall, (n, 1)) if n else np.zeros((0, m))
        for dim in self.performance_dimensions:
            keys = _lead_keys(leads, dim)
            cats = sorted({k for k in keys if k is not None})
            if not cats or not m:
                continue
            # table[j, c]: officer j's lift in category c relative to their overall lift; last column = unknown
            table = np.ones((m, len(cats) + 1))
            for j, agent in enumerate(self.agents):
                cells = agent.by_dimension.get(dim, {})
                for c, cat in enumerate(cats):
                    if cat in cells and overall[j] > 0:
                        table[j, c] = cells[cat].lift / overall[j]
            position = {cat: c for c, cat in enumerate(cats)}
            index = np.array([position.get(k, len(cats)) if k is not None else len(cats) for k in keys], dtype=int)
            out = out * table[:, index].T
        return out

    def base_probability(self, leads: LeadView) -> np.ndarray:
        """Each lead's chance with an average officer: scoring's probability, else the team's rate in its score band."""
        base = leads.probability.astype(float).copy()
        bands = self.team.by_dimension.get("score_band", {})
        for i in np.flatnonzero(~np.isfinite(base)):
            band = leads.score_band[i]
            if band in bands:
                base[i] = bands[band].rate
            elif self.team.rate is not None:
                base[i] = self.team.rate
            elif np.isfinite(leads.scores[i]):
                # no history at all: the 0-100 score is the only signal left
                base[i] = leads.scores[i] / 100
            else:
                base[i] = 0.0
        return base

    def expected_conversion(self, leads: LeadView) -> np.ndarray:
        """(n_leads x n_agents) estimated conversion probability of each officer for each lead."""
        return np.clip(self.base_probability(leads)[:, None] * self.lift_matrix(leads), 0.0, 1.0)


def _lead_keys(leads: LeadView, dim: str) -> list[str | None]:
    if dim == "score_band":
        return leads.score_band
    if dim == "loan_type":
        return leads.loan_type
    if dim == "credit_tier":
        return leads.credit_tier
    raise BadInputError(f"unknown profile dimension {dim!r}; use one of {', '.join(DIMENSIONS)}")


def prepare_history(history: pd.DataFrame, config: RoutingConfig) -> pd.DataFrame:
    """Normalise past assignments: agent_id, converted (1/0/NaN = not known yet), probability, cell keys, speed."""
    if "agent_id" not in history.columns or "converted" not in history.columns:
        raise BadInputError("routing history needs at least the columns agent_id and converted")
    out = pd.DataFrame(index=history.index)
    out["agent_id"] = history["agent_id"].astype("string")
    out["converted"] = pd.to_numeric(history["converted"].map(_outcome), errors="coerce")
    prob = pd.to_numeric(history["probability"], errors="coerce") if "probability" in history.columns else np.nan
    out["probability"] = prob
    out.loc[(out["probability"] < 0) | (out["probability"] > 1), "probability"] = np.nan
    if "score_band" in history.columns:
        out["score_band"] = history["score_band"].astype("string").str.strip().str.lower()
    elif "score" in history.columns:
        scores = pd.to_numeric(history["score"], errors="coerce")
        out["score_band"] = [score_band(s, config) for s in scores]
    if "loan_type" in history.columns:
        out["loan_type"] = [loan_type(v) for v in history["loan_type"]]
    if "credit_tier" in history.columns:
        out["credit_tier"] = history["credit_tier"].astype("string").str.strip().str.lower()
    elif "credit_score" in history.columns:
        out["credit_tier"] = credit_tiers(history["credit_score"], config)
    for col in ("days_to_close", "response_minutes"):
        out[col] = pd.to_numeric(history[col], errors="coerce") if col in history.columns else np.nan
    return out[out["agent_id"].notna()]


def _outcome(value: object) -> float:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, str):
        text = value.strip().lower()
        return 1.0 if text in {"true", "1", "yes", "won"} else 0.0 if text in {"false", "0", "no", "lost"} else np.nan
    return 1.0 if bool(value) else 0.0


def _fit(known: pd.DataFrame, agents: Sequence[AgentSpec], fit_dims: tuple[str, ...], report_dims: tuple[str, ...],
         team_cells: Mapping[str, Mapping[str, CellRate]], team_rate: float, k: float, k_cell: float,
         iterations: int = 25) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fit E[converted] = e * level_j * prod_d deviation_j[d][cell] over `fit_dims` by backfitting with shrinkage.

    Fitting level and cells together keeps an officer's specialty mix out of their level (an FHA specialist
    who gets many FHA leads is not rated a better officer overall for it). `report_dims` get one pass
    against the fitted model, for display only. Returns levels (m,), deviations per dimension (m, n_cats)
    and counts per dimension (m, n_cats, 2: leads, conversions).
    """
    dims = fit_dims + report_dims
    m = len(agents)
    index = {a.agent_id: j for j, a in enumerate(agents)}
    rows = known[known["agent_id"].isin(index)] if len(known) else known
    a = rows["agent_id"].map(index).to_numpy(dtype=int) if len(rows) else np.zeros(0, dtype=int)
    o = rows["converted"].to_numpy(dtype=float) if len(rows) else np.zeros(0)
    cats = {d: sorted(team_cells[d]) for d in dims}
    codes = {d: rows[d].map({c: i for i, c in enumerate(cats[d])}).fillna(len(cats[d])).to_numpy(dtype=int)
             if len(rows) else np.zeros(0, dtype=int) for d in dims}
    # without a probability, a lead's expectation combines the team's rates of its cells
    e = rows["_e"].to_numpy(dtype=float).copy() if len(rows) else np.zeros(0)
    no_p = rows["probability"].isna().to_numpy() if len(rows) else np.zeros(0, dtype=bool)
    if no_p.any() and team_rate > 0:
        for d in dims:
            cell_lift = np.array([team_cells[d][c].rate / team_rate for c in cats[d]] + [1.0])
            e[no_p] *= cell_lift[codes[d][no_p]]
    counts = {}
    for d in dims:
        width = len(cats[d]) + 1
        flat = a * width + codes[d]
        n_jc = np.bincount(flat, minlength=m * width).reshape(m, width)[:, :-1]
        o_jc = np.bincount(flat, weights=o, minlength=m * width).reshape(m, width)[:, :-1]
        counts[d] = np.stack([n_jc, o_jc], axis=2)
    level = np.ones(m)
    deviation = {d: np.ones((m, len(cats[d]) + 1)) for d in dims}
    if not len(rows) or team_rate <= 0:
        return level, {d: v[:, :-1] for d, v in deviation.items()}, counts
    specialist = {d: np.array([[c in sp.specialties for c in cats[d]] for sp in agents], dtype=bool).reshape(m, -1)
                  for d in dims}
    team_rate_of = {d: np.array([team_cells[d][c].rate for c in cats[d]]) for d in dims}
    observed = np.bincount(a, weights=o, minlength=m)
    product = np.ones(len(rows))
    for step in range(iterations + 1):
        last = step == iterations
        if not last:
            expected = np.bincount(a, weights=e * product, minlength=m)
            level = (observed + k * team_rate) / (expected + k * team_rate)
        for d in (report_dims if last else fit_dims):
            width = len(cats[d]) + 1
            dev = deviation[d]
            other = product / dev[a, codes[d]]
            flat = a * width + codes[d]
            e_jc = np.bincount(flat, weights=e * level[a] * other, minlength=m * width).reshape(m, width)[:, :-1]
            o_jc = counts[d][:, :, 1]
            pseudo = k_cell * team_rate_of[d][None, :]
            # the prior: pooled deviation of the declared specialists in the cell, and of the others
            prior = np.ones_like(e_jc)
            for flag in (True, False):
                sel = specialist[d] == flag
                pooled = ((np.where(sel, o_jc, 0).sum(axis=0) + pseudo[0])
                          / (np.where(sel, e_jc, 0).sum(axis=0) + pseudo[0]))
                prior = np.where(sel, pooled[None, :], prior)
            weight = pseudo * level[:, None]
            dev[:, :-1] = (o_jc + weight * prior) / (e_jc + weight)
            if not last:
                product = other * dev[a, codes[d]]
    return level, {d: v[:, :-1] for d, v in deviation.items()}, counts


def build_profiles(
    history: pd.DataFrame | None,
    agents: Sequence[AgentSpec],
    config: RoutingConfig,
    *,
    open_load: Mapping[str, int] | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
) -> ProfileSet:
    """Profiles for `agents` (in this order) from past assignments; the team's figures use all history rows.

    `history` columns: agent_id, converted (bool; missing = not known yet), and any of probability (scoring's
    calibrated value when the lead came in), score_band or score, loan_type, credit_tier or credit_score,
    days_to_close, response_minutes. A dimension absent from the history is skipped. `open_load`
    (agent_id -> open leads) overrides the agents file's open_leads.
    """
    k = float(config.shrinkage_leads)
    ids = [a.agent_id for a in agents]
    if len(set(ids)) != len(ids):
        raise BadInputError("duplicate agent_id among the officers given to routing")
    frame = prepare_history(history, config) if history is not None and len(history) else pd.DataFrame(
        {c: pd.Series(dtype=float) for c in ("agent_id", "converted", "probability", "days_to_close",
                                              "response_minutes")})
    dims = tuple(d for d in dimensions if d in frame.columns and frame[d].notna().any())
    known = frame[frame["converted"].notna()].copy()
    team_n, team_c = int(len(known)), float(known["converted"].sum()) if len(known) else 0.0
    team_rate = team_c / team_n if team_n else None

    # expected conversions of each past lead with an average officer
    with_p = known["probability"].notna()
    calibration = 1.0
    if with_p.any() and known.loc[with_p, "probability"].sum() > 0:
        calibration = float(known.loc[with_p, "converted"].sum() / known.loc[with_p, "probability"].sum())
    known["_e"] = (known["probability"] * calibration).where(with_p, team_rate if team_rate else 0.0)

    team_cells: dict[str, dict[str, CellRate]] = {}
    for dim in dims:
        cells: dict[str, CellRate] = {}
        for cat, grp in known[known[dim].notna()].groupby(dim):
            n, c = len(grp), float(grp["converted"].sum())
            rate = (c + k * team_rate) / (n + k) if team_rate is not None and n + k > 0 else c / n
            cells[str(cat)] = CellRate(n, int(c), rate, 1.0 if not team_rate else rate / team_rate)
        team_cells[dim] = cells
    team = TeamStats(team_n, int(team_c), team_rate, team_cells, calibration)

    per_agent = dict(tuple(known.groupby("agent_id"))) if len(known) else {}
    speed = dict(tuple(frame.groupby("agent_id"))) if len(frame) else {}
    loads = open_load or {}
    r = team_rate or 0.0

    perf_dims = tuple(d for d in config.performance_dimensions if d in dims)
    levels, deviation, cell_counts = _fit(known, agents, perf_dims, tuple(d for d in dims if d not in perf_dims),
                                          team_cells, r, k, float(config.cell_shrinkage_leads))

    profiles: list[AgentProfile] = []
    for j, spec in enumerate(agents):
        lift = float(levels[j])
        by_dim: dict[str, dict[str, CellRate]] = {}
        for dim in dims:
            cells = {}
            for c, (cat, team_cell) in enumerate(sorted(team_cells[dim].items())):
                cn, co = cell_counts[dim][j, c]
                dev = float(deviation[dim][j, c])
                cells[cat] = CellRate(int(cn), int(co), min(team_cell.rate * lift * dev, _MAX_RATE), lift * dev)
            by_dim[dim] = cells
        rows = per_agent.get(spec.agent_id)
        n = 0 if rows is None else len(rows)
        o = 0.0 if rows is None else float(rows["converted"].sum())
        all_rows = speed.get(spec.agent_id)
        closed = None if rows is None else rows.loc[rows["converted"] == 1, "days_to_close"].dropna()
        response = None if all_rows is None else all_rows["response_minutes"].dropna()
        profiles.append(AgentProfile(
            spec=spec, leads=n, conversions=int(o), raw_rate=(o / n if n else None),
            conversion_rate=None if team_rate is None else min(lift * team_rate, _MAX_RATE),
            lift=lift, by_dimension=by_dim,
            days_to_close=float(closed.median()) if closed is not None and len(closed) else None,
            response_minutes=float(response.median()) if response is not None and len(response) else None,
            open_load=int(loads.get(spec.agent_id, spec.open_leads)),
        ))
    return ProfileSet(agents=tuple(profiles), team=team, dimensions=dims, performance_dimensions=perf_dims)
