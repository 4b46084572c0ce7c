"""The mortgage-rate environment: a date,rate series looked up at each lead's arrival time."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.errors import ScoringInputError

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class RateSeries:
    """Rates by date (sorted); a lead takes the latest rate published on or before its arrival."""

    dates_ns: np.ndarray
    rates: np.ndarray
    source: str = ""

    def at(self, times_ns: np.ndarray) -> np.ndarray:
        """The rate in force at each time (ns since epoch, NaN for unknown); before the series starts: NaN."""
        out = np.full(times_ns.shape, np.nan)
        known = ~np.isnan(times_ns)
        idx = np.searchsorted(self.dates_ns, times_ns[known].astype(np.int64), side="right") - 1
        out[known] = np.where(idx >= 0, self.rates[np.clip(idx, 0, None)], np.nan)
        return out

    def change(self, times_ns: np.ndarray, days: int = 90) -> np.ndarray:
        """Rate now minus the rate `days` earlier (percentage points): rising or falling rates."""
        return self.at(times_ns) - self.at(times_ns - days * _NS_PER_DAY)


def read_rate_series(path: str | Path) -> RateSeries:
    """Read a CSV with a date column and a rate column (e.g. `date,rate`, one row per week)."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ScoringInputError(f"rate series file {path} not found (scoring.rate_series_file)") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ScoringInputError(f"rate series file {path} cannot be read: {exc}") from None
    cols = {c.strip().lower(): c for c in frame.columns}
    date_col = cols.get("date") or (frame.columns[0] if len(frame.columns) >= 2 else None)
    rate_col = cols.get("rate") or (frame.columns[1] if len(frame.columns) >= 2 else None)
    if date_col is None or rate_col is None:
        raise ScoringInputError(f"rate series file {path} needs two columns: date,rate")
    dates = pd.to_datetime(frame[date_col], utc=True, errors="coerce", format="mixed")
    rates = pd.to_numeric(frame[rate_col].astype(str).str.rstrip("%"), errors="coerce")
    ok = dates.notna() & rates.notna()
    if ok.sum() < 2:
        raise ScoringInputError(f"rate series file {path}: fewer than two readable date,rate rows")
    if (~ok).any():
        lines = [int(i) + 2 for i in frame.index[~ok.to_numpy()][:3]]  # +1 header, +1 counting from 1
        raise ScoringInputError(f"rate series file {path}: unreadable date or rate on line(s) {lines}")
    order = np.argsort(dates[ok].to_numpy(dtype="datetime64[ns]").astype(np.int64), kind="stable")
    return RateSeries(
        dates_ns=dates[ok].to_numpy(dtype="datetime64[ns]").astype(np.int64)[order],
        rates=rates[ok].to_numpy(dtype=np.float64)[order],
        source=str(path),
    )
