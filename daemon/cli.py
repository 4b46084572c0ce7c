"""`leadpilot` command line: one consistent style for every subcommand.

Conventions: `-c/--config FILE` (default $LEADPILOT_CONFIG, else the embedded defaults),
`--json` for machine-readable output, exit 0 ok, 1 failure, 2 bad input or usage.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from config.errors import LeadpilotError

from daemon import __version__

# Each module adds its subcommands; the order is the order of `leadpilot --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "daemon.commands.demo",
    "daemon.commands.run",
    "daemon.commands.config_cmd",
    "daemon.commands.db",
    "daemon.commands.generate",
    "daemon.commands.load",
    "daemon.commands.scoring_cmds",
    "daemon.commands.learning_cmds",
    "daemon.commands.crm",
    "daemon.commands.sandbox",
)

Handler = Callable[[argparse.Namespace], int]

log = logging.getLogger("leadpilot.cli")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in epilogs as written."""


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The shared -c/--config option."""
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=os.environ.get("LEADPILOT_CONFIG"),
        help="YAML configuration (default: $LEADPILOT_CONFIG, else the embedded defaults)",
    )


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """The shared --json option."""
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON object")


def iso_datetime(value: str | None, flag: str) -> "datetime | None":
    """A --since/--as-of style option as an aware datetime (UTC when no zone is given); bad text exits 2."""
    from datetime import UTC, datetime

    from config.errors import BadInputError

    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"{flag} {value!r} is not an ISO date such as 2026-11-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def command(subparsers: argparse._SubParsersAction, name: str, *, help: str, example: str,
            handler: Handler, description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand whose --help ends with an example; `handler(args)` returns the exit code."""
    parser = subparsers.add_parser(
        name, help=help, description=description or help, formatter_class=_Formatter,
        epilog=f"example:\n  {example}",
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadpilot", formatter_class=_Formatter,
        description="Scores, checks and routes mortgage leads from Salesforce and HubSpot.",
        epilog="example:\n  leadpilot config check -c /etc/leadpilot/leadpilot.yaml\n\n"
               "Every command has --help with an example. Exit codes: 0 ok, 1 failure, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"leadpilot {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `leadpilot` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    # One-off commands log warnings as text on stderr; `leadpilot run` reconfigures from the YAML.
    from config.sections.observability import LoggingConfig
    from daemon.logging_setup import configure_logging

    configure_logging(LoggingConfig(level="DEBUG" if args.debug else "WARNING", format="text"), sys.stderr)
    try:
        return int(handler(args) or 0)
    except LeadpilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `leadpilot ... | head`: the reader left; stop quietly, and keep Python's exit flush quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no bare traceback for a user
        if args.debug:
            raise
        log.exception("unexpected error in %s", args.command)
        print(f"error: unexpected {type(exc).__name__}: {exc}\n"
              "This is a bug in leadpilot; rerun with --debug for the traceback and report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
