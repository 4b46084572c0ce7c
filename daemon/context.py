"""Everything a cycle needs, built once from the configuration and rebuilt on reload."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from compliance.dnc import DncRegistry
from compliance.licensing import LicenceRegistry
from config.errors import LeadpilotError
from config.schema import LeadpilotConfig
from connectors.base import Connector
from connectors.registry import available_plugins
from daemon.store import (
    Agent, Assignment, Lead, Outcome, Score, ensure_schema, make_engine, session_scope, utcnow,
)
from daemon.store.models import ACTIVE_ASSIGNMENT_STATES
from routing.agents_file import AgentSpec, parse_agents
from routing.overflow import OpenLeadRows, OpenLeads
from routing.profiles import ProfileSet, build_profiles
from scoring.model import ScoringModel
from scoring.registry import ModelRegistry

log = logging.getLogger(__name__)

PROFILE_TTL_S = 300.0


class NoModelError(LeadpilotError):
    """No model is promoted yet, so leads cannot be scored."""

    def __init__(self, model_dir: str):
        super().__init__(f"no champion model in {model_dir}; train one first: "
                         "leadpilot train --data history.csv -c CONFIG (or run the demo)")


def crash_if(point: str) -> None:
    """Fault injection for crash tests: LEADPILOT_CRASH_AT=<point> kills the process there, like kill -9."""
    if os.environ.get("LEADPILOT_CRASH_AT") == point:
        os.kill(os.getpid(), 9)


def build_connectors(config: LeadpilotConfig) -> dict[str, Connector]:
    """One connector per enabled YAML entry, through its entry-point plugin."""
    plugins = available_plugins()
    connectors: dict[str, Connector] = {}
    for entry in config.connectors:
        if not entry.enabled:
            continue
        if entry.plugin not in plugins:
            raise LeadpilotError(f"connector {entry.name}: plugin {entry.plugin!r} is not installed "
                                 f"(installed: {', '.join(sorted(plugins)) or 'none'})")
        cls = plugins[entry.plugin].load()
        connectors[entry.name] = cls.from_config(entry)
    return connectors


def agent_specs(session: Session, config: LeadpilotConfig, connector: str | None = None) -> list[AgentSpec]:
    """Officers from the store in the agents-file shape routing validates; CRM user id for `connector`."""
    rows = session.execute(select(Agent).order_by(Agent.agent_id)).scalars().all()
    data = []
    for a in rows:
        data.append({
            "agent_id": a.agent_id, "name": a.name, "email": a.email, "active": a.active,
            "licenses": [{k: v for k, v in lic.items() if v is not None} for lic in a.licenses],
            "states": [] if a.licenses else list(a.states),
            "specialties": list(a.specialties),
            "optimal_capacity": min(a.optimal_capacity, a.max_capacity) if a.max_capacity else a.optimal_capacity,
            "max_capacity": a.max_capacity,
            "timezone": a.timezone, "schedule": dict(a.schedule),
            "crm_user_id": (a.crm_user_ids or {}).get(connector) if connector else None,
        })
    return parse_agents(data, config.routing, source="agents in the store")


def licence_registry(agents: list[AgentSpec]) -> LicenceRegistry:
    """The licence registry compliance and routing share, from the officers' licences."""
    rows = [{"agent_id": a.agent_id, "state": lic.state, "license_id": lic.license_id,
             "nmls_id": lic.nmls_id, "expires": lic.expires} for a in agents for lic in a.licences]
    return LicenceRegistry.from_records(rows, source="officers")


def history_frame(session: Session) -> pd.DataFrame:
    """Past assignments with outcomes, for officer profiles, with each lead's latest score: an officer's
    record is judged against the leads they were sent, not the team's average lead."""
    latest = (select(Score.lead_pk, func.max(Score.id).label("score_id")).group_by(Score.lead_pk)).subquery()
    rows = session.execute(
        select(Outcome.agent_id, Outcome.converted, Lead.loan_type, Lead.credit_score, Lead.loan_amount,
               Lead.first_time_buyer, Score.probability, Score.score)
        .join(Lead, Lead.id == Outcome.lead_pk)
        .outerjoin(latest, latest.c.lead_pk == Outcome.lead_pk)
        .outerjoin(Score, Score.id == latest.c.score_id)
        .where(Outcome.agent_id.is_not(None))
    ).all()
    return pd.DataFrame(rows, columns=["agent_id", "converted", "loan_type", "credit_score", "loan_amount",
                                       "first_time_buyer", "probability", "score"])


# built once: constructing the statement cost more than running it, once per decided batch
_OPEN_LEADS = (
    select(Assignment.lead_pk, Assignment.agent_id, Assignment.assigned_at, Score.score)
    .outerjoin(Outcome, Outcome.lead_pk == Assignment.lead_pk)
    .outerjoin(Score, Score.lead_pk == Assignment.lead_pk)
    .where(Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES), Outcome.id.is_(None))
    .order_by(Assignment.lead_pk, Score.scored_at)
)
# the same leads counted per officer (a lead has at most one active assignment: uq_assignments_active_lead)
_OPEN_LOADS = (
    select(Assignment.agent_id, func.count())
    .outerjoin(Outcome, Outcome.lead_pk == Assignment.lead_pk)
    .where(Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES), Outcome.id.is_(None))
    .group_by(Assignment.agent_id)
)


def read_open_leads(session: Session) -> OpenLeads:
    """Leads officers hold now (active assignment, no outcome yet): their load and the take-back pool.

    routing.overflow.OpenLeads (`.to_frame()` gives the DataFrame): the loads are counted in SQL now, the rows
    read in this session only if a priority lead must take one back; reading and framing every row cost
    more than routing the scoring API's one lead. Route with it before the session ends (the rows are read
    on its connection).
    """
    conn = session.connection()  # plain Core reads: the ORM's execute path cost more than these queries

    def rows() -> OpenLeadRows:
        found = conn.execute(_OPEN_LEADS).all()
        latest = {pk: (agent, at, score) for pk, agent, at, score in found}  # rows come oldest score first
        return OpenLeadRows(
            lead_id=[str(pk) for pk in latest], agent_id=[str(v[0]) for v in latest.values()],
            score=[np.nan if v[2] is None else float(v[2]) for v in latest.values()],
            contacted=[False] * len(latest), assigned_at=[v[1] for v in latest.values()])

    return OpenLeads({str(agent): int(n) for agent, n in conn.execute(_OPEN_LOADS).all()}, rows)


@dataclass(frozen=True)
class Officers:
    """The officers routing may use, with their performance profiles and the licence registry."""

    agents: list[AgentSpec]
    profiles: ProfileSet
    licences: LicenceRegistry


@dataclass
class AppContext:
    """Configuration, store, CRM connectors and the models: what every job works with."""

    config: LeadpilotConfig
    engine: Engine
    connectors: dict[str, Connector]
    registry: ModelRegistry
    clock: Callable[[], datetime] = utcnow
    metrics: Any = None  # daemon.metrics.Metrics when the runtime serves /metrics
    dnc: DncRegistry | None = None
    round_robin_next: int = 0  # the A/B control arm's round-robin position
    usage_seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # API calls/errors already counted
    _model: ScoringModel | None = None
    _officers: dict[str | None, tuple[float, "Officers"]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: LeadpilotConfig, *, clock: Callable[[], datetime] = utcnow,
              connectors: dict[str, Connector] | None = None, migrate: bool = True) -> "AppContext":
        """Open the store (migrating it), the connectors, the model registry and the DNC registry."""
        engine = make_engine(config)
        if migrate:
            ensure_schema(engine)
        ctx = cls(config=config, engine=engine,
                  connectors=build_connectors(config) if connectors is None else connectors,
                  registry=ModelRegistry(config.state_path(config.scoring.model_dir)), clock=clock)
        ctx.reload_dnc()
        return ctx

    def reload_dnc(self) -> None:
        """(Re)open the DNC registry if one was built; without one, calls stay blocked (DNC_REGISTRY_MISSING)."""
        registry_dir = Path(self.config.state_path(self.config.compliance.dnc.registry_dir))
        try:
            self.dnc = DncRegistry.open(registry_dir)
        except LeadpilotError as exc:
            log.warning("no usable DNC registry in %s (%s); calls are blocked until one is built", registry_dir, exc)
            self.dnc = None

    def model(self) -> ScoringModel:
        """The champion model, reloaded (sha256 verified) when the champion changes."""
        champion = self.registry.champion()
        if champion is None:
            raise NoModelError(str(self.registry.root))
        with self._lock:
            if self._model is None or self._model.version != champion:
                self._model = self.registry.load(champion)
                log.info("scoring with model %s", champion)
                if self.metrics is not None:
                    self.metrics.set_model(champion)
            return self._model

    def officers(self, session: Session, connector: str | None = None) -> Officers:
        """Officers, their profiles and licences; rebuilt at most every few minutes (history moves slowly),
        and at once after the agents or outcomes jobs ran (`forget_profiles`)."""
        now = time.monotonic()
        with self._lock:
            cached = self._officers.get(connector)
        if cached is not None and now - cached[0] < PROFILE_TTL_S:
            return cached[1]
        agents = agent_specs(session, self.config, connector)
        found = Officers(agents, build_profiles(history_frame(session), agents, self.config.routing),
                         licence_registry(agents))
        with self._lock:
            self._officers[connector] = (now, found)
        return found

    def forget_profiles(self) -> None:
        """Outcomes or officers changed: rebuild profiles on next use."""
        with self._lock:
            self._officers.clear()

    def session(self, readonly: bool = False) -> Any:
        return session_scope(self.engine, readonly=readonly)

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()
        self.engine.dispose()
