"""Prometheus series of the API, registered once in the daemon's registry (so one /metrics shows both)."""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from daemon.metrics import NAMESPACE

# a scored lead answers in milliseconds; a batch of 100 in a fraction of a second
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

_by_registry: "weakref.WeakKeyDictionary[CollectorRegistry, ApiMetrics]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@dataclass(frozen=True)
class ApiMetrics:
    """Requests by endpoint and status, their latency, and how many leads each scorer batch decided."""

    requests: Counter        # endpoint, status
    latency: Histogram       # endpoint
    batch_leads: Histogram   # leads per decision batch

    @classmethod
    def of(cls, registry: CollectorRegistry) -> "ApiMetrics":
        """The API's series in `registry`, created on first use (a restarted API server reuses them)."""
        with _lock:
            found = _by_registry.get(registry)
            if found is None:
                found = cls(
                    requests=Counter("api_requests", "API requests answered, by endpoint and status code",
                                     ["endpoint", "status"], namespace=NAMESPACE, registry=registry),
                    latency=Histogram("api_request_duration_seconds", "Time to answer an API request",
                                      ["endpoint"], namespace=NAMESPACE, registry=registry, buckets=LATENCY_BUCKETS),
                    batch_leads=Histogram("api_batch_leads", "Leads decided together in one scorer batch",
                                          namespace=NAMESPACE, registry=registry, buckets=BATCH_BUCKETS),
                )
                _by_registry[registry] = found
            return found
