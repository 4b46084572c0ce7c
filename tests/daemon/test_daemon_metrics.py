"""daemon/metrics.py: each Metrics owns its registry, and the helpers record what they say."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from daemon.metrics import LEAD_TO_ASSIGNMENT_BUCKETS, Metrics

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_given_two_metrics_then_their_registries_are_independent_and_not_the_global_one() -> None:
    first, second = Metrics.create(), Metrics.create()
    first.leads_fetched.labels(connector="sf").inc(3)
    assert value(first, "leadpilot_leads_fetched_total", connector="sf") == 3
    assert value(second, "leadpilot_leads_fetched_total", connector="sf") is None
    assert prometheus_client.REGISTRY.get_sample_value("leadpilot_leads_fetched_total", {"connector": "sf"}) is None


def test_counters_by_connector_reason_crm_and_job() -> None:
    m = Metrics.create(process_metrics=False)
    m.leads_scored.labels(connector="hs").inc(5)
    m.leads_blocked.labels(connector="hs", reason="no_consent").inc(2)
    m.leads_blocked.labels(connector="hs", reason="dnc").inc()
    m.leads_queued.labels(connector="hs", kind="priority").inc()
    m.crm_api_calls.labels(connector="hs", crm="hubspot").inc(7)
    m.crm_api_errors.labels(connector="hs", crm="hubspot", error="rate_limited").inc()
    m.job_runs.labels(job="kpi", status="failed").inc()
    assert value(m, "leadpilot_leads_scored_total", connector="hs") == 5
    assert value(m, "leadpilot_leads_blocked_total", connector="hs", reason="no_consent") == 2
    assert value(m, "leadpilot_leads_blocked_total", connector="hs", reason="dnc") == 1
    assert value(m, "leadpilot_leads_queued_total", connector="hs", kind="priority") == 1
    assert value(m, "leadpilot_crm_api_calls_total", connector="hs", crm="hubspot") == 7
    assert value(m, "leadpilot_crm_api_errors_total", connector="hs", crm="hubspot", error="rate_limited") == 1
    assert value(m, "leadpilot_job_runs_total", job="kpi", status="failed") == 1


def test_observe_cycle_sets_last_success_only_when_the_cycle_succeeded() -> None:
    m = Metrics.create(process_metrics=False)
    m.observe_cycle("sf", 2.0, ok=True, finished_at=T0)
    m.observe_cycle("sf", 7.0, ok=False, finished_at=T0 + timedelta(minutes=1))
    assert value(m, "leadpilot_last_successful_cycle_timestamp_seconds", connector="sf") == T0.timestamp()
    assert value(m, "leadpilot_cycles_total", connector="sf", status="ok") == 1
    assert value(m, "leadpilot_cycles_total", connector="sf", status="failed") == 1
    assert value(m, "leadpilot_cycle_duration_seconds_count", connector="sf") == 2
    assert value(m, "leadpilot_cycle_duration_seconds_sum", connector="sf") == 9.0
    assert value(m, "leadpilot_cycle_duration_seconds_bucket", connector="sf", le="2.5") == 1


def test_lead_to_assignment_histogram_spans_one_second_to_one_day() -> None:
    assert LEAD_TO_ASSIGNMENT_BUCKETS[0] == 1 and LEAD_TO_ASSIGNMENT_BUCKETS[-1] == 86400
    assert list(LEAD_TO_ASSIGNMENT_BUCKETS) == sorted(set(LEAD_TO_ASSIGNMENT_BUCKETS))
    m = Metrics.create(process_metrics=False)
    m.observe_assignment("sf", T0, T0 + timedelta(seconds=40))
    m.observe_assignment("sf", T0, T0 + timedelta(hours=30))        # over a day: only +Inf
    m.observe_assignment("sf", T0 + timedelta(seconds=5), T0)       # CRM clock ahead: counted as 0 s
    m.observe_assignment("sf", None, T0)                            # no creation time: counted, not timed
    assert value(m, "leadpilot_leads_assigned_total", connector="sf") == 4
    assert value(m, "leadpilot_lead_to_assignment_seconds_count", connector="sf") == 3
    assert value(m, "leadpilot_lead_to_assignment_seconds_bucket", connector="sf", le="1.0") == 1
    assert value(m, "leadpilot_lead_to_assignment_seconds_bucket", connector="sf", le="30.0") == 1
    assert value(m, "leadpilot_lead_to_assignment_seconds_bucket", connector="sf", le="45.0") == 2
    assert value(m, "leadpilot_lead_to_assignment_seconds_bucket", connector="sf", le="86400.0") == 2
    assert value(m, "leadpilot_lead_to_assignment_seconds_bucket", connector="sf", le="+Inf") == 3


def test_gauges_queue_depth_outbox_and_model_version_replace_their_values() -> None:
    m = Metrics.create(process_metrics=False)
    m.declare_queue_kinds(["priority", "queue"])
    m.queue_depth.labels(kind="priority").set(4)
    m.outbox_pending.labels(connector="sf").set(12)
    m.set_model("2026-03-01-a")
    m.set_model("2026-03-02-b", challenger="2026-03-02-c")
    assert value(m, "leadpilot_queue_depth", kind="priority") == 4
    assert value(m, "leadpilot_queue_depth", kind="queue") == 0
    assert value(m, "leadpilot_outbox_pending", connector="sf") == 12
    assert value(m, "leadpilot_model_info", version="2026-03-02-b", challenger="2026-03-02-c") == 1
    assert value(m, "leadpilot_model_info", version="2026-03-01-a", challenger="") is None


def test_declare_connector_exposes_zero_series_before_the_first_lead() -> None:
    m = Metrics.create(process_metrics=False)
    m.declare_connector("sf", "salesforce")
    assert value(m, "leadpilot_leads_fetched_total", connector="sf") == 0
    assert value(m, "leadpilot_crm_api_calls_total", connector="sf", crm="salesforce") == 0
    assert value(m, "leadpilot_cycles_total", connector="sf", status="failed") == 0
    assert value(m, "leadpilot_outbox_pending", connector="sf") == 0


def test_exposition_is_valid_prometheus_text_with_process_metrics() -> None:
    m = Metrics.create()
    m.leads_fetched.labels(connector="sf").inc()
    families = {f.name: f for f in text_string_to_metric_families(m.exposition().decode())}
    assert families["leadpilot_leads_fetched"].type == "counter"
    assert families["leadpilot_cycle_duration_seconds"].type == "histogram"
    assert families["leadpilot_queue_depth"].type == "gauge"
    assert "process_resident_memory_bytes" in families and "python_info" in families
