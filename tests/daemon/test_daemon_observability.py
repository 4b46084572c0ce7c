"""A running daemon's /healthz, /readyz and /metrics, and `leadpilot status`, over real HTTP."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daemon.cli import main
from daemon.commands.config_cmd import load_checked
from daemon.demo import DemoEnvironment
from daemon.runtime import Runtime
from daemon_env import small_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DemoEnvironment]:
    env = small_world(tmp_path)
    try:
        yield env
    finally:
        env.close()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
        if not labels and line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{{{wanted}}}")


def test_a_running_daemon_reports_health_readiness_and_metrics(world: DemoEnvironment,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    runtime = Runtime(config=world.config, load_config=lambda: load_checked(str(world.config_path)))
    started = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(runtime.run_forever(install_signals=False, started=started)))
    thread.start()
    try:
        assert started.wait(60)
        base = runtime.health_url
        assert base is not None and base.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = httpx.get(f"{base}/metrics", timeout=5).text
            if 'leadpilot_leads_scored_total{connector="hubspot"} 20.0' in text and \
                    'leadpilot_leads_scored_total{connector="salesforce"} 20.0' in text:
                break
            time.sleep(0.3)
        assert metric(text, "leadpilot_leads_fetched_total", connector="salesforce") >= 20
        assert metric(text, "leadpilot_crm_api_calls_total", connector="salesforce", crm="salesforce") > 0
        assert metric(text, "leadpilot_crm_api_calls_total", connector="hubspot", crm="hubspot") > 0
        assigned = metric(text, "leadpilot_leads_assigned_total", connector="salesforce")
        assert assigned > 0
        assert metric(text, "leadpilot_lead_to_assignment_seconds_count", connector="salesforce") == assigned
        assert metric(text, "leadpilot_outbox_pending", connector="salesforce") == 0
        assert 'leadpilot_model_info{challenger="",version="v0001"} 1.0' in text
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) >= {"database", "connector:salesforce", "connector:hubspot"}
    finally:
        runtime.controller.request_stop("test over")
        thread.join(60)
    assert codes == [0]
    assert main(["status", "-c", str(world.config_path)]) == 0
    out = capsys.readouterr().out
    assert "model: v0001" in out and "salesforce/leads: last success" in out and "write-backs waiting: 0" in out


def test_the_daemon_serves_the_scoring_api_when_enabled(world: DemoEnvironment) -> None:
    import yaml

    token = "test-token-0123456789abcdef"
    data = yaml.safe_load(world.config_path.read_text())
    data["api"] = {"enabled": True, "port": 0, "tokens": [token]}
    world.config_path.write_text(yaml.safe_dump(data))
    config = load_checked(str(world.config_path))
    runtime = Runtime(config=config, load_config=lambda: load_checked(str(world.config_path)))
    started = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(runtime.run_forever(install_signals=False, started=started)))
    thread.start()
    try:
        assert started.wait(60) and runtime.api_url
        lead = {"lead_id": "web-1", "loan_amount": 320000, "property_value": 400000, "annual_income": 120000,
                "credit_score": 760, "employment_status": "employed", "website_sessions": 4, "calculator_uses": 2,
                "email_opens": 3, "state": "TX", "loan_purpose": "purchase", "phone": "2145550123"}
        denied = httpx.post(f"{runtime.api_url}/api/v1/score", json=lead, timeout=30)
        assert denied.status_code == 401
        answer = httpx.post(f"{runtime.api_url}/api/v1/score", json=lead, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["lead_id"] == "web-1" and 0 <= body["score"] <= 100 and body["model_version"] == "v0001"
    finally:
        runtime.controller.request_stop("test over")
        thread.join(60)
    assert codes == [0]
