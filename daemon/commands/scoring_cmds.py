"""`leadpilot train|evaluate|score|models`: the scoring commands."""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from config import BadInputError, LeadpilotConfig, load_config
from config.sections.scoring import ScoringConfig, load_model_file

from daemon.cli import add_config_argument, add_json_argument, command, iso_datetime

PRESETS = ("seed",)  # packaged model YAMLs: scoring/presets/<name>.yaml
SCORE_CHUNK = 10_000  # leads scored per batch when writing a file: bounds memory, keeps batches fast


# -- shared helpers ---------------------------------------------------------------------------------

def model_config_path(value: str) -> Path:
    """A model YAML path, or the name of a packaged preset ('seed': the seed's Appendix A.2 settings)."""
    path = Path(value)
    if path.exists() or value not in PRESETS:
        return path
    return Path(str(resources.files("scoring") / "presets" / f"{value}.yaml"))


def scoring_settings(config: LeadpilotConfig, model_config: str | None = None) -> ScoringConfig:
    """The effective scoring settings: the `scoring:` section, overlaid by the model YAML if any."""
    if model_config:
        return load_model_file(config.scoring, model_config_path(model_config))
    if config.scoring.model_config_file:
        return load_model_file(config.scoring, config.input_path(config.scoring.model_config_file))
    return config.scoring


def rate_series(config: LeadpilotConfig, settings: ScoringConfig) -> Any:
    """The configured rate series, or None."""
    if not settings.rate_series_file:
        return None
    from scoring.rates import read_rate_series

    return read_rate_series(config.input_path(settings.rate_series_file))


def registry_for(config: LeadpilotConfig) -> Any:
    from scoring.registry import ModelRegistry

    return ModelRegistry(config.state_path(config.scoring.model_dir))


def read_leads(path: str) -> pd.DataFrame:
    """A CSV export of leads, every value read as text (the scoring parsers decide what it means)."""
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", encoding_errors="replace")
    except FileNotFoundError:
        raise BadInputError(f"data file {path} not found") from None
    except IsADirectoryError:
        raise BadInputError(f"{path} is a folder; give a CSV file") from None
    except pd.errors.EmptyDataError:
        raise BadInputError(f"data file {path} is empty") from None
    except (pd.errors.ParserError, OSError) as exc:
        raise BadInputError(f"data file {path} is not a readable CSV: {exc}") from None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return None
    return lambda message: print(f"[leadpilot] {message}", file=sys.stderr, flush=True)


def _dump(data: Any) -> str:
    return json.dumps(data, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def fairness_audit(config: LeadpilotConfig) -> Any:
    """The compliance package's fair lending audit as a gate hook (None if it is not installed)."""
    try:
        from compliance.fairness import audit_fairness
    except ImportError:
        return None
    from scoring.gate import FairnessInput

    def audit(data: FairnessInput) -> Any:
        # "selected" = priority treatment: the lowest probability that reached the priority score
        cut = config.routing.thresholds.priority_score
        chosen = data.probability[data.score >= cut]
        threshold = float(chosen.min()) if len(chosen) else float(np.quantile(data.probability, 0.8))
        return audit_fairness(data.probability, data.label, data.protected, threshold=threshold,
                              config=config.compliance.fairness, feature_names=data.feature_names,
                              features=data.features)

    return audit


# -- train ------------------------------------------------------------------------------------------

def _train(args: argparse.Namespace) -> int:
    from scoring.lifecycle import train_and_register

    config = load_config(args.config)
    settings = scoring_settings(config, args.model_config)
    rates = rate_series(config, settings)
    frame = read_leads(args.data)
    now = datetime.now(UTC)
    outcome = train_and_register(
        frame, settings, registry_for(config), now=now, rates=rates,
        maturity_days=config.learning.conversion_window_days, as_of=iso_datetime(args.as_of, "--as-of"),
        fairness=fairness_audit(config), promote=not args.no_promote, progress=_progress(sys.stderr.isatty()),
        extra_metadata={"data_file": os.path.basename(args.data)},
    )
    if args.json:
        print(_dump(outcome.report()))
    else:
        m = outcome.result.metrics
        print(f"model {outcome.entry.version}: holdout AUC {m.auc:.4f}, ECE {m.ece:.4f}, PR AUC {m.pr_auc:.4f}, "
              f"lift@10 {m.lift_at_10:.2f} ({outcome.result.shipped})")
        for name, metrics in outcome.result.comparison.items():
            print(f"  {name:<20} AUC {metrics.auc:.4f}  ECE {metrics.ece:.4f}  brier {metrics.brier:.4f}")
        print("gate: " + ("passed" if outcome.gate.passed else "FAILED"))
        for reason in outcome.gate.reasons:
            print(f"  - {reason}")
        for note in outcome.gate.notes + outcome.result.notes + outcome.result.warnings:
            print(f"  note: {note}")
        state = "promoted to champion" if outcome.promoted else "registered, not promoted"
        print(f"{state}; model card: {registry_for(config).root / outcome.entry.version / 'model_card.md'}")
    return 0 if outcome.gate.passed else 1


# -- evaluate ---------------------------------------------------------------------------------------

def _evaluate(args: argparse.Namespace) -> int:
    from scoring.evaluate import evaluate

    config = load_config(args.config)
    model = registry_for(config).load(args.model)
    result = evaluate(model, read_leads(args.data), as_of=iso_datetime(args.as_of, "--as-of"),
                      maturity_days=config.learning.conversion_window_days)
    if args.json:
        print(_dump(result.report()))
    else:
        print(f"model {result.version} on {result.rows['evaluated']} labelled leads:")
        for key, value in result.metrics.to_dict().items():
            print(f"  {key:<24} {value if value is not None else 'n/a'}")
        for warning in result.warnings:
            print(f"  note: {warning}")
    return 0


# -- score ------------------------------------------------------------------------------------------

def _score(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in {".csv", ".jsonl"}:
        raise BadInputError(f"--out {args.out}: give a .csv or .jsonl file")
    config = load_config(args.config)
    model = registry_for(config).load(args.model)
    frame = read_leads(args.data)
    tmp = out.with_name(f".{out.name}.partial")
    warnings: list[str] = []
    scored = 0
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        for start in range(0, len(frame), SCORE_CHUNK):
            batch = model.score(frame.iloc[start:start + SCORE_CHUNK])
            warnings += [w for w in batch.warnings if w not in warnings]
            if out.suffix.lower() == ".csv":
                table = batch.to_frame()
                table["reasons"] = [" | ".join(r) for r in batch.reason_text]
                table.to_csv(handle, index=False, header=start == 0)
            else:
                for i in range(len(batch)):
                    handle.write(_dump({
                        "lead_id": batch.lead_id[i], "probability": round(float(batch.probability[i]), 6),
                        "score": int(batch.score[i]), "confidence": round(float(batch.confidence[i]), 4),
                        "model_version": batch.model_version, "reasons": batch.reason_text[i],
                        "reason_details": [{"feature": r.feature, "value": r.value,
                                            "contribution": round(r.contribution, 5), "points": round(r.points, 2)}
                                           for r in batch.reasons(i)],
                    }) + "\n")
            scored += len(batch)
    os.replace(tmp, out)
    if args.json:
        print(_dump({"out": str(out), "scored": scored, "model_version": model.version, "warnings": warnings}))
    else:
        print(f"scored {scored} lead(s) with model {model.version} -> {out}")
        for warning in warnings:
            print(f"  note: {warning}", file=sys.stderr)
    return 0


# -- models -----------------------------------------------------------------------------------------

def _models_list(args: argparse.Namespace) -> int:
    registry = registry_for(load_config(args.config))
    entries = registry.entries()
    if args.json:
        from dataclasses import asdict

        print(_dump({"champion": registry.champion(), "models": [asdict(e) for e in entries]}))
        return 0
    if not entries:
        print(f"no models in {registry.root}; run `leadpilot train --data FILE.csv`")
        return 0
    print(f"{'version':<8} {'status':<12} {'gate':<6} {'auc':>7} {'ece':>7}  registered                 training window")
    for e in entries:
        auc = f"{e.auc:.4f}" if e.auc is not None else "n/a"
        ece = f"{e.ece:.4f}" if e.ece is not None else "n/a"
        window = f"{e.training_window.get('start', '?')} .. {e.training_window.get('end', '?')}"
        print(f"{e.version:<8} {e.status:<12} {'pass' if e.gate_passed else 'FAIL':<6} {auc:>7} {ece:>7}  "
              f"{e.registered_at[:25]:<26} {window}")
    return 0


def _models_show(args: argparse.Namespace) -> int:
    registry = registry_for(load_config(args.config))
    version = args.version or registry.champion()
    if version is None:
        raise BadInputError("no champion yet; name a version (leadpilot models list)")
    meta = registry.metadata(version)
    entry = registry.entry(version)
    if args.json:
        print(_dump({"entry": entry.__dict__, "metadata": meta}))
        return 0
    print(f"{version} ({entry.status}) {meta.get('name')}: trained {meta.get('created_at')}")
    print(f"  sha256 {entry.sha256}")
    print(f"  data hash {meta.get('data_hash')}; shipped {meta.get('shipped')} with weights {meta.get('weights', {}).get('shipped')}")
    for key, value in (meta.get("metrics") or {}).items():
        print(f"  {key:<24} {value}")
    gate = meta.get("gate", {})
    print("  gate: " + ("passed" if gate.get("passed") else "failed"))
    for reason in gate.get("reasons", []):
        print(f"    - {reason}")
    card = registry.root / version / "model_card.md"
    if card.exists():
        print(f"  model card: {card}")
    return 0


def _models_promote(args: argparse.Namespace) -> int:
    registry = registry_for(load_config(args.config))
    if args.force and not args.reason:
        raise BadInputError("--force needs --reason (it is recorded in the registry history)")
    event = registry.promote(args.version, now=datetime.now(UTC), reason=args.reason or "", force=args.force)
    print(_dump(event.__dict__) if args.json else f"{event.version} is the champion (was {event.previous or 'none'})")
    return 0


def _models_rollback(args: argparse.Namespace) -> int:
    registry = registry_for(load_config(args.config))
    event = registry.rollback(now=datetime.now(UTC), to=args.to, reason=args.reason or "")
    print(_dump(event.__dict__) if args.json else f"rolled back: {event.version} is the champion again "
                                                   f"(was {event.previous})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds this module's subcommands."""
    train = command(
        subparsers, "train", handler=_train,
        help="train, validate (time-ordered), gate and register a model from labelled leads",
        description="Train the calibrated XGBoost + random forest + logistic regression ensemble on a CSV of\n"
                    "labelled leads, compare it on the latest leads (the holdout) with its members, the seed's\n"
                    "fixed blend and the current champion, apply the gate and register it; it is promoted\n"
                    "when the gate passes.\n"
                    "Exit 0: passed; 1: gate failed (model kept, not promoted); 2: bad input.",
        example="leadpilot train --data leads.csv --model-config model.yaml --json")
    train.add_argument("--data", required=True, metavar="FILE.csv", help="labelled leads (label and time columns)")
    train.add_argument("--model-config", metavar="FILE.yaml",
                       help="model YAML (Appendix A.2 shape or a scoring: mapping) over the config's scoring "
                            "section; 'seed' uses the seed's settings")
    train.add_argument("--as-of", metavar="DATE",
                       help="when the export was taken (default: the latest lead's time); leads younger than "
                            "learning.conversion_window_days are left out (their outcome is not final)")
    train.add_argument("--no-promote", action="store_true", help="register only, even if the gate passes")
    add_config_argument(train)
    add_json_argument(train)

    ev = command(subparsers, "evaluate", handler=_evaluate,
                 help="metrics of a registered model on labelled leads",
                 example="leadpilot evaluate --data last_quarter.csv --model v0003 --json")
    ev.add_argument("--data", required=True, metavar="FILE.csv", help="labelled leads")
    ev.add_argument("--model", metavar="VERSION", help="registered version (default: the champion)")
    ev.add_argument("--as-of", metavar="DATE", help="as for train: leaves out leads whose outcome is not final")
    add_config_argument(ev)
    add_json_argument(ev)

    sc = command(subparsers, "score", handler=_score,
                 help="score a CSV of leads into a CSV or JSON-lines file",
                 description="Writes one row per lead: lead_id, probability (calibrated), score (0-100: the\n"
                             "lead's percentile among the leads scored at training time, so >= 80 is about the top\n"
                             "20%), confidence (0-1: member agreement x input completeness), model_version, reasons.",
                 example="leadpilot score --data new_leads.csv --out scores.jsonl")
    sc.add_argument("--data", required=True, metavar="FILE.csv", help="leads to score")
    sc.add_argument("--out", required=True, metavar="FILE", help="output: .csv or .jsonl")
    sc.add_argument("--model", metavar="VERSION", help="registered version (default: the champion)")
    add_config_argument(sc)
    add_json_argument(sc)

    group = subparsers.add_parser("models", help="list, show, promote or roll back registered models",
                                  description="List, show, promote or roll back registered models.",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="example:\n  leadpilot models list -c /etc/leadpilot/leadpilot.yaml")
    sub = group.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = command(sub, "list", handler=_models_list, help="every registered model with status and metrics",
                 example="leadpilot models list -c /etc/leadpilot/leadpilot.yaml")
    show = command(sub, "show", handler=_models_show, help="one model's metadata (default: the champion)",
                   example="leadpilot models show v0002 --json")
    show.add_argument("version", nargs="?", help="model version, e.g. v0002")
    promote = command(sub, "promote", handler=_models_promote,
                      help="make a model the champion (one that failed the gate needs --force and --reason)",
                      example="leadpilot models promote v0003")
    promote.add_argument("version", help="model version, e.g. v0003")
    promote.add_argument("--force", action="store_true", help="promote although the gate failed")
    promote.add_argument("--reason", help="recorded in the registry history")
    rollback = command(sub, "rollback", handler=_models_rollback,
                       help="return to the previous champion (or --to an earlier one)",
                       example="leadpilot models rollback --reason 'conversion dropped'")
    rollback.add_argument("--to", metavar="VERSION", help="an earlier champion")
    rollback.add_argument("--reason", help="recorded in the registry history")
    for parser in (ls, show, promote, rollback):
        add_config_argument(parser)
        add_json_argument(parser)
