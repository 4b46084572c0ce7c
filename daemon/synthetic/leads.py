"""Clean synthetic mortgage leads: plausible, correlated distributions, drawn without a loop over leads."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from config.canonical import CANONICAL_FIELDS
from daemon.synthetic import geography as geo
from daemon.synthetic.vocab import (
    CONSENT_METHODS, CONSENT_TEXTS, EMPLOYMENT, FIRST_NAMES, LAST_NAMES, LOAN_PURPOSES, PROPERTY_TYPES,
    RACES, SEXES, SOURCES, TIMELINE_WEIGHTS_PURCHASE, TIMELINE_WEIGHTS_REFI, TIMELINES,
)

HISTORY_DAYS = 548          # ~18 months of leads before `now`
CONFORMING_LIMIT = 806_500  # 2025 one-unit conforming loan limit: above it a conventional loan is jumbo
FHA_CEILING = 1_209_750
SUBPRIME_BELOW, PRIME_FROM = 640, 720

_BASE62 = np.array([ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"], dtype=np.uint32)
_HEX = _BASE62[:16].copy()
_HEX[10:] = [ord(c) for c in "abcdef"]


def random_strings(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> np.ndarray:
    """n random strings of `length` characters, built as one uint32 block viewed as unicode."""
    codes = alphabet[rng.integers(0, alphabet.size, size=(n, length))].astype("<u4")
    return np.ascontiguousarray(codes).view(f"<U{length}").ravel()


def _choice(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    values = np.array([v for v, _ in table], dtype=object)
    weights = np.array([w for _, w in table])
    return values[rng.choice(values.size, size=n, p=weights / weights.sum())]


def _created_at(rng: np.random.Generator, n: int, now: datetime) -> np.ndarray:
    """Creation times over the last HISTORY_DAYS days: growing volume, spring peak, quieter weekends and nights."""
    today = np.datetime64(now.replace(tzinfo=None), "D")
    back = np.arange(1, HISTORY_DAYS + 1)
    days = today - back
    doy = (days - days.astype("datetime64[Y]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 5, 6 = Sat, Sun
    weight = (1.0 + 0.6 * (1.0 - back / HISTORY_DAYS)) * (1.0 + 0.15 * np.cos(2 * np.pi * (doy - 135) / 365.25))
    weight *= np.where(weekday >= 5, 0.65, 1.0)
    day = days[rng.choice(days.size, size=n, p=weight / weight.sum())]
    hour_w = np.array([1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 11, 11, 11, 10, 10, 10, 11, 12, 11, 8, 5, 2], float)
    hour = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, size=n)
    return day.astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _utc(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(values.astype("datetime64[ns]")).tz_localize("UTC"))


def _negbin(rng: np.random.Generator, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """Heavy-tailed counts: negative binomial with the given mean and shape (smaller = heavier tail)."""
    return rng.negative_binomial(dispersion, dispersion / (dispersion + mean))


def clean_leads(rng: np.random.Generator, protected_rng: np.random.Generator, n: int, now: datetime) -> pd.DataFrame:
    """n clean leads: canonical columns (outcomes empty), `segment`, latent `lead_age_days`, race/sex/age."""
    ids = pd.Series([f"L{i:07d}" for i in range(1, n + 1)])
    created = _created_at(rng, n, now)
    state_idx = rng.choice(geo.CODES.size, size=n, p=geo.POPULATION_WEIGHTS)

    # finances share one latent "financial health" so credit, income and debt move together
    health = rng.standard_normal(n)
    credit = np.clip(np.rint(705 + 55 * health + rng.normal(0, 15, n)), 540, 850).astype(np.int64)
    income = np.clip(np.exp(np.log(88_000) + 0.25 * health + 0.5 * rng.standard_normal(n)), 18_000, 2_500_000)
    income = np.round(income, -2)
    dti = np.clip(rng.beta(2.4, 8.5, n) - 0.03 * health, 0.01, 0.70)
    monthly_debt = np.round(income / 12 * dti)
    employment = _choice(rng, EMPLOYMENT, n)
    tenure = np.clip(np.rint(np.exp(np.log(48) + 0.9 * rng.standard_normal(n))), 0, 480).astype(np.int64)
    tenure[np.isin(employment, ["unemployed", "retired"])] = 0

    purpose = _choice(rng, LOAN_PURPOSES, n)
    purchase = purpose == "purchase"
    first_time = purchase & (rng.random(n) < 0.45)
    veteran = rng.random(n) < 0.09
    fha_share = np.select([credit < 620, credit < 680, credit < 720], [0.85, 0.45, 0.15], 0.05)
    price = geo.PRICE_LEVEL[state_idx]
    loan_type = np.full(n, "conventional", dtype=object)
    loan_type[rng.random(n) < fha_share] = "fha"
    loan_type[purchase & (price < 1.0) & (loan_type == "conventional") & (rng.random(n) < 0.06)] = "usda"
    loan_type[veteran & (rng.random(n) < 0.75)] = "va"

    value = 320_000 * price * np.exp(0.45 * np.log(income / 88_000) + 0.38 * rng.standard_normal(n))
    value = np.round(np.clip(np.where(first_time, 0.8 * value, value), 45_000, 9_000_000), -3)
    pct = np.select(
        [loan_type == "va", loan_type == "fha", loan_type == "usda", first_time],
        [np.where(rng.random(n) < 0.75, 0.0, rng.uniform(0.02, 0.10, n)),
         np.where(rng.random(n) < 0.7, 0.035, rng.uniform(0.035, 0.12, n)),
         np.zeros(n), rng.uniform(0.03, 0.12, n)],
        rng.beta(2, 6, n) * 0.5 + 0.05,
    )
    down = np.where(purchase, np.round(value * pct, -2), np.nan)
    refi_ltv = np.where(purpose == "cash_out", rng.uniform(0.50, 0.80, n), rng.uniform(0.30, 0.85, n))
    loan = np.where(purchase, value - np.nan_to_num(down), np.round(value * refi_ltv, -3))
    loan_type[(loan_type == "usda") & (loan > 450_000)] = "conventional"
    too_big = ((loan_type == "conventional") & (loan > CONFORMING_LIMIT)) | ((loan_type == "fha") & (loan > FHA_CEILING))
    loan_type[too_big] = "jumbo"
    tier = np.select([credit < SUBPRIME_BELOW, credit < PRIME_FROM], ["subprime", "near_prime"], "prime").astype(object)
    segment = loan_type + "|" + tier + np.where(first_time, "|first_time_buyer", "")

    timeline = np.where(
        purchase,
        np.array(TIMELINES, dtype=object)[rng.choice(4, size=n, p=TIMELINE_WEIGHTS_PURCHASE)],
        np.array(TIMELINES, dtype=object)[rng.choice(4, size=n, p=TIMELINE_WEIGHTS_REFI)],
    )
    engagement = rng.standard_normal(n) + 0.3 * (timeline == "immediately") - 0.2 * (timeline == "6+ months")
    sessions = 1 + _negbin(rng, np.exp(0.5 + 0.55 * engagement), 1.1)
    bots = rng.random(n) < 0.003  # a crawler or a very anxious buyer: the extreme tail
    sessions = np.where(bots, sessions * rng.integers(20, 80, n), sessions)
    page_views = sessions + _negbin(rng, sessions * 2.2, 1.0)
    calculator = _negbin(rng, 0.5 * np.exp(0.8 * engagement), 0.6)
    opens = _negbin(rng, 2.5 * np.exp(0.45 * engagement), 0.8)
    clicks = rng.binomial(opens, np.clip(0.18 + 0.05 * engagement, 0.02, 0.6))

    source_names = list(SOURCES)
    share = np.array([SOURCES[s][0] for s in source_names])
    source = np.array(source_names, dtype=object)[rng.choice(len(source_names), size=n, p=share / share.sum())]
    cost_lo = np.array([SOURCES[s][1][0] for s in source_names])
    cost_hi = np.array([SOURCES[s][1][1] for s in source_names])
    src_idx = pd.Categorical(source, categories=source_names).codes
    lead_cost = np.round(rng.uniform(cost_lo[src_idx], cost_hi[src_idx]), 2)

    # consent: fresh leads consented seconds before arriving; aged/recycled leads weeks or months before
    aged = source == "aged_vendor"
    recycled = ~aged & (rng.random(n) < 0.01)
    fresh_days = np.exp(np.log(90) + rng.standard_normal(n)) / 86_400  # median 90 seconds
    age_days = np.where(aged, rng.uniform(30, 180, n), np.where(recycled, rng.uniform(95, 400, n), fresh_days))
    u = rng.random(n)
    consent = np.where(u < 0.92, True, np.where(u < 0.96, False, None)).astype(object)
    method = _choice(rng, CONSENT_METHODS, n)
    method[source == "referral"] = np.where(rng.random(int((source == "referral").sum())) < 0.6, "phone", "paper")
    unknown, given, refused = consent == None, consent == True, consent == False  # noqa: E711,E712
    no_proof = (unknown & (rng.random(n) < 0.5)) | (given & (rng.random(n) < 0.015))
    has_ts = ~refused & ~no_proof
    consent_ts = created - np.rint(age_days * 86_400).astype("timedelta64[s]")
    method = np.where(refused | (unknown & (rng.random(n) < 0.5)), None, method)
    web = (method == "web_form") & has_ts
    ip_net = np.array(["192.0.2.", "198.51.100.", "203.0.113."], dtype=object)  # RFC 5737: documentation only
    consent_ip = np.where(web, ip_net[rng.integers(0, 3, n)] + rng.integers(1, 255, n).astype(str).astype(object), None)
    cert_share = np.array([SOURCES[s][2] for s in source_names])[src_idx]
    has_cert = web & (rng.random(n) < cert_share)
    cert_ids = random_strings(rng, n, 40, _HEX).astype(object)
    certificate = np.where(has_cert, "https://cert.trustedform.com/" + cert_ids, None)
    texts = np.array(CONSENT_TEXTS, dtype=object)
    has_method = pd.notna(method) & (method != None)  # noqa: E711
    consent_text = np.where(has_method & (rng.random(n) < 0.9), texts[rng.integers(0, texts.size, n)], None)

    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    f_low = pd.Series(first).str.lower()
    l_low = pd.Series(last).str.lower().str.replace("'", "", regex=False)
    pattern = rng.integers(0, 4, n)
    local = np.select([pattern == 0, pattern == 1, pattern == 2],
                      [f_low + "." + l_low, f_low + l_low, f_low.str[0] + l_low], f_low + "_" + l_low)
    suffix = np.where(rng.random(n) < 0.5, rng.integers(1, 1000, n).astype(str).astype(object), "")
    email = (local + suffix + "@example.com").astype(object)
    dup = pd.Series(email).duplicated().to_numpy()
    number = ids[dup].str[1:].str.lstrip("0").to_numpy(dtype=object)
    email[dup] = local[dup] + suffix[dup] + "." + number + "@example.com"  # unique, like a CRM dedupes
    exchange = rng.integers(2, 10, n) * 100 + rng.integers(0, 100, n)
    exchange = np.where(exchange % 100 == 11, exchange + 1, exchange)  # N11 codes are service numbers
    phone = ("+1" + geo.area_codes(rng, state_idx).astype(str).astype(object) + exchange.astype(str).astype(object)
             + pd.Series(rng.integers(0, 10_000, n)).astype(str).str.zfill(4).to_numpy(dtype=object))
    zip_code = pd.Series(geo.zip_prefixes(rng, state_idx) * 100 + rng.integers(1, 100, n)).astype(str).str.zfill(5)
    activity = np.exp(np.log(30 * 3600) + 1.2 * rng.standard_normal(n)).astype(np.int64)
    now64 = np.datetime64(now.replace(tzinfo=None), "s")
    updated = np.minimum(created + activity.astype("timedelta64[s]"), now64)

    frame = pd.DataFrame({
        "lead_id": ids, "crm_id": "00Q" + pd.Series(random_strings(rng, n, 15, _BASE62)),
        "source": source, "created_at": _utc(created), "updated_at": _utc(updated),
        "first_name": first, "last_name": last, "email": email, "phone": phone,
        "state": geo.CODES[state_idx], "zip_code": zip_code,
        "loan_amount": loan.astype(float), "loan_purpose": purpose, "loan_type": loan_type,
        "property_type": _choice(rng, PROPERTY_TYPES, n), "property_value": value, "down_payment": down,
        "timeline": timeline, "first_time_buyer": first_time,
        "annual_income": income, "monthly_debt": monthly_debt, "credit_score": credit,
        "employment_status": employment, "employment_tenure_months": tenure,
        "website_sessions": sessions, "page_views": page_views, "calculator_uses": calculator,
        "email_opens": opens, "email_clicks": clicks,
        "tcpa_consent": consent, "consent_timestamp": _utc(np.where(has_ts, consent_ts, np.datetime64("NaT"))),
        "consent_method": method, "consent_ip": consent_ip, "consent_text": consent_text,
        "consent_certificate": certificate,
        "do_not_call": rng.random(n) < 0.03, "email_opt_out": rng.random(n) < 0.05,
        "converted": False, "converted_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
        "conversion_value": np.nan, "lead_cost": lead_cost,
    })
    missing = set(CANONICAL_FIELDS) - set(frame.columns)
    assert not missing, missing  # the canonical schema is the contract of this frame
    frame["segment"] = segment
    frame["lead_age_days"] = age_days
    # protected attributes come from their own random stream, independent of every other column
    frame["race"] = _choice(protected_rng, RACES, n)
    frame["sex"] = _choice(protected_rng, SEXES, n)
    frame["age"] = np.clip(np.rint(protected_rng.normal(44, 13, n)), 19, 90).astype(np.int64)
    return frame
