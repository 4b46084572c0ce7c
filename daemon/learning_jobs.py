"""Scheduled learning-loop jobs for the runtime: KPI snapshots and the retraining check."""
from __future__ import annotations

from daemon.context import AppContext
from daemon.jobs import JobResult
from daemon.learning.jobs import kpi_job as compute_kpi_snapshot
from daemon.learning.jobs import retrain_check


def kpi_job(ctx: AppContext) -> JobResult:
    """Compute the KPIs on settled leads and keep the period's snapshot in the store."""
    bundle = compute_kpi_snapshot(ctx.engine, ctx.config, now=ctx.clock(), registry=ctx.registry)
    head = bundle.kpis.headline()
    shown = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in list(head.items())[:6] if v is not None)
    return JobResult(f"KPI snapshot {'saved' if bundle.snapshot_saved else 'computed'}: {shown}")


def retrain_check_job(ctx: AppContext) -> JobResult:
    """Decide whether to retrain; a new model is promoted only through the scoring gate."""
    run = retrain_check(ctx.engine, ctx.config, now=ctx.clock(), registry=ctx.registry)
    if not run.decision.retrain:
        return JobResult("no retraining needed: " + "; ".join(run.decision.reasons))
    if run.promoted and ctx.metrics is not None:
        ctx.metrics.set_model(run.version or "")
    state = "promoted" if run.promoted else "kept, not promoted"
    return JobResult(f"retrained {run.version} ({state}): " + "; ".join(run.decision.reasons), ok=run.error is None)
