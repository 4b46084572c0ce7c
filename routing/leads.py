"""Turn a batch of canonical leads (plus score columns) into the arrays routing works on."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from config.canonical import US_STATES
from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.agents_file import LOAN_TYPES

# Input columns routing reads; all but lead_id are optional.
LEAD_ID = "lead_id"
SCORE = "score"  # 0-100 from scoring; drives the overflow thresholds
PROBABILITY = "probability"  # calibrated conversion probability from scoring
ALLOWED_CHANNELS = "allowed_channels"  # from compliance: iterable or "call,text"; column absent = not restricted
FIRST_TIME_BUYER = "first_time_buyer"  # optional bool column

ALL_CHANNELS: frozenset[str] = frozenset({"call", "text", "email"})
_YES = frozenset({"true", "1", "yes", "y", "t"})
_NO = frozenset({"false", "0", "no", "n", "f"})
_LOAN_TYPE_ALIASES = {"conv": "conventional", "conforming": "conventional", "rd": "usda", "usda_rd": "usda"}


@dataclass(frozen=True)
class LeadView:
    """Per-lead arrays in batch order; `None`/NaN mean the value was missing or unusable."""

    lead_ids: list[str]
    states: list[str | None]  # two-letter codes
    raw_states: list[object]  # as given, for a caller's licence check that reads more (e.g. "Texas")
    scores: np.ndarray  # float, NaN when missing or out of 0-100
    probability: np.ndarray  # float, NaN when not given
    channels: list[frozenset[str] | None]  # None: the row's consent channels were missing
    loan_type: list[str | None]
    credit_tier: list[str | None]
    score_band: list[str | None]
    tags: list[frozenset[str]]  # loan type, credit tier, jumbo, first_time_buyer
    first_time_buyer: list[bool | None]  # None: the CRM left it blank
    loan_amount: np.ndarray  # float, NaN when missing

    def __len__(self) -> int:
        return len(self.lead_ids)


def score_band(score: float, config: RoutingConfig) -> str | None:
    """'high' (>= priority_score), 'medium' (>= queue_score), 'low', or None for a missing score."""
    if score is None or not np.isfinite(score):
        return None
    if score >= config.thresholds.priority_score:
        return "high"
    return "medium" if score >= config.thresholds.queue_score else "low"


# Up to this many leads, values are read one by one in Python (pandas' fixed cost per call dominates
# for the scoring API's one lead); both ways give the same numbers (tested).
SMALL_BATCH = 32


def numbers(values: pd.Series | np.ndarray | list[object]) -> np.ndarray:
    """Floats (a new array), NaN for what is missing or not a number, as pd.to_numeric(errors='coerce') reads."""
    if len(values) > SMALL_BATCH:
        return np.array(pd.to_numeric(pd.Series(values) if isinstance(values, list) else values, errors="coerce"),
                        dtype=float)
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values.tolist() if isinstance(values, (pd.Series, np.ndarray)) else values):
        if v is None or v is pd.NA or v is pd.NaT:
            out[i] = np.nan
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[i] = float(v)
        else:  # text, bools and the rest: pandas' own rules
            out[i] = float(pd.to_numeric(pd.Series([v], dtype=object), errors="coerce").iloc[0])
    return out


def credit_tiers(credit_scores: pd.Series | np.ndarray, config: RoutingConfig) -> list[str | None]:
    """subprime / near_prime / prime from the configured cut points; None when missing or implausible."""
    values = numbers(credit_scores)
    out: list[str | None] = []
    for value in values:
        if not np.isfinite(value) or not 300 <= value <= 850:
            out.append(None)
        elif value < config.credit_tiers.subprime_below:
            out.append("subprime")
        else:
            out.append("prime" if value >= config.credit_tiers.prime_from else "near_prime")
    return out


def loan_type(value: object) -> str | None:
    """Normalise a CRM loan type ('FHA', 'Conv', ...) to one of LOAN_TYPES, else None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    text = _LOAN_TYPE_ALIASES.get(text, text)
    return text if text in LOAN_TYPES else None


def flag(value: object) -> bool | None:
    """A yes/no CRM value (True, 'true', 'Yes', 1, ...) as a bool; None when blank or not a yes/no."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _YES else False if text in _NO else None


def state_code(value: object) -> str | None:
    """Two-letter state code, or None when missing or not a US state/territory."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    code = str(value).strip().upper()
    return code if code in US_STATES else None


def parse_channels(value: object) -> frozenset[str] | None:
    """Consent channels from compliance: a list/set or 'call,text'; None when missing (NaN/None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    items: Iterable[object] = value.replace(";", ",").split(",") if isinstance(value, str) else value  # type: ignore[assignment]
    return frozenset(s for s in (str(v).strip().lower() for v in items) if s in ALL_CHANNELS)


# every column routing reads of a lead
_READ = (LEAD_ID, SCORE, PROBABILITY, ALLOWED_CHANNELS, "loan_type", "credit_score", "loan_amount", FIRST_TIME_BUYER,
         "state")


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The routing columns the frame has, as arrays; a small frame's as object arrays from one conversion
    (a pandas Series per column cost more than the rest of reading the scoring API's one lead)."""
    if not 0 < len(frame) <= SMALL_BATCH:
        return {name: frame[name].to_numpy() for name in _READ if name in frame.columns}
    # tolist(): iterating a string Index goes through pandas' per-element __getitem__
    position = {name: j for j, name in enumerate(frame.columns.tolist())}
    block = frame.to_numpy(dtype=object)
    return {name: block[:, position[name]] for name in _READ if name in position}


def _lead_ids(leads: pd.DataFrame, columns: dict[str, np.ndarray]) -> list[str]:
    """The batch's lead ids as text; BadInputError when one is missing or repeated."""
    ids = leads[LEAD_ID] if len(leads) > SMALL_BATCH else columns[LEAD_ID]
    missing = ids.isna() if isinstance(ids, pd.Series) else pd.isna(ids)
    if missing.any():
        raise BadInputError(f"{int(missing.sum())} lead(s) in the batch have no lead_id")
    lead_ids = [str(v) for v in ids]
    if len(set(lead_ids)) != len(lead_ids):
        dupes = sorted({x for x in lead_ids if lead_ids.count(x) > 1})[:5]
        raise BadInputError(f"duplicate lead_id in the batch: {', '.join(dupes)}")
    return lead_ids


def prepare_leads(leads: pd.DataFrame, config: RoutingConfig) -> LeadView:
    """Validate the batch's shape (lead_id present and unique) and derive routing keys; bad values become None/NaN."""
    if LEAD_ID not in leads.columns:
        if len(leads):
            raise BadInputError("the lead batch has no lead_id column")
        leads = leads.assign(**{LEAD_ID: pd.Series(dtype=object)})
    columns = _columns(leads)
    n = len(leads)

    def column(name: str) -> np.ndarray:
        found = columns.get(name)
        return found if found is not None else np.full(n, None, dtype=object)

    lead_ids = _lead_ids(leads, columns)
    # numbers() copies: pandas hands out read-only views under copy-on-write
    scores = numbers(column(SCORE))
    scores[(scores < 0) | (scores > 100)] = np.nan
    prob = numbers(column(PROBABILITY))
    prob[(prob < 0) | (prob > 1)] = np.nan
    if ALLOWED_CHANNELS in columns:
        channels = [parse_channels(v) for v in columns[ALLOWED_CHANNELS]]
    else:
        channels = [ALL_CHANNELS] * n
    loans = [loan_type(v) for v in column("loan_type")]
    tiers = credit_tiers(column("credit_score"), config)
    amounts = numbers(column("loan_amount"))
    first = [flag(v) for v in column(FIRST_TIME_BUYER)]
    states = column("state")
    tags: list[frozenset[str]] = []
    for i in range(n):
        t = {x for x in (loans[i], tiers[i]) if x}
        if np.isfinite(amounts[i]) and amounts[i] > config.jumbo_loan_amount:
            t.add("jumbo")
        if first[i]:
            t.add("first_time_buyer")
        tags.append(frozenset(t))
    return LeadView(
        lead_ids=lead_ids,
        states=[state_code(v) for v in states],
        raw_states=states.tolist(),
        scores=scores,
        probability=prob,
        channels=channels,
        loan_type=loans,
        credit_tier=tiers,
        score_band=[score_band(s, config) for s in scores],
        tags=tags,
        first_time_buyer=first,
        loan_amount=amounts,
    )
