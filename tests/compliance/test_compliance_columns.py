"""Column reads without pandas per-column objects give exactly what the pandas way gave.

check_leads reads columns through compliance.columns and quality through filled_values, for speed on
one-lead frames; these compare them with the pandas calls they replace (to_dict("records") and the
Series string pipeline) on every column type a lead frame can hold, blanks and placeholders included.
"""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from compliance.columns import column_lists, raw_items
from compliance.quality import FIELD_GROUPS, assess, filled
from compliance.values import BLANK_WORDS
from config.sections.compliance import DataQualityConfig

T = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


class Formats:
    """An object whose format() and str() differ, as astype("string") tells them apart."""

    def __format__(self, spec: str) -> str:
        return " N/A "

    def __str__(self) -> str:
        return "something"


def zoo(n: int, seed: int) -> pd.DataFrame:
    """n rows of every column type a lead frame may carry, with nulls and placeholders mixed in."""
    rng = np.random.default_rng(seed)
    words = ["Ann", " n/a ", "", "NULL", "  ", "-", "unknown", "None", "nan", "x", "İ", "\x1c", "\xa0NA\xa0"]
    odd: list[Any] = [None, np.nan, pd.NA, pd.NaT, b"n/a", b"ok", 1.5, np.float64(2.0), np.int64(3), True,
                      np.bool_(False), Decimal("1.0"), Decimal("NaN"), Formats(), T, np.datetime64("NaT"),
                      "  Null ", "ok", 0, float("inf"), ["a"]]
    pick = lambda pool: [pool[i] for i in rng.integers(0, len(pool), n)]  # noqa: E731
    floats = rng.normal(size=n)
    floats[rng.random(n) < 0.3] = np.nan
    ints = rng.integers(-5, 5, n)
    nullable = pd.array(ints, dtype="Int64")
    nullable[rng.random(n) < 0.3] = pd.NA
    times = pd.Series([T - timedelta(days=int(d)) for d in rng.integers(0, 90, n)])
    times[rng.random(n) < 0.3] = pd.NaT
    return pd.DataFrame({
        "str": pd.Series(pick(words + [None]), dtype="str"),
        "string": pd.Series(pick(words + [None]), dtype="string"),
        "object": pd.Series(pick(words + odd), dtype=object),
        "float": floats,
        "int": ints,
        "bool": rng.random(n) < 0.5,
        "Int64": nullable,
        "boolean": pd.array(pick([True, False, None]), dtype="boolean"),
        "Float64": pd.array(pick([0.5, None, 2.0]), dtype="Float64"),
        "when_utc": times,
        "when_naive": times.dt.tz_localize(None),
        "timedelta": pd.to_timedelta(pick([1, 2, None]), unit="D"),
        "category": pd.Categorical(pick(["a", "n/a", None])),
    })


def same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def pandas_filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The Series pipeline quality.filled used before (the reference)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    series = frame[column]
    present = series.notna().to_numpy(dtype=bool)
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        as_text = series.astype("string").str.strip().str.lower()
        present = present & ~as_text.isin(BLANK_WORDS).fillna(True).to_numpy(dtype=bool)
    return present


@pytest.mark.parametrize("n, seed", [(1, 0), (1, 1), (3, 2), (10, 3), (500, 4)])
def test_column_values_are_those_of_to_dict_records(n: int, seed: int) -> None:
    frame = zoo(n, seed)
    records = frame.to_dict("records")
    columns = column_lists(frame, [*frame.columns, "not_there"])
    assert set(columns) == set(frame.columns)
    for name, values in columns.items():
        expected = [r[name] for r in records]
        assert len(values) == n
        bad = [(e, v) for e, v in zip(expected, values) if not same_value(e, v)]
        assert not bad, f"{name}: {bad[:3]}"


@pytest.mark.parametrize("n, seed", [(1, 0), (1, 5), (2, 6), (10, 7), (2000, 8)])
def test_filled_agrees_with_the_pandas_string_pipeline_on_every_column_type(n: int, seed: int) -> None:
    frame = zoo(n, seed)
    for name in [*frame.columns, "not_there"]:
        assert filled(frame, name).tolist() == pandas_filled(frame, name).tolist(), name


def test_the_zoo_does_hold_placeholders_and_nulls() -> None:
    frame = zoo(2000, 8)
    for name in ("str", "string", "object"):
        kept = pandas_filled(frame, name)
        assert kept.any() and (frame[name].notna().to_numpy() & ~kept).any(), name  # placeholders, not nulls


def test_string_columns_are_read_from_their_backing_array_unchanged() -> None:
    values = pd.array(["a", None, " b "], dtype="str")
    assert [v if isinstance(v, str) else "NA" for v in raw_items(values)] == ["a", "NA", " b "]
    assert [type(v) for v in raw_items(values)] == [type(v) for v in values]


def test_assess_matches_the_group_by_group_numpy_means_on_messy_leads() -> None:
    synthetic = pytest.importorskip("daemon.synthetic")
    leads = synthetic.generate(n_leads=3000, n_agents=4, seed=23, now=T).leads
    config = DataQualityConfig()
    report = assess(leads, config)
    for group, fields in FIELD_GROUPS.items():
        fills = {f: pandas_filled(leads, f) for f in fields}
        share = np.mean(np.column_stack(list(fills.values())), axis=1)
        assert report.per_lead[group].tolist() == share.tolist()  # exact, not approximately
        quality = report.groups[group]
        assert quality.mean_completeness == float(share.mean())
        assert quality.share_passing == float((share >= quality.threshold - 1e-9).mean())
        assert quality.field_fill_rates == {f: float(v.mean()) for f, v in fills.items()}
    assert 0 < report.groups["contact"].share_passing < 1  # messy: some leads pass, some do not
    assert report.per_lead.index.equals(leads.index)
