"""The README's first command: `leadpilot demo` runs the whole product and stops by itself, cleanly."""
from __future__ import annotations

from pathlib import Path

from daemon_env import leadpilot


def test_the_demo_runs_end_to_end_and_says_where_to_look(tmp_path: Path) -> None:
    done = leadpilot("demo", "--dir", str(tmp_path / "demo"), "--duration", "6", "--history", "1500",
                     "--officers", "6", "--initial", "20", "--every", "2", "--per-batch", "4", "--fast",
                     timeout=240)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for step in ("1/5", "2/5", "3/5", "4/5", "5/5", "daemon running", "== summary =="):
        assert step in out
    assert "scored " in out and "wrote " in out
    assert "Salesforce lead 00Q" in out and "HubSpot contact" in out  # read back with the real clients
    assert (tmp_path / "demo" / "kpi.html").read_text().count("data:image/png;base64") >= 2
    assert "Traceback" not in out + done.stderr
