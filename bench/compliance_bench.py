#!/usr/bin/env python3
"""compliance.check.check_leads on a one-lead frame (the scoring API's case) and on a 10,000-lead batch.

    .venv/bin/python bench/compliance_bench.py                        # 2000 one-lead calls, 3 x 10k batches
    .venv/bin/python bench/compliance_bench.py --single 500 --batch-runs 1 --batch-size 2000   # quicker
    .venv/bin/python bench/compliance_bench.py --profile               # cProfile of the one-lead calls

The frames are built the way daemon.pipeline.decide builds them: `pd.DataFrame(rows)` of canonical
fields holding plain Python values (None for missing), from messy synthetic leads (placeholders,
blanks, bad phones), with a memory-mapped DNC registry of --dnc-numbers federal numbers and the
synthetic officers' licences. Target (leadpilot issue 9): one lead <= 1.5 ms median on the 2-core dev machine, idle.
"""
from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import statistics
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compliance.check import check_leads  # noqa: E402
from compliance.dnc import DncRegistry, save  # noqa: E402
from compliance.licensing import LicenceRegistry  # noqa: E402
from config.canonical import CANONICAL_FIELDS  # noqa: E402
from config.sections.compliance import ComplianceConfig  # noqa: E402
from daemon.synthetic import generate  # noqa: E402

NOW = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


def plain(value: Any) -> Any:
    """A frame value as the ORM holds it: None for missing, Python scalars and datetimes."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def pipeline_rows(leads: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows like daemon.lead_sync.lead_frame_rows: canonical fields, store key as lead_id."""
    rows = []
    for i, record in enumerate(leads.loc[:, list(CANONICAL_FIELDS)].to_dict("records")):
        row = {name: plain(v) for name, v in record.items()}
        row["crm_lead_id"] = row["lead_id"]
        row["lead_id"] = str(i + 1)
        rows.append(row)
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=2000, help="one-lead calls to time (default 2000)")
    parser.add_argument("--batch-size", type=int, default=10_000, help="leads in the big batch (default 10000)")
    parser.add_argument("--batch-runs", type=int, default=3, help="big-batch runs, best one reported (default 3)")
    parser.add_argument("--dnc-numbers", type=int, default=1_000_000, help="federal DNC numbers (default 1M)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the one-lead calls")
    args = parser.parse_args()

    data = generate(n_leads=max(args.batch_size, 1000), n_agents=12, seed=7, now=NOW)
    rows = pipeline_rows(data.leads)
    licences = LicenceRegistry.from_records(
        {"agent_id": a.agent_id, "state": lic.state, "license_id": lic.license_id, "nmls_id": lic.nmls_id,
         "expires": lic.expires} for a in data.agents for lic in a.licenses)
    agent_ids = [a.agent_id for a in data.agents]
    rng = np.random.default_rng(3)
    federal = rng.integers(2_000_000_000, 9_999_999_999, args.dnc_numbers, dtype=np.uint64)
    built = DncRegistry.from_numbers(federal=federal, state=federal[:10_000], internal=federal[-1000:],
                                     covered_areas=range(1000), federal_updated_at=NOW)
    registry_dir = tempfile.mkdtemp(prefix="compliance-bench-")
    save(built, registry_dir, now=NOW)
    dnc = DncRegistry.open(registry_dir)  # memory-mapped, as the daemon opens it
    config = ComplianceConfig()

    def run(frame: pd.DataFrame) -> None:
        check_leads(frame, now=NOW, config=config, dnc=dnc, licences=licences, agent_ids=agent_ids)

    singles = [pd.DataFrame(rows[i % len(rows): i % len(rows) + 1]) for i in range(args.single)]
    for frame in singles[:50]:
        run(frame)  # warm caches and imports
    times = []
    for frame in singles:
        start = time.perf_counter()
        run(frame)
        times.append((time.perf_counter() - start) * 1000)
    print(f"1 lead:  median {statistics.median(times):.3f} ms, p99 {percentile(times, 0.99):.3f} ms "
          f"over {len(times)} calls (target median <= 1.5 ms)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for frame in singles:
            run(frame)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

    batch = pd.DataFrame(rows[: args.batch_size])
    best = math.inf
    for _ in range(args.batch_runs):
        start = time.perf_counter()
        run(batch)
        best = min(best, time.perf_counter() - start)
    print(f"{len(batch)} leads: {best:.3f} s best of {args.batch_runs} ({best / len(batch) * 1e6:.1f} us a lead)")
    del dnc
    shutil.rmtree(registry_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
