"""One thread decides every API lead, gathering concurrent calls into one batch.

Compliance, scoring and routing cost about the same for one lead as for dozens (they work per batch,
see DESIGN.md), so calls that arrive while a batch is being decided are decided together in the next
one: under load the batches grow instead of the queue. One decider also means one writer, so two calls
can never reserve the same officer slot twice. Each batch is one transaction; a batch that fails is
retried lead group by lead group, so one bad call never fails the others.
"""
from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.sections.api import ApiConfig
from daemon.api.decisions import Answer, GroupResult, decide_group
from daemon.api.errors import ApiError
from daemon.api.metrics import ApiMetrics
from daemon.api.record import API_CONNECTOR
from daemon.context import AppContext
from daemon.health import Heartbeat
from daemon.lead_sync import input_hash
from daemon.metrics import Metrics
from daemon.store import StoreError

log = logging.getLogger(__name__)

IDLE_BEAT_S = 1.0


@dataclass
class Job:
    """One API call's leads (canonical fields, distinct ids) and where its answers go."""

    leads: list[dict[str, Any]]
    assign: bool
    hashes: list[str]  # the leads' input hashes (lead_sync.input_hash), computed once per call
    future: Future[list[Answer]] = field(default_factory=Future)
    finished: bool = False

    @property
    def ids(self) -> set[str]:
        return {lead["lead_id"] for lead in self.leads}


class Scorer:
    """The deciding thread. `submit` returns a Future of the call's answers, in the order of its leads."""

    def __init__(self, ctx_getter: Callable[[], AppContext | None], config: ApiConfig,
                 metrics: Metrics | None = None, api_metrics: ApiMetrics | None = None):
        self._ctx_getter = ctx_getter
        self._config = config
        self._metrics = metrics
        self._api_metrics = api_metrics
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._carry: deque[Job] = deque()  # jobs put off to the next batch (same lead twice, batch full)
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.heartbeat = Heartbeat()

    # -- life ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the deciding thread; it loads the model first, so the first call is not the slow one."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="api-scorer", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the batch in hand, answer what still waits with 503, and end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout_s)
        self._thread = None
        leftovers = list(self._carry)
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                leftovers.append(job)
        for job in leftovers:
            self._finish(job, ApiError(503, "the scoring API is shutting down; send the call again shortly",
                                       headers={"Retry-After": "5"}))

    @property
    def pending(self) -> int:
        """Leads submitted and not yet answered."""
        with self._lock:
            return self._pending

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- calls -----------------------------------------------------------------------------------
    def submit(self, leads: list[dict[str, Any]], assign: bool, hashes: list[str] | None = None) -> Future[list[Answer]]:
        """Queue a call's leads for the next batch; 503 at once when too many leads already wait."""
        if not self.alive:
            raise ApiError(503, "the scoring API is not running; try again shortly", headers={"Retry-After": "5"})
        with self._lock:
            if self._pending + len(leads) > self._config.max_pending_leads:
                raise ApiError(503, f"{self._pending} leads are waiting to be scored (api.max_pending_leads "
                                    f"{self._config.max_pending_leads}); send the call again shortly",
                               headers={"Retry-After": "1"})
            self._pending += len(leads)
        job = Job(leads, assign, hashes if hashes is not None else [input_hash(lead) for lead in leads])
        self._queue.put(job)
        return job.future

    def _finish(self, job: Job, outcome: list[Answer] | BaseException) -> None:
        with self._lock:
            if job.finished:  # answered by stop() while the thread was still deciding it
                return
            job.finished = True
            self._pending -= len(job.leads)
        try:
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
        except InvalidStateError:
            log.debug("a caller cancelled its wait; the decision is stored and a repeat gets it")

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        self._warm_up()
        while True:
            self.heartbeat.beat()
            first = self._carry.popleft() if self._carry else self._next(IDLE_BEAT_S)
            if first is None:
                if self._stopping:
                    return
                continue
            self._decide(self._gather(first))
            if self._stopping and not self._carry:
                return

    def _next(self, timeout: float) -> Job | None:
        try:
            job = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None
        if job is None:
            self._stopping = True
        return job

    def _gather(self, first: Job) -> list[Job]:
        """`first` plus the calls that wait (or arrive within batch_window_ms), up to max_batch leads."""
        batch, ids, size = [first], set(first.ids), len(first.leads)
        deadline = time.monotonic() + self._config.batch_window_ms / 1000
        while size < self._config.max_batch and not self._stopping:
            job = self._next(deadline - time.monotonic())
            if job is None:
                break
            if size + len(job.leads) > self._config.max_batch or ids & job.ids:
                # next batch: it does not fit, or its lead is in this one (and may then get the stored answer)
                self._carry.append(job)
                break
            batch.append(job)
            ids |= job.ids
            size += len(job.leads)
        return batch

    def _warm_up(self) -> None:
        try:
            ctx = self._ctx_getter()
            if ctx is not None:
                ctx.model()
        except Exception as exc:  # noqa: BLE001 - calls will get 503 with the reason; the thread must live on
            log.warning("scoring API: no model loaded yet (%s); calls get 503 until one is promoted", exc)
        # The process holds some 300,000 long-lived objects (model, libraries, config); every full
        # collection walked them all: pauses of up to 190 ms under load in bench/api_bench.py, 5 ms once
        # they are frozen. What is created from now on is collected as before.
        gc.collect()
        gc.freeze()

    def _decide(self, jobs: list[Job]) -> None:
        try:
            ctx = self._ctx_getter()
            if ctx is None:
                for job in jobs:
                    self._finish(job, ApiError(503, "the daemon is still starting; try again shortly",
                                               headers={"Retry-After": "2"}))
                return
            answers = self._decide_batch(ctx, jobs)
        except StoreError as exc:
            for job in jobs:
                self._finish(job, exc)
            return
        except Exception as exc:  # noqa: BLE001 - delivered to the waiting calls, which log it with their request id
            if len(jobs) > 1:
                # find the call that breaks the batch: the others must not fail with it
                for job in jobs:
                    self._decide([job])
                return
            self._finish(jobs[0], exc)
            return
        for job, result in zip(jobs, answers, strict=True):
            self._finish(job, result)

    def _decide_batch(self, ctx: AppContext, jobs: list[Job]) -> list[list[Answer]]:
        now = ctx.clock()
        per_job: list[list[Answer]] = [[] for _ in jobs]
        groups: list[GroupResult] = []
        with ctx.session() as session:
            # reservations first: the recommendations then see the capacity they took
            for assign in (True, False):
                members = [i for i, job in enumerate(jobs) if job.assign == assign]
                if not members:
                    continue
                leads = [lead for i in members for lead in jobs[i].leads]
                hashes = [digest for i in members for digest in jobs[i].hashes]
                group = decide_group(ctx, session, leads, now, assign=assign, hashes=hashes)
                session.flush()
                groups.append(group)
                at = 0
                for i in members:
                    per_job[i] = group.answers[at:at + len(jobs[i].leads)]
                    at += len(jobs[i].leads)
        self._observe(sum(len(job.leads) for job in jobs), groups, now)
        return per_job

    def _observe(self, leads: int, groups: list[GroupResult], now: datetime) -> None:
        if self._api_metrics is not None:
            self._api_metrics.batch_leads.observe(leads)
        metrics = self._metrics
        if metrics is None:
            return
        for group in groups:
            metrics.leads_scored.labels(connector=API_CONNECTOR).inc(group.computed)
            for lead in group.reserved:
                metrics.observe_assignment(API_CONNECTOR, lead.created_at, now)
            for reason in group.blocked_reasons:
                metrics.leads_blocked.labels(connector=API_CONNECTOR, reason=reason).inc()
