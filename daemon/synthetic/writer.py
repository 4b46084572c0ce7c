"""Writes a synthetic data set as files: CSV with one fixed text form per value, YAML, JSON, README."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from daemon.synthetic.messiness import MISSING_RATE
from daemon.synthetic.outcomes import MATURITY_DAYS, MAX_CLOSE_DAYS, MIN_CLOSE_DAYS, ORIGINATION_RATE
from daemon.synthetic.truth import INTERCEPT, TERMS

if TYPE_CHECKING:
    from daemon.synthetic.dataset import SyntheticData

FILES = ("leads.csv", "agents.yaml", "outcomes.csv", "ground_truth.json", "README.md")


def _cell(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else "%.10g" % value
    return str(value)


def _text_column(col: pd.Series) -> pd.Series:
    """One column as the exact strings written to CSV: ISO-8601 UTC times, true/false, compact numbers."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    if col.dtype == bool:
        return pd.Series(np.where(col.to_numpy(), "true", "false"), index=col.index)
    if col.dtype.kind == "f":
        values = col.to_numpy()
        text = np.char.mod("%.10g", np.nan_to_num(values))
        return pd.Series(np.where(np.isnan(values), "", text), index=col.index)
    return pd.Series([_cell(v) for v in col.to_numpy(dtype=object)], index=col.index, dtype=object)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as UTF-8 CSV with '\\n' line ends; the same frame always gives the same bytes."""
    text = pd.DataFrame({c: _text_column(frame[c]) for c in frame.columns})
    text.to_csv(path, index=False, lineterminator="\n")


def write_all(data: "SyntheticData", out_dir: Path) -> list[Path]:
    """Write the five files of a data set into out_dir (created if needed); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in FILES]
    write_csv(data.leads, paths[0])
    agents_doc = {"agents": [a.to_yaml_dict() for a in data.agents]}
    body = yaml.safe_dump(agents_doc, sort_keys=False, width=120, default_flow_style=None)
    paths[1].write_text("# Synthetic loan officers (leadpilot generate). Ground-truth skill lives in "
                        "ground_truth.json.\n" + body, encoding="utf-8")
    write_csv(data.outcomes, paths[2])
    paths[3].write_text(json.dumps(data.ground_truth_document(), indent=2) + "\n", encoding="utf-8")
    paths[4].write_text(readme(data), encoding="utf-8")
    return paths


def _pct(value: object, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def readme(data: "SyntheticData") -> str:
    """The README.md written next to the data: what each file holds and how it was made."""
    s = data.summary
    terms = "\n".join(f"| `{t.name}` | {t.coefficient:+.2f} | {t.definition} |" for t in TERMS)
    mess = "\n".join(f"| {kind} | {count} |" for kind, count in data.mess.counts.items())
    rates = ", ".join(f"{k} {v:.1%}" for k, v in data.mess.missing_rate.items())
    return f"""# Synthetic leadpilot data (seed {data.seed})

Made by `leadpilot generate --leads {s['n_leads']} --agents {s['n_agents']} --seed {data.seed} \
--now {data.now.strftime('%Y-%m-%dT%H:%M:%SZ')}{'' if data.messy else ' --clean'}`.
The same arguments always give byte-identical files. Every person, phone number, e-mail (`@example.com`),
IP address (RFC 5737 documentation ranges) and licence here is invented.

## Files

- `leads.csv`: {s['n_leads']} leads in the canonical schema (`config/canonical.py`), created over the
  ~18 months before `now`, messy like a CRM export (see below); `first_time_buyer` is true for about
  45% of purchase leads. Extra columns: `segment` (the kind of lead officers differ on, e.g.
  `fha|subprime|first_time_buyer`, from the clean values), `true_probability` (ground truth: the
  chance to convert with an average officer), and the protected attributes `race`, `sex`, `age`.
- `agents.yaml`: {s['n_agents']} loan officers ({s['active_agents']} active): licence states, licence ids,
  NMLS ids, expiry dates ({s['expired_licenses']} licences expired), specialties, optimal/max capacity,
  open leads, IANA time zone, weekly schedule. `states` lists every licence on file, expired ones too:
  check `licenses[].expires`. Every state with leads has at least 2 active officers with a valid licence;
  officers hold 3-15 licences, more only when there are too few active officers to cover every state twice.
- `outcomes.csv`: who worked each lead (an officer licensed in its state, chosen at random) and what
  happened as seen at `now`: `status` won / lost / open, `converted`, `converted_at`, `conversion_value`
  (origination revenue, ~{ORIGINATION_RATE:.0%} of the loan amount). Ground-truth columns: `true_probability` (of the
  officer who worked it) and `converted_eventually` (the drawn outcome, even if it closes after `now`).
- `ground_truth.json`: the formula, every coefficient, every officer's skill and specialty multipliers,
  and a summary.

## Ground truth

    logit p(lead j, officer i) = {INTERCEPT} + sum_k coefficient_k * term_k(j)
                                 + ln(skill_i) + sum over tokens s of segment_j: ln(specialty_multiplier_i[s])

`true_probability` = mean of p over the active officers. Terms use the CLEAN values drawn before the
mess was applied (`SyntheticData.truth.features` in Python); protected attributes are never used.

| term | coefficient | definition |
|---|---|---|
{terms}

Officers: `skill` is an odds multiplier (log-normal, median 1, sd of log 0.25). Each officer has 1-3
specialties among the segment tokens; on a lead whose segment holds that token the odds are multiplied
by about 1.8 (per officer, in ground_truth.json).

Summary of this data set: eventual conversion rate {s['eventual_conversion_rate']:.1%}, observed at
`now` {s['observed_conversion_rate']:.1%}, mean true_probability {s['mean_true_probability']:.3f},
AUC of true_probability vs the drawn outcome {_pct(s['best_auc'], '.3f')} (the best a model of lead features
can do), AUC of the worked officer's probability {_pct(s['officer_auc'], '.3f')}.

## Outcomes and time

A converted lead closes {MIN_CLOSE_DAYS}-{MAX_CLOSE_DAYS} days after `created_at`. Leads created in the
last {MATURITY_DAYS} days before `now` that have not converted yet are `open` ({s['open_leads']} here):
`converted` is false but not final, so train and evaluate on leads older than {MATURITY_DAYS} days,
or use `converted_eventually` when you need the truth.

## Messiness (deterministic per seed)

Per-field missing rates are drawn per seed in [{MISSING_RATE[0]:.0%}, {MISSING_RATE[1]:.0%}]: {rates}.
Rare kinds (a junk phone, an unknown state, each absurd value) appear at least once even in a tiny
data set. Not touched: ids, `source`, timestamps, the `first_time_buyer` checkbox (a CRM checkbox is never
blank), outcomes and ground-truth columns. Designed gaps that are not
mess: `down_payment` is empty for refinance and cash-out loans; consent fields are empty where consent
was refused or not recorded; a few leads carry old consent (aged or recycled leads).

| kind of mess | values |
|---|---|
{mess}

Phones come in several formats (`(415) 555-0134`, `415-555-0134`, `4155550134`, `+1 415 555 0134`,
`415.555.0134`, `+14155550134`), junk phones are `555-0000`, `n/a`, `0000000000` and the like; states
may be lower case, full names (`california`, `California`, `CALIFORNIA`), padded with spaces or
unknown (`XX`, `Calif.`); amounts may be text (`$425,000`, `425,000`, `$425,000.00`); absurd values
are loan amounts of 0, 1 or 999,999,999, incomes of 12, 95 or 48,000,000, credit scores of 0, 85 or
9999; categories may be upper case, title case or hyphenated (`FHA`, `Cash Out`, `cash-out`);
`tcpa_consent` may be a word (`Yes`, `N`, `true`, `0`).

## Protected attributes

`race`, `sex` and `age` are drawn from their own random stream, independent of every other column
(and of zip code), so a fair model shows no gap between groups beyond sampling noise. They feed only
fairness audits, never a model or the ground truth.
"""
