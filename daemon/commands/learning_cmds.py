"""`leadpilot kpi` and `leadpilot roi`: what the model and the business achieve, and what it is worth."""
from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from config import BadInputError

from daemon.cli import add_config_argument, add_json_argument, command, iso_datetime
from daemon.commands.config_cmd import load_checked

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from config.schema import LeadpilotConfig


def _open_store(config: LeadpilotConfig) -> Engine:
    """The configured store; refuses a store whose schema is missing or old (without changing it)."""
    from daemon.store import make_engine, schema_status

    engine = make_engine(config)
    status = schema_status(engine)
    if not status.up_to_date:
        engine.dispose()
        what = "has no leadpilot schema" if status.current is None else f"is at schema {status.current}"
        raise BadInputError(f"the store {status.database} {what}, not {status.head}; run `leadpilot db upgrade` "
                            "(and load or sync leads) first")
    return engine


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def _kpi(args: argparse.Namespace) -> int:
    from daemon.commands.scoring_cmds import registry_for, scoring_settings
    from daemon.learning.jobs import kpi_job

    config = load_checked(args.config)
    since, until = iso_datetime(args.since, "--since"), iso_datetime(args.until, "--until")
    if since and until and since > until:
        raise BadInputError(f"--since {args.since} is after --until {args.until}")
    engine = _open_store(config)
    try:
        bundle = kpi_job(engine, config, now=datetime.now(UTC), registry=registry_for(config),
                         settings=scoring_settings(config), since=since, until=until, save=not args.no_save)
    finally:
        engine.dispose()
    if args.html:
        path = Path(args.html)
        try:
            path.write_text(bundle.html(), encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({**bundle.to_dict(), "html": args.html}))
        return 0
    k, b = bundle.kpis, bundle.kpis.business
    print(f"KPIs of leads created {k.period_start[:10]} .. {k.period_end[:10]} (outcomes as of {k.as_of[:16]})")
    print(f"  leads {b.leads}, settled {b.settled_leads} (window {k.window_days} days), pending {k.labels.pending}")
    print(f"  conversion {_fmt(b.conversion_rate, '.1%')}; AI-routed {_fmt(b.scored_conversion, '.1%')} vs "
          f"control {_fmt(b.control_conversion, '.1%')} (lift {_fmt(b.scored_vs_control_lift, '+.1%')})")
    print(f"  cost per acquisition {_fmt(b.cost_per_acquisition, ',.0f')}; revenue per lead "
          f"{_fmt(b.revenue_per_lead, ',.0f')}; speed to lead p50 {_fmt(b.speed_to_lead_p50_minutes, '.0f')} min, "
          f"p95 {_fmt(b.speed_to_lead_p95_minutes, '.0f')} min")
    print(f"  conversions per officer per week {_fmt(b.conversions_per_officer_week, '.2f')}; load spread (CV) "
          f"{_fmt(b.load_cv, '.2f')} over {len(b.officers)} officer(s)")
    for m in k.models:
        print(f"  model {m.model_version}: {m.n} settled leads, AUC {_fmt(m.auc, '.3f')}, PR AUC {_fmt(m.pr_auc, '.3f')}, "
              f"ECE {_fmt(m.ece, '.4f')}, precision/recall at score >= {m.threshold_score} "
              f"{_fmt(m.precision, '.1%')}/{_fmt(m.recall, '.1%')}, lift@20% {_fmt(m.lift_at_20, '.2f')}")
    if bundle.drift is not None and bundle.drift.worst is not None:
        worst = bundle.drift.worst
        print(f"  drift: largest PSI {worst.psi:.3f} ({worst.name}); threshold {bundle.drift.threshold:g}")
    if bundle.ab is not None:
        for c in bundle.ab.comparisons:
            print(f"  A/B {bundle.ab.test}: {c.message}")
    for message in k.messages:
        print(f"  note: {message}")
    if bundle.snapshot_saved:
        print("  snapshot kept in the store")
    if args.html:
        print(f"  report: {args.html}")
    return 0


def _roi(args: argparse.Namespace) -> int:
    from daemon.learning.jobs import KPI_SNAPSHOT, measured_roi
    from daemon.learning.roi import compute_roi

    config = load_checked(args.config)
    if args.measured:
        from daemon.learning.store_io import load_snapshots
        from daemon.store import session_scope

        engine = _open_store(config)
        try:
            with session_scope(engine, readonly=True) as session:
                snapshots = load_snapshots(session, KPI_SNAPSHOT, limit=1)
        finally:
            engine.dispose()
        if not snapshots:
            raise BadInputError("no KPI snapshot in the store yet; run `leadpilot kpi` first, or leave out --measured")
        result = measured_roi(config, snapshots[-1].metrics)
    else:
        result = compute_roi(config.learning.roi, sources=["every figure from learning.roi in the configuration"])
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print("\n".join(result.lines))
    for source in result.sources:
        print(f"  source: {source}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `leadpilot kpi` and `leadpilot roi`."""
    kpi = command(
        subparsers, "kpi", handler=_kpi,
        help="model and business KPIs from the store, kept as a snapshot; optional HTML report with plots",
        description="Model KPIs per model version (AUC, PR AUC, precision/recall/F1 at the priority score, Brier, "
                    "ECE, top-decile precision, lift at 20%) and business KPIs (conversion by score band, AI vs "
                    "control lift, cost per acquisition, revenue per lead, speed to lead, officer productivity), on "
                    "leads whose conversion window (learning.conversion_window_days) has passed; drift of recent "
                    "leads against the champion's training leads; the A/B test when enabled. What cannot be "
                    "measured yet is said, and the rest is still reported.",
        example="leadpilot kpi -c /etc/leadpilot/leadpilot.yaml --html /tmp/kpi.html")
    add_config_argument(kpi)
    add_json_argument(kpi)
    kpi.add_argument("--html", metavar="FILE", help="also write the report with its plots to this HTML file")
    kpi.add_argument("--since", metavar="DATE", help="only leads created from this date (default: all)")
    kpi.add_argument("--until", metavar="DATE", help="only leads created up to this date; outcomes as of then")
    kpi.add_argument("--no-save", action="store_true", help="do not keep a snapshot in the store")

    roi = command(
        subparsers, "roi", handler=_roi,
        help="return on investment with the arithmetic shown, from learning.roi or measured KPIs",
        description="Monthly benefit (extra conversions x revenue per conversion + cost-per-lead savings + "
                    "productivity savings), total cost, net benefit, ROI and payback over learning.roi.months. "
                    "With --measured, the latest KPI snapshot replaces the assumptions it measured (leads per "
                    "month, control and AI-routed conversion, revenue per conversion, lead cost).",
        example="leadpilot roi -c /etc/leadpilot/leadpilot.yaml --json")
    add_config_argument(roi)
    add_json_argument(roi)
    roi.add_argument("--measured", action="store_true", help="use the figures of the latest `leadpilot kpi` snapshot")
