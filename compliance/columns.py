"""Column access for lead frames without pandas' per-column cost (the scoring API checks one lead a call).

`frame[col]` builds a Series (about 10 us even on a one-row frame) and `to_dict("records")` builds one
per column and boxes every value; a one-lead compliance check read 40 columns that way. These helpers
read each column's backing array once and give exactly the values `to_dict("records")` would.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Iterable

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray, ExtensionDtype
# the very function DataFrame.to_dict("records") boxes values with, so the values are the same by construction
from pandas.core.dtypes.cast import maybe_box_native

ColumnArray = np.ndarray | ExtensionArray
# extension arrays whose iteration yields their backing ndarray's elements as they are
_NDARRAY_BACKED: tuple[type, ...] = (pd.arrays.StringArray, pd.arrays.NumpyExtensionArray)
# types maybe_box_native returns unchanged (bool and int are not numpy's, datetime is not datetime64):
# checking the type first spares a Python call on nearly every value of an object column
_NATIVE: Final[frozenset[type]] = frozenset({str, int, float, bool, type(None), datetime})


def column_positions(frame: pd.DataFrame) -> dict[str, int]:
    """Column name -> position; with duplicate names the last wins, as in `to_dict("records")`."""
    return {name: j for j, name in enumerate(frame.columns.tolist())}  # iterating the Index is 20x slower


def column_array(frame: pd.DataFrame, position: int) -> ColumnArray:
    """The array behind one column (what `frame.iloc[:, position]` wraps), without building a Series."""
    # private pandas API (1.3 and later) at a fifth of a Series' cost; tests/compliance/test_compliance_columns
    # fails on a pandas that changes it
    return frame._get_column_array(position)


def raw_items(values: ColumnArray) -> list[Any]:
    """A column's elements as stored, unboxed (what iterating the array yields), as a list."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "mM":  # never stored so by pandas, but tolist() would give integers
            return list(pd.array(values))
        return values.tolist()
    if type(values) in _NDARRAY_BACKED:
        # these yield their backing ndarray's elements unchanged; iterating goes through __getitem__
        # a value (~1 us each, most of a 10,000-lead batch's column reads)
        return values.to_numpy().tolist()
    return list(values)  # other extension arrays, DatetimeArray (Timestamps), ...


def native_values(values: ColumnArray) -> list[Any]:
    """A column's values as `to_dict("records")` gives them: Python scalars, Timestamps, None for pandas.NA."""
    items = raw_items(values)
    if isinstance(values.dtype, ExtensionDtype) or values.dtype == object:  # an ExtensionDtype's == is slow
        return boxed(items)
    return items


def boxed(items: Iterable[Any]) -> list[Any]:
    """An object or extension column's raw items as `to_dict("records")` gives them (maybe_box_native)."""
    return [v if type(v) in _NATIVE else maybe_box_native(v) for v in items]


def object_columns(frame: pd.DataFrame, names: Iterable[str]) -> dict[str, list[Any]] | None:
    """name -> raw items (see raw_items) for each of `names` that the frame has, read in one go when every
    column lives in a single object-dtype block (the daemon's small lead frames); None for other frames."""
    manager = frame._mgr  # private pandas API, as in column_array; the tests compare it with column_arrays
    blocks = manager.blocks
    if len(blocks) != 1:
        return None
    values = blocks[0].values
    if not isinstance(values, np.ndarray) or values.dtype != object or values.ndim != 2:
        return None
    rows = values.tolist()  # one list per column, in block order: a 1-row frame's 40 columns in ~1 us
    # column position -> row of the block, the mapping iget_values (column_array) uses
    locations = manager.blklocs.tolist()
    positions = column_positions(frame)
    return {name: rows[locations[positions[name]]] for name in names if name in positions}


def column_arrays(frame: pd.DataFrame, names: Iterable[str]) -> dict[str, ColumnArray]:
    """name -> backing array (see column_array) for each of `names` that the frame has."""
    positions = column_positions(frame)
    return {name: column_array(frame, positions[name]) for name in names if name in positions}


def column_lists(frame: pd.DataFrame, names: Iterable[str]) -> dict[str, list[Any]]:
    """name -> values (see native_values) for each of `names` that the frame has."""
    return {name: native_values(values) for name, values in column_arrays(frame, names).items()}


__all__ = ["ColumnArray", "boxed", "column_array", "column_arrays", "column_lists", "column_positions",
           "native_values", "object_columns", "raw_items"]
