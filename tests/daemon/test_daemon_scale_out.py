"""Two daemons on one PostgreSQL: leases let exactly one poll each CRM, and no lead is handled twice."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from daemon.commands.config_cmd import load_checked
from daemon.demo import prepare
from daemon.runtime import Runtime
from daemon_env import SMALL, crm_scores, hubspot_store, salesforce_assignments_per_lead
from store_backends import SchemaFactory, require_postgres, url_in_schema


@pytest.mark.postgres
def test_given_two_instances_on_postgresql_when_both_poll_then_each_lead_is_handled_once(
        tmp_path: Path, pg_schemas: SchemaFactory) -> None:
    url = url_in_schema(require_postgres(), pg_schemas.new())
    world = prepare(tmp_path / "demo", SMALL, database_url=url, say=lambda _: None)
    try:
        runtimes = [Runtime(config=world.config, load_config=lambda: load_checked(str(world.config_path)))
                    for _ in range(2)]
        barrier = threading.Barrier(2)
        results: list[list[object]] = [[], []]

        def run(i: int) -> None:
            barrier.wait()
            results[i] = runtimes[i].run_once()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        polled = [r.connector for rs in results for r in rs]  # type: ignore[attr-defined]
        assert sorted(polled) in (["hubspot", "salesforce"], ["hubspot", "hubspot", "salesforce", "salesforce"])
        assert crm_scores(world) == 40  # every lead scored once, whichever instance took it
        assert set(salesforce_assignments_per_lead(world).values()) <= {1}
        assert set(hubspot_store(world).change_counts("contacts", "ai_lead_score").values()) == {1}
    finally:
        world.close()
