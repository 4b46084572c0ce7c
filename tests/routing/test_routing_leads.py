"""Reading lead values for routing: one lead at a time (the scoring API) reads exactly as a batch does."""
from __future__ import annotations

import numpy as np
import pandas as pd

from routing.leads import SMALL_BATCH, numbers


def test_given_messy_numbers_then_one_at_a_time_reads_them_as_pandas_does() -> None:
    messy = [700, 700.5, "720", " 680 ", "1,000", "abc", None, float("nan"), True, "", "1e3", pd.NA, -5, 10**20]
    bulk = numbers(pd.Series(messy * 3, dtype=object))
    assert len(messy) * 3 > SMALL_BATCH
    singles = np.concatenate([numbers(pd.Series([v], dtype=object)) for v in messy * 3])
    np.testing.assert_array_equal(singles, bulk)
    np.testing.assert_array_equal(numbers(messy), bulk[: len(messy)])
    assert bulk[0] == 700 and np.isnan(bulk[5]) and np.isnan(bulk[6])
