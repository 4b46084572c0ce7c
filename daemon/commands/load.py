"""`leadpilot load DIR`: put a generated (or canonical CSV) lead set into the store."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from daemon.cli import add_config_argument, add_json_argument, command
from daemon.commands.config_cmd import load_checked


def _load(args: argparse.Namespace) -> int:
    from daemon.seed import load_generated
    from daemon.store import ensure_schema, make_engine, session_scope

    config = load_checked(args.config)
    engine = make_engine(config)
    ensure_schema(engine)
    with session_scope(engine) as session:
        report = load_generated(session, Path(args.directory), connector=args.connector)
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print(f"loaded {report.leads_added} leads ({report.leads_skipped} already there, "
              f"{report.leads_with_problems} with validation problems kept), "
              f"{report.agents_added} new officers ({report.agents_updated} updated), "
              f"{report.outcomes_added} outcomes")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command(subparsers, "load", handler=_load,
                     help="load a 'leadpilot generate' folder into the store (safe to run twice)",
                     example="leadpilot generate --leads 5000 --out /tmp/leads && leadpilot load /tmp/leads -c leadpilot.yaml")
    parser.add_argument("directory", metavar="DIR", help="folder with leads.csv, agents.yaml and outcomes.csv")
    parser.add_argument("--connector", default="import",
                        help="connector name recorded on the leads (default: import)")
    add_config_argument(parser)
    add_json_argument(parser)
