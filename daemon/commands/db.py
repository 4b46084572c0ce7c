"""`leadpilot db upgrade|current`: schema migrations of the store."""
from __future__ import annotations

import argparse
import json

from daemon.cli import add_config_argument, add_json_argument, command
from daemon.commands.config_cmd import load_checked


def _upgrade(args: argparse.Namespace) -> int:
    # imported here so `leadpilot --help` does not load SQLAlchemy and alembic
    from daemon.store import make_engine, schema_status, upgrade

    engine = make_engine(load_checked(args.config))
    try:
        applied = upgrade(engine)
        status = schema_status(engine)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"ok": True, "database": status.database, "applied": applied,
                          "current": status.current, "head": status.head}))
    elif applied:
        print(f"{status.database}: upgraded, applied {', '.join(applied)}; now at {status.current}")
    else:
        print(f"{status.database}: already at the newest schema ({status.current}); nothing to do")
    return 0


def _current(args: argparse.Namespace) -> int:
    from daemon.store import make_engine, schema_status

    engine = make_engine(load_checked(args.config))
    try:
        status = schema_status(engine)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"database": status.database, "current": status.current, "head": status.head,
                          "up_to_date": status.up_to_date, "pending": status.pending}))
    else:
        print(f"database: {status.database}")
        print(f"  current: {status.current or '(empty: no leadpilot schema yet)'}")
        print(f"  newest:  {status.head}")
        if status.pending:
            print(f"  pending: {', '.join(status.pending)} (run: leadpilot db upgrade)")
        else:
            print("  up to date")
    return 1 if args.check and not status.up_to_date else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `leadpilot db upgrade` and `leadpilot db current`."""
    group = subparsers.add_parser(
        "db", help="create or upgrade the store's schema, or show its revision",
        description="Schema of the store (SQLite or PostgreSQL). The daemon upgrades at start too; "
                    "run `db upgrade` yourself to upgrade before starting a new version.",
    )
    sub = group.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = command(
        sub, "upgrade", handler=_upgrade,
        help="create the store, or apply the schema migrations it lacks; existing data is kept",
        description="Create the store, or apply the schema migrations it lacks, in one transaction. "
                    "Existing data is kept; running it again does nothing. Exit 1 if the database "
                    "cannot be reached or is newer than this leadpilot.",
        example="leadpilot db upgrade -c /etc/leadpilot/leadpilot.yaml",
    )
    add_config_argument(up)
    add_json_argument(up)
    cur = command(
        sub, "current", handler=_current,
        help="show the schema revision of the store and whether an upgrade is pending",
        example="leadpilot db current -c /etc/leadpilot/leadpilot.yaml --json",
    )
    add_config_argument(cur)
    add_json_argument(cur)
    cur.add_argument("--check", action="store_true", help="exit 1 when an upgrade is pending")
