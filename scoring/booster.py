"""XGBoost's own C prediction calls for small batches, with their JSON arguments built once per model.

`Booster.inplace_predict` and `Booster.predict(DMatrix(...), pred_contribs=True)` check their input in
Python and rebuild their arguments on every call: more than half of one lead's XGBoost time.
`FastBooster` makes the same C calls (XGBoosterPredictFromDense, XGDMatrixCreateFromDense,
XGBoosterPredictFromDMatrix) with the same arguments, so the numbers are XGBoost's own (tested equal);
a lead that needs both gets them from one DMatrix.
It leans on xgboost's ctypes handle (`xgboost.core._LIB`); where that is missing, or a probe through it
disagrees with the public API, `fast_booster` gives None and callers keep the public API.
"""
from __future__ import annotations

import ctypes
import json
import logging
from typing import Any

import numpy as np

from xgboost import DMatrix
from xgboost.core import XGBoostError

log = logging.getLogger(__name__)

try:
    from xgboost.core import _LIB, _check_call, c_bst_ulong, make_jcargs
except ImportError:  # another xgboost layout: the public API serves (slower per call, same numbers)
    _LIB = None


class FastBooster:
    """One fitted booster's value and TreeSHAP predictions on a float32 matrix, single-threaded."""

    def __init__(self, model: Any, proba_range: tuple[int, int], contrib_range: tuple[int, int]):
        self.model = model  # the XGBClassifier member this serves
        self.booster = model.get_booster()  # the Booster object: keeps its handle alive
        self.proba_range = proba_range
        self.contrib_range = contrib_range
        # the arguments Booster.inplace_predict / DMatrix / Booster.predict build per call
        self._value = make_jcargs(type=0, training=False, iteration_begin=int(proba_range[0]),
                                  iteration_end=int(proba_range[1]), missing=np.nan, strict_shape=False, cache_id=0)
        self._dmatrix = make_jcargs(missing=float(np.nan), nthread=1, data_split_mode=0)
        self._contrib = {approx: _predict_args(3 if approx else 2, contrib_range) for approx in (False, True)}
        self._dmatrix_value = _predict_args(0, proba_range)

    def proba(self, X: np.ndarray) -> np.ndarray:
        """inplace_predict(X, iteration_range=proba_range, missing=NaN) as float64: P(class 1) per row."""
        data = _float32(X)
        shape, dims, preds = _outputs()
        _check_call(_LIB.XGBoosterPredictFromDense(
            self.booster.handle, _interface(data), self._value, ctypes.c_void_p(),
            ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(preds)))
        return _copy(shape, dims, preds).astype(np.float64)

    def contributions(self, X: np.ndarray, approximate: bool = False) -> np.ndarray:
        """predict(DMatrix(X, missing=NaN, nthread=1), pred_contribs=True, iteration_range=contrib_range):
        TreeSHAP per column plus the bias (last column), float32."""
        return self._on_dmatrix(X, [self._contrib[approximate]])[0]

    def proba_and_contributions(self, X: np.ndarray, approximate: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(proba(X), contributions(X)) from one DMatrix: xgboost builds its context once, not twice (~0.1 ms
        of file reads for one lead). The probability is the DMatrix prediction, equal to inplace_predict's
        (the same trees in the same order; tested)."""
        value, contrib = self._on_dmatrix(X, [self._dmatrix_value, self._contrib[approximate]])
        return value.astype(np.float64), contrib

    def _on_dmatrix(self, X: np.ndarray, calls: list[bytes]) -> list[np.ndarray]:
        data = _float32(X)
        handle = ctypes.c_void_p()
        _check_call(_LIB.XGDMatrixCreateFromDense(_interface(data), self._dmatrix, ctypes.byref(handle)))
        try:
            out = []
            for args in calls:
                shape, dims, preds = _outputs()
                _check_call(_LIB.XGBoosterPredictFromDMatrix(
                    self.booster.handle, handle, args, ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(preds)))
                out.append(_copy(shape, dims, preds))
            return out
        finally:
            _check_call(_LIB.XGDMatrixFree(handle))


def fast_booster(model: Any, contrib_iterations: int) -> FastBooster | None:
    """A FastBooster for an XGBClassifier member (trees as xgb_proba and contributions use them), or None
    where this xgboost has no usable C handle."""
    if _LIB is None:
        return None
    best = getattr(model, "best_iteration", None)
    proba_range = (0, int(best) + 1) if best is not None else (0, 0)
    contrib_range = (0, contrib_iterations) if contrib_iterations > 0 else (0, 0)
    fast = FastBooster(model, proba_range, contrib_range)
    try:
        agrees = _agrees_with_public_api(fast)
    except (XGBoostError, AttributeError, TypeError, ValueError, ctypes.ArgumentError, OSError) as exc:
        log.warning("XGBoost's C prediction calls are not as expected (%s); scoring uses the public API", exc)
        return None
    if not agrees:
        log.warning("XGBoost's C prediction calls disagree with its public API; scoring uses the public API")
        return None
    return fast


def _agrees_with_public_api(fast: FastBooster) -> bool:
    """One probe (a row of zeros, a row of blanks) through both ways: a newer xgboost that changed the
    private calls falls back to the public API instead of failing or scoring differently."""
    booster = fast.booster
    probe = np.zeros((2, booster.num_features()), dtype=np.float32)
    probe[1] = np.nan
    value = booster.inplace_predict(probe, iteration_range=fast.proba_range, missing=np.nan,
                                    validate_features=False)
    contrib = booster.predict(DMatrix(probe, missing=np.nan, nthread=1), pred_contribs=True,
                              iteration_range=fast.contrib_range, validate_features=False)
    both = fast.proba_and_contributions(probe)
    return (np.allclose(fast.proba(probe), value, rtol=1e-6, atol=1e-7)
            and np.allclose(both[0], value, rtol=1e-6, atol=1e-7)
            and np.allclose(both[1], contrib, rtol=1e-5, atol=1e-6))


def _predict_args(kind: int, iteration_range: tuple[int, int]) -> bytes:
    # Booster.predict's arguments: 0 value, 2 TreeSHAP, 3 approximate contributions
    return json.dumps({"type": kind, "training": False, "iteration_begin": int(iteration_range[0]),
                       "iteration_end": int(iteration_range[1]), "strict_shape": False}).encode("utf-8")


def _float32(X: np.ndarray) -> np.ndarray:
    data = np.asarray(X, dtype=np.float32)
    return data if data.flags.aligned else np.require(data, requirements="A")


def _interface(data: np.ndarray) -> bytes:
    # what xgboost's array_interface() sends: numpy's own description of the buffer (kept alive by the caller)
    return json.dumps(data.__array_interface__).encode("utf-8")


def _outputs() -> tuple[Any, Any, Any]:
    return ctypes.POINTER(c_bst_ulong)(), c_bst_ulong(), ctypes.POINTER(ctypes.c_float)()


def _copy(shape: Any, dims: Any, preds: Any) -> np.ndarray:
    # the result lives in the booster's buffer until its next prediction: copy it out now
    dims_ = tuple(int(shape[i]) for i in range(dims.value))
    out = np.empty(dims_, dtype=np.float32)
    if out.size:
        ctypes.memmove(out.ctypes.data, preds, out.nbytes)
    return out
