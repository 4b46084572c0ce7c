"""`leadpilot run` and `leadpilot status`: the service itself, and what it is doing."""
from __future__ import annotations

import argparse
import json
import sys

from daemon.cli import add_config_argument, add_json_argument, command
from daemon.commands.config_cmd import load_checked


def _run(args: argparse.Namespace) -> int:
    from daemon.runtime import Runtime

    config = load_checked(args.config)
    if not config.connectors:
        print("error: no connectors configured; add one under `connectors:` (see config/leadpilot.example.yaml)"
              " or try the demo: python3 dev.py demo", file=sys.stderr)
        return 2
    runtime = Runtime(config=config, load_config=lambda: load_checked(args.config),
                      log_stream=sys.stderr if args.once else None)
    if args.once:
        reports = runtime.run_once()
        if args.json:
            print(json.dumps([{"connector": r.connector, "fetched": r.fetched, "scored": r.processed,
                               "unchanged": r.unchanged, "outcomes": dict(r.outcomes),
                               "blocked": dict(r.blocked_reasons), "written": r.written,
                               "to_retry": r.write_failures, "error": r.error, "seconds": round(r.seconds, 3)}
                              for r in reports]))
        else:
            for report in reports:
                print(report.line())
        return 1 if any(r.error for r in reports) else 0
    return runtime.run_forever()


def _status(args: argparse.Namespace) -> int:
    from daemon.context import AppContext
    from daemon.jobs import status_snapshot

    config = load_checked(args.config)
    ctx = AppContext.build(config, connectors={}, migrate=False)
    try:
        snapshot = status_snapshot(ctx)
    finally:
        ctx.close()
    if args.json:
        print(json.dumps(snapshot, indent=2))
        return 0
    print(f"model: {snapshot['model'] or 'none (train one: leadpilot train --data FILE)'}")
    print(f"scores kept: {snapshot['scores']}   write-backs waiting: {snapshot['outbox_pending']}")
    print("queue: " + (", ".join(f"{k} {v}" for k, v in snapshot["queue"].items()) or "empty"))
    for name, state in snapshot["connectors"].items():
        error = f"  last error: {state['last_error']}" if state["last_error"] else ""
        print(f"{name}: last success {state['last_success_at'] or 'never'}, watermark {state['watermark']}{error}")
    for job, run in sorted(snapshot["jobs"].items()):
        print(f"job {job}: {run['status']} at {run['started_at']}: {run['message'] or ''}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    run = command(subparsers, "run", handler=_run,
                  help="run the daemon in the foreground (what systemd starts); --once for one cycle",
                  example="leadpilot run -c /etc/leadpilot/leadpilot.yaml")
    add_config_argument(run)
    run.add_argument("--once", action="store_true", help="sync officers, run one poll cycle per connector, exit")
    add_json_argument(run)
    status = command(subparsers, "status", handler=_status,
                     help="last cycle per connector, write-backs waiting, queue, model, last job runs",
                     example="leadpilot status -c /etc/leadpilot/leadpilot.yaml")
    add_config_argument(status)
    add_json_argument(status)
