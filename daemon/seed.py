"""Load a `leadpilot generate` folder (or any CSV export in canonical columns) into the store."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlmodel import Session

from config.canonical import CANONICAL_FIELDS
from config.errors import BadInputError
from connectors.mapping import map_record, parse_datetime
from daemon.store import Agent, Lead, Outcome, utcnow

# Columns of the generator's files that are ground truth, never CRM data.
_TRUTH_COLUMNS = frozenset({"segment", "true_probability"})
_IDENTITY = {name: name for name in CANONICAL_FIELDS}


@dataclass
class LoadReport:
    """What a load added; rows already in the store are counted as skipped, never duplicated."""

    leads_added: int = 0
    leads_skipped: int = 0
    leads_with_problems: int = 0
    agents_added: int = 0
    agents_updated: int = 0
    outcomes_added: int = 0
    outcomes_skipped: int = 0


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise BadInputError(f"{path} not found; pass a folder written by 'leadpilot generate'") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInputError(f"cannot read {path}: {exc}") from None


def _lead_rows(rows: list[dict[str, str]], connector: str, report: LoadReport) -> list[Lead]:
    leads: list[Lead] = []
    now = utcnow()
    for row in rows:
        fields, problems = map_record(row, _IDENTITY)
        crm_id = fields.get("crm_id") or fields.get("lead_id")
        if not crm_id:
            raise BadInputError(f"a row has neither crm_id nor lead_id: {sorted(row)[:5]}...")
        raw = {k: v for k, v in row.items() if k not in _TRUTH_COLUMNS and k is not None}
        leads.append(Lead.new(
            connector=connector, **{**fields, "crm_id": str(crm_id)}, raw=raw,
            validation_problems=[{"message": p} for p in problems], first_seen_at=now, last_seen_at=now,
        ))
    return leads


def _agent_rows(path: Path) -> list[Agent]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise BadInputError(f"{path} not found") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"{path}: malformed YAML: {exc}") from None
    agents: list[Agent] = []
    for entry in data.get("agents", []):
        licences = [
            {**lic, "expires": lic["expires"].isoformat() if isinstance(lic.get("expires"), date) else lic.get("expires")}
            for lic in entry.get("licenses") or []
        ]
        agents.append(Agent(
            agent_id=str(entry["agent_id"]), name=str(entry.get("name", entry["agent_id"])), email=entry.get("email"),
            active=bool(entry.get("active", True)), states=list(entry.get("states") or []), licenses=licences,
            specialties=list(entry.get("specialties") or []), optimal_capacity=int(entry.get("optimal_capacity", 0)),
            max_capacity=int(entry.get("max_capacity", 0)), timezone=str(entry.get("timezone", "UTC")),
            schedule=dict(entry.get("schedule") or {}),
        ))
    return agents


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def load_generated(session: Session, directory: Path, connector: str = "import") -> LoadReport:
    """Add the folder's leads, agents and settled outcomes to the store; safe to run twice."""
    report = LoadReport()
    directory = Path(directory)
    if not directory.is_dir():
        raise BadInputError(f"{directory} is not a folder; create one with 'leadpilot generate --out {directory}'")

    for agent in _agent_rows(directory / "agents.yaml"):
        existing = session.get(Agent, agent.agent_id)
        if existing is None:
            session.add(agent)
            report.agents_added += 1
        else:
            for field in ("name", "email", "active", "states", "licenses", "specialties", "optimal_capacity",
                          "max_capacity", "timezone", "schedule"):
                setattr(existing, field, getattr(agent, field))
            report.agents_updated += 1
    session.flush()

    known = {crm for (crm,) in session.execute(select(Lead.crm_id).where(Lead.connector == connector))}
    new_leads = []
    for lead in _lead_rows(_read_csv(directory / "leads.csv"), connector, report):
        if lead.crm_id in known:
            report.leads_skipped += 1
            continue
        known.add(lead.crm_id)
        new_leads.append(lead)
        report.leads_with_problems += bool(lead.validation_problems)
    session.add_all(new_leads)
    session.flush()
    report.leads_added = len(new_leads)

    outcome_path = directory / "outcomes.csv"
    if outcome_path.exists():
        pk_by_lead_id = dict(session.execute(
            select(Lead.lead_id, Lead.id).where(Lead.connector == connector, Lead.lead_id.is_not(None))
        ).all())
        has_outcome = {pk for (pk,) in session.execute(select(Outcome.lead_pk))}
        agent_ids = {a for (a,) in session.execute(select(Agent.agent_id))}
        for row in _read_csv(outcome_path):
            pk = pk_by_lead_id.get(row.get("lead_id"))
            if pk is None or row.get("status") == "open" or pk in has_outcome:
                report.outcomes_skipped += 1  # unknown lead, not yet settled, or already loaded
                continue
            converted = row.get("converted", "").strip().lower() == "true"
            when = parse_datetime(row["converted_at"]) if row.get("converted_at") else None
            session.add(Outcome(
                lead_pk=pk, agent_id=row.get("agent_id") if row.get("agent_id") in agent_ids else None,
                converted=converted, converted_at=when, conversion_value=_float(row.get("conversion_value")),
                source="import",
            ))
            has_outcome.add(pk)
            report.outcomes_added += 1
    return report

