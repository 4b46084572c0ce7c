"""Prometheus metrics of the daemon, in their own registry (tests make fresh ones; nothing is global).

Label values must come from small fixed sets (connector names, job names, reason codes), never
from lead data: each distinct value is a new time series.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

NAMESPACE: Final[str] = "leadpilot"

# One cycle: a quiet poll takes well under a second, 10,000 leads may take minutes.
CYCLE_BUCKETS: Final[tuple[float, ...]] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Lead created in the CRM -> assigned: seconds at the default 30 s poll, up to a day for a lead
# that waited in the overflow queue overnight.
LEAD_TO_ASSIGNMENT_BUCKETS: Final[tuple[float, ...]] = (
    1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400,
)

EXPOSITION_CONTENT_TYPE: Final[str] = CONTENT_TYPE_LATEST


@dataclass(frozen=True)
class Metrics:
    """Every metric the daemon exports, registered in `registry`. Build with `Metrics.create()`."""

    registry: CollectorRegistry
    leads_fetched: Counter          # connector
    leads_scored: Counter           # connector
    leads_assigned: Counter         # connector
    leads_queued: Counter           # connector, kind (overflow lane)
    leads_blocked: Counter          # connector, reason (compliance reason code)
    crm_api_calls: Counter          # connector, crm
    crm_api_errors: Counter         # connector, crm, error (a short class: rate_limited, auth, server, network)
    cycle_duration: Histogram       # connector
    cycles: Counter                 # connector, status (ok | failed)
    last_success: Gauge             # connector; unix time of the last successful cycle
    lead_to_assignment: Histogram   # connector
    queue_depth: Gauge              # kind
    outbox_pending: Gauge           # connector
    job_runs: Counter               # job, status (ok | failed | skipped)
    model: Info                     # version, challenger

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None, *, process_metrics: bool = True) -> Metrics:
        """Register every metric in `registry` (a new one by default).

        `process_metrics` adds the standard process_* (RSS, CPU, open files), python_info and
        python_gc_* series.
        """
        reg = CollectorRegistry(auto_describe=True) if registry is None else registry
        if process_metrics:
            ProcessCollector(registry=reg)
            PlatformCollector(registry=reg)
            GCCollector(registry=reg)

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, namespace=NAMESPACE, registry=reg)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(name, doc, labels, namespace=NAMESPACE, registry=reg)

        return cls(
            registry=reg,
            leads_fetched=counter("leads_fetched", "Leads fetched from the CRM (new or changed)", "connector"),
            leads_scored=counter("leads_scored", "Leads scored", "connector"),
            leads_assigned=counter("leads_assigned", "Leads assigned to a loan officer", "connector"),
            leads_queued=counter("leads_queued", "Leads put in an overflow lane instead of assigned",
                                 "connector", "kind"),
            leads_blocked=counter("leads_blocked", "Leads blocked by compliance, by reason code",
                                  "connector", "reason"),
            crm_api_calls=counter("crm_api_calls", "HTTP calls made to the CRM API", "connector", "crm"),
            crm_api_errors=counter("crm_api_errors", "CRM API calls that failed, by error class",
                                   "connector", "crm", "error"),
            cycle_duration=Histogram("cycle_duration_seconds", "Duration of one poll cycle",
                                     ["connector"], namespace=NAMESPACE, registry=reg, buckets=CYCLE_BUCKETS),
            cycles=counter("cycles", "Poll cycles run, by result", "connector", "status"),
            last_success=gauge("last_successful_cycle_timestamp_seconds",
                               "Unix time the last poll cycle of this connector succeeded", "connector"),
            lead_to_assignment=Histogram(
                "lead_to_assignment_seconds", "Time from the lead's creation in the CRM to its assignment",
                ["connector"], namespace=NAMESPACE, registry=reg, buckets=LEAD_TO_ASSIGNMENT_BUCKETS),
            queue_depth=gauge("queue_depth", "Leads waiting in the routing overflow queue, by lane", "kind"),
            outbox_pending=gauge("outbox_pending", "CRM write-backs waiting to be sent or retried", "connector"),
            job_runs=counter("job_runs", "Scheduled job runs, by job and result", "job", "status"),
            model=Info("model", "Scoring model in use (champion, and the A/B challenger if any)",
                       namespace=NAMESPACE, registry=reg),
        )

    def declare_connector(self, connector: str, crm: str) -> None:
        """Create a connector's series at zero, so dashboards and rate() see it before its first lead."""
        for metric in (self.leads_fetched, self.leads_scored, self.leads_assigned):
            metric.labels(connector=connector)
        self.crm_api_calls.labels(connector=connector, crm=crm)
        self.cycle_duration.labels(connector=connector)
        self.lead_to_assignment.labels(connector=connector)
        for status in ("ok", "failed"):
            self.cycles.labels(connector=connector, status=status)
        self.outbox_pending.labels(connector=connector).set(0)

    def declare_queue_kinds(self, kinds: Iterable[str]) -> None:
        """Report every overflow lane, empty ones at 0."""
        for kind in kinds:
            self.queue_depth.labels(kind=kind)

    def observe_cycle(self, connector: str, seconds: float, *, ok: bool, finished_at: datetime) -> None:
        """Record one poll cycle: its duration, result, and (if ok) the time of the last success."""
        self.cycle_duration.labels(connector=connector).observe(max(seconds, 0.0))
        self.cycles.labels(connector=connector, status="ok" if ok else "failed").inc()
        if ok:
            self.last_success.labels(connector=connector).set(finished_at.timestamp())

    def observe_assignment(self, connector: str, created_at: datetime | None, assigned_at: datetime) -> None:
        """Count an assignment and, when the CRM gave a creation time, its delay since creation.

        A creation time after `assigned_at` (clock skew between CRM and host) counts as 0 s.
        """
        self.leads_assigned.labels(connector=connector).inc()
        if created_at is not None:
            delay = (assigned_at - created_at).total_seconds()
            self.lead_to_assignment.labels(connector=connector).observe(max(delay, 0.0))

    def set_model(self, version: str | None, challenger: str | None = None) -> None:
        """Publish the model versions in use (empty strings when none is loaded yet)."""
        self.model.info({"version": version or "", "challenger": challenger or ""})

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (what /metrics serves)."""
        return generate_latest(self.registry)
