"""`leadpilot db upgrade|current` through the real CLI entry point."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from daemon.cli import main
from daemon.store import head_revision
from store_backends import POSTGRES, require_postgres, url_in_schema
from store_samples import shipped_revisions


def _config_file(tmp_path: Path, backend: str, schema: str | None, **database: object) -> Path:
    section = dict(database)
    if backend == POSTGRES:
        section["url"] = url_in_schema(require_postgres(), str(schema))
    path = tmp_path / "leadpilot.yaml"
    path.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state"), "database": section}), encoding="utf-8")
    return path


def test_db_upgrade_creates_the_store_and_a_second_run_does_nothing(
        backend: str, blank_schema: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(tmp_path, backend, blank_schema, path="sub/leadpilot.db")
    assert main(["db", "current", "-c", str(config), "--check"]) == 1  # nothing there yet
    capsys.readouterr()

    assert main(["db", "upgrade", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"applied {', '.join(shipped_revisions())}; now at {head_revision()}" in out
    if backend != POSTGRES:
        assert (tmp_path / "state" / "sub" / "leadpilot.db").is_file()

    assert main(["db", "upgrade", "-c", str(config), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["applied"] == [] and again["current"] == again["head"] == head_revision()


def test_db_current_reports_the_revision_as_json(
        backend: str, blank_schema: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(tmp_path, backend, blank_schema)
    assert main(["db", "current", "-c", str(config), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["current"] is None and before["up_to_date"] is False and before["pending"] == shipped_revisions()
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["db", "current", "-c", str(config), "--json", "--check"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after == {"database": after["database"], "current": head_revision(), "head": head_revision(),
                     "up_to_date": True, "pending": []}
    assert after["database"].startswith("sqlite:///" if backend != POSTGRES else "postgresql+psycopg://")


def test_unreachable_database_exits_1_with_a_helpful_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pg.yaml"
    config.write_text("database:\n  url: postgresql+psycopg://leadpilot:hunter2@127.0.0.1:1/leadpilot\n"
                      "  connect_timeout_s: 2\n", encoding="utf-8")
    assert main(["db", "upgrade", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the database postgresql+psycopg://leadpilot:***@127.0.0.1:1/leadpilot")
    assert "Check database.url" in err
    assert "hunter2" not in err and "Traceback" not in err


def test_a_bad_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("database:\n  busy_timeout: 5\n", encoding="utf-8")
    assert main(["db", "upgrade", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "database.busy_timeout: unknown key; did you mean 'busy_timeout_ms'?" in err


@pytest.mark.parametrize("action", ["upgrade", "current"])
def test_db_help_ends_with_an_example(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["db", action, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out.rstrip()
    assert out.splitlines()[-1].strip().startswith(f"leadpilot db {action} -c ")
    assert "--json" in out
