"""The KPI report as one self-contained HTML page (plots embedded as PNG) a sales manager can read.

Every plot has a title, labelled axes and one sentence saying how to read it. A plot without data is
replaced by a sentence saying why, so the page always renders whatever can be shown.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # no display: reports are rendered on servers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from daemon.learning.ab import AbAnalysis  # noqa: E402
from daemon.learning.drift import DriftReport  # noqa: E402
from daemon.learning.kpi import KpiReport, ModelKpis  # noqa: E402
from daemon.learning.retrain import Decision  # noqa: E402
from daemon.learning.roi import RoiResult  # noqa: E402
from daemon.learning.store_io import SnapshotRecord  # noqa: E402

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.sub{color:#666}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:170px}
.card b{display:block;font-size:1.5em}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px}
.explain{color:#444;font-style:italic}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:10px;overflow-x:auto}img{max-width:100%}
"""


@dataclass
class ReportInputs:
    """Everything the page may show; all but `kpis` optional."""

    kpis: KpiReport
    main_model: str | None = None  # the version whose curves are drawn (default: most settled leads)
    drift: DriftReport | None = None
    ab: AbAnalysis | None = None
    decision: Decision | None = None
    roi: RoiResult | None = None
    snapshots: Sequence[SnapshotRecord] = field(default_factory=list)
    title: str = "Lead scoring report"


def _esc(text: object) -> str:
    return html.escape(str(text))


def _pct(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:.{digits}%}"


def _num(v: float | None, fmt: str = "{:.3f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def _money(v: float | None) -> str:
    return "n/a" if v is None else f"${v:,.0f}"


def _png(draw: Callable[[Figure], None]) -> str:
    fig = plt.figure(figsize=(7.5, 4.2), dpi=100)
    try:
        draw(fig)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(title: str, explanation: str, image: str | None, missing: str) -> str:
    body = (f'<img alt="{_esc(title)}" src="data:image/png;base64,{image}">' if image
            else f'<p class="note">Not shown yet: {_esc(missing)}</p>')
    return f"<h3>{_esc(title)}</h3><p class='explain'>{_esc(explanation)}</p>{body}"


def _main_model(inputs: ReportInputs) -> ModelKpis | None:
    models = [m for m in inputs.kpis.models if m.n > 0]
    if inputs.main_model:
        chosen = [m for m in models if m.model_version == inputs.main_model]
        if chosen:
            return chosen[0]
    return max(models, key=lambda m: m.n) if models else None


# -- plots ------------------------------------------------------------------------------------------

def lift_chart(model: ModelKpis) -> str | None:
    """Cumulative gains: share of conversions reached when calling the top X% of leads by score."""
    if not model.gains:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        xs = [0.0] + [g[0] * 100 for g in model.gains]
        ys = [0.0] + [g[1] * 100 for g in model.gains]
        ax.plot(xs, ys, marker="o", label=f"by AI score (model {model.model_version})")
        ax.plot([0, 100], [0, 100], linestyle="--", color="grey", label="random order")
        ax.set_title("Lift chart: buyers reached by calling the best-scored leads first")
        ax.set_xlabel("Share of leads called, highest score first (%)")
        ax.set_ylabel("Share of all conversions reached (%)")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")

    return _png(draw)


def calibration_chart(model: ModelKpis) -> str | None:
    """Predicted probability against the observed conversion rate, per probability band."""
    if not model.calibration:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        pred = [c[0] * 100 for c in model.calibration]
        obs = [c[1] * 100 for c in model.calibration]
        top = max(max(pred), max(obs), 1.0) * 1.1
        ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect calibration")
        ax.plot(pred, obs, marker="o", label=f"model {model.model_version}")
        for x, y, c in zip(pred, obs, model.calibration):
            ax.annotate(f"n={c[2]}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_title("Calibration: does a predicted 20% really convert 20% of the time?")
        ax.set_xlabel("Predicted chance to convert (%)")
        ax.set_ylabel("Observed conversion rate (%)")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")

    return _png(draw)


def decile_chart(kpis: KpiReport) -> str | None:
    """Conversion rate per score decile, with the overall rate as a line."""
    rows = [r for r in kpis.business.deciles if r.leads]
    if not rows:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ax.bar([r.scores for r in kpis.business.deciles],
               [(r.rate or 0.0) * 100 for r in kpis.business.deciles], color="#3b7dd8")
        if kpis.business.conversion_rate is not None:
            ax.axhline(kpis.business.conversion_rate * 100, color="#d84b3b", linestyle="--",
                       label=f"all leads: {kpis.business.conversion_rate:.1%}")
            ax.legend(loc="upper left")
        ax.set_title("Conversion rate by AI score band")
        ax.set_xlabel("AI lead score band")
        ax.set_ylabel("Leads that converted (%)")
        ax.grid(axis="y", alpha=0.3)

    return _png(draw)


def trend_chart(kpis: KpiReport, snapshots: Sequence[SnapshotRecord]) -> str | None:
    """Monthly conversion rate (bars) and model AUC (line) of settled leads by month of arrival."""
    rows = [t for t in kpis.trend if t.settled]
    if not rows:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        months = [t.month for t in rows]
        rates = [(t.rate or 0.0) * 100 for t in rows]
        ax.bar(months, rates, color="#7bb661", label="conversion rate (%)")
        ax.set_ylim(0, max(max(rates), 1.0) * 1.3)  # headroom for the legends
        ax.set_title("Trend by month the leads arrived (settled leads only)")
        ax.set_xlabel("Month the leads arrived")
        ax.set_ylabel("Conversion rate (%)")
        ax.tick_params(axis="x", rotation=45)
        aucs = [(m, t.auc) for m, t in zip(months, rows) if t.auc is not None]
        if aucs:
            ax2 = ax.twinx()
            ax2.plot([m for m, _ in aucs], [a for _, a in aucs], color="#333", marker="o", label="model AUC")
            ax2.set_ylabel("Model AUC (0.5 = guessing, 1 = perfect)")
            ax2.set_ylim(0.4, 1.0)
            ax2.legend(loc="upper right")
        ax.legend(loc="upper left")

    return _png(draw)


# -- tables -----------------------------------------------------------------------------------------

def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cards(kpis: KpiReport) -> str:
    b = kpis.business
    cards = [
        ("Conversion rate", _pct(b.conversion_rate), f"of {b.settled_leads} settled leads"),
        ("AI vs round robin", _pct(b.scored_vs_control_lift) if b.scored_vs_control_lift is not None else "n/a",
         "conversion of AI-routed vs round-robin leads"),
        ("Cost per acquisition", _money(b.cost_per_acquisition), "lead spend per closed loan"),
        ("Revenue per lead", _money(b.revenue_per_lead), "across settled leads"),
        ("Speed to lead", _num(b.speed_to_lead_p50_minutes, "{:.0f} min"),
         f"median; 95% within {_num(b.speed_to_lead_p95_minutes, '{:.0f} min')}"),
        ("Conversions per officer", _num(b.conversions_per_officer_week, "{:.2f}/week"),
         f"load spread (CV) {_num(b.load_cv, '{:.2f}')}"),
    ]
    return "<div class='cards'>" + "".join(
        f"<div class='card'>{_esc(t)}<b>{_esc(v)}</b><span class='sub'>{_esc(s)}</span></div>" for t, v, s in cards
    ) + "</div>"


def _models_table(kpis: KpiReport) -> str:
    rows = [[m.model_version, m.n, m.positives, _num(m.auc), _num(m.pr_auc), _pct(m.precision), _pct(m.recall),
             _num(m.f1), _num(m.brier, "{:.4f}"), _num(m.ece, "{:.4f}"), _pct(m.top_decile_precision),
             _num(m.lift_at_20, "{:.2f}x")] for m in kpis.models]
    if not rows:
        return "<p class='note'>No model has scored a settled lead in this period yet.</p>"
    header = ["model", "settled leads", "converted", "AUC", "PR AUC", f"precision (score >= {kpis.threshold_score})",
              "recall", "F1", "Brier", "ECE", "top-10% precision", "lift at 20%"]
    return (_table(header, rows) + "<p class='explain'>AUC: how well the score ranks buyers above non-buyers "
            "(0.5 = guessing, 1 = perfect). Precision/recall: among leads at or above the priority score, the share "
            "that converted / the share of all conversions they held. ECE: average gap between predicted and observed "
            "conversion (lower is better). Lift at 20%: how many times the average rate the top 20% converts.</p>")


def _drift_section(drift: DriftReport) -> str:
    rows = [[r.name, r.kind, _num(r.psi), r.level, r.message or ""]
            for r in [*([drift.score] if drift.score else []), *drift.features]]
    notes = "".join(f"<li>{_esc(m)}</li>" for m in drift.messages)
    return (f"<h2>Drift</h2><p class='explain'>Population stability index (PSI) against {_esc(drift.reference)}: "
            f"below 0.1 the leads look like those the model learned on; above {drift.threshold:g} retraining is "
            "considered.</p>" + _table(["what", "kind", "PSI", "level", "note"], rows)
            + (f"<ul>{notes}</ul>" if notes else ""))


def _ab_section(ab: AbAnalysis) -> str:
    arms = _table(["arm", "settled leads", "conversions", "rate", "95% interval"],
                  [[a.arm, a.leads, a.conversions, _pct(a.rate),
                    f"{_pct(a.rate_low)} - {_pct(a.rate_high)}" if a.rate_low is not None else "n/a"] for a in ab.arms])
    comps = _table(["arm", "vs", "lift", "95% interval", "p-value", "verdict"],
                   [[c.arm, c.baseline, _pct(c.lift), f"{_pct(c.lift_low)} to {_pct(c.lift_high)}"
                     if c.lift_low is not None else "n/a", _num(c.p_value, "{:.3g}"), c.message] for c in ab.comparisons])
    notes = "".join(f"<li>{_esc(m)}</li>" for m in ab.messages)
    return (f"<h2>Champion / challenger test '{_esc(ab.test)}'</h2><p class='explain'>Each lead's arm comes from a "
            f"stable hash of its id. '{_esc(ab.baseline)}' is the baseline; no verdict before each arm has "
            f"{ab.min_sample_per_arm} settled leads.</p>{arms}{comps}" + (f"<ul>{notes}</ul>" if notes else ""))


def _officers(kpis: KpiReport) -> str:
    officers = kpis.business.officers
    if not officers:
        return "<p class='note'>No officer has worked a lead of this period yet.</p>"
    return (_table(["officer", "leads", "conversions", "conversions per week"],
                   [[o.agent_id, o.leads, o.conversions, f"{o.conversions_per_week:.2f}"] for o in officers])
            + f"<p class='explain'>Load balance: the busiest officer had {_num(kpis.business.load_max_over_mean, '{:.2f}')}"
              " times the average number of leads.</p>")


def render_html(inputs: ReportInputs) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    k = inputs.kpis
    main = _main_model(inputs)
    why_no_model = "no model has scored a settled lead with both outcomes yet"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(inputs.title)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_esc(inputs.title)}</h1><p class='sub'>Leads that arrived {_esc(k.period_start[:10])} to "
        f"{_esc(k.period_end[:10])}; outcomes as of {_esc(k.as_of[:16])}. A lead counts once its "
        f"{k.window_days}-day conversion window has passed ({k.labels.settled} of {k.labels.leads} leads).</p>",
    ]
    if k.messages:
        parts.append("<div class='note'><b>What could not be measured</b><ul>"
                     + "".join(f"<li>{_esc(m)}</li>" for m in k.messages) + "</ul></div>")
    parts.append("<h2>At a glance</h2>" + _cards(k))
    parts.append("<h2>How well the AI score picks buyers</h2>")
    top20 = next((g[1] for g in (main.gains if main else []) if abs(g[0] - 0.2) < 1e-9), None)
    parts.append(_figure(
        "Lift chart", (f"Calling the top 20% of leads by score reaches {top20:.0%} of all buyers; random order would "
                       "reach 20%. The higher the curve above the dashed line, the more the score helps.")
        if top20 is not None else "The higher the curve above the dashed line, the more the score helps.",
        lift_chart(main) if main else None, why_no_model if main is None else "no conversions among settled leads"))
    parts.append(_figure(
        "Conversion by score band", "Each bar is the share of leads in that score band that became a loan; "
                                     "bars should rise from left to right.",
        decile_chart(k), "no settled lead has a score yet"))
    parts.append(_figure(
        "Calibration", "Points close to the dashed line mean the predicted chances can be taken at face value.",
        calibration_chart(main) if main else None, why_no_model))
    parts.append(_figure(
        "Trend over time", "Bars: conversion rate of the leads that arrived each month; line: how well the score "
                           "ranked them.", trend_chart(k, inputs.snapshots), "no month has settled leads yet"))
    parts.append("<h2>Model figures</h2>" + _models_table(k))
    parts.append("<h2>Officers</h2>" + _officers(k))
    if inputs.drift is not None:
        parts.append(_drift_section(inputs.drift))
    if inputs.ab is not None:
        parts.append(_ab_section(inputs.ab))
    if inputs.decision is not None:
        d = inputs.decision
        parts.append(f"<h2>Retraining</h2><p><b>{'Retrain' if d.retrain else 'No retraining needed'}</b> "
                     f"({_esc(d.decided_at[:16])})</p><ul>" + "".join(f"<li>{_esc(r)}</li>" for r in d.reasons)
                     + "</ul>")
    if inputs.snapshots:
        rows = [[s.period_end.date().isoformat(), _pct(s.metrics.get("conversion_rate")),
                 s.metrics.get("settled_leads", "n/a"), _pct(s.metrics.get("scored_vs_control_lift"))]
                for s in inputs.snapshots[-12:]]
        parts.append("<h2>Earlier snapshots</h2>"
                     + _table(["snapshot to", "conversion rate", "settled leads", "AI vs round robin"], rows))
    if inputs.roi is not None:
        parts.append("<h2>Return on investment</h2><pre>" + _esc("\n".join(inputs.roi.lines)) + "</pre>"
                     + "".join(f"<p class='sub'>{_esc(s)}</p>" for s in inputs.roi.sources))
    parts.append("</body></html>")
    return "\n".join(parts)
