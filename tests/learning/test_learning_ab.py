"""Champion/challenger: stable arms from sha256, and the analysis with intervals, chi-square and a minimum sample."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from daemon.learning.ab import analyse, assign_arm, bucket, required_sample_per_arm, wilson_interval
from daemon.learning.errors import LearningInputError

SPLIT = {"champion": 0.9, "control": 0.1}
IDS = [f"L{i:07d}" for i in range(20_000)]


def test_arms_follow_the_split_and_do_not_depend_on_the_yaml_order() -> None:
    arms = [assign_arm(i, "routing-2026", SPLIT) for i in IDS]
    share = arms.count("control") / len(arms)
    assert abs(share - 0.1) < 0.01  # 20,000 draws: the standard error is 0.002
    reordered = {"control": 0.1, "champion": 0.9}
    assert [assign_arm(i, "routing-2026", reordered) for i in IDS[:2000]] == arms[:2000]


def test_renaming_the_test_reshuffles_the_arms() -> None:
    a = [assign_arm(i, "routing-2026", SPLIT) for i in IDS[:5000]]
    b = [assign_arm(i, "routing-2027", SPLIT) for i in IDS[:5000]]
    changed = sum(x != y for x, y in zip(a, b)) / 5000
    assert 0.15 < changed < 0.21  # independent draws differ with chance 2 x 0.9 x 0.1 = 0.18


def test_the_arm_is_the_same_in_another_process_with_another_hash_seed() -> None:
    ids = IDS[:300]
    here = [assign_arm(i, "routing-2026", SPLIT) for i in ids]
    code = ("import sys; from daemon.learning.ab import assign_arm; "
            "print(','.join(assign_arm(i, 'routing-2026', {'champion': 0.9, 'control': 0.1}) "
            "for i in sys.argv[1:]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, *ids], capture_output=True, text=True, check=True, env=env,
                         cwd=os.getcwd())
    assert out.stdout.strip().split(",") == here
    assert 0 <= bucket("L1", "t") < 1


@pytest.mark.parametrize("split", [{}, {"a": 0.5, "b": 0.4}])
def test_a_bad_split_or_a_lead_without_id_is_refused(split: dict[str, float]) -> None:
    with pytest.raises(LearningInputError, match="sum"):
        assign_arm("L1", "t", split)
    with pytest.raises(LearningInputError, match="lead id"):
        assign_arm("", "t", SPLIT)


def _arm_frame(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """arm -> (leads, conversions) as settled-lead rows."""
    rows = [(arm, 1.0 if k < x else 0.0) for arm, (n, x) in counts.items() for k in range(n)]
    return pd.DataFrame(rows, columns=["arm", "label"])


def _yates_p(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p of the Yates-corrected chi-square of [[a, b], [c, d]], one degree of freedom, by hand."""
    n = a + b + c + d
    chi2 = n * max(0.0, abs(a * d - b * c) - n / 2) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    return math.erfc(math.sqrt(chi2 / 2))


def test_a_clear_winner_gets_a_verdict_with_a_p_value_and_a_lift_interval_checked_by_hand() -> None:
    result = analyse(_arm_frame({"champion": (1000, 150), "control": (1000, 100)}), test="t",
                     arms=["champion", "control"], min_sample_per_arm=400)
    assert result.baseline == "control"
    (c,) = result.comparisons
    assert c.verdict == "better" and c.lift == pytest.approx(0.5) and c.difference == pytest.approx(0.05)
    assert c.p_value == pytest.approx(_yates_p(150, 850, 100, 900), rel=1e-9)
    se = math.sqrt(1 / 150 - 1 / 1000 + 1 / 100 - 1 / 1000)
    assert c.lift_low == pytest.approx(math.exp(math.log(1.5) - 1.959964 * se) - 1, rel=1e-5)
    assert c.lift_high == pytest.approx(math.exp(math.log(1.5) + 1.959964 * se) - 1, rel=1e-5)
    arm = {a.arm: a for a in result.arms}["champion"]
    assert (arm.leads, arm.conversions, arm.rate) == (1000, 150, 0.15)
    assert arm.rate_low is not None and arm.rate_high is not None and arm.rate_low < 0.15 < arm.rate_high


def test_no_verdict_before_each_arm_has_the_minimum_sample() -> None:
    result = analyse(_arm_frame({"champion": (900, 200), "control": (100, 10)}), test="t",
                     arms=["champion", "control"], min_sample_per_arm=400)
    (c,) = result.comparisons
    assert c.verdict == "wait" and "'control' has 100 of the 400" in c.message
    assert c.p_value is not None  # the figures are still shown


def test_an_empty_arm_gives_a_clear_message_and_no_comparison() -> None:
    result = analyse(_arm_frame({"champion": (500, 60)}), test="t", arms=["champion", "control"],
                     min_sample_per_arm=400)
    assert "arm 'control' has no settled leads yet" in result.messages
    (c,) = result.comparisons
    assert c.verdict == "wait" and c.lift is None and c.p_value is None
    assert {a.arm: a.rate for a in result.arms}["control"] is None


def test_no_conversions_anywhere_means_no_test_yet() -> None:
    result = analyse(_arm_frame({"champion": (500, 0), "control": (500, 0)}), test="t",
                     arms=["champion", "control"], min_sample_per_arm=400)
    (c,) = result.comparisons
    assert c.verdict == "wait" and c.p_value is None and "no conversions" in c.message


def test_equal_arms_show_no_significant_difference_and_stray_arms_are_reported() -> None:
    frame = pd.concat([_arm_frame({"champion": (600, 72), "challenger": (600, 75)}),
                       pd.DataFrame({"arm": ["old", None], "label": [1.0, 0.0]})])
    result = analyse(frame, test="t", arms=["champion", "challenger"], min_sample_per_arm=400)
    assert result.baseline == "champion"
    (c,) = result.comparisons
    assert c.verdict == "no difference" and c.p_value is not None and c.p_value > 0.5
    assert any("old" in m for m in result.messages) and any("no recorded arm" in m for m in result.messages)


def test_required_sample_per_arm_matches_the_textbook_formula() -> None:
    # 12% -> 15% (25% lift), alpha 0.05 two-sided, power 0.8
    z_a, z_b = 1.959964, 0.841621
    p1, p2 = 0.12, 0.15
    n = (z_a * math.sqrt(2 * 0.135 * 0.865) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / 0.03 ** 2
    assert required_sample_per_arm(0.12, 0.25) == math.ceil(n) == 2036
    assert required_sample_per_arm(0.0, 0.25) is None


def test_wilson_interval_stays_inside_zero_and_one() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0 < high < 0.35
    assert np.allclose(wilson_interval(50, 100), (0.4038, 0.5962), atol=1e-3)
