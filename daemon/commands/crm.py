"""`leadpilot crm check|setup`: connectivity, permissions and missing fields of each configured CRM."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from config.errors import BadInputError

from daemon.cli import add_config_argument, add_json_argument, command


def _connectors(args: argparse.Namespace) -> list[object]:
    """The enabled connectors of the configuration (or the one named by --connector), built but not connected."""
    from connectors.registry import available_plugins
    from daemon.commands.config_cmd import load_checked

    config = load_checked(args.config)
    chosen = [c for c in config.connectors if c.enabled and (args.connector is None or c.name == args.connector)]
    if args.connector is not None and not chosen:
        names = ", ".join(c.name for c in config.connectors) or "none configured"
        raise BadInputError(f"--connector {args.connector!r}: no enabled connector by that name (configured: {names})")
    if not chosen:
        raise BadInputError(f"{args.config or 'the embedded defaults'}: no enabled connectors; add one under "
                            "`connectors:` (see config/leadpilot.example.yaml)")
    plugins = available_plugins()
    return [plugins[c.plugin].load().from_config(c) for c in chosen]


def _run(args: argparse.Namespace, action: Callable[[object], list[object]], verb: str) -> int:
    from connectors.base import CheckItem, ConnectorError

    report: list[dict[str, object]] = []
    failed = False
    for connector in _connectors(args):
        try:
            items: list[CheckItem] = action(connector)  # type: ignore[assignment]
        except ConnectorError as exc:
            items = [CheckItem(False, verb, str(exc))]
        finally:
            connector.close()  # type: ignore[attr-defined]
        failed = failed or not all(i.ok for i in items)
        report.append({"connector": connector.name, "plugin": connector.config.plugin,  # type: ignore[attr-defined]
                       "ok": all(i.ok for i in items),
                       "items": [{"ok": i.ok, "what": i.what, "detail": i.detail} for i in items]})
    if args.json:
        print(json.dumps({"ok": not failed, "connectors": report}))
    else:
        for entry in report:
            print(f"{entry['connector']} ({entry['plugin']}): {'OK' if entry['ok'] else 'NEEDS ATTENTION'}")
            for item in entry["items"]:  # type: ignore[union-attr]
                mark = "ok " if item["ok"] else "-- "
                print(f"  {mark} {item['what']}" + (f": {item['detail']}" if item["detail"] else ""))
    return 1 if failed else 0


def _check(args: argparse.Namespace) -> int:
    return _run(args, lambda c: c.check(), "check")  # type: ignore[attr-defined]


def _setup(args: argparse.Namespace) -> int:
    code = _run(args, lambda c: c.setup(args.apply), "setup")  # type: ignore[attr-defined]
    if not args.apply:
        if not args.json:
            print("dry run: nothing was changed; rerun with --apply to create what is missing", file=sys.stderr)
        return 0
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `crm check` and `crm setup`."""
    crm = subparsers.add_parser("crm", help="CRM connections: check them, create missing fields",
                                description="CRM admin commands for every configured connector.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="example:\n  leadpilot crm check -c /etc/leadpilot/leadpilot.yaml")
    sub = crm.add_subparsers(dest="crm_command", metavar="ACTION", required=True)
    check = command(sub, "check", help="connectivity, permissions and every missing field, per connector",
                    example="leadpilot crm check -c /etc/leadpilot/leadpilot.yaml", handler=_check,
                    description="Logs in to each enabled connector and reports connectivity, read permission, "
                                "API quota, each mapped field and each field leadpilot writes. Exit 1 when "
                                "anything needs attention.")
    setup = command(sub, "setup", help="create the missing custom fields/properties (dry run unless --apply)",
                    example="leadpilot crm setup -c /etc/leadpilot/leadpilot.yaml --apply", handler=_setup,
                    description="Lists the custom fields, objects and properties leadpilot needs that the CRM "
                                "lacks; with --apply creates them (Salesforce Tooling API, HubSpot properties API).")
    setup.add_argument("--apply", action="store_true", help="create what is missing (default: only list it)")
    for parser in (check, setup):
        add_config_argument(parser)
        add_json_argument(parser)
        parser.add_argument("--connector", metavar="NAME", help="only this connector (default: every enabled one)")
