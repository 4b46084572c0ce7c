"""ROI: the seed's example computed by hand, payback that never comes, measured figures replacing assumptions."""
from __future__ import annotations

import json

import pytest

from config.sections.learning import RoiConfig
from daemon.cli import main
from daemon.learning.roi import MeasuredFigures, assumptions_from_measured, compute_roi


def test_the_seeds_example_matches_the_arithmetic_by_hand() -> None:
    # 2,000 leads a month, 12% -> 15%, $3,500 per conversion, $85 a lead cut by 20%, $18,000 productivity,
    # $195,000 initial, $138,000 a year, 24 months (the defaults of learning.roi)
    extra_conversions = 2000 * 0.15 - 2000 * 0.12           # 60
    revenue = extra_conversions * 3500                        # 210,000
    lead_savings = 2000 * 85 * 0.20                           # 34,000
    monthly_benefit = revenue + lead_savings + 18000          # 262,000
    total_cost = 195000 + 138000 * 24 / 12                    # 471,000
    net = monthly_benefit * 24 - total_cost                   # 5,817,000
    roi = net / total_cost                                    # 12.350 (1,235%)
    payback = 195000 / (monthly_benefit - 138000 / 12)        # 0.778 months
    assert (extra_conversions, revenue, lead_savings, monthly_benefit, total_cost, net) == pytest.approx(
        (60, 210000, 34000, 262000, 471000, 5817000))

    r = compute_roi(RoiConfig())
    assert r.extra_conversions == pytest.approx(extra_conversions)
    assert r.revenue_benefit == pytest.approx(revenue)
    assert r.cost_per_lead_savings == pytest.approx(lead_savings)
    assert r.productivity_savings == 18000
    assert r.monthly_benefit == pytest.approx(monthly_benefit)
    assert r.monthly_running_cost == pytest.approx(11500)
    assert r.total_benefit == pytest.approx(6288000)
    assert r.total_cost == pytest.approx(total_cost)
    assert r.net_benefit == pytest.approx(net)
    assert r.roi == pytest.approx(roi) and r.roi == pytest.approx(12.350, abs=1e-3)
    assert r.payback_months == pytest.approx(payback) and r.payback_months == pytest.approx(0.778, abs=1e-3)
    text = "\n".join(r.lines)
    for shown in ("60 x $3,500 = $210,000", "2,000 leads x $85 x 20% = $34,000",
                  "$210,000 + $34,000 + $18,000 = $262,000", "$195,000 + $138,000 x 24 / 12 = $471,000",
                  "$6,288,000 - $471,000 = $5,817,000", "= 1235.0%", "= 0.78 months"):
        assert shown in text


def test_a_benefit_below_the_running_cost_never_pays_back() -> None:
    r = compute_roi(RoiConfig(improved_conversion=0.12, cost_per_lead_reduction=0.0, productivity_savings_per_month=0))
    assert r.monthly_benefit == 0 and r.payback_months is None and r.roi == pytest.approx(-1.0)
    assert any("payback: never" in line for line in r.lines)


def test_measured_figures_replace_only_what_was_measured() -> None:
    figures = MeasuredFigures(leads_per_month=1500.4, control_conversion=0.10, scored_conversion=0.13,
                              revenue_per_conversion=None, cost_per_lead=60.0)
    assumptions, notes = assumptions_from_measured(RoiConfig(), figures)
    assert (assumptions.leads_per_month, assumptions.baseline_conversion, assumptions.improved_conversion,
            assumptions.revenue_per_conversion, assumptions.cost_per_lead) == (1500, 0.10, 0.13, 3500.0, 60.0)
    assert "revenue_per_conversion: from the configuration (revenue per conversion not measured)" in notes
    r = compute_roi(assumptions, sources=notes)
    assert r.extra_conversions == pytest.approx(1500 * 0.03)


def test_roi_command_prints_the_arithmetic_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["roi"]) == 0
    out = capsys.readouterr().out
    assert "monthly benefit: $210,000 + $34,000 + $18,000 = $262,000" in out
    assert main(["roi", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["net_benefit"] == pytest.approx(5817000) and data["payback_months"] == pytest.approx(0.7784, abs=1e-4)
