"""Officer profiles from past assignments: each officer's effect on a lead's conversion; speed; load.

An officer's effect is learned with a pooled logistic model (routing/officer_model.py): a past lead's chance
with an average officer is its calibrated `probability` when the history has one (else the team's rate in
its score band), so an officer who was sent better leads is not rated better for it; on top of it each
officer has a level, the boost declared specialists get in their specialty, and their own deviation per kind
of lead (tokens: loan type, credit tier, first-time buyer; score band too when configured). All officer
terms are shrunk towards the team by empirical Bayes: an officer with 3 leads and 3 conversions is rated a
little above the team, not 100%, and a declared FHA specialist with no history is expected to do in FHA what
the team's specialists do. Leads whose loan type, credit tier or first-time-buyer flag is blank count with
the probability of each value given what they do show (routing/tokens.py).

`config.performance_dimensions` chooses the categories with officer-specific effects (the first-time-buyer
flag among them by default: officers declare it a specialty like a loan type).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.agents_file import AgentSpec
from routing.leads import LeadView, credit_tiers, flag, loan_type, score_band
from routing.officer_model import OfficerModel, fit_officer_model
from routing.tokens import (
    FLAG_GROUPS, GROUPS, TOKEN_GROUP, TOKENS, Imputer, TokenCodes, encode, specialty_mask, token_matrix,
)

DIMENSIONS: tuple[str, ...] = ("score_band", "loan_type", "credit_tier", "first_time_buyer")
_MAX_RATE = 0.999
_SUMMARY_ROWS = 20_000  # past leads used for the per-officer rates shown in reasons (a fixed sample)


@dataclass(frozen=True)
class CellRate:
    """An officer's (or the team's) record in one cell: leads with a known outcome, conversions, estimated rate."""

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
    conversion_rate: float | None  # estimated on the team's mix of leads; None only when the team has no history
    lift: float  # conversion_rate / the team's rate (1.0 = team average)
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
    performance_dimensions: tuple[str, ...]  # categories with officer-specific effects
    model: OfficerModel | None = None  # None: no matured history, every officer is rated alike
    imputer: Imputer | None = None
    jumbo_loan_amount: float = float("inf")

    @property
    def agent_ids(self) -> list[str]:
        return [a.agent_id for a in self.agents]

    def with_loads(self, loads: Mapping[str, int]) -> "ProfileSet":
        """A copy with open loads replaced for the officers named in `loads` (others keep theirs)."""
        agents = tuple(replace(a, open_load=int(loads.get(a.agent_id, a.open_load))) for a in self.agents)
        return replace(self, agents=agents)

    def lead_tokens(self, leads: LeadView) -> np.ndarray:
        """(n, len(TOKENS)) the leads' tokens, blanks filled in from what the history's leads show."""
        values = {"score_band": leads.score_band, "loan_type": leads.loan_type, "credit_tier": leads.credit_tier,
                  "first_time_buyer": leads.first_time_buyer}
        return token_matrix(encode(values, leads.loan_amount, self.jumbo_loan_amount), self.imputer)

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
        n, m = len(leads), len(self.agents)
        if self.model is None or not n:
            return np.clip(np.tile(self.base_probability(leads)[:, None], (1, m)), 0.0, 1.0)
        x = self.lead_tokens(leads)
        return _sigmoid(self.model.lead_logit(leads.probability, x)[:, None] + self.model.officer_logit(x))

    def lift_matrix(self, leads: LeadView, expected: np.ndarray | None = None) -> np.ndarray:
        """(n_leads x n_agents) each officer's estimated chance over the team's average (active officers) for each lead."""
        expected = self.expected_conversion(leads) if expected is None else expected
        if not expected.size:
            return np.ones_like(expected)
        active = np.array([a.spec.active for a in self.agents], dtype=bool)
        average = expected[:, active].mean(axis=1) if active.any() else expected.mean(axis=1)
        return np.divide(expected, average[:, None], out=np.ones_like(expected), where=average[:, None] > 0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


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
    if "first_time_buyer" in history.columns:
        out["first_time_buyer"] = pd.Series([_yes_no(flag(v)) for v in history["first_time_buyer"]],
                                            index=history.index, dtype=object)
    out["loan_amount"] = (pd.to_numeric(history["loan_amount"], errors="coerce")
                          if "loan_amount" in history.columns else np.nan)
    for col in ("days_to_close", "response_minutes"):
        out[col] = pd.to_numeric(history[col], errors="coerce") if col in history.columns else np.nan
    return out[out["agent_id"].notna()]


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else "yes" if value else "no"


def _outcome(value: object) -> float:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, str):
        text = value.strip().lower()
        return 1.0 if text in {"true", "1", "yes", "won"} else 0.0 if text in {"false", "0", "no", "lost"} else np.nan
    return 1.0 if bool(value) else 0.0


def _history_codes(frame: pd.DataFrame, dims: tuple[str, ...], jumbo: float) -> TokenCodes:
    """Token codes of past leads from the prepared history (absent dimensions are unknown)."""
    values: dict[str, list[object]] = {}
    for dim in dims:
        col = frame[dim].astype(object).where(frame[dim].notna(), None).tolist()
        values[dim] = [None if v is None else v == "yes" for v in col] if dim in FLAG_GROUPS else col
    return encode(values, frame["loan_amount"].to_numpy(dtype=float), jumbo)


def _prior_sd(leads: float, rate: float) -> float:
    """The logit spread that `leads` team-average leads of evidence pin down: a prior as strong as them.

    The rate is kept off 0 and 1, where a team without a single win (or loss) would make any spread plausible.
    """
    rate = min(max(rate, 0.02), 0.98)
    return float(1.0 / np.sqrt(max(leads, 1e-3) * rate * (1 - rate)))


def _team_cells(known: pd.DataFrame, dims: tuple[str, ...], k: float, team_rate: float | None
                ) -> dict[str, dict[str, CellRate]]:
    out: dict[str, dict[str, CellRate]] = {}
    for dim in dims:
        cells: dict[str, CellRate] = {}
        for cat, grp in known[known[dim].notna()].groupby(dim):
            n, c = len(grp), float(grp["converted"].sum())
            rate = (c + k * team_rate) / (n + k) if team_rate is not None and n + k > 0 else c / n
            cells[str(cat)] = CellRate(n, int(c), rate, 1.0 if not team_rate else rate / team_rate)
        out[dim] = cells
    return out


def _fit(known: pd.DataFrame, agents: Sequence[AgentSpec], dims: tuple[str, ...], officer_groups: tuple[str, ...],
         team: TeamStats, config: RoutingConfig) -> tuple[OfficerModel, Imputer, np.ndarray, np.ndarray]:
    """The officer model on the matured history of `agents`; also returns those rows' tokens and lead logits.

    The imputer learns from every past lead, officers who left included: what leads look like is the team's.
    """
    index = {a.agent_id: j for j, a in enumerate(agents)}
    rows = known[known["agent_id"].isin(index)]
    codes = _history_codes(known, dims, config.jumbo_loan_amount)
    imputer = Imputer.fit(codes)
    x_all = token_matrix(codes, imputer)
    mine = known["agent_id"].isin(index).to_numpy()
    x = x_all[mine]
    probability = rows["probability"].to_numpy(dtype=float)
    columns = np.array([TOKENS.index(t) for g in officer_groups for t in GROUPS[g]], dtype=int)
    specialist = specialty_mask([a.specialties for a in agents], [TOKENS[c] for c in columns])
    rate = float(team.rate or 0.0)
    model = fit_officer_model(
        officer=rows["agent_id"].map(index).to_numpy(dtype=int), converted=rows["converted"].to_numpy(dtype=float),
        probability=probability, team_rate=rate, x=x,
        fallback_columns=np.array([TOKEN_GROUP[t] == "score_band" for t in TOKENS]),
        officer_columns=columns, specialist=specialist,
        guess_sd_level=_prior_sd(config.shrinkage_leads, rate), guess_sd_cell=_prior_sd(config.cell_shrinkage_leads, rate))
    return model, imputer, x, model.lead_logit(probability, x)


def _summaries(known: pd.DataFrame, dims: tuple[str, ...], model: OfficerModel, x: np.ndarray, lead: np.ndarray,
               m: int, team: TeamStats) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """Each officer's estimated rate on a fixed sample of the team's past leads, overall and per cell."""
    step = max(1, len(lead) // _SUMMARY_ROWS)
    sample = np.arange(0, len(lead), step)
    p = _sigmoid(lead[sample, None] + model.officer_logit(x[sample])) if sample.size else np.zeros((0, m))
    overall = p.mean(axis=0) if sample.size else np.full(m, float(team.rate or 0.0))
    cells: dict[str, dict[str, np.ndarray]] = {}
    rows = known.iloc[sample]
    for dim in dims:
        cells[dim] = {}
        keys = rows[dim].astype(object).to_numpy()
        for cat in team.by_dimension.get(dim, {}):
            hit = keys == cat
            if hit.any():
                cells[dim][cat] = p[hit].mean(axis=0)
    return overall, cells


def _cell_counts(known: pd.DataFrame, dims: tuple[str, ...], ids: list[str], team: TeamStats
                 ) -> dict[str, np.ndarray]:
    """Per dimension, (m, n_cells, 2): each officer's past leads and conversions in each cell (sorted cells)."""
    index = {a: j for j, a in enumerate(ids)}
    officer = known["agent_id"].map(index).to_numpy(dtype=float) if len(known) else np.zeros(0)
    mine = np.isfinite(officer)
    out = {}
    for dim in dims:
        cats = sorted(team.by_dimension[dim])
        code = known[dim].map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
        ok = mine & np.isfinite(code)
        flat = officer[ok].astype(int) * len(cats) + code[ok].astype(int)
        size = len(ids) * len(cats)
        leads = np.bincount(flat, minlength=size)
        wins = np.bincount(flat, weights=known["converted"].to_numpy(dtype=float)[ok], minlength=size)
        out[dim] = np.stack([leads, wins], axis=1).reshape(len(ids), len(cats), 2)
    return out


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
    loan_amount, first_time_buyer, days_to_close, response_minutes. A dimension absent from the history is
    skipped. `open_load` (agent_id -> open leads) overrides the agents file's open_leads.
    """
    k = float(config.shrinkage_leads)
    ids = [a.agent_id for a in agents]
    if len(set(ids)) != len(ids):
        raise BadInputError("duplicate agent_id among the officers given to routing")
    frame = prepare_history(history, config) if history is not None and len(history) else pd.DataFrame(
        {c: pd.Series(dtype=float) for c in ("agent_id", "converted", "probability", "loan_amount", "days_to_close",
                                              "response_minutes")})
    dims = tuple(d for d in dimensions if d in frame.columns and frame[d].notna().any())
    known = frame[frame["converted"].notna()].reset_index(drop=True)
    team_n, team_c = int(len(known)), float(known["converted"].sum()) if len(known) else 0.0
    team_rate = team_c / team_n if team_n else None

    with_p = known["probability"].notna()
    calibration = 1.0
    if with_p.any() and known.loc[with_p, "probability"].sum() > 0:
        calibration = float(known.loc[with_p, "converted"].sum() / known.loc[with_p, "probability"].sum())
    team = TeamStats(team_n, int(team_c), team_rate, _team_cells(known, dims, k, team_rate), calibration)

    officer_groups = tuple(g for g in GROUPS if g in dims and g in config.performance_dimensions)
    m = len(agents)
    model = imputer = None
    overall = np.full(m, float(team_rate or 0.0))
    cell_rates: dict[str, dict[str, np.ndarray]] = {}
    if team_rate is not None and m:
        model, imputer, x, lead = _fit(known, agents, dims, officer_groups, team, config)
        overall, cell_rates = _summaries(known[known["agent_id"].isin(set(ids))].reset_index(drop=True), dims,
                                         model, x, lead, m, team)

    per_agent = dict(tuple(known.groupby("agent_id"))) if len(known) else {}
    speed = dict(tuple(frame.groupby("agent_id"))) if len(frame) else {}
    counts = _cell_counts(known, dims, ids, team)
    loads = open_load or {}
    profiles: list[AgentProfile] = []
    for j, spec in enumerate(agents):
        rows = per_agent.get(spec.agent_id)
        by_dim: dict[str, dict[str, CellRate]] = {}
        for dim in dims:
            cells = {}
            for c, (cat, team_cell) in enumerate(sorted(team.by_dimension[dim].items())):
                rate = float(cell_rates.get(dim, {}).get(cat, np.full(m, team_cell.rate))[j])
                n_c, o_c = counts[dim][j, c]
                cells[cat] = CellRate(int(n_c), int(o_c), min(rate, _MAX_RATE),
                                      rate / team_cell.rate if team_cell.rate else 1.0)
            by_dim[dim] = cells
        n = 0 if rows is None else len(rows)
        o = 0.0 if rows is None else float(rows["converted"].sum())
        all_rows = speed.get(spec.agent_id)
        closed = None if rows is None else rows.loc[rows["converted"] == 1, "days_to_close"].dropna()
        response = None if all_rows is None else all_rows["response_minutes"].dropna()
        rate = float(overall[j])
        profiles.append(AgentProfile(
            spec=spec, leads=n, conversions=int(o), raw_rate=(o / n if n else None),
            conversion_rate=None if team_rate is None else min(rate, _MAX_RATE),
            lift=rate / team_rate if team_rate else 1.0, by_dimension=by_dim,
            days_to_close=float(closed.median()) if closed is not None and len(closed) else None,
            response_minutes=float(response.median()) if response is not None and len(response) else None,
            open_load=int(loads.get(spec.agent_id, spec.open_leads)),
        ))
    return ProfileSet(agents=tuple(profiles), team=team, dimensions=dims, performance_dimensions=officer_groups,
                      model=model, imputer=imputer, jumbo_loan_amount=float(config.jumbo_loan_amount))
