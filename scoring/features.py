"""Feature engineering: one fitted, sklearn-compatible transformer from raw lead columns to the model matrix.

The default plan is the seed's four groups built from canonical lead fields (financial, behavioural
intent, market timing, geography). A lender's own export goes through the same code: its numeric
and categorical columns are listed in the model YAML. Values are parsed tolerantly (`scoring.parsing`)
and the same fitted transformer, saved inside the model, serves training and scoring.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold
from sklearn.preprocessing import OneHotEncoder, TargetEncoder

from config.canonical import CANONICAL_FIELDS, PROTECTED_ATTRIBUTES
from config.sections.scoring import FeatureSpec
from scoring import parsing
from scoring.errors import ScoringInputError
from scoring.rates import RateSeries

Kind = Literal["numeric", "categorical"]
TIME = "@time"    # input token: the plan's time column
RATES = "@rates"  # input token: the configured rate series
MISSING_LEVEL = "(missing)"
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class FeatureDef:
    """One model input as a person reads it ("Credit score"); it may fill several matrix columns."""

    name: str
    kind: Kind
    label: str
    fmt: str = "float"  # how reasons print its value: int, money, pct, ratio, months, days, rate, text, float
    group: str = "custom"  # financial | behaviour | timing | geography | custom
    inputs: tuple[str, ...] = ()  # raw columns (or TIME / RATES) it is computed from; () = itself
    derived: bool = False


def _num(name: str, label: str, fmt: str, group: str) -> FeatureDef:
    return FeatureDef(name, "numeric", label, fmt, group)


def _cat(name: str, label: str, group: str) -> FeatureDef:
    return FeatureDef(name, "categorical", label, "text", group)


DEFAULT_FEATURES: tuple[FeatureDef, ...] = (
    _num("credit_score", "Credit score", "int", "financial"),
    _num("annual_income", "Annual income", "money", "financial"),
    _num("monthly_debt", "Monthly debt", "money", "financial"),
    _num("loan_amount", "Loan amount", "money", "financial"),
    _num("property_value", "Property value", "money", "financial"),
    _num("down_payment", "Down payment", "money", "financial"),
    _num("employment_tenure_months", "Time in job", "months", "financial"),
    _cat("employment_status", "Employment", "financial"),
    _cat("loan_purpose", "Loan purpose", "financial"),
    _cat("loan_type", "Loan type", "financial"),
    _cat("property_type", "Property type", "financial"),
    _num("website_sessions", "Website sessions", "int", "behaviour"),
    _num("page_views", "Page views", "int", "behaviour"),
    _num("calculator_uses", "Calculator uses", "int", "behaviour"),
    _num("email_opens", "Email opens", "int", "behaviour"),
    _num("email_clicks", "Email clicks", "int", "behaviour"),
    _cat("source", "Lead source", "behaviour"),
    _cat("tcpa_consent", "Call consent", "behaviour"),
    _cat("do_not_call", "Do-not-call flag", "behaviour"),
    _cat("email_opt_out", "E-mail opt-out", "behaviour"),
    _cat("timeline", "Timeline", "timing"),
    _cat("state", "State", "geography"),
)

DERIVED_FEATURES: tuple[FeatureDef, ...] = (
    FeatureDef("credit_band", "categorical", "Credit band", "text", "financial", ("credit_score",), True),
    FeatureDef("dti", "numeric", "Debt-to-income", "pct", "financial", ("monthly_debt", "annual_income"), True),
    FeatureDef("ltv", "numeric", "Loan-to-value", "pct", "financial", ("loan_amount", "property_value"), True),
    FeatureDef("down_payment_pct", "numeric", "Down payment share", "pct", "financial",
               ("down_payment", "property_value"), True),
    FeatureDef("loan_to_income", "numeric", "Loan-to-income", "ratio", "financial",
               ("loan_amount", "annual_income"), True),
    FeatureDef("engagement", "numeric", "Engagement", "float", "behaviour",
               ("website_sessions", "page_views", "calculator_uses", "email_opens", "email_clicks"), True),
    FeatureDef("email_click_rate", "numeric", "Email click rate", "pct", "behaviour",
               ("email_clicks", "email_opens"), True),
    FeatureDef("pages_per_session", "numeric", "Pages per session", "float", "behaviour",
               ("page_views", "website_sessions"), True),
    # Recency of intent: days from the borrower's inquiry (consent) to the lead's arrival ("aged" leads).
    # Not updated_at: a CRM moves it when the lead converts (and when we write a score), so it leaks the label.
    FeatureDef("lead_age_days", "numeric", "Days since inquiry", "days", "behaviour", (TIME, "consent_timestamp"),
               True),
    FeatureDef("timeline_months", "numeric", "Months to purchase", "months", "timing", ("timeline",), True),
    FeatureDef("month", "numeric", "Month", "int", "timing", (TIME,), True),
    FeatureDef("rate", "numeric", "Mortgage rate", "rate", "timing", (TIME, RATES), True),
    FeatureDef("rate_change_90d", "numeric", "Rate change over 90 days", "rate", "timing", (TIME, RATES), True),
    FeatureDef("zip3", "categorical", "ZIP area", "text", "geography", ("zip_code",), True),
)

# Canonical columns read as numbers even when only a derived feature uses them.
_CANONICAL_NUMERIC = frozenset(k for k, v in CANONICAL_FIELDS.items() if v in {"float", "int"})
_RANGES: dict[str, tuple[float, float]] = {
    "credit_score": (300, 850), "annual_income": (1000, 2e7), "monthly_debt": (0, 1e6), "loan_amount": (1000, 1e8),
    "property_value": (5000, 1e9), "down_payment": (0, 1e9), "employment_tenure_months": (0, 720),
    "website_sessions": (0, 1e5), "page_views": (0, 1e6), "calculator_uses": (0, 1e5),
    "email_opens": (0, 1e5), "email_clicks": (0, 1e5),
}
_CREDIT_BANDS = (np.array([580, 620, 680, 740]), np.array(["<580", "580-619", "620-679", "680-739", "740+"]))


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


_AGE_OWNERS = frozenset({"applicant", "borrower", "coborrower", "co_borrower", "customer", "client", "person"})
_AGE_SUFFIXES = frozenset({"years", "yrs", "group", "band", "range", "bracket"})


def protected_columns(columns: Iterable[str]) -> list[str]:
    """Columns whose name is a protected attribute (race, sex, age, ...), however it is spelled."""
    found = []
    for col in columns:
        norm = _norm_name(col)
        tokens = norm.split("_")
        joined = f"_{norm}_"
        if norm in PROTECTED_ATTRIBUTES:
            found.append(col)
        elif any(f"_{p}_" in joined for p in PROTECTED_ATTRIBUTES if p != "age"):
            found.append(col)
        elif "age" in tokens and (
            (tokens[-1] == "age" and len(tokens) > 1 and tokens[-2] in _AGE_OWNERS)
            or (tokens[0] == "age" and len(tokens) > 1 and tokens[1] in _AGE_SUFFIXES)
        ):
            found.append(col)
    return found


@dataclass(frozen=True)
class FeaturePlan:
    """The resolved feature set: which features, from which columns, with which label and time column."""

    features: tuple[FeatureDef, ...]
    raw_kinds: dict[str, str]  # raw column -> numeric | categorical | state | zip | time
    label: str
    positive_value: object
    time_column: str
    time_kind: str  # datetime | numeric
    id_column: str
    default_set: bool
    missing_tokens: frozenset[str]
    has_rates: bool = False

    @property
    def input_columns(self) -> list[str]:
        """Raw columns a lead needs for a complete score (the time column excepted)."""
        return [c for c in self.raw_kinds if c != self.time_column]


def plan_features(spec: FeatureSpec, *, time_kind: str = "datetime", has_rates: bool = False) -> FeaturePlan:
    """Resolve the configured feature set; protected attributes are refused with a clear error."""
    default_set = spec.numerical is None and spec.categorical is None
    if default_set:
        base = list(DEFAULT_FEATURES)
    else:
        known = {f.name: f for f in DEFAULT_FEATURES}
        base = []
        for name in spec.numerical or ():
            d = known.get(name)
            base.append(d if d is not None and d.kind == "numeric" else FeatureDef(name, "numeric", name, "float"))
        for name in spec.categorical or ():
            d = known.get(name)
            base.append(d if d is not None and d.kind == "categorical" else FeatureDef(name, "categorical", name, "text"))
    refused = protected_columns([f.name for f in base])
    if refused:
        raise ScoringInputError(
            f"protected attribute(s) {', '.join(refused)} cannot be model features (fair lending law: ECOA, "
            "Fair Housing Act); remove them from scoring.features. They may stay in the data for the fairness audit."
        )
    listed = {f.name for f in base}
    derived: list[FeatureDef] = []
    if spec.derived:
        for d in DERIVED_FEATURES:
            needs_time = TIME in d.inputs
            if needs_time and time_kind != "datetime":
                continue
            if RATES in d.inputs and not has_rates:
                continue
            cols = [c for c in d.inputs if c not in (TIME, RATES)]
            if default_set or all(c in listed for c in cols):
                derived.append(d)
    features = tuple(base + derived)
    raw_kinds: dict[str, str] = {}
    for f in features:
        for col in (f.inputs or (f.name,)) if f.derived else (f.name,):
            if col == TIME:
                raw_kinds[spec.time_column] = "time"
            elif col == RATES:
                continue
            elif col not in raw_kinds:
                raw_kinds[col] = _raw_kind(col, f, default_set or col in listed)
    for col in ("consent_timestamp",):
        if col in raw_kinds:
            raw_kinds[col] = "time"
    return FeaturePlan(
        features=features, raw_kinds=raw_kinds, label=spec.label, positive_value=spec.positive_value,
        time_column=spec.time_column, time_kind=time_kind, id_column=spec.id_column, default_set=default_set,
        missing_tokens=parsing.tokens(spec.missing_tokens), has_rates=has_rates,
    )


def _raw_kind(col: str, feature: FeatureDef, canonical_meaning: bool) -> str:
    if not feature.derived and feature.kind == "numeric":
        return "numeric"  # listed as a number: read as one, whatever its canonical meaning
    if canonical_meaning and col == "state":
        return "state"
    if canonical_meaning and col == "zip_code":
        return "zip"
    if canonical_meaning and CANONICAL_FIELDS.get(col) == "bool":
        return "flag"
    if not feature.derived:
        return feature.kind
    return "numeric" if col in _CANONICAL_NUMERIC else "categorical"


@dataclass
class CleanInputs:
    """Parsed raw columns and every feature's value per lead, before encoding (reasons print these)."""

    values: dict[str, np.ndarray]
    present: np.ndarray  # (n_leads, n_input_columns) bool: input column readable for the lead
    absent_columns: list[str] = field(default_factory=list)
    unreadable: dict[str, parsing.Parsed] = field(default_factory=dict)

    @property
    def completeness(self) -> np.ndarray:
        """Share of the model's input columns that each lead has (0..1)."""
        if self.present.shape[1] == 0:
            return np.ones(self.present.shape[0])
        return self.present.mean(axis=1)


def clean_inputs(frame: pd.DataFrame, plan: FeaturePlan, rates: RateSeries | None) -> CleanInputs:
    """Parse the raw columns and compute every planned feature; never raises on a value."""
    if 0 < len(frame) <= parsing.SMALL_BATCH:
        return _clean_few(frame, plan, rates)
    return _clean_columns(frame, plan, rates)


def _clean_columns(frame: pd.DataFrame, plan: FeaturePlan, rates: RateSeries | None) -> CleanInputs:
    """clean_inputs column by column with the vectorised parsers (any size; big batches)."""
    n = len(frame)
    raw: dict[str, np.ndarray] = {}
    absent: list[str] = []
    unreadable: dict[str, parsing.Parsed] = {}
    tokens = plan.missing_tokens
    columns = _columns(frame, list(plan.raw_kinds))
    for col, kind in plan.raw_kinds.items():
        if col not in columns:
            absent.append(col)
            raw[col] = np.full(n, np.nan) if kind in {"numeric", "time"} else np.full(n, None, dtype=object)
            continue
        series = columns[col]
        if kind == "numeric":
            parsed = parsing.parse_numeric(series, tokens)
            values = parsed.values
            if col in _RANGES and (plan.default_set or col in _CANONICAL_NUMERIC):
                lo, hi = _RANGES[col]
                values = np.where((values >= lo) & (values <= hi), values, np.nan)
        elif kind == "time":
            values, _, parsed = parsing.parse_time(series, plan.time_kind if col == plan.time_column else "datetime")
        elif kind == "state":
            parsed = parsing.normalize_state(series, tokens)
            values = parsed.values
        elif kind == "zip":
            values = parsing.zip3(series, tokens)
            parsed = parsing.Parsed(values)
        elif kind == "flag":
            values = parsing.normalize_flag(series, tokens)
            parsed = parsing.Parsed(values)
        else:
            values = parsing.normalize_category(series, tokens)
            parsed = parsing.Parsed(values)
        if parsed.n_bad:
            unreadable[col] = parsed
        raw[col] = values
    inputs = plan.input_columns
    present = np.empty((n, len(inputs)), dtype=bool)
    for j, col in enumerate(inputs):
        v = raw[col]
        present[:, j] = ~np.isnan(v) if v.dtype.kind == "f" else pd.notna(v)
    out: dict[str, np.ndarray] = {}
    time = raw.get(plan.time_column, np.full(n, np.nan))
    for f in plan.features:
        out[f.name] = _derive(f, raw, time, rates) if f.derived else raw[f.name]
    return CleanInputs(out, present, absent, unreadable)


def _columns(frame: pd.DataFrame, wanted: list[str]) -> dict[str, pd.Series | np.ndarray]:
    """The wanted columns that the frame has; a small frame's as plain object arrays (one conversion,
    instead of a pandas Series per column: the parsers' small-batch path reads values one by one)."""
    if len(frame) > parsing.SMALL_BATCH:
        return {col: frame[col] for col in wanted if col in frame.columns}
    position = {col: j for j, col in enumerate(frame.columns.tolist())}
    block = frame.to_numpy(dtype=object)
    return {col: block[:, position[col]] for col in wanted if col in position}


def _clean_few(frame: pd.DataFrame, plan: FeaturePlan, rates: RateSeries | None) -> CleanInputs:
    """clean_inputs for the API's few leads: values read one by one into lists, one array per column at the end.

    The same numbers as _clean_columns (tested): the same per-value readers, and the derived features
    that need numpy (logs, dates, rates) computed by _derive itself.
    """
    n = len(frame)
    # tolist(): iterating a string Index goes through pandas' per-element __getitem__
    position = {col: j for j, col in enumerate(frame.columns.tolist())}
    block = frame.to_numpy(dtype=object)
    raw: dict[str, list[object]] = {}
    absent: list[str] = []
    unreadable: dict[str, parsing.Parsed] = {}
    for col, kind in plan.raw_kinds.items():
        j = position.get(col)
        if j is None:
            absent.append(col)
            raw[col] = [np.nan] * n if kind in {"numeric", "time"} else [None] * n
            continue
        values, parsed = _read_few(block[:, j], col, kind, plan)
        raw[col] = values
        if parsed is not None and parsed.n_bad:
            unreadable[col] = parsed
    floats = {col for col, kind in plan.raw_kinds.items() if kind in {"numeric", "time"}}
    arrays = {col: np.array(v, dtype=np.float64 if col in floats else object) for col, v in raw.items()}
    inputs = plan.input_columns
    present = np.array([[_known(raw[col][i]) for col in inputs] for i in range(n)], dtype=bool).reshape(n, len(inputs))
    time = arrays.get(plan.time_column, np.full(n, np.nan))
    out: dict[str, np.ndarray] = {}
    for f in plan.features:
        if not f.derived:
            out[f.name] = arrays[f.name]
        elif f.name in _FEW_RULES and all(c == TIME or c in floats for c in f.inputs):
            out[f.name] = _FEW_RULES[f.name](raw, raw.get(plan.time_column, [np.nan] * n))
        else:
            out[f.name] = _derive(f, arrays, time, rates)
    return CleanInputs(out, present, absent, unreadable)


def _read_few(cells: np.ndarray, col: str, kind: str, plan: FeaturePlan) -> tuple[list[object], parsing.Parsed | None]:
    """One raw column of a small batch: its values (numbers kept in range) and, when some were not understood,
    what _clean_columns reports for it."""
    time_kind = plan.time_kind if col == plan.time_column else "datetime"
    read = None
    if kind != "time" or time_kind == "datetime":
        read = parsing.read_few(kind, cells.tolist(), plan.missing_tokens)
    if read is None:  # a numeric time key, or a date that is not ISO 8601: the column parser
        values, _, parsed = parsing.parse_time(cells, time_kind)
        return values.tolist(), parsed
    values, bad = read
    parsed = None
    if bad:
        dtype = np.float64 if kind in {"numeric", "time"} else object
        parsed = parsing.Parsed(np.array(values, dtype=dtype), len(bad), parsing.examples(cells, bad))
    return (_in_range(values, col, plan) if kind == "numeric" else values), parsed


def _known(value: object) -> bool:
    # values here are floats (NaN for missing) or str / None, as _clean_columns' notna / isnan read them
    return not (value is None or value != value)


def _in_range(values: list[object], col: str, plan: FeaturePlan) -> list[object]:
    if col not in _RANGES or not (plan.default_set or col in _CANONICAL_NUMERIC):
        return values
    lo, hi = _RANGES[col]
    return [v if lo <= v <= hi else np.nan for v in values]  # type: ignore[operator]


def _ratio_few(a: list[object], b: list[object], hi: float) -> np.ndarray:
    """_ratio on plain floats: IEEE division is the same in Python and numpy; x/0 is never kept anyway."""
    out = []
    for x, y in zip(a, b):
        r = np.nan if y == 0.0 else x / y  # type: ignore[operator]
        out.append(r if r - r == 0.0 and 0.0 <= r <= hi else np.nan)  # r - r == 0: finite
    return np.array(out, dtype=np.float64)


def _band_few(scores: list[object]) -> np.ndarray:
    cuts = _CREDIT_BANDS[0].tolist()
    names = _CREDIT_BANDS[1].tolist()
    return np.array([None if s != s else names[bisect.bisect_right(cuts, s)] for s in scores], dtype=object)


def _age_few(time: list[object], consent: list[object]) -> np.ndarray:
    days = [(t - c) / _NS_PER_DAY for t, c in zip(time, consent)]  # type: ignore[operator]
    return np.array([d if d >= 0 else np.nan for d in days], dtype=np.float64)


# Derived features computed on plain lists for small batches; the others go through _derive.
_FEW_RULES: dict[str, Callable[[dict[str, list[object]], list[object]], np.ndarray]] = {
    "credit_band": lambda r, t: _band_few(r["credit_score"]),
    "dti": lambda r, t: _ratio_few([v * 12.0 for v in r["monthly_debt"]],  # type: ignore[operator]
                                   r["annual_income"], 5.0),
    "ltv": lambda r, t: _ratio_few(r["loan_amount"], r["property_value"], 3.0),
    "down_payment_pct": lambda r, t: _ratio_few(r["down_payment"], r["property_value"], 1.0),
    "loan_to_income": lambda r, t: _ratio_few(r["loan_amount"], r["annual_income"], 50.0),
    "email_click_rate": lambda r, t: _ratio_few(r["email_clicks"], r["email_opens"], 1.0),
    "pages_per_session": lambda r, t: _ratio_few(r["page_views"], r["website_sessions"], 1000.0),
    "lead_age_days": lambda r, t: _age_few(t, r["consent_timestamp"]),
}


def _ratio(a: np.ndarray, b: np.ndarray, hi: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a / b
    return np.where(np.isfinite(r) & (r >= 0) & (r <= hi), r, np.nan)


def _derive(f: FeatureDef, raw: dict[str, np.ndarray], time: np.ndarray, rates: RateSeries | None) -> np.ndarray:
    name = f.name
    if name == "credit_band":
        score = raw["credit_score"]
        bands = _CREDIT_BANDS[1][np.searchsorted(_CREDIT_BANDS[0], np.nan_to_num(score), side="right")]
        return np.where(np.isnan(score), None, bands).astype(object)
    if name == "dti":
        return _ratio(raw["monthly_debt"] * 12.0, raw["annual_income"], 5.0)
    if name == "ltv":
        return _ratio(raw["loan_amount"], raw["property_value"], 3.0)
    if name == "down_payment_pct":
        return _ratio(raw["down_payment"], raw["property_value"], 1.0)
    if name == "loan_to_income":
        return _ratio(raw["loan_amount"], raw["annual_income"], 50.0)
    if name == "engagement":
        # a weighted activity count on a log scale: calculator uses and clicks signal intent most
        parts = np.column_stack([
            raw["website_sessions"], raw["page_views"] / 5.0, raw["calculator_uses"] * 3.0,
            raw["email_opens"] / 2.0, raw["email_clicks"] * 2.0,
        ])
        total = np.nansum(parts, axis=1)
        return np.where(np.isnan(parts).all(axis=1), np.nan, np.log1p(total))
    if name == "email_click_rate":
        return _ratio(raw["email_clicks"], raw["email_opens"], 1.0)
    if name == "pages_per_session":
        return _ratio(raw["page_views"], raw["website_sessions"], 1000.0)
    if name == "lead_age_days":
        # an "aged" lead was sold long after the borrower asked; a consent after arrival is a data error
        days = (time - raw["consent_timestamp"]) / _NS_PER_DAY
        return np.where(days >= 0, days, np.nan)
    if name == "timeline_months":
        return parsing.timeline_months(raw["timeline"])
    if name == "month":
        known = ~np.isnan(time)
        month = np.full(time.shape, np.nan)
        month[known] = time[known].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) % 12 + 1
        return month
    if name == "rate":
        return rates.at(time) if rates is not None else np.full(time.shape, np.nan)
    if name == "rate_change_90d":
        return rates.change(time) if rates is not None else np.full(time.shape, np.nan)
    if name == "zip3":
        return raw["zip_code"]
    raise AssertionError(f"no rule for derived feature {name}")


@dataclass
class FeatureBatch:
    """The model matrix with what explains it: clean values per feature and input completeness."""

    matrix: np.ndarray
    clean: CleanInputs


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Raw lead columns -> float32 matrix (NaN for missing numbers; trees and the LR pipeline handle NaN).

    Numeric features pass through (month becomes sin/cos); categoricals with few frequent levels are
    one-hot encoded, the others target-encoded with sklearn's cross-fitted TargetEncoder, learned only
    on the rows given to `fit_transform` (the training fold).
    """

    def __init__(self, plan: FeaturePlan | None = None, rates: RateSeries | None = None,
                 max_onehot_levels: int = 10, min_category_count: int = 20, random_state: int = 42):
        self.plan = plan
        self.rates = rates
        self.max_onehot_levels = max_onehot_levels
        self.min_category_count = min_category_count
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[float] | np.ndarray) -> "FeatureTransformer":
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Sequence[float] | np.ndarray | None = None, **_: object) -> np.ndarray:
        """Learn encodings on these rows; target-encoded columns are cross-fitted, so no row sees its own label."""
        if self.plan is None:
            raise ValueError("FeatureTransformer needs a FeaturePlan")
        if y is None:
            raise ValueError("FeatureTransformer.fit needs the labels (target encoding)")
        target = np.asarray(y, dtype=np.float64)
        clean = clean_inputs(X, self.plan, self.rates)
        self.numeric_ = [f for f in self.plan.features if f.kind == "numeric"]
        cats = [f for f in self.plan.features if f.kind == "categorical"]
        self.onehot_, self.target_ = [], []
        for f in cats:
            levels, counts = np.unique(_levels(clean.values[f.name]), return_counts=True)
            common = (counts >= self.min_category_count) & (levels != MISSING_LEVEL)
            # many frequent levels, or a long tail of rare ones (ZIP areas): a target rate carries it better
            long_tail = counts[~common & (levels != MISSING_LEVEL)].sum() > 0.2 * counts.sum()
            onehot = int(common.sum()) <= self.max_onehot_levels and not long_tail
            (self.onehot_ if onehot else self.target_).append(f)
        self.onehot_encoder_ = None
        if self.onehot_:
            self.onehot_encoder_ = OneHotEncoder(
                handle_unknown="infrequent_if_exist", min_frequency=self.min_category_count,
                sparse_output=False, dtype=np.float32,
            ).fit(self._cat_block(clean, self.onehot_))
        self.target_encoder_ = None
        te_block = None
        if self.target_:
            self.target_encoder_ = TargetEncoder(
                target_type="binary", smooth="auto", cv=KFold(5, shuffle=True, random_state=self.random_state))
            te_block = self.target_encoder_.fit_transform(self._cat_block(clean, self.target_), target)
        self._name_outputs()
        self._build_lookups()
        self.n_features_in_ = len(self.plan.raw_kinds)
        return self._assemble(clean, te_block)

    def _build_lookups(self) -> None:
        """Level -> output column (one-hot) and level -> rate (target) tables read from the fitted encoders.

        sklearn's transform() validates and scans every category per call (milliseconds for one lead);
        these tables give the same numbers (tested) at dictionary speed.
        """
        self._few_layout = None
        self.onehot_lookup_: list[tuple[dict[str, int], int, int]] = []  # (level -> col, unknown col, width)
        if self.onehot_encoder_ is not None:
            enc = self.onehot_encoder_
            for levels, infrequent in zip(enc.categories_, enc.infrequent_categories_):
                rare = set(infrequent) if infrequent is not None else set()
                kept = [lv for lv in levels if lv not in rare]
                table = {lv: i for i, lv in enumerate(kept)}
                other = len(kept) if rare else -1
                table.update({lv: other for lv in rare})
                self.onehot_lookup_.append((table, other, len(kept) + (1 if rare else 0)))
        self.target_lookup_: list[tuple[dict[str, float], float]] = []
        if self.target_encoder_ is not None:
            enc = self.target_encoder_
            for levels, rates in zip(enc.categories_, enc.encodings_):
                self.target_lookup_.append(({lv: float(r) for lv, r in zip(levels, rates)}, float(enc.target_mean_)))

    def _name_outputs(self) -> None:
        names: list[str] = []
        sources: list[int] = []
        index = {f.name: i for i, f in enumerate(self.plan.features)}  # type: ignore[union-attr]
        for f in self.numeric_:
            cols = [f"{f.name}_sin", f"{f.name}_cos"] if f.name == "month" else [f.name]
            names += cols
            sources += [index[f.name]] * len(cols)
        if self.onehot_encoder_ is not None:
            encoder = self.onehot_encoder_
            for f, levels, infrequent in zip(self.onehot_, encoder.categories_, encoder.infrequent_categories_):
                kept = [lv for lv in levels if infrequent is None or lv not in set(infrequent)]
                cols = [f"{f.name}={lv}" for lv in kept] + ([f"{f.name}=other"] if infrequent is not None else [])
                names += cols
                sources += [index[f.name]] * len(cols)
        for f in self.target_:
            names.append(f"{f.name}_target_rate")
            sources.append(index[f.name])
        self.feature_names_out_ = np.array(names, dtype=object)
        self.output_source_ = np.array(sources, dtype=np.int64)

    # -- transforming --------------------------------------------------------------------------
    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The model matrix for these leads (float32, NaN where a number is missing)."""
        return self.transform_details(X).matrix

    def transform_details(self, X: pd.DataFrame) -> FeatureBatch:
        """The model matrix plus the clean values and completeness that reasons and confidence use."""
        clean = clean_inputs(X, self.plan, self.rates)  # type: ignore[arg-type]
        if 0 < clean.present.shape[0] <= parsing.SMALL_BATCH:
            return FeatureBatch(self._assemble_few(clean), clean)
        te_block = None
        if self.target_:
            te_block = np.column_stack([
                _lookup(_levels(clean.values[f.name]), table, default)
                for f, (table, default) in zip(self.target_, self.target_lookup_)
            ])
        return FeatureBatch(self._assemble(clean, te_block), clean)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.feature_names_out_

    def __getstate__(self) -> dict[str, object]:
        state = dict(super().__getstate__())  # type: ignore[misc]
        state.pop("_few_layout", None)  # rebuilt on first use: the saved model stays what fit made
        return state

    def _layout(self) -> list[tuple[str, str, dict[str, float] | dict[str, int] | None, float, int]]:
        """The matrix's column blocks in order, built once: (what, feature, lookup table, default, width)."""
        layout = self.__dict__.get("_few_layout")
        if layout is None:
            layout = [("month" if f.name == "month" else "number", f.name, None, 0.0, 0) for f in self.numeric_]
            layout += [("onehot", f.name, table, unknown, width)
                       for f, (table, unknown, width) in zip(self.onehot_, self.onehot_lookup_)]
            layout += [("target", f.name, table, default, 1)
                       for f, (table, default) in zip(self.target_, self.target_lookup_)]
            self._few_layout = layout
        return layout

    def _assemble_few(self, clean: CleanInputs) -> np.ndarray:
        """transform_details' matrix for a small batch, row by row in Python (equal to _assemble, tested):
        the same float64 values, cast to float32 once."""
        n = clean.present.shape[0]
        rows: list[list[float]] = [[] for _ in range(n)]
        for what, name, table, default, width in self._layout():
            values = clean.values[name]
            if what == "number":
                for row, v in zip(rows, values.astype(np.float64, copy=False).tolist()):
                    row.append(v)
            elif what == "month":
                angle = 2 * np.pi * (values.astype(np.float64) - 1) / 12.0
                for row, s, c in zip(rows, np.sin(angle).tolist(), np.cos(angle).tolist()):
                    row += (s, c)
            elif what == "onehot":
                for row, level in zip(rows, _few_levels(values)):
                    block = [0.0] * width
                    col = int(table.get(level, default))  # type: ignore[union-attr]
                    if col >= 0:  # an unknown level with no "other" column: all zeros
                        block[col] = 1.0
                    row += block
            else:
                for row, level in zip(rows, _few_levels(values)):
                    row.append(float(table.get(level, default)))  # type: ignore[union-attr]
        width_all = len(self.feature_names_out_)
        return np.array(rows, dtype=np.float64).reshape(n, width_all).astype(np.float32)

    def _cat_block(self, clean: CleanInputs, feats: list[FeatureDef]) -> np.ndarray:
        return np.column_stack([_levels(clean.values[f.name]) for f in feats])

    def _assemble(self, clean: CleanInputs, te_block: np.ndarray | None) -> np.ndarray:
        n = clean.present.shape[0]
        blocks: list[np.ndarray] = []
        for f in self.numeric_:
            v = clean.values[f.name].astype(np.float64)
            if f.name == "month":
                angle = 2 * np.pi * (v - 1) / 12.0
                blocks += [np.sin(angle)[:, None], np.cos(angle)[:, None]]
            else:
                blocks.append(v[:, None])
        for f, (table, unknown, width) in zip(self.onehot_, self.onehot_lookup_):
            # unknown levels at scoring time go to "other" (all zeros when training had no rare level)
            cols = _lookup(_levels(clean.values[f.name]), table, unknown).astype(np.int64)
            block = np.zeros((n, width), dtype=np.float32)
            hit = cols >= 0
            block[np.flatnonzero(hit), cols[hit]] = 1.0
            blocks.append(block)
        if te_block is not None:
            blocks.append(te_block)
        if not blocks:
            return np.empty((n, 0), dtype=np.float32)
        return np.hstack(blocks).astype(np.float32)


def _lookup(levels: np.ndarray, table: dict[str, float] | dict[str, int], default: float) -> np.ndarray:
    if len(levels) <= parsing.SMALL_BATCH:
        return np.array([table.get(v, default) for v in levels], dtype=np.float64)
    codes, uniques = pd.factorize(levels)
    mapped = np.array([table.get(u, default) for u in uniques] + [default], dtype=np.float64)
    return mapped[codes]


def _few_levels(values: np.ndarray) -> list[str]:
    """_levels' small-batch rule as a plain list."""
    return [MISSING_LEVEL if parsing.is_missing(v) else str(v) for v in values.tolist()]


def _levels(values: np.ndarray) -> np.ndarray:
    if len(values) <= parsing.SMALL_BATCH:
        return np.array([MISSING_LEVEL if parsing.is_missing(v) else str(v) for v in values], dtype=object)
    out = values.astype(object).copy()
    out[pd.isna(out)] = MISSING_LEVEL
    return out.astype(str).astype(object)
