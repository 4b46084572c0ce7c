"""The ensemble: XGBoost, random forest and logistic regression, a learned blend, and its calibration.

Members are blended in log-odds space, `raw = sum_i w_i * logit(p_i)`, with weights that are
non-negative and sum to 1. Learned weights minimise the log loss of `sigmoid(a + b * raw)` on the
time-ordered validation split, so a member is judged by the information it adds, not by how its own
probabilities are scaled (`class_weight='balanced'` inflates them). The calibrator then maps `raw`
to a probability on the most recent validation leads.
"""
from __future__ import annotations

import inspect
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from config.sections.scoring import MEMBERS, AlgorithmsConfig
from scoring.booster import FastBooster
from scoring.errors import ScoringInputError

# The seed's Appendix A.2 hyperparameters and fixed blend, kept for comparison (presets/seed.yaml).
SEED_PARAMS: dict[str, dict[str, Any]] = {
    "xgboost": {"n_estimators": 500, "max_depth": 6, "learning_rate": 0.1, "subsample": 0.8,
                "colsample_bytree": 0.8, "eval_metric": "auc"},
    "random_forest": {"n_estimators": 200, "max_depth": 10, "min_samples_split": 20,
                      "min_samples_leaf": 10, "class_weight": "balanced"},
    "logistic_regression": {"C": 1.0, "class_weight": "balanced", "max_iter": 1000},
}
SEED_WEIGHTS: dict[str, float] = {"xgboost": 0.60, "random_forest": 0.25, "logistic_regression": 0.15}

# leadpilot's defaults: shallower boosted trees with early stopping, a forest that cannot memorise
# single leads. Every key can be replaced under scoring.algorithms. Training uses every core (n_jobs -1);
# a trained model scores single-threaded (see train._for_scoring).
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "xgboost": {"n_estimators": 600, "max_depth": 4, "learning_rate": 0.05, "subsample": 0.8,
                "colsample_bytree": 0.8, "min_child_weight": 5, "reg_lambda": 1.0, "tree_method": "hist",
                "eval_metric": "logloss", "early_stopping_rounds": 50, "n_jobs": -1},
    "random_forest": {"n_estimators": 150, "max_depth": 10, "min_samples_leaf": 20, "max_features": "sqrt",
                      "n_jobs": -1},
    "logistic_regression": {"C": 1.0, "class_weight": "balanced", "max_iter": 2000},
}

_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds, clipped so that 0 and 1 stay finite."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _allowed(name: str) -> set[str]:
    if name == "xgboost":
        allowed = set(XGBClassifier().get_params()) | set(inspect.signature(XGBClassifier.__init__).parameters)
        return allowed - {"kwargs", "self"}
    if name == "random_forest":
        return set(RandomForestClassifier().get_params())
    return set(LogisticRegression().get_params())


def member_params(algorithms: AlgorithmsConfig, random_state: int) -> dict[str, dict[str, Any]]:
    """leadpilot's defaults overlaid with the configured keys; an unknown key is a clear error."""
    out: dict[str, dict[str, Any]] = {}
    for name in MEMBERS:
        given = getattr(algorithms, name)
        unknown = sorted(set(given) - _allowed(name))
        if unknown:
            raise ScoringInputError(
                f"scoring.algorithms.{name}: unknown parameter(s) {', '.join(unknown)}; "
                f"see the {name} documentation for valid ones")
        params = {**DEFAULT_PARAMS[name], **given}
        params.setdefault("random_state", random_state)
        out[name] = params
    return out


def build_member(name: str, params: dict[str, Any]) -> Any:
    """An unfitted member; logistic regression gets median imputation (with indicators) and scaling."""
    if name == "xgboost":
        return XGBClassifier(**params)
    if name == "random_forest":
        return RandomForestClassifier(**params)
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("model", LogisticRegression(**params)),
    ])


def fit_members(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fit the three members; XGBoost stops early on the (later) validation leads."""
    fitted: dict[str, Any] = {}
    for name in MEMBERS:
        model = build_member(name, params[name])
        try:
            if name == "xgboost" and model.get_params().get("early_stopping_rounds"):
                model.fit(X, y, eval_set=[(X_val, y_val)], verbose=False)
            else:
                model.fit(X, y)
        except (ValueError, TypeError) as exc:
            raise ScoringInputError(f"scoring.algorithms.{name}: {exc}") from None
        fitted[name] = model
    return fitted


def predict_members(members: dict[str, Any], X: np.ndarray, fast: FastBooster | None = None,
                    known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Each member's probability of conversion (uncalibrated); `fast` serves its XGBoost member's C calls,
    `known` holds members' probabilities already computed for X."""
    out = {}
    for name, model in members.items():
        if known is not None and name in known:
            out[name] = known[name]
        elif isinstance(model, RandomForestClassifier):
            out[name] = forest_proba(model, X)
        elif _is_lr_pipeline(model):
            out[name] = lr_proba(model, X)
        elif isinstance(model, XGBClassifier):
            out[name] = fast.proba(X) if fast is not None and fast.model is model else xgb_proba(model, X)
        else:
            out[name] = model.predict_proba(X)[:, 1]
    return out


def xgb_proba(model: XGBClassifier, X: np.ndarray) -> np.ndarray:
    """XGBoost's P(class 1) straight from its booster, over the trees predict_proba uses (early stopping's
    best iteration): the same numbers (tested) without the sklearn wrapper's checks."""
    best = getattr(model, "best_iteration", None)
    rng = (0, int(best) + 1) if best is not None else (0, 0)
    return np.asarray(model.get_booster().inplace_predict(
        np.asarray(X, dtype=np.float32), iteration_range=rng, missing=np.nan, validate_features=False),
        dtype=np.float64)


def _is_lr_pipeline(model: Any) -> bool:
    return (isinstance(model, Pipeline) and [n for n, _ in model.steps] == ["impute", "scale", "model"]
            and isinstance(model.named_steps["impute"], SimpleImputer)
            and isinstance(model.named_steps["scale"], StandardScaler)
            and isinstance(model.named_steps["model"], LogisticRegression))


def lr_proba(pipe: Pipeline, X: np.ndarray) -> np.ndarray:
    """The logistic-regression member's P(class 1) computed from its fitted numbers (the same as
    predict_proba to ~1e-7, tested): sklearn validates each of the three steps on every call, which is
    most of the cost for one lead."""
    imputer: SimpleImputer = pipe.named_steps["impute"]
    scaler: StandardScaler = pipe.named_steps["scale"]
    lr: LogisticRegression = pipe.named_steps["model"]
    X64 = np.asarray(X, dtype=np.float64)
    missing = np.isnan(X64)
    filled = np.where(missing, imputer.statistics_[None, :], X64)
    parts = [filled]
    if imputer.indicator_ is not None:
        parts.append(missing[:, imputer.indicator_.features_].astype(np.float64))
    Z = np.hstack(parts) if len(parts) > 1 else filled
    if scaler.with_mean:
        Z = Z - scaler.mean_
    if scaler.with_std:
        Z = Z / scaler.scale_
    return sigmoid(Z @ lr.coef_[0] + lr.intercept_[0])


# Up to this many leads, all trees are walked at once in numpy (one lead: ~0.1 ms for 150 trees instead
# of ~2 ms of per-tree calls); above it, each tree's own compiled predict is faster.
PACKED_MAX_ROWS = 64


@dataclass(frozen=True)
class PackedForest:
    """Every tree's nodes in flat arrays, so that a small batch walks all trees with a few numpy steps.

    Leaves point to themselves, so walking `depth` steps leaves every (lead, tree) on its leaf.
    A missing value is looked up as NaN where its node sends it right and as -inf where left (sklearn's
    missing_go_to_left), so one comparison `x <= threshold` picks the child either way (a threshold
    may be +inf: sklearn's split of the missing from the known values). A node is known by twice its
    index, and its arrays hold each entry twice, so that `slot + went_left` finds the child directly.
    """

    roots: np.ndarray  # (n_trees,) slot (2 x index) of each tree's root
    pick: np.ndarray  # per slot: column of a row's [values | values with NaN as -inf] that the node reads
    threshold: np.ndarray  # per slot
    child: np.ndarray  # slot 2i + 0: right child's slot, 2i + 1: left child's slot
    p1: np.ndarray  # per slot: P(class 1) at the node (meaningful at leaves)
    depth: int
    n_features: int

    @classmethod
    def of(cls, forest: RandomForestClassifier) -> "PackedForest":
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "nan_left", "p1")}
        roots, offset, depth = [], 0, 0
        for est in forest.estimators_:
            t = est.tree_
            n = t.node_count
            own = np.arange(offset, offset + n)
            leaf = t.children_left == -1
            parts["left"].append(np.where(leaf, own, t.children_left + offset))
            parts["right"].append(np.where(leaf, own, t.children_right + offset))
            parts["feature"].append(np.where(leaf, 0, t.feature))
            parts["threshold"].append(t.threshold.astype(np.float64))
            missing = getattr(t, "missing_go_to_left", None)
            parts["nan_left"].append(np.asarray(missing, dtype=bool) if missing is not None else np.zeros(n, bool))
            value = t.value.reshape(n, -1)
            parts["p1"].append(value[:, 1] / value.sum(axis=1))
            roots.append(offset)
            offset += n
            depth = max(depth, t.max_depth)
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        n_features = int(forest.n_features_in_)
        pick = cat["feature"].astype(np.int64) + np.where(cat["nan_left"], n_features, 0)
        child = 2 * np.column_stack([cat["right"], cat["left"]]).astype(np.int64).ravel()
        return cls(2 * np.asarray(roots, dtype=np.int64), np.repeat(pick, 2), np.repeat(cat["threshold"], 2), child,
                   np.repeat(cat["p1"], 2), depth, n_features)

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Mean P(class 1) over the trees for each row of X (float32 values compared as sklearn does)."""
        X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
        # sklearn goes left when x <= threshold; NaN <= t is false (right), -inf <= t true (left)
        both = np.hstack([X64, np.where(np.isnan(X64), -np.inf, X64)]).ravel()
        slot = np.broadcast_to(self.roots, (len(X64), len(self.roots))).copy()
        base = (np.arange(len(X64)) * (2 * self.n_features))[:, None]
        for _ in range(self.depth):
            column = self.pick[slot]
            if len(X64) > 1:
                column += base
            slot = self.child[slot + (both[column] <= self.threshold[slot])]
        return self.p1[slot].mean(axis=1)


_PACKED: "weakref.WeakKeyDictionary[RandomForestClassifier, PackedForest]" = weakref.WeakKeyDictionary()


def forest_proba(forest: RandomForestClassifier, X: np.ndarray) -> np.ndarray:
    """The forest's P(class 1), the same numbers as predict_proba (tested), without its per-tree overhead.

    sklearn validates and dispatches every tree through joblib, ~40 us a tree: 6 ms for one lead with
    150 trees. Each fitted tree's own predict is what predict_proba averages; small batches walk the
    packed trees instead.
    """
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    total = np.zeros(len(X32))
    if len(X32) == 0:
        return total
    if len(X32) <= PACKED_MAX_ROWS:
        packed = _PACKED.get(forest)
        if packed is None:
            packed = _PACKED[forest] = PackedForest.of(forest)
        return packed.proba(X32)
    for tree in forest.estimators_:
        value = tree.tree_.predict(X32)
        value = value.reshape(len(X32), -1)  # (n, classes); older trees add an outputs axis
        total += value[:, 1] / value.sum(axis=1)
    return total / len(forest.estimators_)


def blend_raw(probs: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The blend in log-odds space: sum of weight x logit(member probability)."""
    first = next(iter(probs.values()))
    raw = np.zeros(len(first))
    for name, w in weights.items():
        if w > 0:
            raw += w * logit(probs[name])
    return raw


def learn_weights(probs: dict[str, np.ndarray], y: np.ndarray) -> dict[str, float]:
    """Non-negative weights summing to 1 that minimise the log loss of sigmoid(a + b * blend)."""
    names = list(probs)
    Z = np.column_stack([logit(probs[n]) for n in names])
    y = np.asarray(y, dtype=np.float64)
    k = len(names)

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        w, a, b = x[:k], x[k], x[k + 1]
        s = Z @ w
        p = sigmoid(a + b * s)
        pc = np.clip(p, 1e-12, 1 - 1e-12)
        value = -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))
        r = (p - y) / len(y)
        grad = np.concatenate([b * (Z.T @ r), [r.sum(), (s * r).sum()]])
        return float(value), grad

    best: tuple[float, np.ndarray] | None = None
    starts = [np.full(k, 1 / k)] + [np.eye(k)[i] * 0.8 + 0.2 / k for i in range(k)]
    for w0 in starts:
        res = minimize(loss, np.concatenate([w0, [0.0, 1.0]]), jac=True, method="SLSQP",
                       bounds=[(0.0, 1.0)] * k + [(None, None), (0.0, None)],
                       constraints=[{"type": "eq", "fun": lambda x: x[:k].sum() - 1.0,
                                     "jac": lambda x: np.concatenate([np.ones(k), [0.0, 0.0]])}],
                       options={"maxiter": 200, "ftol": 1e-10})
        if best is None or res.fun < best[0]:
            best = (float(res.fun), res.x)
    assert best is not None
    w = np.clip(best[1][:k], 0.0, None)
    w = w / w.sum() if w.sum() > 0 else np.full(k, 1 / k)
    w[w < 1e-4] = 0.0
    w = w / w.sum()
    return {n: round(float(v), 6) for n, v in zip(names, w)}


@dataclass
class Calibrator:
    """Maps the blend's log-odds to a probability: isotonic regression or Platt's sigmoid."""

    method: str
    model: IsotonicRegression | LogisticRegression
    n_rows: int
    floor: float = 1e-3

    def predict(self, raw: np.ndarray) -> np.ndarray:
        # the fitted curves evaluated directly (tested equal to predict/predict_proba): sklearn's own
        # validation costs more than the arithmetic for the API's one lead
        x = np.asarray(raw, dtype=np.float64).ravel()
        if self.method == "isotonic":
            iso = self.model
            p = np.interp(np.clip(x, iso.X_min_, iso.X_max_), iso.X_thresholds_, iso.y_thresholds_)
        else:
            p = sigmoid(x * float(self.model.coef_[0, 0]) + float(self.model.intercept_[0]))
        # a calibrated 0 or 1 is never true for a lead; keep probabilities off the walls
        return np.clip(p, self.floor, 1 - self.floor)


def fit_calibrator(raw: np.ndarray, y: np.ndarray, method: str, isotonic_min_rows: int) -> Calibrator:
    """Isotonic with enough rows (it needs many to be smooth), otherwise Platt's sigmoid."""
    if method == "auto":
        method = "isotonic" if len(raw) >= isotonic_min_rows else "sigmoid"
    if method == "isotonic":
        model: IsotonicRegression | LogisticRegression = IsotonicRegression(
            out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True).fit(raw, y)
    else:
        model = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y)
    return Calibrator(method, model, len(raw))
