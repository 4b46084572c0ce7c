"""The documented ground-truth model of conversion: a logistic model of clean lead features plus officer effects.

    logit p(lead j, officer i) = INTERCEPT + sum_k beta_k * x_jk          (lead part, TERMS below)
                                 + ln(skill_i)                            (officer's odds multiplier)
                                 + sum_s [s in segment_j] * ln(m_is)      (specialty odds multipliers)

`true_probability` of a lead is the mean of p over the active officers ("an average officer of this team").
The inputs are the CLEAN values the generator drew (before CRM-style messiness); protected attributes
(race, sex, age) are never among them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from config.errors import BadInputError

from daemon.synthetic.vocab import SPECIALTIES

INTERCEPT: Final[float] = -2.9

# Columns of `GroundTruth.features` the formula reads; nothing else reaches the probability.
TRUTH_INPUTS: Final[tuple[str, ...]] = (
    "credit_score", "annual_income", "monthly_debt", "loan_amount", "property_value",
    "website_sessions", "calculator_uses", "email_clicks", "timeline", "lead_age_days", "created_at",
    "loan_type", "loan_purpose", "employment_status", "employment_tenure_months", "source",
    "tcpa_consent", "do_not_call", "segment",
)

Frame = pd.DataFrame
_TermFn = Callable[[Frame], np.ndarray]


def _num(f: Frame, col: str) -> np.ndarray:
    return f[col].to_numpy(dtype=np.float64)


def _is(col: str, value: str) -> _TermFn:
    return lambda f: (f[col].to_numpy(dtype=object) == value).astype(np.float64)


def _dti(f: Frame) -> np.ndarray:
    return _num(f, "monthly_debt") * 12.0 / np.maximum(_num(f, "annual_income"), 1.0)


def _ltv(f: Frame) -> np.ndarray:
    return _num(f, "loan_amount") / np.maximum(_num(f, "property_value"), 1.0)


def _season(f: Frame) -> np.ndarray:
    doy = f["created_at"].dt.day_of_year.to_numpy(dtype=np.float64)
    return np.cos(2.0 * np.pi * (doy - 135.0) / 365.25)  # peaks mid-May, the spring buying season


def _short_tenure(f: Frame) -> np.ndarray:
    working = np.isin(f["employment_status"].to_numpy(dtype=object), ["employed", "self_employed", "contract"])
    return (working & (_num(f, "employment_tenure_months") < 12)).astype(np.float64)


def _no_consent(f: Frame) -> np.ndarray:
    return (f["tcpa_consent"].to_numpy(dtype=object) != True).astype(np.float64)  # noqa: E712 - None counts as no


@dataclass(frozen=True)
class Term:
    """One additive term of the lead part of the logit."""

    name: str
    coefficient: float
    definition: str
    compute: _TermFn = field(repr=False, compare=False)


TERMS: Final[tuple[Term, ...]] = (
    Term("credit", 0.60, "(credit_score - 700) / 50", lambda f: (_num(f, "credit_score") - 700.0) / 50.0),
    Term("dti_excess", -0.45, "max(dti - 0.30, 0) / 0.10, dti = 12 * monthly_debt / annual_income",
         lambda f: np.maximum(_dti(f) - 0.30, 0.0) / 0.10),
    Term("ltv_high", -0.30, "max(ltv - 0.90, 0) / 0.05, ltv = loan_amount / property_value",
         lambda f: np.maximum(_ltv(f) - 0.90, 0.0) / 0.05),
    Term("log_income", 0.25, "ln(annual_income / 90000)",
         lambda f: np.log(np.maximum(_num(f, "annual_income"), 1000.0) / 90_000.0)),
    Term("sessions", 0.45, "ln(1 + website_sessions) - 1", lambda f: np.log1p(_num(f, "website_sessions")) - 1.0),
    Term("calculator", 0.35, "ln(1 + calculator_uses)", lambda f: np.log1p(_num(f, "calculator_uses"))),
    Term("email_clicks", 0.30, "ln(1 + email_clicks)", lambda f: np.log1p(_num(f, "email_clicks"))),
    Term("timeline_immediately", 0.85, "timeline == 'immediately'", _is("timeline", "immediately")),
    Term("timeline_1_3_months", 0.40, "timeline == '1-3 months'", _is("timeline", "1-3 months")),
    Term("timeline_6_plus_months", -0.60, "timeline == '6+ months' (3-6 months is the baseline)",
         _is("timeline", "6+ months")),
    Term("lead_age", -0.40, "ln(1 + lead_age_days), lead_age_days = created_at - consent_timestamp (aged leads; drawn even where the timestamp is missing)",
         lambda f: np.log1p(np.maximum(_num(f, "lead_age_days"), 0.0))),
    Term("season", 0.25, "cos(2 pi (day_of_year(created_at) - 135) / 365.25)", _season),
    Term("loan_va", 0.25, "loan_type == 'va' (conventional is the baseline)", _is("loan_type", "va")),
    Term("loan_fha", -0.10, "loan_type == 'fha'", _is("loan_type", "fha")),
    Term("loan_jumbo", -0.20, "loan_type == 'jumbo'", _is("loan_type", "jumbo")),
    Term("loan_usda", -0.15, "loan_type == 'usda'", _is("loan_type", "usda")),
    Term("purpose_refinance", 0.15, "loan_purpose == 'refinance' (purchase is the baseline)",
         _is("loan_purpose", "refinance")),
    Term("purpose_cash_out", -0.10, "loan_purpose == 'cash_out'", _is("loan_purpose", "cash_out")),
    Term("self_employed", -0.25, "employment_status == 'self_employed' (employed is the baseline)",
         _is("employment_status", "self_employed")),
    Term("retired", -0.20, "employment_status == 'retired'", _is("employment_status", "retired")),
    Term("contract", -0.30, "employment_status == 'contract'", _is("employment_status", "contract")),
    Term("unemployed", -1.20, "employment_status == 'unemployed'", _is("employment_status", "unemployed")),
    Term("short_tenure", -0.35, "working and employment_tenure_months < 12", _short_tenure),
    Term("source_referral", 0.80, "source == 'referral' (lending_tree, google_ads are the baseline)",
         _is("source", "referral")),
    Term("source_website", 0.25, "source == 'website'", _is("source", "website")),
    Term("source_zillow", 0.10, "source == 'zillow'", _is("source", "zillow")),
    Term("source_facebook", -0.25, "source == 'facebook_ads'", _is("source", "facebook_ads")),
    Term("source_aged", -0.20, "source == 'aged_vendor'", _is("source", "aged_vendor")),
    Term("no_consent", -0.60, "tcpa_consent is not true (only email is allowed)", _no_consent),
    Term("do_not_call", -0.50, "do_not_call is true",
         lambda f: (f["do_not_call"].to_numpy(dtype=object) == True).astype(np.float64)),  # noqa: E712
)


def segment_tokens(segment: pd.Series) -> np.ndarray:
    """(n, len(SPECIALTIES)) 0/1 matrix: which specialty tokens a lead's `segment` contains."""
    parts = segment.astype(str).str.split("|")
    exploded = parts.explode()
    codes = exploded.map({tok: k for k, tok in enumerate(SPECIALTIES)}).fillna(-1).to_numpy(dtype=np.int64)
    rows = np.repeat(np.arange(len(parts)), parts.str.len().to_numpy())
    out = np.zeros((len(parts), len(SPECIALTIES)))
    known = codes >= 0
    out[rows[known], codes[known]] = 1.0
    return out


def lead_logit(features: Frame) -> np.ndarray:
    """The lead part of the logit (officer effects excluded) from clean features, one value per row."""
    missing = [c for c in TRUTH_INPUTS if c not in features.columns]
    if missing:
        raise BadInputError(f"ground-truth features lack column(s) {', '.join(missing)}")
    x = np.column_stack([t.compute(features) for t in TERMS])
    beta = np.array([t.coefficient for t in TERMS])
    return INTERCEPT + x @ beta


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class GroundTruth:
    """The true conversion probabilities of one synthetic dataset (lead features and officer effects)."""

    features: Frame                 # clean TRUTH_INPUTS, indexed by lead_id
    agent_ids: list[str]
    active: np.ndarray              # (m,) bool
    skill: np.ndarray               # (m,) odds multipliers
    specialty_multiplier: np.ndarray  # (m, len(SPECIALTIES)) odds multipliers, 1.0 where not a specialty
    clean_leads: Frame = field(repr=False, default_factory=pd.DataFrame)  # canonical leads before messiness

    def __post_init__(self) -> None:
        self._col = {a: i for i, a in enumerate(self.agent_ids)}
        self._lead_logit = pd.Series(lead_logit(self.features), index=self.features.index)
        self._tokens = segment_tokens(self.features["segment"])

    # -- lookups -------------------------------------------------------------------------------
    def _rows(self, leads: Frame | Sequence[str] | pd.Series) -> np.ndarray:
        if isinstance(leads, pd.DataFrame):
            if "lead_id" not in leads.columns:
                raise BadInputError("leads need a lead_id column to look up their ground truth")
            ids = leads["lead_id"]
        else:
            ids = leads if isinstance(leads, pd.Series) else pd.Series(list(leads), dtype=object)
        rows = self.features.index.get_indexer(pd.Index(ids.astype(str)))
        if (rows < 0).any():
            unknown = ids[rows < 0].astype(str).head(3).tolist()
            raise BadInputError(f"lead_id(s) {unknown} were not generated with this ground truth; "
                                "pass leads from the same SyntheticData")
        return rows

    def _cols(self, agent_ids: Sequence[str] | None) -> np.ndarray:
        if agent_ids is None:
            return np.arange(len(self.agent_ids))
        unknown = [a for a in agent_ids if a not in self._col]
        if unknown:
            raise BadInputError(f"unknown agent_id(s) {unknown[:3]}; known officers are {self.agent_ids[:5]}...")
        return np.array([self._col[a] for a in agent_ids], dtype=np.int64)

    # -- probabilities -------------------------------------------------------------------------
    def _matrix(self, base: np.ndarray, tokens: np.ndarray, cols: np.ndarray) -> np.ndarray:
        officer = np.log(self.skill[cols])[None, :] + tokens @ np.log(self.specialty_multiplier[cols]).T
        return _sigmoid(base[:, None] + officer)

    def conversion_probability(self, leads: Frame | Sequence[str],
                               agent_ids: Sequence[str] | None = None) -> np.ndarray:
        """(n_leads, n_agents) matrix of each officer's TRUE chance to convert each lead (by lead_id)."""
        rows, cols = self._rows(leads), self._cols(agent_ids)
        return self._matrix(self._lead_logit.to_numpy()[rows], self._tokens[rows], cols)

    def lead_probability(self, leads: Frame | Sequence[str]) -> np.ndarray:
        """Each lead's true chance to convert with an average officer: mean over the active officers."""
        return self.conversion_probability(leads, self.active_agent_ids).mean(axis=1)

    def probability_from_features(self, features: Frame, agent_ids: Sequence[str] | None = None) -> np.ndarray:
        """The same formula on an explicit frame of clean TRUTH_INPUTS (e.g. a what-if copy)."""
        cols = self._cols(agent_ids if agent_ids is not None else self.active_agent_ids)
        p = self._matrix(lead_logit(features), segment_tokens(features["segment"]), cols)
        return p if agent_ids is not None else p.mean(axis=1)

    def pair_probability(self, leads: Frame | Sequence[str], assigned: Sequence[str]) -> np.ndarray:
        """True probability of each lead j with its own officer assigned[j] (one value per lead)."""
        rows = self._rows(leads)
        if len(assigned) != len(rows):
            raise BadInputError(f"{len(assigned)} officers for {len(rows)} leads")
        cols = self._cols(list(assigned))
        officer = np.log(self.skill[cols]) + (self._tokens[rows] * np.log(self.specialty_multiplier[cols])).sum(axis=1)
        return _sigmoid(self._lead_logit.to_numpy()[rows] + officer)

    def expected_conversions(self, leads: Frame | Sequence[str], assigned: Sequence[str | None]) -> float:
        """Sum of the true probabilities of an assignment (lead j -> assigned[j]; None = unassigned)."""
        rows = self._rows(leads)
        if len(assigned) != len(rows):
            raise BadInputError(f"{len(assigned)} assignments for {len(rows)} leads")
        mask = np.array([a is not None for a in assigned], dtype=bool)
        if not mask.any():
            return 0.0
        ids = self.features.index.to_numpy()[rows[mask]]
        return float(self.pair_probability(list(ids), [a for a in assigned if a is not None]).sum())

    @property
    def active_agent_ids(self) -> list[str]:
        return [a for a, on in zip(self.agent_ids, self.active) if on]

    def describe(self) -> dict[str, object]:
        """The formula and the officer parameters as plain data (written to ground_truth.json)."""
        return {
            "link": "logit",
            "formula": "logit p_ij = intercept + sum_k coefficient_k * term_k(lead j) + ln(skill_i) "
                       "+ sum over specialty tokens s in segment_j of ln(specialty_multiplier_i[s])",
            "average_officer": "true_probability = mean of p_ij over the active officers",
            "intercept": INTERCEPT,
            "terms": [{"name": t.name, "coefficient": t.coefficient, "definition": t.definition} for t in TERMS],
            "segment_tokens": list(SPECIALTIES),
            "officers": [
                {"agent_id": a, "active": bool(on), "skill": float(s),
                 "specialty_multipliers": {tok: float(m) for tok, m in zip(SPECIALTIES, row) if m != 1.0}}
                for a, on, s, row in zip(self.agent_ids, self.active, self.skill, self.specialty_multiplier)
            ],
        }
