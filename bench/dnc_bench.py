#!/usr/bin/env python3
"""DNC registry at real size: build time, lookups per second and bytes per number, against a Python set.

    .venv/bin/python bench/dnc_bench.py                      # 10M numbers, 1M lookups (half hits)
    .venv/bin/python bench/dnc_bench.py --numbers 2000000    # smaller machine
    .venv/bin/python bench/dnc_bench.py --skip-files         # arrays only, no delivery files / refresh

Measured side by side in one run: the compact registry (in memory and memory-mapped from disk, and
built from FTC-style area-code files through compliance.dnc.refresh) and a Python set of ints.
Targets (issue 5): >= 1,000,000 lookups/s and <= 9 bytes a number.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compliance.dnc import DncRegistry, NumberSet, refresh, save  # noqa: E402
from compliance.dnc_files import sorted_unique  # noqa: E402
from compliance.phones import nanp_problem  # noqa: E402

NOW = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)


def valid_numbers(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random dialable NANP numbers (uint64), duplicates possible."""
    npas = np.array([a for a in range(200, 1000) if nanp_problem(f"{a}2345678") is None], dtype=np.uint64)
    npa = rng.choice(npas, n)
    nxx = rng.integers(200, 1000, n, dtype=np.uint64)
    n11 = nxx % 100 == 11
    nxx[n11] += 1  # N11 -> N12
    line = rng.integers(0, 10_000, n, dtype=np.uint64)
    fiction = (nxx == 555) & (line // 100 == 1)
    line[fiction] += 100  # 555-01xx -> 555-02xx
    return npa * np.uint64(10_000_000) + nxx * np.uint64(10_000) + line


def best_of(runs: int, fn):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def write_area_files(numbers: np.ndarray, drop: Path) -> int:
    """One full file per area code, ten digits and a newline a line (the FTC flat text layout)."""
    drop.mkdir(parents=True)
    order = np.sort(numbers)
    areas = order // np.uint64(10_000_000)
    bounds = np.flatnonzero(np.diff(areas)) + 1
    files = 0
    for chunk in np.split(order, bounds):
        digits = np.empty((chunk.size, 11), dtype=np.uint8)
        rest = chunk.copy()
        for col in range(9, -1, -1):
            digits[:, col] = (rest % np.uint64(10)).astype(np.uint8) + 48
            rest //= np.uint64(10)
        digits[:, 10] = 10
        (drop / f"dnc_{int(chunk[0]) // 10_000_000:03d}.txt").write_bytes(digits.tobytes())
        files += 1
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: .venv/bin/python bench/dnc_bench.py --numbers 10000000 --lookups 1000000")
    parser.add_argument("--numbers", type=int, default=10_000_000, help="numbers in the registry (default 10M)")
    parser.add_argument("--lookups", type=int, default=1_000_000, help="numbers looked up, half of them hits")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-set", action="store_true", help="skip the Python set (needs ~1 GB per 10M numbers)")
    parser.add_argument("--skip-files", action="store_true", help="skip writing area-code files and refresh()")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    numbers = valid_numbers(args.numbers, rng)
    hits = rng.choice(numbers, args.lookups // 2)
    misses = valid_numbers(args.lookups - hits.size, rng)
    queries = rng.permutation(np.concatenate([hits, misses]))
    print(f"numbers: {args.numbers:,} drawn ({sorted_unique(numbers).size:,} distinct); lookups: {queries.size:,}")

    rows: list[tuple[str, float, float, float]] = []  # name, build s, lookups/s, bytes/number

    build_s, registry = best_of(1, lambda: NumberSet.from_numbers(numbers))
    look_s, found = best_of(3, lambda: registry.contains(queries))
    rows.append(("sorted uint32 buckets (RAM)", build_s, queries.size / look_s, registry.nbytes / len(registry)))
    expected_hits = int(found.sum())

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        save_s, _ = best_of(1, lambda: save(DncRegistry.from_numbers(federal=numbers), tmp_path / "reg", now=NOW))
        mapped = DncRegistry.open(tmp_path / "reg").federal
        look_s, found_mapped = best_of(3, lambda: mapped.contains(queries))
        assert np.array_equal(found, found_mapped)
        disk = sum(p.stat().st_size for p in (tmp_path / "reg").rglob("federal.*.npy"))
        rows.append(("same, np.load(mmap_mode='r')", build_s + save_s, queries.size / look_s, disk / len(mapped)))

        if not args.skip_files:
            files = write_area_files(numbers, tmp_path / "drop")
            refresh_s, result = best_of(1, lambda: refresh(tmp_path / "drop", tmp_path / "reg2", now=NOW))
            assert result.ok, result.alerts
            from_files = DncRegistry.open(tmp_path / "reg2").federal
            look_s, found_files = best_of(3, lambda: from_files.contains(queries))
            assert np.array_equal(found, found_files)
            rows.append((f"refresh() from {files} area-code files", refresh_s, queries.size / look_s,
                         from_files.nbytes / len(from_files)))

    sorted_u64 = sorted_unique(numbers)
    look_s, found_u64 = best_of(3, lambda: (lambda pos: sorted_u64[np.minimum(pos, sorted_u64.size - 1)] == queries)(
        np.searchsorted(sorted_u64, queries)))
    assert np.array_equal(found, found_u64)
    rows.append(("plain sorted uint64 + searchsorted", 0.0, queries.size / look_s, 8.0))

    if not args.skip_set:
        gc.collect()
        as_list = numbers.tolist()
        build_set_s, python_set = best_of(1, lambda: set(as_list))
        del as_list
        query_list = queries.tolist()
        look_s, found_set = best_of(1, lambda: [q in python_set for q in query_list])
        assert int(sum(found_set)) == expected_hits
        # the set's table plus one int object per member (28-32 bytes each)
        set_bytes = sys.getsizeof(python_set) + sum(sys.getsizeof(x) for x in list(python_set)[:1000]) / 1000 * len(python_set)
        rows.append(("Python set of int", build_set_s, queries.size / look_s, set_bytes / len(python_set)))

    print(f"\n{'structure':40s} {'build s':>9s} {'lookups/s':>14s} {'bytes/number':>13s}")
    for name, build, rate, per in rows:
        print(f"{name:40s} {build:9.2f} {rate:14,.0f} {per:13.2f}")
    ours = rows[0]
    print(f"\nhits: {expected_hits:,} of {queries.size:,}")
    print(f"targets: lookups/s >= 1,000,000: {'PASS' if min(r[2] for r in rows[:2]) >= 1e6 else 'FAIL'}; "
          f"bytes/number <= 9: {'PASS' if ours[3] <= 9 else 'FAIL'}")
    if not args.skip_set:
        python_set_row = rows[-1]
        print(f"ratios vs Python set: lookups {ours[2] / python_set_row[2]:.1f}x faster, "
              f"memory {python_set_row[3] / ours[3]:.1f}x smaller, "
              f"build {ours[1]:.2f}s vs {python_set_row[1]:.2f}s ({ours[1] / max(python_set_row[1], 1e-9):.1f}x)")


if __name__ == "__main__":
    main()
