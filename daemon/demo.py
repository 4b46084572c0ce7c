"""The demo: sandbox CRMs, a seeded history, a first model, and the daemon on new arriving leads.

Used by `leadpilot demo` (the README's first command) and by the end-to-end tests, so the two
never drift apart. Everything lives under one folder (default `var/demo`), rebuilt on each run.
"""
from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import select

from compliance.dnc import refresh as refresh_dnc
from compliance.phones import normalise_phone
from config.loader import load_config
from config.schema import LeadpilotConfig
from daemon.seed import load_generated
from daemon.store import Lead, Outcome, Score, ensure_schema, make_engine, masked, session_scope
from daemon.synthetic import SyntheticData, generate
from scoring.lifecycle import TrainOutcome, train_and_register
from scoring.registry import ModelRegistry

log = logging.getLogger(__name__)

HISTORY_CONNECTOR = "history"
FAST_ALGORITHMS = {
    "xgboost": {"n_estimators": 60, "max_depth": 3, "learning_rate": 0.15},
    "random_forest": {"n_estimators": 40, "max_depth": 6, "min_samples_leaf": 20},
    "logistic_regression": {"C": 0.5, "max_iter": 300},
}


@dataclass
class DemoSizes:
    """How big the demo's world is; the tests use small ones."""

    history: int = 6000
    officers: int = 12
    initial_leads: int = 150
    poll_seconds: int = 5
    fast_model: bool = False
    seed: int = 7


@dataclass
class DemoEnvironment:
    """A prepared demo: its config file, running sandbox servers, and the pool of leads still to arrive."""

    root: Path
    config_path: Path
    config: LeadpilotConfig
    servers: list[Any]
    salesforce_store: Any
    hubspot_db: Path
    pool: pd.DataFrame
    training: TrainOutcome | None
    sandbox_urls: dict[str, str] = field(default_factory=dict)
    fed: int = 0

    def feed(self, n: int, now: datetime) -> int:
        """n new leads arrive now, alternating between the two CRMs; returns how many arrived."""
        from connectors.sandbox.hubspot_store import HubSpotStore, add_leads
        from connectors.sandbox.salesforce_seed import seed_leads

        batch = arrive(self.pool.iloc[self.fed:self.fed + n], now)
        if batch.empty:
            return 0
        self.fed += len(batch)
        to_sf, to_hs = batch.iloc[::2], batch.iloc[1::2]
        if len(to_sf):
            seed_leads(self.salesforce_store, to_sf)
        if len(to_hs):
            add_leads(HubSpotStore(self.hubspot_db), to_hs)
        return len(batch)

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def arrive(leads: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The leads as if created just now: consent given a few seconds before, where the form recorded one."""
    batch = leads.copy()
    stamps = [now - timedelta(milliseconds=10 * (len(batch) - i)) for i in range(len(batch))]
    batch["created_at"] = stamps
    batch["updated_at"] = stamps
    had_consent = batch["consent_timestamp"].notna()
    batch.loc[had_consent, "consent_timestamp"] = [s - timedelta(seconds=20) for s, h in zip(stamps, had_consent) if h]
    return batch


def _split(data: SyntheticData, now: datetime, initial: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History = leads old enough to have a settled outcome; the recent rest becomes tomorrow's arrivals."""
    created = pd.to_datetime(data.leads["created_at"], utc=True, errors="coerce")
    recent = created >= pd.Timestamp(now - timedelta(days=90))
    pool = data.leads.loc[recent].drop(columns=["converted", "converted_at", "conversion_value"]).copy()
    pool = pool.drop(columns=[c for c in ("segment", "true_probability", "race", "sex", "age") if c in pool.columns])
    pool = pool.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return data.leads.loc[~recent], pool


def _write_history(data: SyntheticData, history: pd.DataFrame, folder: Path) -> None:
    data.write(folder)
    history.to_csv(folder / "leads.csv", index=False)
    outcomes = data.outcomes[data.outcomes["lead_id"].isin(set(history["lead_id"]))]
    outcomes.to_csv(folder / "outcomes.csv", index=False)


def _dnc_files(pool: pd.DataFrame, history: pd.DataFrame, drop: Path, rng: np.random.Generator) -> int:
    """A federal full file per area code our leads use, listing about 4% of the arriving leads' phones."""
    drop.mkdir(parents=True, exist_ok=True)
    numbers: dict[int, list[int]] = {}
    for phone in pd.concat([pool["phone"], history["phone"]]).dropna():
        number = normalise_phone(phone).number
        if number is not None:
            numbers.setdefault(number // 10_000_000, [])
    listed = 0
    for phone in pool["phone"].dropna():
        number = normalise_phone(phone).number
        if number is not None and rng.random() < 0.04:
            numbers.setdefault(number // 10_000_000, []).append(number)
            listed += 1
    for area, listed_numbers in numbers.items():
        # plus some strangers, as a real area-code file holds mostly other people's numbers
        strangers = area * 10_000_000 + rng.integers(2_000_000, 9_999_999, size=50)
        rows = sorted(set(listed_numbers) | set(int(x) for x in strangers))
        (drop / f"dnc_{area:03d}_full.txt").write_text("".join(f"{n}\n" for n in rows))
    return listed


def training_frame(session: Any, connector: str | None = None) -> pd.DataFrame:
    """Labelled leads from the store (canonical columns + `converted` from their settled outcome)."""
    from config.canonical import CANONICAL_FIELDS

    query = select(Lead, Outcome.converted).join(Outcome, Outcome.lead_pk == Lead.id)
    if connector:
        query = query.where(Lead.connector == connector)
    rows = []
    for lead, converted in session.execute(query):
        row = {name: getattr(lead, name) for name in CANONICAL_FIELDS}
        row["converted"] = bool(converted)
        rows.append(row)
    return pd.DataFrame(rows)


def prepare(root: Path, sizes: DemoSizes, *, now: datetime | None = None, database_url: str | None = None,
            say: Callable[[str], None] = print) -> DemoEnvironment:
    """Build the demo world under `root` (wiped first) and start both sandbox CRMs."""
    from daemon.commands.sandbox import start_hubspot, start_salesforce

    now = now or datetime.now(UTC)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    state = root / "state"

    say(f"1/5 generating {sizes.history:,} past leads and {sizes.officers} loan officers")
    data = generate(n_leads=sizes.history, n_agents=sizes.officers, seed=sizes.seed, now=now)
    history, pool = _split(data, now, sizes.initial_leads)
    _write_history(data, history, root / "history")

    say("2/5 building the Do-Not-Call registry from federal area-code files")
    rng = np.random.default_rng(sizes.seed)
    listed = _dnc_files(pool, history, state / "dnc" / "drop", rng)
    dnc = refresh_dnc(state / "dnc" / "drop", state / "dnc" / "registry", now=now)
    dnc.raise_for_alerts()

    say("3/5 starting the sandbox CRMs (Salesforce over TLS, HubSpot) with the first new leads")
    agents = yaml.safe_load((root / "history" / "agents.yaml").read_text())["agents"]
    initial = arrive(pool.iloc[:sizes.initial_leads], now)
    sf_server, sf_settings, sf_store = start_salesforce(root / "sandbox", "127.0.0.1", 0,
                                                        (initial.iloc[::2], agents, None), {})
    hs = start_hubspot(root / "sandbox", "127.0.0.1", 0, (initial.iloc[1::2], agents, None), {})
    assert hs is not None, "the HubSpot sandbox is part of leadpilot"
    hs_server, hs_settings = hs

    config_path = root / "leadpilot.yaml"
    config_data: dict[str, Any] = {
        "state_dir": str(state),
        "connectors": [
            {"name": "salesforce", "plugin": "salesforce", "settings": sf_settings, "poll_batch_size": 2000},
            {"name": "hubspot", "plugin": "hubspot", "settings": hs_settings, "poll_batch_size": 2000},
        ],
        "routing": {"agents_file": str(root / "history" / "agents.yaml")},
        "schedules": {"poll": {"interval_seconds": sizes.poll_seconds},
                      "queue_drain": {"interval_seconds": max(10, sizes.poll_seconds * 2)},
                      "outcomes": {"interval_seconds": 60}},
        "observability": {"logging": {"level": "WARNING", "format": "text"},
                          "metrics": {"port": 0}},
    }
    if database_url:
        config_data["database"] = {"url": database_url}
    if sizes.fast_model:
        config_data["scoring"] = {"algorithms": FAST_ALGORITHMS, "cv_folds": 2}
    config_path.write_text("# written by `leadpilot demo`; the sandbox credentials are public test values\n"
                           + yaml.safe_dump(config_data, sort_keys=False))
    config = load_config(config_path)

    say(f"4/5 loading history into the store ({masked(database_url) if database_url else config.state_path(config.database.path)})")
    engine = make_engine(config)
    ensure_schema(engine)
    with session_scope(engine) as session:
        load_generated(session, root / "history", connector=HISTORY_CONNECTOR)
    with session_scope(engine, readonly=True) as session:
        frame = training_frame(session, HISTORY_CONNECTOR)
    engine.dispose()

    say(f"5/5 training the first model on {len(frame):,} settled leads (time-ordered validation)")
    registry = ModelRegistry(config.state_path(config.scoring.model_dir))
    outcome = train_and_register(frame, config.scoring, registry, now=now)
    metrics = outcome.result.metrics
    say(f"    model {outcome.entry.version}: AUC {metrics.auc:.3f}, ECE {metrics.ece:.3f} on the latest "
        f"{metrics.n:,} leads; gate {'passed' if outcome.gate.passed else 'FAILED'}"
        + ("" if outcome.promoted else f" ({'; '.join(outcome.gate.reasons)})"))
    if not outcome.promoted:
        registry.promote(outcome.entry.version, now=now, reason="demo: first model", force=True)
    backtested = backtest(config, outcome)
    say(f"    backtest: the model's scores of the {backtested:,} holdout leads are kept for the KPI report")
    say(f"    DNC registry lists {listed} of the arriving leads' phones")
    return DemoEnvironment(root, config_path, config, [sf_server, hs_server], sf_store, root / "sandbox" / "hubspot.db",
                           pool.iloc[sizes.initial_leads:].reset_index(drop=True), outcome,
                           {"salesforce": sf_server.url, "hubspot": hs_server.url})


def backtest(config: LeadpilotConfig, outcome: TrainOutcome) -> int:
    """Keep the new model's scores of its holdout leads (never trained on) as if given when they arrived,
    so the KPI report has settled, scored leads to show from the first day."""
    result = outcome.result
    if result.holdout is None or result.holdout_score is None or result.holdout_probability is None:
        return 0
    ids = result.holdout["lead_id"].astype(str).tolist()
    engine = make_engine(config)
    try:
        with session_scope(engine) as session:
            leads = {lead.lead_id: lead for lead in session.execute(
                select(Lead).where(Lead.connector == HISTORY_CONNECTOR, Lead.lead_id.in_(ids))).scalars()}
            kept = 0
            for lead_id, probability, score in zip(ids, result.holdout_probability, result.holdout_score, strict=True):
                lead = leads.get(lead_id)
                if lead is None or lead.created_at is None:
                    continue
                session.add(Score(lead_pk=lead.id, model_version=outcome.entry.version, probability=float(probability),
                                  score=int(score), confidence=1.0, reasons=[], input_hash="backtest",
                                  variant="backtest", scored_at=lead.created_at))
                kept += 1
    finally:
        engine.dispose()
    return kept


def write_kpi_report(config: LeadpilotConfig, path: Path, now: datetime) -> str:
    """The KPI report with its plots, as `leadpilot kpi --html` writes it; returns its headline."""
    from daemon.learning.jobs import kpi_job

    engine = make_engine(config)
    try:
        bundle = kpi_job(engine, config, now=now, registry=ModelRegistry(config.state_path(config.scoring.model_dir)))
    finally:
        engine.dispose()
    path.write_text(bundle.html(), encoding="utf-8")
    head = bundle.kpis.headline()
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in list(head.items())[:5])


def feeder(env: DemoEnvironment, stop: threading.Event, *, every_s: float, per_batch: int,
           clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> threading.Thread:
    """A thread that keeps new leads arriving until `stop` is set or the pool runs dry."""
    def run() -> None:
        while not stop.wait(every_s):
            if env.feed(per_batch, clock()) == 0:
                return

    thread = threading.Thread(target=run, name="demo-feeder", daemon=True)
    thread.start()
    return thread
