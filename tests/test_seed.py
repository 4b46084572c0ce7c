"""The generator's output loads into the store, on every backend, and loading twice adds nothing."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from config.errors import BadInputError
from daemon.cli import main
from daemon.seed import load_generated
from daemon.store import Agent, Lead, Outcome, session_scope
from daemon.synthetic import generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(n_leads=300, n_agents=6, seed=3, now=NOW).write(out)
    return out


def count(engine: Engine, column: object) -> int:
    with session_scope(engine, readonly=True) as session:
        return int(session.execute(select(func.count(column))).scalar_one())


def test_generated_folder_loads_into_the_store(engine: Engine, generated: Path) -> None:
    with session_scope(engine) as session:
        report = load_generated(session, generated)
    assert report.leads_added == 300
    assert report.agents_added == 6
    assert count(engine, Lead.id) == 300
    assert count(engine, Agent.agent_id) == 6
    # only settled outcomes become labels; open leads are not failures
    assert 0 < report.outcomes_added < 300
    assert count(engine, Outcome.id) == report.outcomes_added
    with session_scope(engine, readonly=True) as session:
        leads = session.execute(select(Lead)).scalars().all()
        # messy CRM values were parsed into typed canonical fields, problems kept, nothing dropped
        assert all(lead.created_at is not None and lead.created_at.tzinfo is not None for lead in leads)
        assert any(lead.validation_problems for lead in leads)
        assert all(isinstance(lead.loan_amount, float) for lead in leads if lead.loan_amount is not None)
        # ground truth never enters the store as CRM data
        assert all("true_probability" not in (lead.raw or {}) for lead in leads)


def test_loading_twice_adds_nothing(engine: Engine, generated: Path) -> None:
    with session_scope(engine) as session:
        first = load_generated(session, generated)
    with session_scope(engine) as session:
        second = load_generated(session, generated)
    assert second.leads_added == 0 and second.leads_skipped == first.leads_added
    assert second.outcomes_added == 0 and second.agents_updated == 6
    assert count(engine, Lead.id) == 300


def test_missing_folder_is_bad_input(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session, pytest.raises(BadInputError, match="is not a folder"):
        load_generated(session, tmp_path / "absent")


def test_load_command(tmp_path: Path, generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "lp.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\n")
    assert main(["load", str(generated), "-c", str(config)]) == 0
    assert "loaded 300 leads" in capsys.readouterr().out
    assert (tmp_path / "state" / "leadpilot.db").exists()
    assert main(["load", str(tmp_path / "nothing"), "-c", str(config)]) == 2
    assert "is not a folder" in capsys.readouterr().err
