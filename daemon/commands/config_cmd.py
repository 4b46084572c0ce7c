"""`leadpilot config check|show`: validate a configuration file, or print it with defaults filled in."""
from __future__ import annotations

import argparse
import json
import sys

import yaml

from config import ConfigError, LeadpilotConfig, load_config
from config.errors import Problem

from daemon.cli import add_config_argument, add_json_argument, command


def plugin_problems(config: LeadpilotConfig) -> list[Problem]:
    """Validate each connector's `settings` with its plugin's own config model."""
    from connectors.registry import validate_connector_settings

    return validate_connector_settings(config)


def load_checked(path: str | None) -> LeadpilotConfig:
    """Load and fully validate a configuration, plugin settings included."""
    config = load_config(path)
    problems = plugin_problems(config)
    if problems:
        raise ConfigError(path or "embedded defaults", problems)
    return config


def summary(config: LeadpilotConfig) -> dict[str, object]:
    """A short, secret-free description of what a configuration will do."""
    db = config.database.url or f"sqlite:///{config.state_path(config.database.path)}"
    if "@" in db:  # never print a password inside a URL
        scheme, _, rest = db.partition("://")
        db = f"{scheme}://***@{rest.rpartition('@')[2]}"
    return {
        "database": db,
        "state_dir": config.state_dir,
        "connectors": [f"{c.name} ({c.plugin}{'' if c.enabled else ', disabled'})" for c in config.connectors],
        "compliance_rule_set": config.compliance.rule_set_version,
        "model_dir": config.state_path(config.scoring.model_dir),
        "routing_weights": config.routing.weights.model_dump(),
        "api": f"{config.api.host}:{config.api.port}" if config.api.enabled else "disabled",
        "sentry": "on" if config.observability.sentry.dsn and config.observability.sentry.dsn.get_secret_value() else "off",
    }


def _check(args: argparse.Namespace) -> int:
    source = args.config or "embedded defaults"
    try:
        config = load_checked(args.config)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "file": exc.source,
                              "problems": [{"path": p.path, "message": p.message} for p in exc.problems]}))
        else:
            print(f"{exc.source}: {len(exc.problems)} problem(s)", file=sys.stderr)
            for problem in exc.problems:
                print(str(problem), file=sys.stderr)
        return 2
    info = summary(config)
    if args.json:
        print(json.dumps({"ok": True, "file": source, **info}))
    else:
        print(f"{source}: OK")
        for key, value in info.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"  {key}: {shown if shown not in ('', None) else '(none)'}")
    return 0


def _show(args: argparse.Namespace) -> int:
    config = load_checked(args.config)
    data = json.loads(config.model_dump_json())  # SecretStr dumps masked
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("config", help="check or show a configuration file",
                                  description="Check or show a configuration file.")
    sub = group.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = command(sub, "check", handler=_check,
                    help="validate a YAML file; exit 0 with a summary, 2 with one line per problem",
                    example="leadpilot config check -c /etc/leadpilot/leadpilot.yaml")
    add_config_argument(check)
    add_json_argument(check)
    show = command(sub, "show", handler=_show,
                   help="print the effective configuration, defaults filled in and secrets masked",
                   example="leadpilot config show -c /etc/leadpilot/leadpilot.yaml")
    add_config_argument(show)
    add_json_argument(show)
