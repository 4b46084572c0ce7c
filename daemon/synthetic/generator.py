"""`generate()`: one deterministic synthetic data set from a seed and a reference time `now`."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from config.canonical import CANONICAL_FIELDS
from config.errors import BadInputError
from daemon.synthetic.agents import make_agents
from daemon.synthetic.dataset import SyntheticData
from daemon.synthetic.leads import clean_leads
from daemon.synthetic.messiness import MessReport, messy_leads
from daemon.synthetic.outcomes import draw_outcomes
from daemon.synthetic.truth import TRUTH_INPUTS, GroundTruth
from daemon.synthetic.vocab import SPECIALTIES

# `generate()` never reads the clock: without `now` it uses this fixed, documented date.
DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
EXTRA_COLUMNS = ("segment", "true_probability", "race", "sex", "age")


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged); nan when only one class is present."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _rounded(value: float) -> float | None:
    """4 decimals, or None where undefined (JSON has no NaN)."""
    return None if np.isnan(value) else round(value, 4)


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return DEFAULT_NOW
    if not isinstance(now, datetime):
        raise BadInputError(f"now must be a datetime, got {type(now).__name__}")
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def generate(n_leads: int, n_agents: int = 20, seed: int = 0, now: datetime | None = None,
             messy: bool = True) -> SyntheticData:
    """Leads, officers, outcome history and ground truth; same arguments, same data (naive `now` = UTC)."""
    if isinstance(n_leads, bool) or not isinstance(n_leads, (int, np.integer)) or n_leads < 1:
        raise BadInputError(f"the number of leads must be a whole number >= 1, got {n_leads!r}")
    if isinstance(n_agents, bool) or not isinstance(n_agents, (int, np.integer)) or n_agents < 2:
        raise BadInputError(f"the number of officers must be a whole number >= 2 (every state with leads "
                            f"needs 2 licensed officers), got {n_agents!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BadInputError(f"the seed must be a whole number >= 0, got {seed!r}")
    now = _utc_now(now)
    # independent streams: adding a draw to one stage never shifts the values of another
    lead_rng, protected_rng, agent_rng, outcome_rng, mess_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5))

    clean = clean_leads(lead_rng, protected_rng, int(n_leads), now)
    agents = make_agents(agent_rng, int(n_agents), sorted(clean["state"].unique().tolist()), now.date())
    truth = GroundTruth(
        features=clean.loc[:, list(TRUTH_INPUTS)].set_index(clean["lead_id"]),
        agent_ids=[a.agent_id for a in agents],
        active=np.array([a.active for a in agents]),
        skill=np.array([a.skill for a in agents]),
        specialty_multiplier=np.array([[a.specialty_multipliers.get(s, 1.0) for s in SPECIALTIES] for a in agents]),
    )
    clean["true_probability"] = np.round(truth.lead_probability(clean), 6)
    outcomes = draw_outcomes(outcome_rng, clean, truth, agents, now)
    seen = outcomes["converted"].to_numpy()
    clean["converted"] = seen
    clean["converted_at"] = outcomes["converted_at"].array
    clean["conversion_value"] = outcomes["conversion_value"].to_numpy()
    later = seen & (clean["converted_at"] > clean["updated_at"]).to_numpy()
    clean["updated_at"] = clean["updated_at"].where(~later, clean["converted_at"])
    truth.clean_leads = clean

    frame, report = messy_leads(clean, mess_rng) if messy else (clean.copy(), MessReport())
    leads = frame.loc[:, list(CANONICAL_FIELDS) + list(EXTRA_COLUMNS)].reset_index(drop=True)
    for col in [c for c, kind in CANONICAL_FIELDS.items() if kind == "str"] + ["segment", "race", "sex"]:
        leads[col] = leads[col].astype("str")  # one text dtype (missing = NaN) whatever the mess did
    eventually = outcomes["converted_eventually"].to_numpy()
    today = now.date()
    summary: dict[str, float | int | None] = {
        "n_leads": int(n_leads), "n_agents": int(n_agents),
        "active_agents": int(sum(a.active for a in agents)),
        "expired_licenses": int(sum(not lic.valid_on(today) for a in agents for lic in a.licenses)),
        "eventual_conversion_rate": round(float(eventually.mean()), 4),
        "observed_conversion_rate": round(float(seen.mean()), 4),
        "open_leads": int((outcomes["status"] == "open").sum()),
        "mean_true_probability": round(float(clean["true_probability"].mean()), 4),
        "best_auc": _rounded(auc(clean["true_probability"].to_numpy(), eventually)),
        "officer_auc": _rounded(auc(outcomes["true_probability"].to_numpy(), eventually)),
    }
    return SyntheticData(leads=leads, agents=agents, outcomes=outcomes, truth=truth, seed=int(seed), now=now,
                         messy=messy, mess=report, summary=summary)
