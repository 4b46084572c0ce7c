#!/usr/bin/env python3
"""Daemon speed benchmark on the demo world (both sandbox CRMs over real HTTP(S), a trained model, officers).

Three measurements, each in its own child process on its own freshly prepared world (so one phase's
memory never hides or inflates another's):
- latency: the daemon runs (APScheduler, default poll interval 30 s) while small batches of new leads
  arrive at random times; per lead, the time from its creation in the CRM to its score and its assignment
  being visible there, read back from the sandbox stores (Salesforce: Lead CreatedDate vs the Lead's
  write-back stamp and the Lead_Assignment__c record's CreatedDate; HubSpot: createdate vs the property
  history entry of `ai_lead_score` / `hubspot_owner_id`). Target: p95 <= poll interval + 5 s.
- throughput: `run --once` over 10,000 new leads per CRM (nothing else waiting) with poll_batch_size
  10,000, so its first cycle takes all of them: leads per second per CRM and the share of the cycle spent
  in each stage, then the whole run (the cycles after the first re-read our own write-backs); peak RSS.
  Side by side, the same arrivals at the demo's poll_batch_size (2,000 a cycle).
- soak: steady traffic (10 leads every 2 s, poll every 5 s) for 10 minutes; RSS sampled every 10 s;
  target: RSS at the end within 10% of the RSS after 1 minute. By default the daemon runs as its own
  process (`leadpilot run -c FILE`, what ops start) so its RSS excludes the sandbox CRMs; --soak-mode
  thread runs it in the bench process (run_forever in a thread) and samples this process's RSS instead.

    .venv/bin/python bench/daemon_bench.py                                   # everything, about 20 min
    .venv/bin/python bench/daemon_bench.py --phases throughput --leads-per-crm 2000 --compare-batch-size 0
    .venv/bin/python bench/daemon_bench.py --poll-seconds 5 --latency-minutes 1 --leads-per-crm 1000 \\
        --soak-minutes 2 --json                                              # a quick look, about 5 min
"""
from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.commands.config_cmd import load_checked  # noqa: E402
from daemon.demo import DemoEnvironment, DemoSizes, feeder, prepare  # noqa: E402
from daemon.pipeline import CycleReport  # noqa: E402
from daemon.runtime import Runtime  # noqa: E402

PHASES = ("latency", "throughput", "soak")
STAGES = ("fetch", "store", "compliance", "score", "route", "persist", "write_back")
CRMS = ("salesforce", "hubspot")
FEED_CHUNK = 100  # leads per `feed` call in the throughput phase (1 s of back-dating at most)
SAME_WRITE_S = 2.0  # an assignment visible within this of the score came in the same write-back
SCORE_PROPERTY, OWNER_PROPERTY = "ai_lead_score", "hubspot_owner_id"


class BenchError(RuntimeError):
    """The bench could not measure what it set out to (a phase failed, leads never showed up)."""


def say(text: str) -> None:
    """Progress on stderr, so --json keeps stdout to itself."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


# --- memory --------------------------------------------------------------------------------------
def status_kib(field_name: str, pid: int | str = "self") -> int:
    """A figure from /proc/<pid>/status in KiB (VmRSS: resident now; VmHWM: peak since start or reset)."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field_name}:\s+(\d+)\s+kB", text, re.MULTILINE)
    if found is None:
        raise BenchError(f"/proc/{pid}/status has no {field_name} line")
    return int(found.group(1))


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux clear_refs 5) so the next peak belongs to what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def mib(kib: float) -> float:
    return kib / 1024.0


# --- the world -----------------------------------------------------------------------------------
def build_world(root: Path, opts: argparse.Namespace, poll_seconds: int,
                initial_leads: int | None = None) -> DemoEnvironment:
    """A demo world under `root`: sandbox CRMs in this process, fast-trained model, officers, DNC."""
    initial = opts.initial_leads if initial_leads is None else initial_leads
    sizes = DemoSizes(history=opts.history, officers=opts.officers, initial_leads=initial,
                      poll_seconds=poll_seconds, fast_model=True, seed=opts.seed)
    started = time.perf_counter()
    env = prepare(root / "demo", sizes, say=lambda line: say("  " + line.strip()))
    say(f"  world ready in {time.perf_counter() - started:.0f}s; {len(env.pool):,} leads waiting to arrive")
    return env


def _retag_email(value: Any, copy: int) -> Any:
    if not isinstance(value, str) or value.count("@") != 1:
        return value  # junk stays junk, as the generator meant it
    local, domain = value.split("@")
    return f"{local}+r{copy}@{domain}"


def _fresh_phone(value: Any, rng: np.random.Generator) -> Any:
    """The same number format and area code with new last four digits (a different person)."""
    if not isinstance(value, str):
        return value
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(positions) < 10:
        return value
    chars = list(value)
    for i, digit in zip(positions[-4:], rng.integers(0, 10, size=4)):
        chars[i] = str(digit)
    return "".join(chars)


def extend_pool(env: DemoEnvironment, needed: int, seed: int) -> int:
    """Make sure `needed` more leads can arrive: append copies of the pool with fresh lead ids, emails and
    phones (the demo's pool is only the recent ~1/6 of its history). Returns how many rows were added."""
    template = env.pool.copy()
    rng = np.random.default_rng(seed)
    copies: list[pd.DataFrame] = []
    available = len(env.pool) - env.fed
    copy = 0
    while available < needed:
        copy += 1
        rows = template.copy()
        rows["lead_id"] = [f"{lead_id}-R{copy}" for lead_id in rows["lead_id"]]
        rows["email"] = [_retag_email(e, copy) for e in rows["email"]]
        rows["phone"] = [_fresh_phone(p, rng) for p in rows["phone"]]
        if "crm_id" in rows.columns:
            rows["crm_id"] = None
        copies.append(rows)
        available += len(rows)
    if copies:
        env.pool = pd.concat([env.pool, *copies], ignore_index=True)
    return sum(len(c) for c in copies)


def set_batch_size(env: DemoEnvironment, batch_size: int) -> None:
    """Rewrite the world's config with another poll_batch_size for both connectors."""
    data = yaml.safe_load(env.config_path.read_text())
    for connector in data["connectors"]:
        connector["poll_batch_size"] = batch_size
    env.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    env.config = load_checked(str(env.config_path))


def runtime_for(env: DemoEnvironment, on_cycle: Callable[[CycleReport], None] | None = None) -> Runtime:
    return Runtime(config=env.config, load_config=lambda: load_checked(str(env.config_path)), on_cycle=on_cycle)


class DaemonThread:
    """`Runtime.run_forever` in a thread of this process, stopped as SIGTERM would stop it."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.started = threading.Event()
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, name="bench-daemon", daemon=True)

    def _run(self) -> None:
        self.code = self.runtime.run_forever(install_signals=False, started=self.started)

    def start(self, timeout: float = 120.0) -> None:
        self.thread.start()
        if not self.started.wait(timeout):
            raise BenchError(f"the daemon did not start within {timeout:.0f}s")

    def stop(self, timeout: float = 120.0) -> int | None:
        self.runtime.controller.request_stop("bench finished")
        self.thread.join(timeout)
        return self.code


# --- CRM read-back -------------------------------------------------------------------------------
def sf_time(text: str | None) -> float | None:
    """Seconds since the epoch from a Salesforce timestamp ('2026-11-27T17:31:46.123+0000')."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass
class Visibility:
    """One new lead as the CRM shows it: created, score visible, assignment visible (epoch seconds)."""

    crm: str
    crm_id: str
    created: float
    scored: float | None
    assigned: float | None

    @property
    def score_latency(self) -> float | None:
        return None if self.scored is None else self.scored - self.created

    @property
    def full_latency(self) -> float | None:
        """Score AND assignment visible: only for leads an officer got."""
        if self.scored is None or self.assigned is None:
            return None
        return max(self.scored, self.assigned) - self.created

    @property
    def assigned_at_first_sight(self) -> bool:
        """The officer came with the score (same write-back), not later from the queue when one had room."""
        return self.scored is not None and self.assigned is not None and self.assigned - self.scored <= SAME_WRITE_S


class SalesforceWatch:
    """Records when each Salesforce lead's score first became visible: called after every poll cycle,
    it keeps the Lead's write-back stamp (SystemModstamp) the first time the score field is set, so a
    later write to the same lead (a takeback, a re-score) cannot move it."""

    def __init__(self, env: DemoEnvironment):
        self.store = env.salesforce_store
        self.first_scored: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, report: CycleReport) -> None:
        if report.connector != "salesforce":
            return
        with self.lock:
            for lead in self.store.records("Lead"):
                if lead["Id"] not in self.first_scored and lead.get("AI_Lead_Score__c") is not None:
                    stamp = sf_time(lead.get("SystemModstamp"))
                    if stamp is not None:
                        self.first_scored[lead["Id"]] = stamp

    def leads(self, known: set[str]) -> list[Visibility]:
        assigned: dict[str, float] = {}
        for record in self.store.records("Lead_Assignment__c"):
            lead_id, created = record.get("Lead__c"), sf_time(record.get("CreatedDate"))
            if lead_id and created is not None:
                assigned[lead_id] = min(created, assigned.get(lead_id, created))
        out = []
        for lead in self.store.records("Lead"):
            created = sf_time(lead.get("CreatedDate"))
            if created is None or lead["Id"] in known:
                continue
            out.append(Visibility("salesforce", lead["Id"], created, self.first_scored.get(lead["Id"]),
                                  assigned.get(lead["Id"])))
        return out


def hubspot_leads(env: DemoEnvironment, known: set[str]) -> list[Visibility]:
    """New HubSpot contacts with the time their score and owner first appeared (property history)."""
    from connectors.sandbox.hubspot_store import HubSpotStore

    store = HubSpotStore(env.hubspot_db)

    def first(contact_id: int, name: str) -> float | None:
        stamps = [ts for value, ts, _ in store.history("contacts", contact_id, name) if value]
        return min(stamps) / 1000.0 if stamps else None

    return [Visibility("hubspot", str(c.id), c.created_ms / 1000.0, first(c.id, SCORE_PROPERTY),
                       first(c.id, OWNER_PROPERTY))
            for c in store.scan("contacts") if str(c.id) not in known]


def known_ids(env: DemoEnvironment) -> dict[str, set[str]]:
    """The leads each CRM holds now; what appears later is an arrival (arrivals are back-dated by a few ms
    each, see daemon.demo.arrive, so creation times cannot tell them apart from the seeded leads)."""
    from connectors.sandbox.hubspot_store import HubSpotStore

    return {"salesforce": {lead["Id"] for lead in env.salesforce_store.records("Lead")},
            "hubspot": {str(c.id) for c in HubSpotStore(env.hubspot_db).scan("contacts")}}


@dataclass
class Arrivals:
    """What one CRM shows of the arrivals: how many, how many carry a score, how many the daemon wrote."""

    arrived: int
    scored: int
    written: int  # Salesforce: last written by the integration user; HubSpot: a score was ever written

    @property
    def cleared(self) -> int:
        """Written by the daemon, yet without a score now (a later write emptied it)."""
        return self.written - self.scored


def arrival_counts(env: DemoEnvironment, known: dict[str, set[str]]) -> dict[str, Arrivals]:
    """CRM -> what the sandbox stores show of the arrivals (leads absent from `known`)."""
    from connectors.sandbox.hubspot_store import HubSpotStore
    from connectors.sandbox.salesforce_seed import IDENTITY

    store = env.salesforce_store
    integration = next(u["Id"] for u in store.records("User") if u.get("Username") == IDENTITY.integration_username)
    sf = [lead for lead in store.records("Lead") if lead["Id"] not in known["salesforce"]]
    hubspot = HubSpotStore(env.hubspot_db)
    hs = [c for c in hubspot.scan("contacts") if str(c.id) not in known["hubspot"]]
    ever = hubspot.change_counts("contacts", SCORE_PROPERTY)
    return {"salesforce": Arrivals(len(sf), sum(lead.get("AI_Lead_Score__c") is not None for lead in sf),
                                   sum(lead.get("LastModifiedById") == integration for lead in sf)),
            "hubspot": Arrivals(len(hs), sum(bool(c.properties.get(SCORE_PROPERTY)) for c in hs),
                                sum(ever.get(c.id, 0) > 0 for c in hs))}


def all_written(counts: dict[str, Arrivals]) -> bool:
    return all(c.written == c.arrived for c in counts.values())


# --- results -------------------------------------------------------------------------------------
@dataclass
class LatencyCrm:
    crm: str
    fed: int
    scored: int
    assigned: int  # an officer at first sight (with the score)
    score_p50_s: float | None
    score_p95_s: float | None
    full_p50_s: float | None  # score and assignment visible, over the leads assigned at first sight
    full_p95_s: float | None
    full_max_s: float | None
    target_s: float
    met: bool | None
    from_queue: int  # queued at first, assigned later by the queue drain when an officer had room
    from_queue_p50_s: float | None


@dataclass
class LatencyResult:
    poll_seconds: int
    minutes: float
    batches: int
    crms: list[LatencyCrm]
    salesforce_scores_cleared: int  # Salesforce leads whose score was visible once and is empty at the end
    daemon_exit_code: int | None


@dataclass
class CycleFigures:
    """One poll cycle (or several added up): how many leads, how long, and where the time went."""

    cycles: int
    fetched: int
    unchanged: int
    processed: int
    written: int
    seconds: float
    stage_seconds: dict[str, float]

    @property
    def leads_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0

    def shares(self) -> dict[str, float]:
        """Each stage's share of the cycle time, plus `other` (the rest: bookkeeping between stages)."""
        stages = {name: self.stage_seconds.get(name, 0.0) for name in STAGES}
        stages["other"] = max(0.0, self.seconds - sum(stages.values()))
        return {name: seconds / self.seconds if self.seconds else 0.0 for name, seconds in stages.items()}

    @classmethod
    def of(cls, reports: Sequence[CycleReport]) -> CycleFigures:
        stages: dict[str, float] = {}
        for report in reports:
            for name, seconds in report.stage_seconds.items():
                stages[name] = stages.get(name, 0.0) + seconds
        return cls(len(reports), sum(r.fetched for r in reports), sum(r.unchanged for r in reports),
                   sum(r.processed for r in reports), sum(r.written for r in reports),
                   sum(r.seconds for r in reports), stages)


@dataclass
class ThroughputCrm:
    crm: str
    first: CycleFigures  # the first cycle: new leads only (all of them when poll_batch_size allows)
    whole: CycleFigures  # every cycle `run --once` ran until the CRM said nothing more was waiting
    per_cycle: list[CycleFigures]
    error: str | None


@dataclass
class ThroughputResult:
    batch_size: int
    leads_per_crm: int
    feed_seconds: float
    run_once_seconds: float
    crms: list[ThroughputCrm]
    rss_before_mib: float
    peak_rss_cycle_mib: float | None  # VmHWM reset just before the cycle; None where the kernel refuses
    peak_rss_process_mib: float  # ru_maxrss: whole child process, world preparation and training included
    in_crm: dict[str, dict[str, int]]


@dataclass
class SoakResult:
    mode: str
    minutes: float
    poll_seconds: int
    every_s: float
    per_batch: int
    samples: list[tuple[float, float]]  # (seconds since start, RSS MiB)
    rss_reference_mib: float
    reference_at_s: float
    rss_end_mib: float
    change_pct: float
    slope_mib_per_min: float  # least squares over the samples after the reference point
    within_10pct: bool
    fed: int
    in_crm: dict[str, dict[str, int]]
    daemon_exit_code: int | None
    polls: list[PollMinute]


@dataclass
class PollMinute:
    """The daemon's poll jobs of one connector in one minute of the soak, from its own job_runs table."""

    minute: int
    connector: str
    polls: int
    fetched: float  # means per poll
    unchanged: float
    scored: float
    seconds: float


def poll_minutes(env: DemoEnvironment) -> list[PollMinute]:
    """Per minute and connector: how big and how long the daemon's polls were (read from job_runs)."""
    from sqlalchemy import select

    from daemon.store import JobRun, make_engine, session_scope

    engine = make_engine(env.config)
    try:
        with session_scope(engine, readonly=True) as session:
            rows = session.execute(select(JobRun.job, JobRun.started_at, JobRun.message)
                                   .where(JobRun.job.like("poll:%")).order_by(JobRun.started_at)).all()
    finally:
        engine.dispose()
    if not rows:
        return []
    first = rows[0][1]
    groups: dict[tuple[int, str], list[tuple[int, int, int, float]]] = {}
    for job, started, message in rows:
        text = message or ""
        figures = [re.search(pattern, text) for pattern in
                   (r"(\d+) fetched", r"(\d+) unchanged", r"(\d+) scored", r" in ([\d.]+)s")]
        values = [float(m.group(1)) if m else 0.0 for m in figures]
        minute = int((started - first).total_seconds() // 60)
        groups.setdefault((minute, job.split(":", 1)[1]), []).append(
            (int(values[0]), int(values[1]), int(values[2]), values[3]))
    return [PollMinute(minute, connector, len(v), float(np.mean([x[0] for x in v])),
                       float(np.mean([x[1] for x in v])), float(np.mean([x[2] for x in v])),
                       float(np.mean([x[3] for x in v])))
            for (minute, connector), v in sorted(groups.items())]


def pct(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


# --- phase 1: latency ----------------------------------------------------------------------------
def phase_latency(opts: argparse.Namespace, root: Path) -> LatencyResult:
    poll = opts.poll_seconds
    env = build_world(root, opts, poll)
    try:
        watch = SalesforceWatch(env)
        first_cycles: set[str] = set()

        def on_cycle(report: CycleReport) -> None:
            first_cycles.add(report.connector)
            watch(report)

        daemon = DaemonThread(runtime_for(env, on_cycle))
        daemon.start()
        deadline = time.monotonic() + 300
        while first_cycles != set(CRMS) and time.monotonic() < deadline:
            time.sleep(0.2)  # the start-up cycle takes the demo's initial leads; new arrivals come after it
        rng = np.random.default_rng(opts.seed)
        duration = opts.latency_minutes * 60.0
        offsets = np.sort(rng.uniform(0.0, duration, size=opts.latency_batches))
        sizes = 2 * rng.integers(1, opts.max_batch_per_crm + 1, size=opts.latency_batches)  # even: both CRMs alike
        known = known_ids(env)
        say(f"latency: {int(sizes.sum())} leads in {opts.latency_batches} batches over {opts.latency_minutes:g} min, "
            f"poll every {poll}s")
        t0 = time.monotonic()
        fed = 0
        for offset, size in zip(offsets, sizes):
            time.sleep(max(0.0, t0 + offset - time.monotonic()))
            fed += env.feed(int(size), datetime.now(UTC))
        # wait for the last arrivals to be scored: at most two more poll intervals and the cycle itself
        wait_until = time.monotonic() + 2 * poll + 60
        while time.monotonic() < wait_until:
            counts = arrival_counts(env, known)
            if sum(c.arrived for c in counts.values()) >= fed and all_written(counts):
                break
            time.sleep(1.0)
        time.sleep(1.0)
        code = daemon.stop()
        watch(CycleReport("salesforce"))  # a last look, in case the final cycle's callback raced the stop
        leads = watch.leads(known["salesforce"]) + hubspot_leads(env, known["hubspot"])
        cleared = sum(1 for lead in env.salesforce_store.records("Lead")
                      if lead["Id"] in watch.first_scored and lead.get("AI_Lead_Score__c") is None)
        crms = []
        for crm in CRMS:
            mine = [v for v in leads if v.crm == crm]
            score = [v.score_latency for v in mine if v.score_latency is not None]
            full = [v.full_latency for v in mine if v.full_latency is not None and v.assigned_at_first_sight]
            later = [v.full_latency for v in mine if v.full_latency is not None and not v.assigned_at_first_sight]
            p95 = pct(full, 95)
            crms.append(LatencyCrm(crm, len(mine), len(score), len(full), pct(score, 50), pct(score, 95),
                                   pct(full, 50), p95, max(full) if full else None, poll + 5.0,
                                   None if p95 is None else p95 <= poll + 5.0, len(later), pct(later, 50)))
        return LatencyResult(poll, opts.latency_minutes, opts.latency_batches, crms, cleared, code)
    finally:
        env.close()


# --- phase 2: throughput -------------------------------------------------------------------------
class CycleRecorder:
    """Keeps the report of every single poll cycle `jobs.poll` runs (it only hands back their sum)."""

    def __init__(self) -> None:
        import daemon.jobs as jobs_module

        self.module = jobs_module
        self.original = jobs_module.poll_cycle
        self.reports: list[CycleReport] = []

    def __enter__(self) -> CycleRecorder:
        def recorded(ctx: Any, connector: Any) -> CycleReport:
            report = self.original(ctx, connector)
            self.reports.append(report)
            return report

        self.module.poll_cycle = recorded
        return self

    def __exit__(self, *exc: object) -> None:
        self.module.poll_cycle = self.original


def phase_throughput(opts: argparse.Namespace, root: Path, batch_size: int) -> ThroughputResult:
    # no initial leads: the measured cycle must see only the new arrivals (a warm-up cycle would not do,
    # its write-backs come back inside the Salesforce connector's 5-minute overlap and take batch places)
    env = build_world(root, opts, 30, initial_leads=0)
    try:
        per_crm = opts.leads_per_crm
        added = extend_pool(env, 2 * per_crm, opts.seed)
        if added:
            say(f"  the pool was short: {added:,} copies of pool rows added with fresh lead ids, emails, phones")
        set_batch_size(env, batch_size)
        known = known_ids(env)
        started = time.perf_counter()
        # small chunks: daemon.demo.arrive back-dates a chunk's leads 10 ms apart; keep that realistic
        for start in range(0, 2 * per_crm, FEED_CHUNK):
            env.feed(min(FEED_CHUNK, 2 * per_crm - start), datetime.now(UTC))
        feed_seconds = time.perf_counter() - started
        say(f"  {2 * per_crm:,} new leads in the CRMs in {feed_seconds:.0f}s; `run --once` with poll_batch_size "
            f"{batch_size:,}")
        gc.collect()
        rss_before = status_kib("VmRSS")
        reset = reset_peak_rss()
        runtime = runtime_for(env)
        started = time.perf_counter()
        with CycleRecorder() as recorder:
            reports = runtime.run_once()
        run_once_seconds = time.perf_counter() - started
        peak_cycle = status_kib("VmHWM") if reset else None
        peak_process = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        crms = []
        for report in reports:
            mine = [r for r in recorder.reports if r.connector == report.connector]
            crms.append(ThroughputCrm(report.connector, CycleFigures.of(mine[:1]), CycleFigures.of(mine),
                                      [CycleFigures.of([r]) for r in mine], report.error))
        counts = arrival_counts(env, known)
        return ThroughputResult(batch_size, per_crm, feed_seconds, run_once_seconds, crms, mib(rss_before),
                                None if peak_cycle is None else mib(peak_cycle), mib(peak_process),
                                {k: asdict(v) for k, v in counts.items()})
    finally:
        env.close()


# --- phase 3: soak -------------------------------------------------------------------------------
class DaemonProcess:
    """`leadpilot run -c FILE` as its own process, stopped with SIGTERM like systemd does."""

    def __init__(self, config_path: Path, log_path: Path):
        self.log = log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "-c", str(config_path)],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def rss_kib(self) -> int:
        if self.proc.poll() is not None:
            raise BenchError(f"the daemon process exited early with code {self.proc.returncode}")
        return status_kib("VmRSS", self.proc.pid)

    def stop(self, timeout: float = 120.0) -> int | None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self.log.close()
        return code


def phase_soak(opts: argparse.Namespace, root: Path) -> SoakResult:
    poll = opts.soak_poll_seconds
    env = build_world(root, opts, poll)
    try:
        duration = opts.soak_minutes * 60.0
        needed = int(duration / opts.soak_every * opts.soak_per_batch) + 10 * opts.soak_per_batch
        added = extend_pool(env, needed, opts.seed)
        if added:
            say(f"  the pool was short: {added:,} copies of pool rows added with fresh lead ids, emails, phones")
        say(f"soak ({opts.soak_mode}): {opts.soak_per_batch} leads every {opts.soak_every:g}s, poll every {poll}s, "
            f"{opts.soak_minutes:g} min, RSS every {opts.soak_sample_seconds:g}s")
        if opts.soak_mode == "process":
            daemon_proc: DaemonProcess | None = DaemonProcess(env.config_path, root / "daemon.log")
            daemon_thread: DaemonThread | None = None
            sample: Callable[[], int] = daemon_proc.rss_kib
        else:
            daemon_proc = None
            daemon_thread = DaemonThread(runtime_for(env))
            daemon_thread.start()
            sample = lambda: status_kib("VmRSS")  # noqa: E731
        known = known_ids(env)
        stop = threading.Event()
        feeding = feeder(env, stop, every_s=opts.soak_every, per_batch=opts.soak_per_batch)
        t0 = time.monotonic()
        samples: list[tuple[float, float]] = []
        next_at = 0.0
        while True:
            time.sleep(max(0.0, t0 + next_at - time.monotonic()))
            samples.append((round(time.monotonic() - t0, 1), mib(sample())))
            if next_at >= duration:
                break
            if len(samples) % 6 == 0:
                say(f"  {samples[-1][0]:.0f}s: RSS {samples[-1][1]:.1f} MiB, {env.fed:,} leads arrived")
            next_at += opts.soak_sample_seconds
        stop.set()
        feeding.join(opts.soak_every + 30)
        wait_until = time.monotonic() + 3 * poll + 60
        while time.monotonic() < wait_until:  # did the daemon keep up? every arrival should get its score
            if all_written(arrival_counts(env, known)):
                break
            time.sleep(1.0)
        counts = arrival_counts(env, known)
        code = daemon_proc.stop() if daemon_proc is not None else (daemon_thread.stop() if daemon_thread else None)
        ref_at = min(opts.soak_reference_seconds, duration)
        reference = min(samples, key=lambda s: abs(s[0] - ref_at))
        end = samples[-1]
        change = 100.0 * (end[1] - reference[1]) / reference[1]
        tail = [s for s in samples if s[0] >= reference[0]]
        slope = float(np.polyfit([s[0] / 60 for s in tail], [s[1] for s in tail], 1)[0]) if len(tail) >= 2 else 0.0
        return SoakResult(opts.soak_mode, opts.soak_minutes, poll, opts.soak_every, opts.soak_per_batch, samples,
                          reference[1], reference[0], end[1], change, slope, abs(change) <= 10.0, env.fed,
                          {k: asdict(v) for k, v in counts.items()}, code, poll_minutes(env))
    finally:
        env.close()


# --- the parent: run each phase in a child, print the report ------------------------------------
def run_child(phase: str, argv: list[str], workdir: Path, extra: list[str] | None = None) -> dict[str, Any]:
    """This script again with --phase, in a fresh process; returns its result as a dict."""
    out = workdir / f"{phase}-{len(list(workdir.iterdir()))}.json"
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--phase", phase, "--result-file", str(out),
               *(extra or [])]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=sys.stderr, stderr=sys.stderr)
    if done.returncode != 0 or not out.exists():
        raise BenchError(f"phase {phase} failed (exit code {done.returncode}); its output is above")
    result = json.loads(out.read_text())
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def _fmt(value: float | None, unit: str = "s", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def arrivals_text(in_crm: dict[str, dict[str, int]]) -> str:
    """'salesforce 998/1,000 written back, 995 with a score (3 emptied by a later write)'."""
    parts = []
    for crm, c in in_crm.items():
        text = f"{crm} {c['written']:,}/{c['arrived']:,} written back, {c['scored']:,} with a score"
        if c["written"] > c["scored"]:
            text += f" ({c['written'] - c['scored']} emptied by a later write)"
        parts.append(text)
    return "; ".join(parts)


def report_text(results: dict[str, Any]) -> str:
    lines: list[str] = []
    if "latency" in results:
        r = results["latency"]
        lines.append(f"LATENCY  lead created in the CRM -> score and assignment visible there "
                     f"(poll every {r['poll_seconds']}s, {r['batches']} random batches over {r['minutes']:g} min)")
        lines.append(f"  {'crm':<11}{'fed':>5}{'scored':>8}{'assigned':>10}{'score p50':>11}{'score p95':>11}"
                     f"{'full p50':>10}{'full p95':>10}{'full max':>10}  target p95 <= poll+5s")
        for c in r["crms"]:
            verdict = "-" if c["met"] is None else ("MET" if c["met"] else "MISSED")
            lines.append(f"  {c['crm']:<11}{c['fed']:>5}{c['scored']:>8}{c['assigned']:>10}"
                         f"{_fmt(c['score_p50_s']):>11}{_fmt(c['score_p95_s']):>11}{_fmt(c['full_p50_s']):>10}"
                         f"{_fmt(c['full_p95_s']):>10}{_fmt(c['full_max_s']):>10}  <= {c['target_s']:.0f}s {verdict}")
        lines.append("  (full = score AND assignment visible, over the leads an officer got with their score; "
                     "the rest were queued or blocked)")
        for c in r["crms"]:
            if c["from_queue"]:
                lines.append(f"  {c['crm']}: {c['from_queue']} queued lead(s) got an officer later from the queue, "
                             f"median {_fmt(c['from_queue_p50_s'])} after creation (capacity, not polling)")
        if r["salesforce_scores_cleared"]:
            lines.append(f"  NOTE: {r['salesforce_scores_cleared']} Salesforce lead(s) had a visible score that was "
                         "empty at the end (a later write cleared it)")
        lines.append(f"  daemon stop exit code {r['daemon_exit_code']}; phase wall {r['wall_seconds']:.0f}s")
        lines.append("")
    for key in sorted(k for k in results if k.startswith("throughput")):
        r = results[key]
        lines.append(f"THROUGHPUT  `run --once` over {r['leads_per_crm']:,} new leads per CRM, "
                     f"poll_batch_size {r['batch_size']:,}")
        header = "".join(f"{s:>11}" for s in (*STAGES, "other"))
        lines.append(f"  {'crm':<11}{'cycles':<13}{'fetched':>8}{'scored':>8}{'seconds':>9}{'leads/s':>9}"
                     f"  share of time:{header}")
        for c in r["crms"]:
            for label, f in (("first cycle", c["first"]), ("whole run", c["whole"])):
                figures = CycleFigures(**f)
                shares = "".join(f"{100 * v:>10.1f}%" for v in figures.shares().values())
                name = f"whole run x{figures.cycles}" if label == "whole run" else label
                lines.append(f"  {c['crm']:<11}{name:<13}{figures.fetched:>8}{figures.processed:>8}"
                             f"{figures.seconds:>9.1f}{figures.leads_per_second:>9.0f}  {'':>14}{shares}")
            later = [CycleFigures(**f) for f in c["per_cycle"] if f["processed"] == 0 and f["fetched"]]
            if later:
                lines.append(f"  {'':<11}{len(later)} cycle(s) re-read {sum(f.fetched for f in later):,} leads "
                             f"({sum(f.unchanged for f in later):,} recognised as our own write-backs) in "
                             f"{sum(f.seconds for f in later):.1f}s")
            if c["error"]:
                lines.append(f"  {'':<11}error: {c['error']}")
        lines.append(f"  run --once wall {r['run_once_seconds']:.1f}s (officer sync included); arrivals took "
                     f"{r['feed_seconds']:.0f}s to seed")
        lines.append(f"  RSS before the cycle {r['rss_before_mib']:.0f} MiB; peak during run --once "
                     f"{_fmt(r['peak_rss_cycle_mib'], ' MiB', 0)}; peak of the whole process (ru_maxrss, world "
                     f"preparation and training included) {r['peak_rss_process_mib']:.0f} MiB")
        lines.append(f"  in the CRM afterwards: {arrivals_text(r['in_crm'])}")
        lines.append("")
    if "soak" in results:
        r = results["soak"]
        where = ("the daemon process (leadpilot run)" if r["mode"] == "process"
                 else "the bench process (daemon thread and sandboxes)")
        lines.append(f"SOAK  {r['per_batch']} leads every {r['every_s']:g}s, poll every {r['poll_seconds']}s, "
                     f"{r['minutes']:g} min; RSS of {where}")
        lines.append(f"  RSS at {r['reference_at_s']:.0f}s {r['rss_reference_mib']:.1f} MiB; at the end "
                     f"{r['rss_end_mib']:.1f} MiB ({r['change_pct']:+.1f}%); slope after the reference "
                     f"{r['slope_mib_per_min']:+.2f} MiB/min; target within 10%: "
                     f"{'MET' if r['within_10pct'] else 'MISSED'}")
        rss = [s[1] for s in r["samples"]]
        lines.append(f"  samples {len(rss)}: min {min(rss):.1f}, max {max(rss):.1f} MiB")
        minute = [min(r["samples"], key=lambda s, m=m: abs(s[0] - 60 * m))
                  for m in range(0, int(r["samples"][-1][0] // 60) + 1)]
        minute = [f"{t / 60:.0f}m {v:.0f}" for t, v in dict.fromkeys(map(tuple, minute))]
        lines.append("  per minute (MiB): " + ", ".join(minute))
        for crm in CRMS:
            mine = [m for m in r.get("polls", []) if m["connector"] == crm]
            if mine:
                lines.append(f"  {crm} polls per minute (fetched/unchanged/scored, seconds; means per poll): "
                             + ", ".join(f"{m['minute']}m {m['fetched']:.0f}/{m['unchanged']:.0f}/"
                                         f"{m['scored']:.0f} {m['seconds']:.1f}s" for m in mine))
        lines.append(f"  {r['fed']:,} leads arrived; in the CRM: {arrivals_text(r['in_crm'])}; daemon exit code "
                     f"{r['daemon_exit_code']}; phase wall {r['wall_seconds']:.0f}s")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  .venv/bin/python bench/daemon_bench.py --phases soak --soak-minutes 20\n"
               "  .venv/bin/python bench/daemon_bench.py --poll-seconds 5 --latency-minutes 1 "
               "--leads-per-crm 1000 --soak-minutes 2 --json")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma list of latency, throughput, soak")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the text report")
    parser.add_argument("--keep", action="store_true", help="keep the temporary worlds (their paths are printed)")
    world = parser.add_argument_group("the demo world (per phase)")
    world.add_argument("--history", type=int, default=6000, help="past leads generated (the pool of arrivals is ~1/6)")
    world.add_argument("--officers", type=int, default=12)
    world.add_argument("--initial-leads", type=int, default=150)
    world.add_argument("--seed", type=int, default=7)
    lat = parser.add_argument_group("latency")
    lat.add_argument("--poll-seconds", type=int, default=30, help="poll interval (the product default is 30)")
    lat.add_argument("--latency-minutes", type=float, default=5.0, help="how long new leads keep arriving")
    lat.add_argument("--latency-batches", type=int, default=30, help="batches, at uniformly random times")
    lat.add_argument("--max-batch-per-crm", type=int, default=3, help="each batch brings 1..N leads to each CRM")
    thr = parser.add_argument_group("throughput")
    thr.add_argument("--leads-per-crm", type=int, default=10_000)
    thr.add_argument("--batch-size", type=int, default=10_000, help="poll_batch_size of the measured cycle")
    thr.add_argument("--compare-batch-size", type=int, default=2000,
                     help="also measure the same arrivals at this poll_batch_size (the demo's); 0: skip")
    soak = parser.add_argument_group("soak")
    soak.add_argument("--soak-minutes", type=float, default=10.0)
    soak.add_argument("--soak-poll-seconds", type=int, default=5)
    soak.add_argument("--soak-every", type=float, default=2.0, help="seconds between arrival batches")
    soak.add_argument("--soak-per-batch", type=int, default=10, help="leads per arrival batch")
    soak.add_argument("--soak-sample-seconds", type=float, default=10.0)
    soak.add_argument("--soak-reference-seconds", type=float, default=60.0, help="the RSS the end is compared with")
    soak.add_argument("--soak-mode", choices=("process", "thread"), default="process",
                      help="process: the daemon as `leadpilot run` (its own RSS); thread: in the bench process")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    parser.add_argument("--phase-batch-size", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    phases = [p.strip() for p in opts.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"--phases: unknown {', '.join(unknown)} (choose from {', '.join(PHASES)})")
    if opts.soak_minutes * 60 < opts.soak_reference_seconds:
        parser.error("--soak-minutes must be longer than --soak-reference-seconds")
    if not 1 <= opts.batch_size <= 10_000 or not 0 <= opts.compare_batch_size <= 10_000:
        parser.error("--batch-size and --compare-batch-size: 1..10000 (the config's poll_batch_size range)")
    opts.phase_list = phases
    return opts


def child_main(opts: argparse.Namespace) -> int:
    if opts.keep:
        root = Path(tempfile.mkdtemp(prefix=f"daemon-bench-{opts.phase}-"))
        say(f"  this phase's world is kept at {root}")
        result = run_phase(opts, root)
    else:
        with tempfile.TemporaryDirectory(prefix=f"daemon-bench-{opts.phase}-") as tmp:
            result = run_phase(opts, Path(tmp))
    Path(opts.result_file).write_text(json.dumps(asdict(result)))
    return 0


def run_phase(opts: argparse.Namespace, root: Path) -> LatencyResult | ThroughputResult | SoakResult:
    if opts.phase == "latency":
        return phase_latency(opts, root)
    if opts.phase == "throughput":
        return phase_throughput(opts, root, opts.phase_batch_size or opts.batch_size)
    return phase_soak(opts, root)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = parse_args(argv)
    if opts.phase:
        return child_main(opts)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="daemon-bench-") as tmp:
        workdir = Path(tmp)
        for phase in opts.phase_list:
            if phase == "throughput":
                sizes = [opts.batch_size] + ([opts.compare_batch_size]
                                             if opts.compare_batch_size and opts.compare_batch_size != opts.batch_size
                                             else [])
                for i, size in enumerate(sizes):
                    say(f"=== throughput at poll_batch_size {size:,} ===")
                    key = "throughput" if i == 0 else f"throughput_batch_{size}"
                    results[key] = run_child(phase, argv, workdir, ["--phase-batch-size", str(size)])
            else:
                say(f"=== {phase} ===")
                results[phase] = run_child(phase, argv, workdir)
    if opts.json:
        print(json.dumps(results, indent=2))
    else:
        print(report_text(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
