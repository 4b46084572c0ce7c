"""The long-running service: APScheduler jobs, the main loop, signals, systemd notify, health.

The main thread only watches: it beats the heartbeat, pings the systemd watchdog, reloads on
SIGHUP and stops on SIGTERM/SIGINT. The jobs run in the scheduler's worker threads, each under
a database lease; a job never overlaps itself (max_instances=1, coalesce) and a failing job is
recorded and tried again at its next time without stopping the others.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.errors import ConfigError, LeadpilotError
from config.schema import LeadpilotConfig
from config.sections.schedules import Schedule
from daemon import __version__, jobs
from daemon.context import AppContext
from daemon.health import HealthServer, Heartbeat, store_readiness
from daemon.leases import LeaseManager
from daemon.logging_setup import configure_logging
from daemon.metrics import Metrics
from daemon.notify import Notifier
from daemon.pipeline import CycleReport
from daemon.sentry_setup import init_sentry
from daemon.signals import ShutdownController
from daemon.store import utcnow

log = logging.getLogger(__name__)


def trigger_for(schedule: Schedule) -> IntervalTrigger | CronTrigger:
    """APScheduler trigger from a YAML schedule (interval seconds or a five-field cron, UTC)."""
    if schedule.interval_seconds is not None:
        return IntervalTrigger(seconds=schedule.interval_seconds, timezone=UTC)
    return CronTrigger.from_crontab(schedule.cron or "", timezone=UTC)


@dataclass
class Runtime:
    """One daemon process. `load_config` re-reads the YAML on SIGHUP."""

    config: LeadpilotConfig
    load_config: Callable[[], LeadpilotConfig]
    clock: Callable[[], datetime] = utcnow
    on_cycle: Callable[[CycleReport], None] | None = None  # the demo prints progress with it
    ctx: AppContext | None = None
    metrics: Metrics = field(default_factory=Metrics.create)
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    controller: ShutdownController = field(default_factory=ShutdownController)
    last_cycle: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None
    api_url: str | None = None
    log_stream: Any = None  # None: stdout (journald); `run --once --json` keeps stdout for its JSON
    _scheduler: BackgroundScheduler | None = None
    _leases: LeaseManager | None = None

    # --- setup ---------------------------------------------------------------------------
    def _configure(self, config: LeadpilotConfig) -> AppContext:
        configure_logging(config.observability, stream=self.log_stream)
        init_sentry(config.observability.sentry, f"leadpilot@{__version__}")
        ctx = AppContext.build(config, clock=self.clock)
        ctx.metrics = self.metrics
        for name, connector in ctx.connectors.items():
            self.metrics.declare_connector(name, next(c.plugin for c in config.connectors if c.name == name))
        champion = ctx.registry.champion()
        if champion:
            self.metrics.set_model(champion)
        return ctx

    def _stop_requested(self) -> bool:
        return self.controller.stop_requested

    # --- jobs ----------------------------------------------------------------------------
    def _poll(self, name: str) -> None:
        ctx, leases = self.ctx, self._leases
        assert ctx is not None and leases is not None
        connector = ctx.connectors.get(name)
        if connector is None or self._stop_requested():
            return

        def task() -> jobs.JobResult:
            report = jobs.poll(ctx, connector, self._stop_requested)
            self.last_cycle[name] = report.line()
            if self.on_cycle is not None:
                self.on_cycle(report)
            return jobs.JobResult(report.line(), ok=report.error is None)

        jobs.run_job(ctx, leases, f"poll:{name}", task)

    def _job(self, name: str, task: Callable[[AppContext], jobs.JobResult]) -> Callable[[], None]:
        def run() -> None:
            ctx, leases = self.ctx, self._leases
            if ctx is None or leases is None or self._stop_requested():
                return
            jobs.run_job(ctx, leases, name, lambda: task(ctx))
        return run

    def _tasks(self) -> dict[str, Callable[[AppContext], jobs.JobResult]]:
        from daemon.learning_jobs import kpi_job, retrain_check_job

        return {
            "outcomes": jobs.sync_outcomes, "agents": jobs.sync_agents, "queue_drain": jobs.drain,
            "dnc_refresh": jobs.dnc_refresh, "retention": jobs.retention,
            "retrain_check": retrain_check_job, "kpi": kpi_job,
        }

    def _schedule(self, scheduler: BackgroundScheduler, config: LeadpilotConfig) -> None:
        scheduler.remove_all_jobs()
        defaults: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 300,
                                    "replace_existing": True}
        poll = config.schedules.poll
        if poll.enabled:
            for name in (self.ctx.connectors if self.ctx else {}):
                scheduler.add_job(self._poll, trigger_for(poll), args=[name], id=f"poll:{name}",
                                  next_run_time=datetime.now(UTC), **defaults)
        for name, task in self._tasks().items():
            schedule: Schedule = getattr(config.schedules, name)
            if schedule.enabled:
                scheduler.add_job(self._job(name, task), trigger_for(schedule), id=name, **defaults)

    def next_runs(self) -> dict[str, str]:
        """Job id -> next run time (for `status` and the systemd STATUS line)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time.isoformat() for job in self._scheduler.get_jobs() if job.next_run_time}

    # --- reload --------------------------------------------------------------------------
    def reload(self) -> bool:
        """SIGHUP: re-read the YAML; an invalid file keeps the running configuration."""
        try:
            new = self.load_config()
            ctx = self._configure(new)
        except (ConfigError, LeadpilotError) as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            return False
        old, self.ctx, self.config = self.ctx, ctx, new
        if self._scheduler is not None:
            self._schedule(self._scheduler, new)
        if old is not None:
            old.close()
        log.info("configuration reloaded")
        return True

    # --- run -----------------------------------------------------------------------------
    def run_once(self) -> list[CycleReport]:
        """`leadpilot run --once`: agents, then one poll cycle of every connector, then exit."""
        self.ctx = self._configure(self.config)
        self._leases = LeaseManager(self.ctx.engine, clock=self.clock)
        try:
            jobs.run_job(self.ctx, self._leases, "agents", lambda: jobs.sync_agents(self.ctx))
            reports = []
            for name, connector in self.ctx.connectors.items():
                # the same lease as the scheduled poll: another instance polling this CRM now wins
                with self._leases.hold(f"job:poll:{name}", jobs.lease_ttl(self.ctx), renew_every=30.0) as held:
                    if not held:
                        log.warning("poll of %s skipped: another instance is polling it", name)
                        continue
                    report = jobs.poll(self.ctx, connector, self._stop_requested)
                self.last_cycle[name] = report.line()
                if self.on_cycle is not None:
                    self.on_cycle(report)
                reports.append(report)
            return reports
        finally:
            self.ctx.close()

    def run_forever(self, *, install_signals: bool = True, started: threading.Event | None = None) -> int:
        """Serve until SIGTERM/SIGINT; returns the process exit code."""
        notifier = Notifier.from_env(unset=True)
        if install_signals:
            self.controller.install()
        self.ctx = self._configure(self.config)
        self._leases = LeaseManager(self.ctx.engine, clock=self.clock)
        health = None
        mcfg = self.config.observability.metrics
        if mcfg.enabled:
            limits = {name: 3.0 * (self.config.schedules.poll.interval_seconds or 300) + 60
                      for name in self.ctx.connectors}
            health = HealthServer.from_config(mcfg, metrics=self.metrics, heartbeat=self.heartbeat,
                                              readiness=store_readiness(self.ctx.engine, limits, clock=self.clock))
            health.start()
            self.health_url = health.url
            log.info("health and metrics on %s", health.url)
        api = None
        if self.config.api.enabled:
            from daemon.api import start_api

            api = start_api(lambda: self.ctx, self.config.api, metrics=self.metrics, heartbeat=self.heartbeat)
            self.api_url = api.url
            log.info("scoring API on %s", api.url)
        jobs.run_job(self.ctx, self._leases, "agents", lambda: jobs.sync_agents(self.ctx))
        scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler = scheduler
        self._schedule(scheduler, self.config)
        scheduler.start()
        notifier.ready(f"leadpilot {__version__}: {len(self.ctx.connectors)} connector(s)")
        if started is not None:
            started.set()
        ping = min(notifier.watchdog_interval() or 5.0, 5.0)
        try:
            while not self.controller.wait(ping, reload=True):
                self.heartbeat.beat()
                notifier.watchdog()
                if self.controller.take_reload():
                    notifier.reloading()
                    self.reload()
                    notifier.ready()
                if self.last_cycle:
                    notifier.status("; ".join(self.last_cycle.values()))
        finally:
            notifier.stopping()
            if api is not None:
                api.stop()
            code = self._shutdown(scheduler)
            if health is not None:
                health.stop()
            if install_signals:
                self.controller.restore()
        return code

    def _shutdown(self, scheduler: BackgroundScheduler) -> int:
        """Stop taking work, let the batch in hand finish within stop_timeout_seconds."""
        timeout = float(self.config.schedules.stop_timeout_seconds)
        log.info("stopping (%s): finishing the batch in hand, at most %.0fs", self.controller.stop_reason, timeout)
        done = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
        done.start()
        done.join(timeout)
        if done.is_alive():
            log.error("a job did not finish within %.0fs; exiting anyway (its batch is redone on restart)", timeout)
            return 1
        if self._leases is not None:
            self._leases.release_all()
        if self.ctx is not None:
            self.ctx.close()
        log.info("stopped")
        return 0
