"""CRM-export messiness applied to clean leads: blanks, odd formats, junk and absurd values.

Every step draws from its own random stream in a fixed order, so the mess is the same for the same seed.
Ids, timestamps, outcomes, the ground-truth columns and the CRM checkboxes without a designed gap
(first_time_buyer, do_not_call, email_opt_out) are never touched.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from daemon.synthetic import geography as geo

# Fields a CRM export loses now and then; each gets its own missing rate, drawn per seed in [3%, 10%].
MISSING_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "email", "phone", "state", "zip_code", "loan_amount", "loan_purpose",
    "loan_type", "property_type", "property_value", "down_payment", "timeline", "annual_income",
    "monthly_debt", "credit_score", "employment_status", "employment_tenure_months", "website_sessions",
    "page_views", "calculator_uses", "email_opens", "email_clicks", "lead_cost",
)
MISSING_RATE = (0.03, 0.10)
AMOUNT_FIELDS: tuple[str, ...] = ("loan_amount", "property_value", "down_payment", "annual_income", "monthly_debt")
CATEGORY_FIELDS: tuple[str, ...] = ("loan_purpose", "loan_type", "property_type", "timeline", "employment_status")
JUNK_PHONES: tuple[str, ...] = ("555-0000", "n/a", "N/A", "0000000000", "123", "none", "999-999-9999")
UNKNOWN_STATES: tuple[str, ...] = ("XX", "ZZ", "Calif.", "UK", "--")
COUNT_FIELDS: tuple[str, ...] = ("employment_tenure_months", "website_sessions", "page_views", "calculator_uses",
                                 "email_opens", "email_clicks", "credit_score")


@dataclass
class MessReport:
    """How many values each kind of mess touched (for README.md and ground_truth.json)."""

    missing_rate: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + int(n)


def _pick(rng: np.random.Generator, eligible: np.ndarray, rate: float) -> np.ndarray:
    return eligible & (rng.random(eligible.size) < rate)


def _at_least(rng: np.random.Generator, eligible: np.ndarray, k: int) -> np.ndarray:
    """Exactly min(k, available) eligible rows: for rare mess that must appear even in small sets."""
    where = np.flatnonzero(eligible)
    chosen = rng.choice(where, size=min(k, where.size), replace=False) if where.size else where
    mask = np.zeros(eligible.size, dtype=bool)
    mask[chosen] = True
    return mask


def _money(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Amounts the way people type them: "$425,000", "425,000", "$425,000.00"."""
    fmt = ("${:,.0f}", "{:,.0f}", "${:,.2f}")
    return np.array([fmt[s].format(v) for v, s in zip(values, style)], dtype=object)


def messy_leads(clean: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, MessReport]:
    """A CRM-export-like copy of `clean` and a report of what was done to it."""
    out = clean.copy()
    n = len(out)
    report = MessReport()
    for col in AMOUNT_FIELDS + CATEGORY_FIELDS + ("state", "zip_code", "phone", "email", "first_name",
                                                   "last_name", "tcpa_consent"):
        out[col] = out[col].astype(object)
    for col in COUNT_FIELDS:
        out[col] = out[col].astype("Int64")

    # 1. missing values
    for col in MISSING_FIELDS:
        rate = float(np.round(rng.uniform(*MISSING_RATE), 4))
        mask = rng.random(n) < rate
        out.loc[mask, col] = None if out[col].dtype == object else pd.NA
        report.missing_rate[col] = rate
        report.add("blanked", mask.sum())
    present = {col: out[col].notna().to_numpy() for col in out.columns}

    # 2. phones in every format people use, and some junk
    phone = out["phone"].astype("string")
    area, exch, line = phone.str[2:5], phone.str[5:8], phone.str[8:12]
    style = rng.choice(6, size=n, p=[0.35, 0.25, 0.15, 0.10, 0.10, 0.05])
    formats = ["(" + area + ") " + exch + "-" + line, area + "-" + exch + "-" + line, area + exch + line,
               "+1 " + area + " " + exch + " " + line, area + "." + exch + "." + line, phone]
    styled = pd.Series(np.select([style == k for k in range(6)], [f.to_numpy(dtype=object) for f in formats]),
                       dtype=object)
    out["phone"] = styled.where(present["phone"], None).to_numpy()
    junk = _pick(rng, present["phone"], 0.01) | _at_least(rng, present["phone"], 1)
    out.loc[junk, "phone"] = np.array(JUNK_PHONES, dtype=object)[rng.integers(0, len(JUNK_PHONES), int(junk.sum()))]
    report.add("junk phone", junk.sum())

    # 3. states: lower case, full names, padding, unknown codes
    u = rng.random(n)
    codes = out["state"].to_numpy(dtype=object, copy=True)
    names = pd.Series(codes).map({s.code: s.name for s in geo.STATES}).to_numpy(dtype=object)
    ok = present["state"]
    lower, full, padded = ok & (u < 0.04), ok & (u >= 0.04) & (u < 0.06), ok & (u >= 0.06) & (u < 0.075)
    unknown = (ok & (u >= 0.075) & (u < 0.078)) | _at_least(rng, ok & ~(lower | full | padded), 1)
    codes = codes.copy()
    codes[lower] = pd.Series(codes[lower], dtype=object).str.lower().to_numpy(dtype=object)
    full_style = rng.integers(0, 3, n)
    codes[full] = np.where(full_style[full] == 0, pd.Series(names[full]).str.lower(),
                           np.where(full_style[full] == 1, names[full], pd.Series(names[full]).str.upper()))
    codes[padded] = np.where(rng.random(int(padded.sum())) < 0.5, " " + codes[padded], codes[padded] + "  ")
    codes[unknown] = np.array(UNKNOWN_STATES, dtype=object)[rng.integers(0, len(UNKNOWN_STATES), int(unknown.sum()))]
    out["state"] = codes
    for kind, mask in (("lower-case state", lower), ("full-name state", full), ("padded state", padded),
                       ("unknown state", unknown)):
        report.add(kind, mask.sum())

    # 4. zip codes: ZIP+4, and leading zeros lost to a spreadsheet
    zips = out["zip_code"].to_numpy(dtype=object).copy()
    plus4 = _pick(rng, present["zip_code"], 0.03)
    four = pd.Series(rng.integers(1, 10_000, int(plus4.sum()))).astype(str).str.zfill(4).to_numpy(dtype=object)
    zips[plus4] = zips[plus4] + "-" + four
    leading = present["zip_code"] & ~plus4 & pd.Series(zips, dtype=object).str.startswith("0", na=False).to_numpy()
    stripped = _pick(rng, leading, 0.3)
    zips[stripped] = pd.Series(zips[stripped], dtype=object).str.lstrip("0").to_numpy(dtype=object)
    out["zip_code"] = zips
    report.add("zip+4", plus4.sum())
    report.add("zip lost leading zero", stripped.sum())

    # 5. amounts typed as text, and an absurd value or two
    for col in AMOUNT_FIELDS:
        as_text = _pick(rng, present[col], 0.06)
        values = out[col].to_numpy(dtype=object, copy=True)
        values[as_text] = _money(values[as_text].astype(float), rng.integers(0, 3, int(as_text.sum())))
        out[col] = values
        report.add("amount as text", as_text.sum())
    k_absurd = max(1, n // 5000)
    for col, absurd in (("loan_amount", (1.0, 999_999_999.0, 0.0)), ("annual_income", (12.0, 95.0, 48_000_000.0))):
        mask = _at_least(rng, present[col], k_absurd)
        out.loc[mask, col] = np.array(absurd, dtype=object)[rng.integers(0, len(absurd), int(mask.sum()))]
        report.add(f"absurd {col}", mask.sum())
    mask = _at_least(rng, present["credit_score"], k_absurd)
    out.loc[mask, "credit_score"] = np.array([0, 9999, 85])[rng.integers(0, 3, int(mask.sum()))]
    report.add("absurd credit_score", mask.sum())

    # 6. categories in other cases and spellings
    for col in CATEGORY_FIELDS:
        mask = _pick(rng, present[col], 0.03)
        values = pd.Series(out[col].to_numpy(dtype=object)[mask], dtype=object)
        style = rng.integers(0, 3, int(mask.sum()))
        variants = np.select([style == 0, style == 1],
                             [values.str.upper(), values.str.replace("_", " ").str.title()],
                             values.str.replace("_", "-"))
        out.loc[mask, col] = variants
        report.add("category variant", mask.sum())

    # 7. whitespace and case in names and e-mails
    for col in ("first_name", "last_name"):
        mask = _pick(rng, present[col], 0.02)
        values = out[col].to_numpy(dtype=object, copy=True)
        values[mask] = np.where(rng.random(int(mask.sum())) < 0.5, "  " + values[mask], values[mask] + "  ")
        caps = _pick(rng, present[col] & ~mask, 0.01)
        values[caps] = pd.Series(values[caps], dtype=object).str.upper().to_numpy(dtype=object)
        out[col] = values
        report.add("name with extra whitespace", mask.sum())
        report.add("name in capitals", caps.sum())
    mask = _pick(rng, present["email"], 0.02)
    out.loc[mask, "email"] = pd.Series(out["email"].to_numpy(dtype=object)[mask], dtype=object).str.upper().to_numpy()
    report.add("e-mail in capitals", mask.sum())

    # 8. consent flags typed as words
    consent = out["tcpa_consent"].to_numpy(dtype=object, copy=True)
    mask = _pick(rng, pd.notna(consent) & np.array([v is not None for v in consent]), 0.02)
    yes, no = np.array(["Yes", "Y", "true", "1"], dtype=object), np.array(["No", "N", "false", "0"], dtype=object)
    pick = rng.integers(0, 4, int(mask.sum()))
    consent[mask] = np.where(consent[mask] == True, yes[pick], no[pick])  # noqa: E712
    out["tcpa_consent"] = consent
    report.add("consent as text", mask.sum())
    return out, report
