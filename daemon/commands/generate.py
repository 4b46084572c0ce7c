"""`leadpilot generate`: synthetic leads, officers and outcomes with known ground truth."""
from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from config.errors import BadInputError

from daemon.cli import add_json_argument, command

EXAMPLE = "leadpilot generate --leads 10000 --agents 20 --seed 7 --out ./synthetic --now 2026-11-01"


def parse_now(text: str | None) -> datetime:
    """--now as an aware UTC datetime; without it, today 00:00 UTC (the only clock read of `generate`)."""
    if text is None:
        return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(f"--now {text!r} is not an ISO-8601 date or time; use e.g. 2026-11-01 or "
                            "2026-11-01T12:00:00Z") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def writable_dir(text: str) -> Path:
    """Create --out if needed and make sure files can be written there, else a BadInputError."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise BadInputError(f"--out {text!r} is a file, not a folder; pick a folder for the generated files")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"--out {text!r}: cannot create the folder ({exc.strerror or exc}); "
                            "pick a folder you can write to") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise BadInputError(f"--out {text!r}: no permission to write there; pick a folder you can write to")
    return path


def _generate(args: argparse.Namespace) -> int:
    from daemon.synthetic import generate  # numpy/pandas load only when the command runs

    if args.leads < 1:
        raise BadInputError(f"--leads must be at least 1, got {args.leads}")
    if args.agents < 2:
        raise BadInputError(f"--agents must be at least 2 (every state with leads needs 2 licensed officers), "
                            f"got {args.agents}")
    if args.seed < 0:
        raise BadInputError(f"--seed must be 0 or more, got {args.seed}")
    now = parse_now(args.now)
    out = writable_dir(args.out)
    started = time.perf_counter()
    data = generate(n_leads=args.leads, n_agents=args.agents, seed=args.seed, now=now, messy=not args.clean)
    try:
        paths = data.write(out)
    except OSError as exc:
        raise BadInputError(f"--out {args.out!r}: writing failed ({exc.strerror or exc})") from None
    seconds = round(time.perf_counter() - started, 3)
    s = data.summary
    if args.json:
        print(json.dumps({"ok": True, "out": str(out), "files": [p.name for p in paths], "seed": args.seed,
                          "now": data.now.strftime("%Y-%m-%dT%H:%M:%SZ"), "seconds": seconds, **s}))
    else:
        auc = "n/a" if s["best_auc"] is None else f"{s['best_auc']:.3f}"
        print(f"wrote {s['n_leads']} leads, {s['n_agents']} officers ({s['active_agents']} active) and their "
              f"outcomes to {out} in {seconds:.2f} s: conversion {s['eventual_conversion_rate']:.1%}, "
              f"{s['open_leads']} open, best AUC {auc}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `leadpilot generate`."""
    parser = command(
        subparsers, "generate", handler=_generate, example=EXAMPLE,
        help="write synthetic leads, officers and outcomes with a known ground truth",
        description="Write leads.csv (canonical schema, messy like a CRM export), agents.yaml, outcomes.csv, "
                    "ground_truth.json (the documented true model) and README.md into a folder. "
                    "The same arguments always give byte-identical files.",
    )
    parser.add_argument("--leads", type=int, default=1000, metavar="N", help="number of leads (default 1000)")
    parser.add_argument("--agents", type=int, default=20, metavar="M", help="number of loan officers, >= 2 (default 20)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the files (created if missing)")
    parser.add_argument("--now", metavar="ISO", default=None,
                        help="reference time: leads span the 18 months before it (default: today 00:00 UTC)")
    parser.add_argument("--clean", action="store_true", help="skip the CRM-style messiness (blanks, junk, odd formats)")
    add_json_argument(parser)
