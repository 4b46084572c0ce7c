#!/usr/bin/env python3
"""Scoring benchmark on the generator's leads (known true probabilities): quality, speed, training cost.

Prints, measured side by side in one run:
- quality on the final time-ordered holdout: AUC vs the AUC of the true probabilities (target: within 0.02),
  ECE (target: <= 0.02), plus each member, the seed-weighted blend and the learned blend;
- batch scoring of N leads vs (a) seed-style per-lead scoring (features + predict_proba for each lead,
  timed on a sample and scaled to N) and (b) the raw members' predict_proba on a ready matrix
  (targets: batch >= 50x per-lead; whole pipeline <= 2x raw);
- one-lead latency p50/p99 (target: p99 < 20 ms);
- training time and peak memory (RSS) for the training set.

    .venv/bin/python bench/scoring_bench.py                 # 50,000 leads for training, 10,000 scored
    .venv/bin/python bench/scoring_bench.py --leads 20000   # quicker
"""
from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.sections.scoring import ScoringConfig  # noqa: E402
from daemon.synthetic import generate  # noqa: E402
from scoring.ensemble import blend_raw  # noqa: E402
from scoring.metrics import compute_metrics  # noqa: E402
from scoring.train import train  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=50_000, help="leads generated for training (default 50000)")
    ap.add_argument("--score", type=int, default=10_000, help="fresh leads scored in the speed test (default 10000)")
    ap.add_argument("--per-lead-sample", type=int, default=500,
                    help="leads scored one by one, seed style; the time is scaled to --score (default 500)")
    ap.add_argument("--latency-leads", type=int, default=1000, help="single-lead calls for p50/p99 (default 1000)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    print(f"generating {args.leads} leads (seed {args.seed}) ...", flush=True)
    data = generate(n_leads=args.leads, n_agents=20, seed=args.seed, now=NOW)
    leads = data.leads
    base_rss = rss_mb()
    t0 = time.perf_counter()
    result = train(leads, ScoringConfig(), as_of=NOW, maturity_days=90)
    train_s = time.perf_counter() - t0
    peak_rss = rss_mb()
    model = result.model
    holdout = result.holdout
    assert holdout is not None and result.holdout_y is not None

    truth = holdout["true_probability"].astype(float).to_numpy()
    true_m = compute_metrics(result.holdout_y, truth)
    m = result.metrics
    print(f"\n== quality on the final holdout ({m.n} latest matured leads, {m.positives} converted) ==")
    print(f"{'':22}{'AUC':>8}{'ECE':>8}{'Brier':>9}{'PR AUC':>8}{'lift@10':>9}")
    print(f"{'true probabilities':22}{true_m.auc:8.4f}{true_m.ece:8.4f}{true_m.brier:9.5f}{true_m.pr_auc:8.4f}"
          f"{true_m.lift_at_10:9.2f}")
    for name, cm in result.comparison.items():
        mark = "  <- shipped" if name == result.shipped else ""
        print(f"{name:22}{cm.auc:8.4f}{cm.ece:8.4f}{cm.brier:9.5f}{cm.pr_auc:8.4f}{cm.lift_at_10:9.2f}{mark}")
    print(f"AUC gap to truth: {true_m.auc - m.auc:+.4f} (target <= 0.02: {'PASS' if true_m.auc - m.auc <= 0.02 else 'FAIL'})"
          f"; ECE {m.ece:.4f} (target <= 0.02: {'PASS' if m.ece <= 0.02 else 'FAIL'})")
    print(f"weights learned {result.weights.get('learned_blend')}, shipped {result.weights['shipped']}; "
          f"calibration {result.calibration}; notes {result.notes}")
    print(f"score >= threshold on the holdout: {result.threshold_shares}")
    print(f"importance stability: mean Spearman {result.stability.mean_spearman:.3f} over {result.stability.folds} "
          f"folds; fold AUCs {result.stability.fold_auc}")

    print(f"\n== training ==\n{result.rows['used']} labelled leads used ({result.rows}), {train_s:.1f} s wall, "
          f"peak RSS {peak_rss:.0f} MB (before training {base_rss:.0f} MB)")

    fresh = generate(n_leads=args.score, n_agents=20, seed=args.seed + 1, now=NOW).leads
    X = model.transformer.transform(fresh)
    members = model.members

    def raw_models() -> None:
        for member in members.values():
            member.predict_proba(X)

    def pipeline() -> None:
        batch = model.score(fresh)
        batch.to_frame()

    raw_s = best_of(raw_models)
    pipe_s = best_of(pipeline)
    approx_s = best_of(lambda: model.score(fresh, reason_method="approximate").to_frame())
    no_reasons_s = best_of(lambda: model.score(fresh, reasons=False))
    exact = model.score(fresh)
    approx = model.score(fresh, reason_method="approximate")
    same_top = np.mean([set(a) == set(b) for a, b in zip(exact.reason_feature, approx.reason_feature)])
    same_first = np.mean(exact.reason_feature[:, 0] == approx.reason_feature[:, 0])
    sample = fresh.iloc[: args.per_lead_sample]

    def per_lead() -> None:
        for i in range(len(sample)):
            x = model.transformer.transform(sample.iloc[[i]])
            probs = {name: member.predict_proba(x)[:, 1] for name, member in members.items()}
            model.calibrator.predict(blend_raw(probs, model.weights))

    per_lead_sample_s = best_of(per_lead, repeat=1)
    per_lead_s = per_lead_sample_s * len(fresh) / len(sample)
    print(f"\n== scoring {len(fresh)} fresh leads (single thread per member) ==")
    print(f"(a) seed-style per lead      {per_lead_s:8.2f} s  (timed on {len(sample)} leads, scaled)")
    print(f"(b) raw members, ready matrix {raw_s:8.3f} s")
    print(f"    pipeline, no reasons      {no_reasons_s:8.3f} s")
    print(f"    pipeline, approx. reasons {approx_s:8.3f} s  ({len(fresh) / approx_s:,.0f} leads/s)")
    print(f"    pipeline, TreeSHAP reasons{pipe_s:8.3f} s  ({len(fresh) / pipe_s:,.0f} leads/s; the default)")
    print(f"batch vs per-lead: {per_lead_s / pipe_s:6.1f}x with TreeSHAP reasons "
          f"(target >= 50x: {'PASS' if per_lead_s / pipe_s >= 50 else 'FAIL'}), {per_lead_s / no_reasons_s:.0f}x without")
    print(f"pipeline vs raw:   {pipe_s / raw_s:6.2f}x with TreeSHAP reasons, {approx_s / raw_s:.2f}x with approximate "
          f"reasons, {no_reasons_s / raw_s:.2f}x without (target <= 2x)")
    print(f"approximate vs TreeSHAP reasons: same top-{exact.reason_feature.shape[1]} set for {same_top:.1%} of leads, "
          f"same first reason for {same_first:.1%}")

    times = []
    for i in range(args.latency_leads):
        one = fresh.iloc[[i % len(fresh)]]
        t0 = time.perf_counter()
        model.score(one)
        times.append((time.perf_counter() - t0) * 1000)
    p50, p99 = np.percentile(times, [50, 99])
    print(f"one lead: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(times)} calls "
          f"(target p99 < 20 ms: {'PASS' if p99 < 20 else 'FAIL'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
