#!/usr/bin/env python3
"""Scoring API benchmark: POST /api/v1/score latency and throughput, server and load in separate processes.

This process prepares a demo world (trained model, officers, DNC registry, SQLite store) and serves the
API from it, exactly as the daemon does (`start_api` in a background thread). A child process (this file
with --load) sends the calls over --connections keep-alive connections, open loop: call i is due at
start + i/rate, and its latency counts from when it was due, so a slow server cannot hide its backlog (no
coordinated omission). The default client writes prepared HTTP/1.1 bytes on asyncio streams and takes
about 0.2 ms of CPU a call, as wrk would; `--client httpx` (1.5-2 ms a call) takes a tenth of a core from
the server's two at 100 calls/s. Every call carries a lead never seen before (a new decision, stored and audited), unless the
phase says replay. Phases, side by side in one run:

- single: one new lead per call at each --rate (calls/s) for --seconds (target: p99 < 50 ms at 100/s, 0 errors);
- replay: the last phase's leads again at its rate (the stored answers);
- batch: --batches calls of /score/batch with --batch-size new leads each, one after another
  (target: a batch of 100 under 200 ms);
- one-by-one: the same number of new leads as one batch, sent singly and serially, for the ratio.

    .venv/bin/python bench/api_bench.py                      # about 2 minutes on 2 cores
    .venv/bin/python bench/api_bench.py --rate 25,50,100,150 --seconds 20 --json
    .venv/bin/python bench/api_bench.py --rate 100 --client httpx   # the load from httpx threads
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token-" + "0" * 32
TARGET_P99_MS = 50.0
TARGET_BATCH_MS = 200.0


# -- the load (child process) ------------------------------------------------------------------------

def _percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {"n": 0}
    arr = np.asarray(values) * 1000
    return {"n": len(values), "p50_ms": float(np.percentile(arr, 50)), "p90_ms": float(np.percentile(arr, 90)),
            "p99_ms": float(np.percentile(arr, 99)), "max_ms": float(arr.max()), "mean_ms": float(arr.mean())}


def batch_counts(url: str) -> tuple[float, float]:
    """(decision batches, leads decided) so far, from the server's /metrics."""
    import httpx

    values = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        for key in ("leadpilot_api_batch_leads_count", "leadpilot_api_batch_leads_sum"):
            if line.startswith(key + " "):
                values[key] = float(line.split()[-1])
    return values.get("leadpilot_api_batch_leads_count", 0.0), values.get("leadpilot_api_batch_leads_sum", 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc; 0.0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_loop(url: str, path: str, bodies: list[Any], rate: float, connections: int, server_pid: int = 0,
              client: str = "raw") -> dict[str, Any]:
    """Send bodies[i] at start + i/rate over `connections` keep-alive connections; latency from the due time
    to the answer. `client` "raw": asyncio streams, about 0.2 ms of CPU a call, so the load takes little of
    the machine the server runs on (as wrk would); "httpx": a thread per connection, 1.5-2 ms a call."""
    batches_before, leads_before = batch_counts(url)
    cpu_before = (cpu_seconds(server_pid), time.process_time())
    if client == "raw":
        start, latencies, service, errors = asyncio.run(_raw_open_loop(url, path, bodies, rate, connections))
    else:
        start, latencies, service, errors = _httpx_open_loop(url, path, bodies, rate, connections)
    elapsed = time.perf_counter() - start
    server_cpu, load_cpu = cpu_seconds(server_pid) - cpu_before[0], time.process_time() - cpu_before[1]
    batches, leads = (after - before for after, before in zip(batch_counts(url), (batches_before, leads_before)))
    return {"calls": len(bodies), "ok": len(latencies), "errors": errors, "seconds": elapsed, "client": client,
            "server_batches": batches, "leads_per_batch": leads / batches if batches else 0.0,
            "achieved_per_s": len(bodies) / elapsed, "offered_per_s": rate,
            "server_cpu_ms_per_call": server_cpu * 1000 / len(bodies), "load_cpu_ms_per_call": load_cpu * 1000 / len(bodies),
            "latency": _percentiles(latencies), "service": _percentiles(service)}


async def _raw_open_loop(url: str, path: str, bodies: list[Any], rate: float,
                         connections: int) -> tuple[float, list[float], list[float], dict[str, int]]:
    """The open loop on asyncio streams: each request's bytes built before the clock starts."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    requests = []
    for body in bodies:
        data = json.dumps(body).encode()
        requests.append(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []
    service: list[float] = []
    errors: dict[str, int] = {}

    async def call(request: bytes, due: float) -> None:
        conn = await free.get()
        sent = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, int(port))
            reader, writer = conn
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            done = time.perf_counter()
            if status == 200:
                latencies.append(done - due)
                service.append(done - sent)
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, StopIteration) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            if conn is not None:
                conn[1].close()
            conn = None  # the next call on this slot opens a new connection
        free.put_nowait(conn)

    start = time.perf_counter() + 0.2
    tasks = []
    for i, request in enumerate(requests):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(call(request, due)))
    await asyncio.gather(*tasks)
    while not free.empty():
        conn = free.get_nowait()
        if conn is not None:
            conn[1].close()
    return start, latencies, service, errors


def _httpx_open_loop(url: str, path: str, bodies: list[Any], rate: float,
                     threads: int) -> tuple[float, list[float], list[float], dict[str, int]]:
    """The open loop on httpx, one thread per connection."""
    import httpx

    latencies: list[float] = []
    service: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    next_i = [0]
    start = time.perf_counter() + 0.2

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
            while True:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= len(bodies):
                    return
                due = start + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                sent = time.perf_counter()
                try:
                    r = client.post(path, json=bodies[i])
                    key = None if r.status_code == 200 else str(r.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                done = time.perf_counter()
                with lock:
                    if key is None:
                        latencies.append(done - due)
                        service.append(done - sent)
                    else:
                        errors[key] = errors.get(key, 0) + 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return start, latencies, service, errors


def serial(url: str, path: str, bodies: list[Any]) -> dict[str, Any]:
    """One call after another on one connection."""
    import httpx

    times: list[float] = []
    errors = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        for body in bodies:
            t = time.perf_counter()
            r = client.post(path, json=body)
            times.append(time.perf_counter() - t)
            errors += r.status_code != 200
    return {"calls": len(bodies), "errors": errors, "seconds": sum(times), "latency": _percentiles(times)}


def run_load(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    url, leads, args, pid = spec["url"], iter(spec["leads"]), spec["args"], spec["server_pid"]

    def take(n: int) -> list[Any]:
        return [next(leads) for _ in range(n)]

    # a short warm-up on leads of their own: connections open, code paths hot
    conns, client = args["connections"], args["client"]
    open_loop(url, "/api/v1/score", spec["warmup"], 50, conns, client=client)
    out: dict[str, Any] = {"single": {}}
    last: list[Any] = []
    for rate in rates(args["rate"]):
        last = take(int(rate * args["seconds"]))
        out["single"][f"{rate:g}"] = open_loop(url, "/api/v1/score", last, rate, conns, pid, client)
    out["replay"] = open_loop(url, "/api/v1/score", last, rates(args["rate"])[-1], conns, pid, client)
    out["batch"] = serial(url, "/api/v1/score/batch", [{"leads": take(args["batch_size"])} for _ in range(args["batches"])])
    out["one_by_one"] = serial(url, "/api/v1/score", take(args["batch_size"]))
    print(json.dumps(out))


def rates(text: str) -> list[float]:
    """'50,100' -> [50.0, 100.0]."""
    return [float(x) for x in str(text).split(",") if x.strip()]


# -- the server (this process) -----------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def make_leads(pool: Any, n: int, tag: str) -> list[dict[str, Any]]:
    """n API leads cycling through the demo's arriving leads, each under a new id, consent given a minute ago."""
    from config.canonical import CANONICAL_FIELDS
    from connectors.mapping import map_record
    from daemon.api.schemas import LEAD_FIELDS

    now = datetime.now(UTC)
    base = []
    for raw in pool.to_dict("records"):
        fields, _ = map_record({k: _json_value(v) for k, v in raw.items()},
                               {c: c for c in CANONICAL_FIELDS if c in raw and c in LEAD_FIELDS})
        lead = {k: _json_value(v) for k, v in fields.items() if v is not None}
        lead.update(tcpa_consent=True, consent_timestamp=(now - timedelta(minutes=1)).isoformat(),
                    consent_method="web_form", consent_ip="203.0.113.7", consent_text="I agree to be called")
        base.append(lead)
    return [{**base[i % len(base)], "lead_id": f"{tag}-{i:06d}"} for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="example: .venv/bin/python bench/api_bench.py --rate 50,100 --seconds 10",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", default="50,100", help="single-lead calls per second (open loop), one phase per value")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long the single and replay phases last (at 100/s, 20 s gives 2,000 calls for the p99)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of the load process")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="raw: asyncio streams, ~0.2 ms CPU a call (like wrk); httpx: a thread a connection, ~2 ms")
    parser.add_argument("--batch-size", type=int, default=100, help="leads per /score/batch call")
    parser.add_argument("--batches", type=int, default=10, help="batch calls, one after another")
    parser.add_argument("--batch-window-ms", type=float, default=0.0, help="api.batch_window_ms of the server")
    parser.add_argument("--history", type=int, default=3000, help="past leads of the demo world (model training)")
    parser.add_argument("--officers", type=int, default=12)
    parser.add_argument("--fast-model", action="store_true", help="train the demo's small model (quicker set-up)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the text report")
    parser.add_argument("--load", metavar="SPEC", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.load:
        run_load(args.load)
        return 0

    from config.sections.api import ApiConfig
    from daemon.api import start_api
    from daemon.context import AppContext
    from daemon.demo import DemoSizes, prepare
    from daemon.jobs import sync_agents
    from daemon.metrics import Metrics

    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        say = (lambda _: None) if args.json else (lambda m: print(f"  {m}", flush=True))
        if not args.json:
            print("preparing the demo world ...", flush=True)
        world = prepare(Path(tmp) / "world", DemoSizes(history=args.history, officers=args.officers,
                                                       initial_leads=0, fast_model=args.fast_model), say=say)
        world.close()  # the sandbox CRMs are not needed
        ctx = AppContext.build(world.config, connectors={})
        sync_agents(ctx)
        metrics = Metrics.create(process_metrics=False)
        config = ApiConfig(enabled=True, port=0, tokens=[TOKEN], max_batch=max(args.batch_size, 100),
                           batch_window_ms=args.batch_window_ms, max_body_bytes=10_000_000)
        api = start_api(lambda: ctx, config, metrics=metrics)
        n_single = sum(int(r * args.seconds) for r in rates(args.rate))
        leads = make_leads(world.pool, n_single + (args.batches + 1) * args.batch_size, "bench")
        spec = Path(tmp) / "load.json"
        spec.write_text(json.dumps({"url": api.url, "leads": leads, "warmup": make_leads(world.pool, 100, "warm"),
                                    "args": vars(args), "server_pid": os.getpid()}))
        try:
            try:
                child = subprocess.run([sys.executable, __file__, "--load", str(spec)], capture_output=True,
                                       text=True, cwd=ROOT, timeout=1800)
            finally:
                api.stop()
            stages = stage_times(ctx, world.pool)
        finally:
            ctx.close()
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        result = json.loads(child.stdout)
        result["stages"] = stages
        result["machine"] = {"cpus": _cpus()}
        report(result, args)
    return 0


def stage_times(ctx: Any, pool: Any, n: int = 50) -> dict[str, float]:
    """Median milliseconds of one single-lead decision, by stage, with the server stopped (nothing else runs)."""
    import numpy as np

    from daemon.api.decisions import decide_group
    from daemon.api.schemas import LeadData
    from daemon.pipeline import CycleReport

    rows: dict[str, list[float]] = {}
    for lead in make_leads(pool, n, "stages"):
        report = CycleReport("api")
        started = time.perf_counter()
        with ctx.session() as session:
            decide_group(ctx, session, [LeadData.model_validate(lead).fields()], ctx.clock(), assign=False,
                         report=report)
        total = time.perf_counter() - started
        for name, seconds in {**report.stage_seconds, "total": total,
                              "store and the rest": total - sum(report.stage_seconds.values())}.items():
            rows.setdefault(name, []).append(seconds * 1000)
    return {name: float(np.median(values)) for name, values in rows.items()}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(result, indent=2))
        return
    replay, batch, one = result["replay"], result["batch"], result["one_by_one"]
    print(f"\nPOST /api/v1/score, one lead a call, open loop for {args.seconds:g} s a phase "
          f"({result['machine']['cpus']} CPUs; server and load in separate processes):")
    phases = [(f"new @{rate}/s", phase) for rate, phase in result["single"].items()] + [("replays", replay)]
    for name, phase in phases:
        p = phase["latency"]
        print(f"  {name:12s} {phase['ok']:5d} ok, {sum(phase['errors'].values())} errors, "
              f"{phase['achieved_per_s']:6.1f}/s  p50 {p.get('p50_ms', 0):6.1f} ms  p90 {p.get('p90_ms', 0):6.1f}  "
              f"p99 {p.get('p99_ms', 0):6.1f}  max {p.get('max_ms', 0):6.1f}   "
              f"p99/target {p.get('p99_ms', math.inf) / TARGET_P99_MS:.2f}   "
              f"leads per decision batch {phase['leads_per_batch']:.1f}   CPU ms a call: server "
              f"{phase['server_cpu_ms_per_call']:.1f}, load {phase['load_cpu_ms_per_call']:.1f}")
    b = batch["latency"]
    print(f"\nPOST /api/v1/score/batch, {args.batch_size} new leads a call, {batch['calls']} calls in a row:")
    print(f"  p50 {b['p50_ms']:.1f} ms  p90 {b['p90_ms']:.1f}  max {b['max_ms']:.1f}   "
          f"p50/target ({TARGET_BATCH_MS:g} ms) {b['p50_ms'] / TARGET_BATCH_MS:.2f}   errors {batch['errors']}")
    stages = result["stages"]
    print("\none new lead decided alone, server idle (median ms): "
          + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    o = one["latency"]
    per_lead_batched = b["p50_ms"] / args.batch_size
    print(f"  the same number of new leads one call each, serially: {one['seconds'] * 1000:.0f} ms in all "
          f"(p50 {o['p50_ms']:.1f} ms a call); per lead batched {per_lead_batched:.2f} ms: "
          f"{o['p50_ms'] / per_lead_batched:.1f}x cheaper in a batch")


if __name__ == "__main__":
    raise SystemExit(main())
