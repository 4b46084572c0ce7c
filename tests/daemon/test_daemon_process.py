"""The daemon as ops run it: a child process killed with -9 mid-cycle, SIGTERM, SIGHUP, sd_notify."""
from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.demo import DemoEnvironment
from daemon_env import crm_scores, hubspot_store, leadpilot, salesforce_assignments_per_lead, salesforce_leads, small_world, spawn


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DemoEnvironment]:
    env = small_world(tmp_path)
    try:
        yield env
    finally:
        env.close()


def scores(world: DemoEnvironment) -> int:
    return crm_scores(world)


def assert_each_lead_written_once(world: DemoEnvironment) -> None:
    leads = salesforce_leads(world)
    assert leads and all(lead.get("AI_Lead_Score__c") is not None for lead in leads)
    per_lead = salesforce_assignments_per_lead(world)
    assert set(per_lead.values()) <= {1}, f"duplicate assignment records: {per_lead.most_common(3)}"
    owners = {lead["Id"]: lead.get("OwnerId") for lead in leads}
    assert all(owners[lead_id] is not None for lead_id in per_lead)
    store = hubspot_store(world)
    contacts = store.scan("contacts")
    assert all(c.properties.get("ai_lead_score") for c in contacts)
    # exactly once: the score of each contact was written by leadpilot a single time
    changes = store.change_counts("contacts", "ai_lead_score")
    assert changes and set(changes.values()) == {1}


@pytest.mark.parametrize("point", ["after_fetch", "after_persist", "after_writeback"])
def test_given_kill_9_mid_cycle_when_restarted_then_every_lead_ends_scored_and_assigned_exactly_once(
        world: DemoEnvironment, point: str) -> None:
    crashed = leadpilot("run", "--once", "-c", str(world.config_path), env={"LEADPILOT_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    world.feed(6, datetime.now(UTC))  # the CRM keeps moving while the daemon is down
    restarted = leadpilot("run", "--once", "--json", "-c", str(world.config_path))
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    reports = json.loads(restarted.stdout)
    assert {r["connector"] for r in reports} == {"salesforce", "hubspot"}
    assert_each_lead_written_once(world)
    assert scores(world) == 46  # no lead scored twice for the same inputs
    quiet = json.loads(leadpilot("run", "--once", "--json", "-c", str(world.config_path)).stdout)
    assert all(r["scored"] == 0 and r["written"] == 0 for r in quiet)


def wait_for(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_given_sigterm_when_running_then_it_finishes_the_batch_and_exits_0(world: DemoEnvironment) -> None:
    process = spawn("run", "-c", str(world.config_path))
    try:
        assert wait_for(lambda: scores(world) >= 40), "the daemon never scored the waiting leads"
        world.feed(10, datetime.now(UTC))
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=world.config.schedules.stop_timeout_seconds + 15)
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read() if process.stdout else ""
    assert code == 0, output
    # whatever batch was in hand was flushed: nothing scored is left unwritten
    assert all(lead.get("AI_Lead_Score__c") is not None
               for lead in salesforce_leads(world) if lead.get("AI_Input_Hash__c")) 


def test_given_an_invalid_config_when_sighup_then_it_keeps_running_on_the_old_one(world: DemoEnvironment) -> None:
    good = world.config_path.read_text()
    process = spawn("run", "-c", str(world.config_path))
    try:
        assert wait_for(lambda: scores(world) >= 40)
        world.config_path.write_text(good.replace("routing:", "routng:"))
        process.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert process.poll() is None, "an invalid config on reload must not stop the daemon"
        world.config_path.write_text(good)
        world.feed(4, datetime.now(UTC))
        assert wait_for(lambda: scores(world) >= 44), "the daemon stopped working after a refused reload"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read() if process.stdout else ""
    assert "reload refused, keeping the running configuration" in output
    assert "routng: unknown key" in output


def test_given_systemd_when_running_then_it_notifies_ready_watchdog_status_and_stopping(
        world: DemoEnvironment, tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(60)
    messages: list[str] = []
    process = spawn("run", "-c", str(world.config_path),
                    env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"})
    try:
        while not any("READY=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        while not any("WATCHDOG=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert wait_for(lambda: scores(world) >= 40)
        while not any(m.startswith("STATUS=") and "fetched" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        process.send_signal(signal.SIGTERM)
        while not any("STOPPING=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert process.wait(timeout=60) == 0
    finally:
        sock.close()
        if process.poll() is None:
            process.kill()
