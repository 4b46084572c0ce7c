"""A small demo world for the daemon's end-to-end tests: both sandbox CRMs, a trained model, officers.

Built with the same `daemon.demo.prepare` the README's demo uses, at a size that keeps a test quick.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from daemon.demo import DemoEnvironment, DemoSizes, prepare

SMALL = DemoSizes(history=1500, officers=6, initial_leads=40, poll_seconds=1, fast_model=True, seed=11)
ROOT = Path(__file__).resolve().parents[2]


def small_world(tmp: Path) -> DemoEnvironment:
    """A prepared demo world under `tmp`, sandbox servers running in this process."""
    return prepare(tmp / "demo", SMALL, say=lambda _: None)


def leadpilot(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process, as ops would."""
    return subprocess.run([sys.executable, "-m", "daemon.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the CLI in a child process and return at once."""
    return subprocess.Popen([sys.executable, "-m", "daemon.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})


def salesforce_leads(world: DemoEnvironment) -> list[dict[str, Any]]:
    return world.salesforce_store.records("Lead")


def salesforce_assignments_per_lead(world: DemoEnvironment) -> Counter[str]:
    """Assignment records in the Salesforce sandbox, counted by lead."""
    return Counter(str(r.get("Lead__c")) for r in world.salesforce_store.records("Lead_Assignment__c"))


def hubspot_store(world: DemoEnvironment) -> Any:
    from connectors.sandbox.hubspot_store import HubSpotStore

    return HubSpotStore(world.hubspot_db)


def crm_scores(world: DemoEnvironment) -> int:
    """Scores given to CRM leads (the demo's backtest scores of its history leads left out)."""
    from sqlalchemy import func, select

    from daemon.demo import HISTORY_CONNECTOR
    from daemon.store import Lead, Score, make_engine, session_scope

    engine = make_engine(world.config)
    try:
        with session_scope(engine, readonly=True) as session:
            return int(session.execute(select(func.count(Score.id)).join(Lead, Lead.id == Score.lead_pk)
                                       .where(Lead.connector != HISTORY_CONNECTOR)).scalar_one())
    finally:
        engine.dispose()
