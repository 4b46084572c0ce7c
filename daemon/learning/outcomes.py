"""Label maturity: when a lead's conversion outcome counts as its final label.

Definitions (window = learning.conversion_window_days, deadline = created_at + window):

- `converted`: the lead converted by `as_of`, within its window. Final (label 1), however young the lead.
- `not_converted`: no conversion and the deadline has passed. Final (label 0).
- `pending`: no conversion yet and the deadline is still ahead. NOT a failure: no label.
- `no_created_at`: no creation time, so no deadline; unlabelled unless it converted.

A conversion after the deadline (`late_conversion`) keeps label 0: the label was final at the deadline and
the model predicts conversion within the window; such leads are counted so a manager sees them.

`settled` leads are those whose deadline has passed (every outcome of that cohort is known). Rates and
model KPIs use settled leads only: counting young leads that happened to convert early, but not their
young siblings that have not converted yet, would inflate conversion rates exactly where data is newest.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from daemon.learning.errors import LearningInputError

CONVERTED = "converted"
NOT_CONVERTED = "not_converted"
PENDING = "pending"
NO_CREATED_AT = "no_created_at"


@dataclass(frozen=True)
class LabelSummary:
    """How many leads have a final label at `as_of`, and why the others do not."""

    as_of: str
    window_days: int
    leads: int
    final: int
    converted: int
    not_converted: int
    pending: int
    no_created_at: int
    settled: int
    settled_converted: int
    late_conversions: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def message(self) -> str | None:
        """A sentence for a report when no lead is settled yet, else None."""
        if self.settled:
            return None
        if not self.leads:
            return "no leads in this period yet"
        return (f"no matured outcomes yet: none of the {self.leads} lead(s) is older than the "
                f"{self.window_days}-day conversion window (learning.conversion_window_days), so model and "
                f"conversion KPIs wait; {self.converted} early conversion(s), {self.pending} pending")


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce")


def _truthy(values: pd.Series) -> np.ndarray:
    """True/False/None/NaN or 'true'/'false' text -> bool array (missing = not converted)."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes", "y", "t", "1.0"]).fillna(False).to_numpy(dtype=bool)


def label_leads(frame: pd.DataFrame, *, as_of: datetime, window_days: int) -> pd.DataFrame:
    """A copy of `frame` with `label_status`, `label` (1.0, 0.0 or NaN), `final`, `settled`, `late_conversion`.

    Needs columns `created_at` and `converted`; `converted_at` is optional (a conversion without a date
    counts as within the window).
    """
    if as_of.tzinfo is None:
        raise LearningInputError(f"as_of {as_of.isoformat()} has no time zone; give an aware UTC time")
    if window_days < 1:
        raise LearningInputError(f"the conversion window must be at least 1 day, got {window_days}")
    missing = [c for c in ("created_at", "converted") if c not in frame.columns]
    if missing:
        raise LearningInputError(f"lead data lacks column(s) {', '.join(missing)}")
    out = frame.copy()
    created = _utc(out["created_at"])
    conv_at = _utc(out["converted_at"]) if "converted_at" in out.columns else pd.Series(pd.NaT, index=out.index,
                                                                                          dtype="datetime64[ns, UTC]")
    now = pd.Timestamp(as_of)
    deadline = created + timedelta(days=window_days)
    flagged = _truthy(out["converted"])
    # a conversion dated after as_of had not happened yet at as_of (back-tests with an earlier as_of)
    known = flagged & (conv_at.isna() | (conv_at <= now)).to_numpy()
    in_window = known & (conv_at.isna() | deadline.isna() | (conv_at <= deadline)).to_numpy()
    settled = (deadline <= now).fillna(False).to_numpy(dtype=bool)
    status = np.select(
        [in_window, settled, created.isna().to_numpy()],
        [CONVERTED, NOT_CONVERTED, NO_CREATED_AT], PENDING,
    )
    out["label_status"] = status
    out["label"] = np.select([status == CONVERTED, status == NOT_CONVERTED], [1.0, 0.0], np.nan)
    out["final"] = (status == CONVERTED) | (status == NOT_CONVERTED)
    out["settled"] = settled
    out["late_conversion"] = known & ~in_window
    return out


def summarize_labels(labelled: pd.DataFrame, *, as_of: datetime, window_days: int) -> LabelSummary:
    """Counts of a `label_leads` result."""
    status = labelled["label_status"] if len(labelled) else pd.Series([], dtype=str)
    settled = labelled["settled"].to_numpy(dtype=bool) if len(labelled) else np.zeros(0, dtype=bool)
    return LabelSummary(
        as_of=as_of.isoformat(), window_days=window_days, leads=len(labelled),
        final=int(status.isin([CONVERTED, NOT_CONVERTED]).sum()),
        converted=int((status == CONVERTED).sum()), not_converted=int((status == NOT_CONVERTED).sum()),
        pending=int((status == PENDING).sum()), no_created_at=int((status == NO_CREATED_AT).sum()),
        settled=int(settled.sum()),
        settled_converted=int(((status == CONVERTED).to_numpy() & settled).sum()),
        late_conversions=int(labelled["late_conversion"].sum()) if len(labelled) else 0,
    )


def settled_leads(labelled: pd.DataFrame) -> pd.DataFrame:
    """The rows of a `label_leads` result whose window has passed, each with a final 0/1 label."""
    return labelled[labelled["settled"] & labelled["final"]]
