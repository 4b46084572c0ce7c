"""Scheduled learning-loop jobs: KPI snapshots and the retraining check (wired to daemon.learning)."""
from __future__ import annotations

from daemon.context import AppContext
from daemon.jobs import JobResult


def kpi_job(ctx: AppContext) -> JobResult:
    """Compute and keep today's KPI snapshot."""
    return JobResult("KPI job not wired yet", ok=True)


def retrain_check_job(ctx: AppContext) -> JobResult:
    """Decide whether to retrain; retrain through the gate when needed."""
    return JobResult("retraining check not wired yet", ok=True)
