"""GET /api/v1/model/performance: the deployed model, its validation metrics and the latest KPI snapshot."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from daemon.api.errors import ApiError
from daemon.context import AppContext
from daemon.learning.store_io import load_snapshots


def model_performance(ctx: AppContext) -> dict[str, Any]:
    """The champion's registry entry and metadata metrics, with the newest KPI snapshot (None before the first)."""
    from daemon.learning.jobs import KPI_SNAPSHOT

    version = ctx.registry.champion()
    if version is None:
        raise ApiError(503, f"no model is deployed yet in {ctx.registry.root}; train and promote one "
                            "(leadpilot train)", headers={"Retry-After": "60"})
    entry = ctx.registry.entry(version)
    meta = ctx.registry.metadata(version)
    with ctx.session(readonly=True) as session:
        snapshots = load_snapshots(session, KPI_SNAPSHOT, limit=1)
    latest = asdict(snapshots[-1]) if snapshots else None
    return {
        "model_version": version, "status": entry.status, "registered_at": entry.registered_at,
        "training_window": dict(entry.training_window), "validation_metrics": dict(meta.get("metrics", {})),
        "gate": dict(meta.get("gate", {})), "latest_kpi": latest,
    }
