"""A tiny lead generator for scoring tests: canonical columns, messy values, a known true probability."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from config.sections.scoring import ScoringConfig

# Small members keep every training in the scoring tests under about a second.
SMALL_ALGORITHMS: dict[str, Any] = {
    "xgboost": {"n_estimators": 80, "early_stopping_rounds": 15, "n_jobs": 1},
    "random_forest": {"n_estimators": 30, "max_depth": 6, "n_jobs": 1},
}


def small_settings(**overrides: Any) -> ScoringConfig:
    """ScoringConfig with small members; keyword arguments override top-level keys."""
    return ScoringConfig.model_validate({"algorithms": SMALL_ALGORITHMS, **overrides})

STATES = np.array(["CA", "TX", "FL", "NY", "IL", "WA", "GA", "OH"])
STATE_EFFECT = {"CA": 0.3, "TX": -0.2, "FL": 0.0, "NY": 0.1, "IL": -0.1, "WA": 0.2, "GA": 0.0, "OH": -0.3}
TIMELINES = np.array(["immediately", "1-3 months", "3-6 months", "6+ months"])
TIMELINE_EFFECT = np.array([0.6, 0.3, 0.0, -0.5])
LOAN_TYPES = np.array(["conventional", "fha", "va", "jumbo"])
START = datetime(2025, 1, 1, tzinfo=UTC)


def make_leads(n: int = 2000, seed: int = 0, *, messy: bool = True, days: int = 540,
               start: datetime = START, intercept: float = -1.6) -> pd.DataFrame:
    """`n` leads ordered by created_at over `days`, with `converted` drawn from `true_probability`."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, days * 86400, n))
    created = pd.to_datetime([start + timedelta(seconds=float(s)) for s in offsets], utc=True)
    updated = created + pd.to_timedelta(rng.exponential(5, n), unit="D")
    credit = np.clip(rng.normal(690, 60, n), 420, 850).round()
    income = np.round(rng.lognormal(11.3, 0.45, n), -2)
    debt = np.round(income / 12 * np.clip(rng.normal(0.32, 0.12, n), 0.02, 0.9))
    value = np.round(rng.lognormal(12.8, 0.4, n), -3)
    ltv = np.clip(rng.normal(0.82, 0.1, n), 0.3, 0.99)
    loan = np.round(value * ltv, -2)
    down = value - loan
    sessions = rng.poisson(3, n)
    pages = sessions * rng.poisson(3, n) + rng.poisson(1, n)
    calc = rng.poisson(0.8, n)
    opens = rng.poisson(2, n)
    clicks = rng.binomial(opens, 0.3)
    t_idx = rng.integers(0, 4, n)
    s_idx = rng.integers(0, len(STATES), n)
    states = STATES[s_idx]
    zips = np.array([f"{z:05d}" for z in rng.integers(1000, 99999, n)])
    dti = debt * 12 / income
    logit = (intercept + 0.012 * (credit - 690) - 2.5 * (dti - 0.32) + 0.45 * np.log1p(calc)
             + 0.3 * np.log1p(sessions) + TIMELINE_EFFECT[t_idx]
             + np.vectorize(STATE_EFFECT.get)(states) - 1.5 * (ltv - 0.82))
    prob = 1 / (1 + np.exp(-logit))
    converted = rng.random(n) < prob
    frame = pd.DataFrame({
        "lead_id": [f"L{seed}-{i:06d}" for i in range(n)],
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "state": states.astype(object),
        "zip_code": zips.astype(object),
        "loan_amount": loan.astype(object),
        "loan_purpose": rng.choice(["purchase", "refinance", "cash_out"], n).astype(object),
        "loan_type": LOAN_TYPES[rng.integers(0, 4, n)].astype(object),
        "property_type": rng.choice(["single_family", "condo", "townhouse"], n).astype(object),
        "property_value": value.astype(object),
        "down_payment": down.astype(object),
        "timeline": TIMELINES[t_idx].astype(object),
        "annual_income": income.astype(object),
        "monthly_debt": debt.astype(object),
        "credit_score": credit.astype(object),
        "employment_status": rng.choice(["employed", "self_employed", "retired"], n).astype(object),
        "employment_tenure_months": rng.integers(0, 240, n).astype(object),
        "website_sessions": sessions.astype(object),
        "page_views": pages.astype(object),
        "calculator_uses": calc.astype(object),
        "email_opens": opens.astype(object),
        "email_clicks": clicks.astype(object),
        "source": rng.choice(["website", "zillow", "lending_tree", "referral"], n).astype(object),
        "converted": converted,
        "true_probability": prob,
        "race": rng.choice(["white", "black", "asian", "hispanic_or_latino"], n).astype(object),
    })
    if messy:
        _mess(frame, rng)
    return frame


def _mess(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """CRM-export dirt: blanks, placeholders, currency text, spelled-out states."""
    n = len(frame)

    def pick(share: float) -> np.ndarray:
        return rng.random(n) < share

    frame.loc[pick(0.04), "credit_score"] = None
    frame.loc[pick(0.02), "credit_score"] = "n/a"
    rows = pick(0.05)
    frame.loc[rows, "annual_income"] = [f"${float(v):,.0f}" for v in frame.loc[rows, "annual_income"]]
    frame.loc[pick(0.03), "annual_income"] = ""
    rows = pick(0.03)
    frame.loc[rows, "state"] = frame.loc[rows, "state"].map({"CA": "california", "TX": "Texas"}).fillna("XX")
    frame.loc[pick(0.05), "timeline"] = None
    frame.loc[pick(0.02), "zip_code"] = "abc"
    frame.loc[pick(0.05), "website_sessions"] = None
