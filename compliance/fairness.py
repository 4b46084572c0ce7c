"""Fair lending audit of a model's predictions: group gaps, calibration by group, proxy features.

Definitions (per protected attribute; a group is one value of it; `selected` is probability >= threshold):
- demographic parity difference: max - min selection rate over judged groups;
- equalized odds difference: max(TPR gap, FPR gap) over judged groups (each gap is max - min; a group
  without positives has no TPR and one without negatives no FPR, and is left out of that gap);
- calibration gap: max over judged groups of |mean predicted probability - observed conversion rate|
  (calibration-in-the-large); the binned expected calibration error (ECE) is reported alongside.
A rate of a group is judged when at least `min_group_size` rows stand behind it (rows for the selection
rate, labelled positives for TPR, labelled negatives for FPR, labelled rows for calibration); smaller
groups and rows without the attribute ("(missing)") are reported, never judged. Rows without an outcome
count for selection rates only. A gap over its limit blocks only when it is statistically significant
at `significance`, Bonferroni-corrected over every test of the audit (a two-proportion z-test between
the two extreme groups; a z-test of a group's observed rate against its mean prediction for
calibration): on a small holdout, noise alone makes gaps,
and a gate that fails every honest model teaches people to switch it off. A gap over its limit that is
not significant is reported (FAIRNESS_GAP_UNCERTAIN) without blocking. Findings and their codes:

| code | blocks | meaning |
|---|---|---|
| FAIRNESS_DEMOGRAPHIC_PARITY | yes | selection rates differ more than max_demographic_parity_difference |
| FAIRNESS_EQUALIZED_ODDS | yes | TPR or FPR differ more than max_equalized_odds_difference |
| FAIRNESS_CALIBRATION | yes | a group's calibration gap exceeds max_calibration_gap |
| FAIRNESS_PROTECTED_FEATURE | yes | a protected attribute is a model feature (never allowed) |
| FAIRNESS_NOT_JUDGED | no | fewer than two groups are large enough to compare |
| FAIRNESS_GAP_UNCERTAIN | no | a gap is over its limit but not significant at this sample size |
| FAIRNESS_PROXY | no | a feature predicts a protected attribute with AUC >= proxy_max_auc |

Proxy detection: each feature alone predicts each protected attribute through out-of-fold target
encoding (numeric features in quantile bins, categories as they are, so a zip code is judged by how
well its neighbours' attribute mix predicts a held-out lead's); reported as ROC AUC (one-vs-rest macro
for several classes) and adjusted mutual information (0 = independent, 1 = identical).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.metrics import adjusted_mutual_info_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from config.canonical import PROTECTED_ATTRIBUTES
from config.errors import BadInputError
from config.sections.compliance import FairnessConfig

MISSING_GROUP = "(missing)"


class FairnessCode(StrEnum):
    """Fairness finding codes (see the module table)."""

    DEMOGRAPHIC_PARITY = "FAIRNESS_DEMOGRAPHIC_PARITY"
    EQUALIZED_ODDS = "FAIRNESS_EQUALIZED_ODDS"
    CALIBRATION = "FAIRNESS_CALIBRATION"
    PROTECTED_FEATURE = "FAIRNESS_PROTECTED_FEATURE"
    NOT_JUDGED = "FAIRNESS_NOT_JUDGED"
    GAP_UNCERTAIN = "FAIRNESS_GAP_UNCERTAIN"
    PROXY = "FAIRNESS_PROXY"


_BLOCKING = frozenset({FairnessCode.DEMOGRAPHIC_PARITY, FairnessCode.EQUALIZED_ODDS, FairnessCode.CALIBRATION,
                       FairnessCode.PROTECTED_FEATURE})


@dataclass(frozen=True)
class FairnessFinding:
    """One finding: a code, the attribute (and feature) concerned, and a sentence for the report."""

    code: FairnessCode
    attribute: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.code in _BLOCKING

    def __str__(self) -> str:
        return f"{self.code.value} [{self.attribute}]: {self.message}"


@dataclass(frozen=True)
class GroupMetrics:
    """Metrics of one group of one attribute; rates are None where undefined (no rows, positives or negatives)."""

    group: str
    n: int
    n_labelled: int
    judged: bool
    selection_rate: float | None
    tpr: float | None
    fpr: float | None
    mean_predicted: float | None
    observed_rate: float | None
    calibration_gap: float | None
    ece: float | None


@dataclass(frozen=True)
class AttributeAudit:
    """Gaps between the judged groups of one protected attribute."""

    attribute: str
    groups: tuple[GroupMetrics, ...]
    demographic_parity_difference: float | None
    tpr_gap: float | None
    fpr_gap: float | None
    equalized_odds_difference: float | None
    calibration_gap: float | None


@dataclass(frozen=True)
class ProxyFinding:
    """How well one feature alone predicts one protected attribute."""

    feature: str
    attribute: str
    n: int
    auc: float | None
    adjusted_mutual_information: float
    flagged: bool


@dataclass(frozen=True)
class FairnessReport:
    """The audit: `passed` when no blocking finding; used by the training gate and the KPI report."""

    passed: bool
    findings: tuple[FairnessFinding, ...]
    attributes: dict[str, AttributeAudit]
    proxies: tuple[ProxyFinding, ...]
    threshold: float
    n: int

    @property
    def reasons(self) -> tuple[str, ...]:
        """The findings as sentences, blocking ones first."""
        ordered = sorted(self.findings, key=lambda f: not f.blocking)
        return tuple(str(f) for f in ordered)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data for the KPI report and the model registry."""
        data = asdict(self)
        data["findings"] = [{"code": f.code.value, "attribute": f.attribute, "message": f.message,
                             "blocking": f.blocking} for f in self.findings]
        return data


def _rate(mask: np.ndarray, values: np.ndarray) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def _ece(p: np.ndarray, y: np.ndarray, bins: int) -> float | None:
    if not p.size:
        return None
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        sel = which == b
        total += sel.sum() * abs(p[sel].mean() - y[sel].mean())
    return float(total / p.size)


def _gap(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(max(known) - min(known)) if len(known) >= 2 else None


def _group_labels(values: Any, n: int) -> np.ndarray:
    series = pd.Series(values).reset_index(drop=True)
    if len(series) != n:
        raise BadInputError(f"protected attribute has {len(series)} values for {n} predictions")
    labels = series.astype(object).where(series.notna(), MISSING_GROUP)
    return labels.map(str).to_numpy(dtype=object)


def audit_attribute(name: str, p: np.ndarray, y: np.ndarray, groups: np.ndarray, *, threshold: float,
                    config: FairnessConfig) -> tuple[AttributeAudit, list[FairnessFinding], list["_Candidate"], int]:
    """Group metrics of one attribute (y may hold NaN for unlabelled rows), its gaps over their limits
    with p-values, and how many tests were made (for the multiple-comparison correction)."""
    selected = p >= threshold
    labelled = ~np.isnan(y)
    metrics: list[GroupMetrics] = []
    positives: dict[str, int] = {}
    negatives: dict[str, int] = {}
    for group in sorted(set(groups.tolist())):
        in_group = groups == group
        lab = in_group & labelled
        pos, neg = lab & (y == 1), lab & (y == 0)
        positives[group], negatives[group] = int(pos.sum()), int(neg.sum())
        mean_p = _rate(lab, p)
        observed = _rate(lab, y)
        metrics.append(GroupMetrics(
            group=group, n=int(in_group.sum()), n_labelled=int(lab.sum()),
            judged=group != MISSING_GROUP and int(in_group.sum()) >= config.min_group_size,
            selection_rate=_rate(in_group, selected.astype(float)),
            tpr=_rate(pos, selected.astype(float)), fpr=_rate(neg, selected.astype(float)),
            mean_predicted=mean_p, observed_rate=observed,
            calibration_gap=None if mean_p is None or observed is None else mean_p - observed,
            ece=_ece(p[lab], y[lab], config.calibration_bins),
        ))
    judged = [m for m in metrics if m.judged]
    size = config.min_group_size
    # each rate is compared over the groups with enough rows behind that rate
    sel = _Rate([(m.group, m.selection_rate, m.n) for m in judged], size)
    tpr = _Rate([(m.group, m.tpr, positives[m.group]) for m in judged], size)
    fpr = _Rate([(m.group, m.fpr, negatives[m.group]) for m in judged], size)
    dpd, tpr_gap, fpr_gap = sel.gap, tpr.gap, fpr.gap
    eod = None if tpr_gap is None and fpr_gap is None else max(v for v in (tpr_gap, fpr_gap) if v is not None)
    calibrated = [m for m in judged if m.calibration_gap is not None and m.n_labelled >= size]
    calib_gap = max((abs(m.calibration_gap or 0.0) for m in calibrated), default=None)
    audit = AttributeAudit(name, tuple(metrics), dpd, tpr_gap, fpr_gap, eod, calib_gap)

    findings: list[FairnessFinding] = []
    small = [f"{m.group} ({m.n})" for m in metrics if not m.judged]
    if len(judged) < 2:
        findings.append(FairnessFinding(FairnessCode.NOT_JUDGED, name,
                                        f"{len(judged)} group(s) of at least {config.min_group_size} rows; "
                                        f"reported only: {', '.join(small) or 'none'}"))

    candidates: list[_Candidate] = []
    tests = sum(r.gap is not None for r in (sel, tpr, fpr)) + len(calibrated)

    def judge(code: FairnessCode, over_limit: bool, p_value: float | None, text: str) -> None:
        if over_limit:
            candidates.append(_Candidate(code, name, p_value, text))

    if dpd is not None:
        low, high = sel.extremes()
        judge(FairnessCode.DEMOGRAPHIC_PARITY, dpd > config.max_demographic_parity_difference, sel.p_value(),
              f"selection rate {low[1]:.3f} ({low[0]}) vs {high[1]:.3f} ({high[0]}): difference "
              f"{dpd:.3f} > {config.max_demographic_parity_difference}")
    limit = config.max_equalized_odds_difference
    for label, rate in (("TPR", tpr), ("FPR", fpr)):
        if rate.gap is not None and rate.gap > limit:
            low, high = rate.extremes()
            judge(FairnessCode.EQUALIZED_ODDS, True, rate.p_value(),
                  f"{label} {low[1]:.3f} ({low[0]}) vs {high[1]:.3f} ({high[0]}): gap {rate.gap:.3f} > {limit}")
    for m in calibrated:
        gap = m.calibration_gap or 0.0
        judge(FairnessCode.CALIBRATION, abs(gap) > config.max_calibration_gap,
              _calibration_p(m.observed_rate or 0.0, m.mean_predicted or 0.0, m.n_labelled),
              f"group {m.group}: predicted {m.mean_predicted:.3f}, observed {m.observed_rate:.3f} "
              f"(gap {gap:+.3f}, limit {config.max_calibration_gap})")
    return audit, findings, candidates, tests


@dataclass(frozen=True)
class _Candidate:
    """A gap over its limit, with the p-value that decides whether it blocks."""

    code: FairnessCode
    attribute: str
    p_value: float | None
    text: str

    def finding(self, alpha: float) -> FairnessFinding:
        if self.p_value is not None and self.p_value < alpha:
            return FairnessFinding(self.code, self.attribute, f"{self.text} (p = {self.p_value:.3g})")
        shown = "n/a" if self.p_value is None else f"{self.p_value:.2g}"
        return FairnessFinding(FairnessCode.GAP_UNCERTAIN, self.attribute,
                               f"{self.code.value}: {self.text}, but not significant at this size "
                               f"(p = {shown}, needs < {alpha:.2g})")


class _Rate:
    """One rate across groups, each with the number of rows behind it; only groups with enough count."""

    def __init__(self, rows: list[tuple[str, float | None, int]], min_size: int):
        self.rows = [(g, r, n) for g, r, n in rows if r is not None and n >= min_size]

    @property
    def gap(self) -> float | None:
        return _gap([r for _, r, _ in self.rows])

    def extremes(self) -> tuple[tuple[str, float, int], tuple[str, float, int]]:
        ordered = sorted(self.rows, key=lambda row: row[1])  # type: ignore[arg-type, return-value]
        return ordered[0], ordered[-1]  # type: ignore[return-value]

    def p_value(self) -> float | None:
        """Two-sided two-proportion z-test between the lowest and the highest group."""
        if len(self.rows) < 2:
            return None
        (_, r1, n1), (_, r2, n2) = self.extremes()
        pooled = (r1 * n1 + r2 * n2) / (n1 + n2)
        spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        if spread == 0:
            return 0.0 if r1 != r2 else 1.0
        return float(2 * norm.sf(abs(r2 - r1) / spread))


def _calibration_p(observed: float, predicted: float, n: int) -> float | None:
    """Two-sided z-test of an observed rate against the mean predicted probability (binomial variance)."""
    if n <= 0:
        return None
    spread = np.sqrt(max(predicted * (1 - predicted), 1e-12) / n)
    return float(2 * norm.sf(abs(observed - predicted) / spread))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def audit_fairness(probabilities: Sequence[float] | np.ndarray, outcomes: Sequence[Any] | np.ndarray,
                   protected: pd.DataFrame | Mapping[str, Sequence[Any]], *, threshold: float,
                   config: FairnessConfig, feature_names: Sequence[str] = (),
                   features: pd.DataFrame | None = None, seed: int = 0) -> FairnessReport:
    """Audit predictions against outcomes for each protected attribute column.

    `outcomes` are 0/1 (None/NaN where not yet known). `feature_names` are checked against the
    protected attributes; with `features` (the model's input frame) proxies are measured too.
    """
    p = np.asarray(probabilities, dtype=float)
    n = p.shape[0]
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise BadInputError("probabilities must be numbers between 0 and 1")
    y = pd.to_numeric(pd.Series(outcomes).reset_index(drop=True).astype(object), errors="coerce").to_numpy(dtype=float)
    if y.shape[0] != n:
        raise BadInputError(f"{y.shape[0]} outcomes for {n} predictions")
    if not np.isin(y[~np.isnan(y)], (0.0, 1.0)).all():
        raise BadInputError("outcomes must be 0/1 (or empty where not yet known)")
    columns = protected if isinstance(protected, pd.DataFrame) else pd.DataFrame(dict(protected))

    findings: list[FairnessFinding] = []
    for feature in feature_names:
        if feature.lower() in PROTECTED_ATTRIBUTES:
            findings.append(FairnessFinding(FairnessCode.PROTECTED_FEATURE, feature.lower(),
                                            f"'{feature}' is a model feature; protected attributes never may be"))
    attributes: dict[str, AttributeAudit] = {}
    candidates: list[_Candidate] = []
    tests = 0
    for name in columns.columns:
        audit, found, over, made = audit_attribute(str(name), p, y, _group_labels(columns[name], n),
                                                   threshold=threshold, config=config)
        attributes[str(name)] = audit
        findings.extend(found)
        candidates += over
        tests += made
    # Bonferroni: with many groups and attributes, some gap is "significant" by chance alone
    alpha = config.significance / max(tests, 1)
    findings.extend(c.finding(alpha) for c in candidates)
    proxies: tuple[ProxyFinding, ...] = ()
    if features is not None:
        proxies = proxy_report(features, columns, config=config, seed=seed)
        findings.extend(FairnessFinding(FairnessCode.PROXY, f.attribute,
                                        f"feature '{f.feature}' predicts it with AUC {f.auc:.3f} "
                                        f"(AMI {f.adjusted_mutual_information:.3f})")
                        for f in proxies if f.flagged)
    passed = not any(f.blocking for f in findings)
    return FairnessReport(passed, tuple(findings), attributes, proxies, float(threshold), n)


def _codes(values: pd.Series, n_bins: int) -> np.ndarray:
    """A feature as integer codes: quantile bins for numbers, categories as they are; missing is a code."""
    series = values.reset_index(drop=True)
    numeric = pd.to_numeric(series, errors="coerce")
    is_numeric = series.notna().sum() > 0 and numeric.notna().sum() == series.notna().sum() \
        and series.dtype != object and not isinstance(series.dtype, pd.StringDtype)
    if is_numeric and numeric.nunique() > n_bins:
        binned = pd.qcut(numeric, q=n_bins, labels=False, duplicates="drop")
        codes = np.array(binned.to_numpy(dtype=float), copy=True)  # pandas may hand out a read-only view
    else:
        codes = pd.factorize(series.astype(object).where(series.notna(), None), use_na_sentinel=True)[0].astype(float)
        codes[codes < 0] = np.nan
    missing = np.isnan(codes)
    codes[missing] = -1
    return (codes + 1).astype(np.int64)  # 0 = missing


def _oof_probabilities(codes: np.ndarray, y: np.ndarray, n_classes: int, *, n_splits: int, seed: int) -> np.ndarray:
    n_codes = int(codes.max()) + 1
    probs = np.zeros((codes.shape[0], n_classes))
    class_counts = np.bincount(y, minlength=n_classes)
    splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed) if class_counts.min() >= n_splits \
        else KFold(n_splits, shuffle=True, random_state=seed)
    for train, test in splitter.split(codes, y):
        counts = np.zeros((n_codes, n_classes))
        np.add.at(counts, (codes[train], y[train]), 1.0)
        prior = (np.bincount(y[train], minlength=n_classes) + 1.0) / (train.size + n_classes)
        # one pseudo-row of the prior keeps a code seen once from predicting its class with certainty
        probs[test] = (counts[codes[test]] + prior) / (counts[codes[test]].sum(axis=1, keepdims=True) + 1.0)
    return probs


def proxy_report(features: pd.DataFrame, protected: pd.DataFrame, *, config: FairnessConfig, n_bins: int = 10,
                 n_splits: int = 5, seed: int = 0) -> tuple[ProxyFinding, ...]:
    """For every (feature, protected attribute): AUC and adjusted mutual information of the feature alone."""
    if len(features) != len(protected):
        raise BadInputError(f"{len(features)} feature rows for {len(protected)} protected-attribute rows")
    found: list[ProxyFinding] = []
    for attribute in protected.columns:
        target = protected[attribute].reset_index(drop=True)
        known = target.notna().to_numpy()
        labels, classes = pd.factorize(target[known].astype(str))
        if len(classes) < 2 or known.sum() < 2 * n_splits:
            continue
        for feature in features.columns:
            if str(feature).lower() in PROTECTED_ATTRIBUTES:
                continue  # reported as FAIRNESS_PROTECTED_FEATURE, not as a proxy
            codes = _codes(features[feature], n_bins)[known]
            probs = _oof_probabilities(codes, labels, len(classes), n_splits=n_splits, seed=seed)
            try:
                if len(classes) == 2:
                    auc = float(roc_auc_score(labels, probs[:, 1]))
                else:
                    auc = float(roc_auc_score(labels, probs, multi_class="ovr", average="macro",
                                              labels=np.arange(len(classes))))
            except ValueError:
                auc = None
            ami = float(adjusted_mutual_info_score(labels, codes))
            found.append(ProxyFinding(str(feature), str(attribute), int(known.sum()), auc, ami,
                                      auc is not None and auc >= config.proxy_max_auc))
    return tuple(sorted(found, key=lambda f: -(f.auc or 0.0)))
