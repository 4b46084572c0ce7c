"""Return on investment: what leadpilot earns a lender each month against what it costs.

Monthly benefit = extra conversions x revenue per conversion
                + leads x cost per lead x cost-per-lead reduction
                + productivity savings.
Over `months`: total benefit = monthly benefit x months; total cost = initial cost + annual running cost x
months / 12; net benefit = total benefit - total cost; ROI = net benefit / total cost; payback = initial cost /
(monthly benefit - monthly running cost) months (never, when that is not positive).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from config.sections.learning import RoiConfig


@dataclass(frozen=True)
class RoiResult:
    """Every figure of the ROI, and the arithmetic as lines of text."""

    assumptions: dict[str, Any]
    baseline_conversions: float
    improved_conversions: float
    extra_conversions: float
    revenue_benefit: float
    cost_per_lead_savings: float
    productivity_savings: float
    monthly_benefit: float
    monthly_running_cost: float
    monthly_net: float
    months: int
    total_benefit: float
    total_cost: float
    net_benefit: float
    roi: float | None
    payback_months: float | None
    lines: list[str]
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _money(v: float) -> str:
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def compute_roi(a: RoiConfig, *, sources: list[str] | None = None) -> RoiResult:
    """The ROI of assumptions `a` (the `learning.roi` section or figures measured by `assumptions_from_kpis`)."""
    base = a.leads_per_month * a.baseline_conversion
    improved = a.leads_per_month * a.improved_conversion
    extra = improved - base
    revenue = extra * a.revenue_per_conversion
    cpl_savings = a.leads_per_month * a.cost_per_lead * a.cost_per_lead_reduction
    productivity = a.productivity_savings_per_month
    monthly = revenue + cpl_savings + productivity
    running = a.annual_running_cost / 12
    monthly_net = monthly - running
    total_benefit = monthly * a.months
    total_cost = a.initial_cost + a.annual_running_cost * a.months / 12
    net = total_benefit - total_cost
    roi = net / total_cost if total_cost > 0 else None
    payback = a.initial_cost / monthly_net if monthly_net > 0 else None
    lines = [
        "Monthly benefit",
        f"  conversions without leadpilot: {_num(a.leads_per_month)} leads x {a.baseline_conversion:.2%} = {_num(base)}",
        f"  conversions with leadpilot:    {_num(a.leads_per_month)} leads x {a.improved_conversion:.2%} = {_num(improved)}",
        f"  extra conversions: {_num(improved)} - {_num(base)} = {_num(extra)}",
        f"  extra revenue: {_num(extra)} x {_money(a.revenue_per_conversion)} = {_money(revenue)}",
        f"  cost-per-lead savings: {_num(a.leads_per_month)} leads x {_money(a.cost_per_lead)} x "
        f"{a.cost_per_lead_reduction:.0%} = {_money(cpl_savings)}",
        f"  productivity savings: {_money(productivity)}",
        f"  monthly benefit: {_money(revenue)} + {_money(cpl_savings)} + {_money(productivity)} = {_money(monthly)}",
        "Costs",
        f"  monthly running cost: {_money(a.annual_running_cost)} / 12 = {_money(running)}",
        f"  total cost over {a.months} months: {_money(a.initial_cost)} + {_money(a.annual_running_cost)} x "
        f"{a.months} / 12 = {_money(total_cost)}",
        f"Over {a.months} months",
        f"  total benefit: {_money(monthly)} x {a.months} = {_money(total_benefit)}",
        f"  net benefit: {_money(total_benefit)} - {_money(total_cost)} = {_money(net)}",
        (f"  ROI: {_money(net)} / {_money(total_cost)} = {roi:.1%}" if roi is not None
         else "  ROI: not defined (total cost is 0)"),
        (f"  payback: {_money(a.initial_cost)} / ({_money(monthly)} - {_money(running)}) = {payback:.2f} months"
         if payback is not None else "  payback: never (the monthly benefit does not exceed the running cost)"),
    ]
    return RoiResult(
        assumptions=a.model_dump(), baseline_conversions=base, improved_conversions=improved, extra_conversions=extra,
        revenue_benefit=revenue, cost_per_lead_savings=cpl_savings, productivity_savings=productivity,
        monthly_benefit=monthly, monthly_running_cost=running, monthly_net=monthly_net, months=a.months,
        total_benefit=total_benefit, total_cost=total_cost, net_benefit=net, roi=roi, payback_months=payback,
        lines=lines, sources=list(sources or []),
    )


@dataclass(frozen=True)
class MeasuredFigures:
    """What the KPIs measured that an ROI can use instead of assumptions (None where not measured)."""

    leads_per_month: float | None = None
    control_conversion: float | None = None
    scored_conversion: float | None = None
    revenue_per_conversion: float | None = None
    cost_per_lead: float | None = None


def assumptions_from_measured(base: RoiConfig, measured: MeasuredFigures) -> tuple[RoiConfig, list[str]]:
    """`base` with each measured figure put in its place; the notes say which figure came from where."""
    updates: dict[str, Any] = {}
    notes: list[str] = []
    pairs = (("leads_per_month", measured.leads_per_month, "leads per month"),
             ("baseline_conversion", measured.control_conversion, "conversion of the control arm (round robin)"),
             ("improved_conversion", measured.scored_conversion, "conversion of AI-routed leads"),
             ("revenue_per_conversion", measured.revenue_per_conversion, "revenue per conversion"),
             ("cost_per_lead", measured.cost_per_lead, "mean lead cost"))
    for key, value, words in pairs:
        if value is None:
            notes.append(f"{key}: from the configuration ({words} not measured)")
            continue
        updates[key] = int(round(value)) if key == "leads_per_month" else float(value)
        notes.append(f"{key}: measured ({words})")
    data = {**base.model_dump(), **updates}
    return RoiConfig.model_validate(data), notes
