"""Champion/challenger tests: stable arm assignment and the analysis of conversion per arm.

Arm assignment: u = first 8 bytes of sha256("<test name>:<lead id>") read as an integer / 2**64, in [0, 1).
The arms, sorted by name, take consecutive slices of [0, 1) in proportion to their share of the split, so a
lead gets the same arm in every process and on every machine (Python's hash() is salted per process), and
reordering the YAML changes nothing. Renaming the test reshuffles every lead.

The "control" arm is routed round robin without AI, so comparing the other arms with it measures the
business lift of AI routing honestly.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, norm

from daemon.learning.errors import LearningInputError

CONTROL_ARM = "control"
ALPHA = 0.05
POWER = 0.8


def bucket(lead_id: str, test_name: str) -> float:
    """The lead's stable position in [0, 1) for this test."""
    digest = hashlib.sha256(f"{test_name}:{lead_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_arm(lead_id: str, test_name: str, split: Mapping[str, float]) -> str:
    """The arm of `lead_id` in test `test_name` under `split` (arm -> share, shares summing to 1)."""
    if not lead_id:
        raise LearningInputError("a lead without a lead id cannot be given an A/B arm")
    arms = sorted((arm, share) for arm, share in split.items() if share > 0)
    total = sum(share for _, share in arms)
    if not arms or abs(total - 1) > 1e-6:
        raise LearningInputError(f"learning.ab_test.split must have shares summing to 1, got {dict(split)}")
    u = bucket(str(lead_id), test_name)
    upper = 0.0
    for arm, share in arms:
        upper += share
        if u < upper:
            return arm
    return arms[-1][0]  # u just below 1 with float rounding in the running sum


@dataclass(frozen=True)
class ArmStats:
    """Settled leads and conversions of one arm, with a 95% Wilson interval of its rate."""

    arm: str
    leads: int
    conversions: int
    rate: float | None
    rate_low: float | None
    rate_high: float | None


@dataclass(frozen=True)
class Comparison:
    """One arm against the baseline arm."""

    arm: str
    baseline: str
    difference: float | None      # rate(arm) - rate(baseline), in rate points
    lift: float | None            # rate(arm) / rate(baseline) - 1
    lift_low: float | None        # 95% interval of the lift (log risk ratio)
    lift_high: float | None
    p_value: float | None         # chi-square test of the 2x2 table (scipy, Yates-corrected)
    verdict: str                  # wait | better | worse | no difference
    message: str


@dataclass(frozen=True)
class AbAnalysis:
    """Conversion per arm and each arm against the baseline; a verdict only with enough settled leads."""

    test: str
    baseline: str
    min_sample_per_arm: int
    arms: list[ArmStats]
    comparisons: list[Comparison]
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(conversions: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of a proportion (stays inside [0, 1], sane for small counts)."""
    z = float(norm.ppf(1 - alpha / 2))
    p = conversions / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def required_sample_per_arm(base_rate: float, relative_lift: float, *, alpha: float = ALPHA,
                            power: float = POWER) -> int | None:
    """Leads per arm to detect `relative_lift` over `base_rate` (two-sided, normal approximation)."""
    p1, p2 = base_rate, base_rate * (1 + relative_lift)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        return None
    z_a, z_b = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    p_bar = (p1 + p2) / 2
    n = (z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    return int(math.ceil(n))


def _arm_stats(arm: str, labels: np.ndarray) -> ArmStats:
    n, x = len(labels), int(labels.sum())
    if n == 0:
        return ArmStats(arm, 0, 0, None, None, None)
    low, high = wilson_interval(x, n)
    return ArmStats(arm, n, x, x / n, low, high)


def _compare(a: ArmStats, b: ArmStats, min_sample: int, alpha: float) -> Comparison:
    """Arm `a` against baseline `b`."""
    if a.leads == 0 or b.leads == 0:
        empty = a.arm if a.leads == 0 else b.arm
        return Comparison(a.arm, b.arm, None, None, None, None, None, "wait",
                          f"arm '{empty}' has no settled leads yet; no comparison")
    assert a.rate is not None and b.rate is not None
    difference = a.rate - b.rate
    lift = a.rate / b.rate - 1 if b.rate > 0 else None
    low = high = None
    if a.conversions > 0 and b.conversions > 0:
        se = math.sqrt(1 / a.conversions - 1 / a.leads + 1 / b.conversions - 1 / b.leads)
        z = float(norm.ppf(1 - alpha / 2))
        log_rr = math.log(a.rate / b.rate)
        low, high = math.exp(log_rr - z * se) - 1, math.exp(log_rr + z * se) - 1
    table = np.array([[a.conversions, a.leads - a.conversions], [b.conversions, b.leads - b.conversions]])
    p_value = None
    if table[:, 0].sum() > 0 and table[:, 1].sum() > 0:
        p_value = float(chi2_contingency(table).pvalue)
    short = [s for s in (a, b) if s.leads < min_sample]
    if short:
        names = ", ".join(f"'{s.arm}' has {s.leads}" for s in short)
        return Comparison(a.arm, b.arm, difference, lift, low, high, p_value, "wait",
                          f"not enough data for a verdict: {names} of the {min_sample} settled leads needed per arm "
                          "(learning.ab_test.min_sample_per_arm)")
    if p_value is None:
        return Comparison(a.arm, b.arm, difference, lift, low, high, None, "wait",
                          "no conversions (or only conversions) in both arms; no test possible yet")
    if p_value < alpha:
        verdict = "better" if difference > 0 else "worse"
        text = (f"'{a.arm}' converts {'better' if difference > 0 else 'worse'} than '{b.arm}' "
                f"({a.rate:.1%} vs {b.rate:.1%}, p = {p_value:.3g})")
    else:
        verdict = "no difference"
        text = (f"no significant difference between '{a.arm}' and '{b.arm}' "
                f"({a.rate:.1%} vs {b.rate:.1%}, p = {p_value:.3g})")
    return Comparison(a.arm, b.arm, difference, lift, low, high, p_value, verdict, text)


def analyse(frame: pd.DataFrame, *, test: str, arms: Sequence[str], min_sample_per_arm: int,
            baseline: str | None = None, alpha: float = ALPHA) -> AbAnalysis:
    """Conversion per arm over settled leads (`frame` columns `arm` and `label` 0/1) and each arm vs baseline.

    The baseline is the control arm when the test has one, else the first arm named.
    """
    if not arms:
        raise LearningInputError("an A/B analysis needs at least one arm (learning.ab_test.split)")
    base = baseline or (CONTROL_ARM if CONTROL_ARM in arms else arms[0])
    if base not in arms:
        raise LearningInputError(f"baseline arm '{base}' is not one of the test's arms {list(arms)}")
    messages: list[str] = []
    data = frame[["arm", "label"]].dropna(subset=["label"]) if len(frame) else pd.DataFrame({"arm": [], "label": []})
    stray = sorted(set(data["arm"].dropna().astype(str)) - set(arms))
    if stray:
        messages.append(f"leads recorded in arm(s) not in the split ({', '.join(stray)}) are left out")
    unrecorded = int(data["arm"].isna().sum())
    if unrecorded:
        messages.append(f"{unrecorded} settled lead(s) have no recorded arm and are left out")
    stats = {arm: _arm_stats(arm, data.loc[data["arm"] == arm, "label"].to_numpy(dtype=np.float64)) for arm in arms}
    messages += [f"arm '{s.arm}' has no settled leads yet" for s in stats.values() if s.leads == 0]
    comparisons = [_compare(stats[arm], stats[base], min_sample_per_arm, alpha) for arm in arms if arm != base]
    if len(arms) < 2:
        messages.append("the test has a single arm; nothing to compare")
    return AbAnalysis(test, base, min_sample_per_arm, list(stats.values()), comparisons, messages)
