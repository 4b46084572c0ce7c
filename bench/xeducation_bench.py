#!/usr/bin/env python3
"""Real lead data through the custom-columns path: X Education's 9,240 leads (../shared/data).

Trains leadpilot's ensemble on the lender-style export with a model YAML that lists the export's own
columns (leak columns filled in by sales after first contact are left out, `Lead Number` is the time
order, `Select` means not answered), then prints, on the same time-ordered holdout (the latest leads):
each member, the seed-weighted blend, the learned blend and the shipped model; and the seed's own
configuration (its hyperparameters, its fixed 0.60/0.25/0.15 blend, calibrated, and as the seed wrote it:
an uncalibrated probability average). Target: the shipped model at least as good as its best member.

    .venv/bin/python bench/xeducation_bench.py
    .venv/bin/python bench/xeducation_bench.py --data /work/shared/data/xeducation_leads.csv --show-yaml
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.sections.scoring import ScoringConfig, load_model_file  # noqa: E402
from scoring.ensemble import SEED_PARAMS, SEED_WEIGHTS  # noqa: E402
from scoring.metrics import Metrics, compute_metrics  # noqa: E402
from scoring.train import train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "xeducation_leads.csv"
# Filled in by sales after the first call: a lead-scoring model never sees them (README of the data).
LEAKS = ("Tags", "Lead Quality", "Lead Profile", "Asymmetrique Activity Index", "Asymmetrique Profile Index",
         "Asymmetrique Activity Score", "Asymmetrique Profile Score", "Last Activity", "Last Notable Activity")
NUMERIC = ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit")
IDS = ("Prospect ID", "Lead Number", "Converted")


def model_yaml(columns: list[str]) -> str:
    categorical = [c for c in columns if c not in (*LEAKS, *NUMERIC, *IDS) and not c.startswith("Unnamed")]
    quote = lambda items: "[" + ", ".join(f'"{c}"' for c in items) + "]"  # noqa: E731
    return f"""model:
  name: xeducation
  features:
    numerical: {quote(NUMERIC)}
    categorical: {quote(categorical)}
    label: Converted
    positive_value: 1
    time_column: Lead Number
    id_column: Prospect ID
"""


def row(name: str, m: Metrics, mark: str = "") -> str:
    return (f"{name:34}{m.auc:8.4f}{m.pr_auc:8.4f}{m.brier:9.4f}{m.ece:8.4f}{m.top_decile_precision:8.3f}"
            f"{m.lift_at_10:8.2f}{m.lift_at_20:8.2f}{mark}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"the CSV (default {DEFAULT_DATA})")
    ap.add_argument("--show-yaml", action="store_true", help="print the model YAML used")
    args = ap.parse_args()
    frame = pd.read_csv(args.data, dtype=str, encoding="utf-8-sig")
    text = model_yaml(list(frame.columns))
    if args.show_yaml:
        print(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.yaml"
        path.write_text(text)
        ours = load_model_file(ScoringConfig(), path)
    seed = ours.model_copy(update={"algorithms": ours.algorithms.model_validate(
        {"xgboost": {**SEED_PARAMS["xgboost"], "early_stopping_rounds": None}, "random_forest": SEED_PARAMS["random_forest"],
         "logistic_regression": SEED_PARAMS["logistic_regression"]}), "weights": dict(SEED_WEIGHTS)})

    t0 = time.perf_counter()
    result = train(frame, ours)
    took = time.perf_counter() - t0
    seed_result = train(frame, seed)
    w = result.windows
    print(f"{len(frame)} leads; features: {len(result.model.plan.features)} listed columns "
          f"({len(result.model.transformer.feature_names_out_)} matrix columns); trained in {took:.1f} s")
    print(f"time order by Lead Number: train {w['train'].start}..{w['train'].end} ({w['train'].rows}), "
          f"validation ..{w['validation'].end} ({w['validation'].rows}), holdout {w['holdout'].start}..{w['holdout'].end} "
          f"({w['holdout'].rows} leads, {w['holdout'].positives} converted)")
    print(f"\n{'same holdout':34}{'AUC':>8}{'PR AUC':>8}{'Brier':>9}{'ECE':>8}{'top10%':>8}{'lift10':>8}{'lift20':>8}")
    print("leadpilot defaults (members early-stopped / regularised; each row calibrated on the validation window):")
    for name, m in result.comparison.items():
        print(row(f"  {name}", m, "   <- shipped" if name == result.shipped else ""))
    print("the seed's configuration (500 trees of depth 6, fixed 0.60/0.25/0.15):")
    for name, m in seed_result.comparison.items():
        print(row(f"  {name}", m))
    assert seed_result.holdout is not None
    X = seed_result.model.transformer.transform(seed_result.holdout)
    probs = {n: mem.predict_proba(X)[:, 1] for n, mem in seed_result.model.members.items()}
    as_written = sum(SEED_WEIGHTS[n] * probs[n] for n in probs)
    print(row("  seed blend as written (uncalibr.)", compute_metrics(seed_result.holdout_y, as_written)))
    best = max(("xgboost", "random_forest", "logistic_regression"), key=lambda n: result.comparison[n].auc)
    verdict = "PASS" if result.metrics.auc >= result.comparison[best].auc else "FAIL"
    print(f"\nshipped ({result.shipped}) AUC {result.metrics.auc:.4f} vs best member {best} "
          f"{result.comparison[best].auc:.4f}: {verdict}; seed blend (seed config) AUC "
          f"{seed_result.comparison['configured_blend'].auc:.4f}")
    print(f"learned weights {result.weights.get('learned_blend')}; calibration {result.calibration}; notes {result.notes}")
    print(f"importance stability: mean Spearman {result.stability.mean_spearman:.3f}, fold AUCs "
          f"{result.stability.fold_auc}; top features {list(result.stability.mean_importance)[:6]}")
    scores = result.holdout_score
    assert scores is not None
    print(f"holdout share with score >= 80: {np.mean(scores >= 80):.1%}, >= 60: {np.mean(scores >= 60):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
