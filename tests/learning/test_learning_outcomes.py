"""Label maturity: converted leads are final at once, unconverted ones only after the conversion window."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from daemon.learning.errors import LearningInputError
from daemon.learning.outcomes import (
    CONVERTED, NO_CREATED_AT, NOT_CONVERTED, PENDING, label_leads, settled_leads, summarize_labels,
)

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def _frame(rows: list[tuple[int | None, object, int | None]]) -> pd.DataFrame:
    """(age in days or None, converted, days after creation it converted or None) per lead."""
    created = [AS_OF - timedelta(days=a) if a is not None else None for a, _, _ in rows]
    conv_at = [c + timedelta(days=d) if c is not None and d is not None else None
               for c, (_, _, d) in zip(created, rows)]
    return pd.DataFrame({"lead_pk": range(len(rows)), "created_at": created,
                         "converted": [r[1] for r in rows], "converted_at": conv_at})


def test_given_each_kind_of_lead_when_labelled_then_only_settled_or_converted_leads_are_final() -> None:
    frame = _frame([
        (10, True, 5),      # young and converted: final positive
        (10, False, None),  # young, not converted yet: pending, not a failure
        (100, False, None),  # window passed: final negative
        (100, None, None),  # no outcome recorded, window passed: negative
        (100, True, 95),    # converted after its 90-day window: label 0, counted as late
        (None, False, None),  # no creation time
        (100, "true", 30),  # text from a CSV export
    ])
    out = label_leads(frame, as_of=AS_OF, window_days=90)
    assert out["label_status"].tolist() == [CONVERTED, PENDING, NOT_CONVERTED, NOT_CONVERTED, NOT_CONVERTED,
                                            NO_CREATED_AT, CONVERTED]
    assert out["label"].tolist()[:5] == [1.0, pytest.approx(np.nan, nan_ok=True), 0.0, 0.0, 0.0]
    assert out["settled"].tolist() == [False, False, True, True, True, False, True]
    assert out["late_conversion"].tolist() == [False, False, False, False, True, False, False]
    s = summarize_labels(out, as_of=AS_OF, window_days=90)
    assert (s.leads, s.final, s.converted, s.not_converted, s.pending, s.no_created_at, s.settled,
            s.settled_converted, s.late_conversions) == (7, 5, 2, 3, 1, 1, 4, 1, 1)
    assert settled_leads(out)["lead_pk"].tolist() == [2, 3, 4, 6]


def test_given_a_conversion_after_as_of_when_labelled_then_it_had_not_happened_yet() -> None:
    frame = _frame([(30, True, 40)])  # converts 10 days after as_of
    out = label_leads(frame, as_of=AS_OF, window_days=90)
    assert out["label_status"].iloc[0] == PENDING


def test_given_only_young_leads_then_the_summary_says_no_matured_outcomes_yet() -> None:
    out = label_leads(_frame([(5, False, None), (20, True, 3)]), as_of=AS_OF, window_days=90)
    message = summarize_labels(out, as_of=AS_OF, window_days=90).message()
    assert message is not None and "no matured outcomes yet" in message and "90-day" in message


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"as_of": datetime(2026, 11, 1), "window_days": 90}, "no time zone"),
    ({"as_of": AS_OF, "window_days": 0}, "at least 1 day"),
])
def test_given_bad_arguments_when_labelling_then_a_clear_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(LearningInputError, match=match):
        label_leads(_frame([(1, False, None)]), **kwargs)  # type: ignore[arg-type]


def test_given_a_frame_without_outcome_columns_then_the_error_names_them() -> None:
    with pytest.raises(LearningInputError, match="converted"):
        label_leads(pd.DataFrame({"created_at": [AS_OF]}), as_of=AS_OF, window_days=90)
