"""`leadpilot sandbox serve`: the local sandbox CRMs (Salesforce over TLS, HubSpot) for the demo and tests."""
from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from config.errors import BadInputError

from daemon.cli import add_json_argument, command

EXAMPLE = "leadpilot sandbox serve --state var/sandbox --seed-from ./synthetic --salesforce-port 8443"


def load_generated(folder: str | Path) -> tuple[Any, list[Any], Any | None]:
    """(leads DataFrame, agents, outcomes DataFrame or None) from a `leadpilot generate` output folder."""
    import pandas as pd
    import yaml

    path = Path(folder)
    leads_csv = path / "leads.csv"
    if not leads_csv.is_file():
        raise BadInputError(f"--seed-from {folder}: no leads.csv there; create one with `leadpilot generate --out {folder}`")
    leads = pd.read_csv(leads_csv, dtype=str, keep_default_na=False, na_values=[""])
    agents: list[Any] = []
    agents_file = path / "agents.yaml"
    if agents_file.is_file():
        try:
            loaded = yaml.safe_load(agents_file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise BadInputError(f"{agents_file}: not valid YAML ({exc})") from None
        agents = loaded.get("agents", []) if isinstance(loaded, dict) else list(loaded or [])
    outcomes_csv = path / "outcomes.csv"
    outcomes = pd.read_csv(outcomes_csv, dtype=str) if outcomes_csv.is_file() else None
    return leads, agents, outcomes


def parse_faults(text: str | None) -> dict[str, Any]:
    """--faults 'rate_429=0.1,latency_ms=50' as FaultSettings keyword arguments."""
    from connectors.sandbox.faults import FaultSettings

    if not text:
        return {}
    known = {f.name: f.type for f in dataclass_fields(FaultSettings)}
    out: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key not in known or key == "endpoints":
            raise BadInputError(f"--faults: {part.strip()!r} is not NAME=VALUE with NAME one of "
                                f"{', '.join(k for k in known if k != 'endpoints')}")
        try:
            out[key] = int(value) if key in ("latency_ms", "seed") else float(value)
        except ValueError:
            raise BadInputError(f"--faults: {key} needs a number, got {value!r}") from None
    try:
        FaultSettings(**out)
    except ValueError as exc:
        raise BadInputError(f"--faults: {exc}") from None
    return out


def start_salesforce(state: Path, host: str, port: int, seed: tuple[Any, list[Any], Any | None] | None,
                     faults: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """Start the Salesforce sandbox; returns (server, connector settings to use, store)."""
    from connectors.sandbox.faults import FaultInjector, FaultSettings, RequestStats
    from connectors.sandbox.salesforce_app import create_salesforce_app, fault_body
    from connectors.sandbox.salesforce_seed import IDENTITY, seed_leads, seed_users, setup_org
    from connectors.sandbox.salesforce_store import SalesforceStore
    from connectors.sandbox.server import serve
    from connectors.sandbox.tls import ensure_ca_and_cert

    tls = ensure_ca_and_cert(state / "tls")
    store = SalesforceStore(state / "salesforce.db")
    setup_org(store)
    if seed is not None and store.count("Lead") == 0:
        leads, agents, outcomes = seed
        users = seed_users(store, agents)
        owners = {}
        if outcomes is not None and len(outcomes):
            owners = {str(l): users[str(a)] for l, a in zip(outcomes["lead_id"], outcomes["agent_id"]) if str(a) in users}
        seed_leads(store, leads, owners=owners)
    injector = FaultInjector(FaultSettings(**faults), error_body=fault_body)
    server = serve(create_salesforce_app(store, injector, RequestStats()), host=host, port=port,
                   ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))
    settings = {"auth": "password", "username": IDENTITY.integration_username, "password": IDENTITY.password,
                "security_token": IDENTITY.security_token, "domain": f"{host}:{server.port}/login",
                "ca_bundle": str(tls.ca_cert.resolve())}
    return server, settings, store


def start_hubspot(state: Path, host: str, port: int, seed: tuple[Any, list[Any], Any | None] | None,
                  faults: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """Start the HubSpot sandbox when its module is installed; returns (server, connector settings)."""
    try:
        from connectors.sandbox.hubspot_app import SANDBOX_TOKEN, create_hubspot_app
        from connectors.sandbox.hubspot_store import seed_hubspot
    except ImportError:
        return None
    from connectors.sandbox.faults import FaultInjector, FaultSettings, RequestStats
    from connectors.sandbox.server import serve

    db = state / "hubspot.db"
    if seed is not None:
        seed_hubspot(db, seed[0], seed[1])
    server = serve(create_hubspot_app(db, FaultInjector(FaultSettings(**faults)), RequestStats()), host=host, port=port)
    return server, {"access_token": SANDBOX_TOKEN, "host": server.url}


def _serve(args: argparse.Namespace) -> int:
    state = Path(args.state)
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"--state {args.state}: cannot create the folder ({exc.strerror or exc})") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise BadInputError("--host: the sandbox serves loopback only (127.0.0.1, localhost, ::1); "
                            "its credentials are public")
    faults = parse_faults(args.faults)
    seed = load_generated(args.seed_from) if args.seed_from else None
    servers: list[Any] = []
    info: dict[str, Any] = {}
    if not args.no_salesforce:
        server, settings, store = start_salesforce(state, args.host, args.salesforce_port, seed, faults)
        servers.append(server)
        info["salesforce"] = {"url": server.url, "leads": store.count("Lead"), "settings": settings,
                              "stats": f"{server.url}/__sandbox/stats"}
    if not args.no_hubspot:
        started = start_hubspot(state, args.host, args.hubspot_port, seed, faults)
        if started is not None:
            servers.append(started[0])
            info["hubspot"] = {"url": started[0].url, "settings": started[1],
                               "stats": f"{started[0].url}/__sandbox/stats"}
    if not servers:
        raise BadInputError("nothing to serve: both --no-salesforce and --no-hubspot given")
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        for crm, entry in info.items():
            leads = f", {entry['leads']} leads" if 'leads' in entry else ''
            print(f"{crm} sandbox: {entry['url']}  (stats: {entry['stats']}{leads})")
            print("  connector settings:")
            for key, value in entry["settings"].items():
                print(f"    {key}: {value}")
        print("Ctrl-C stops the sandbox; its records stay in", state, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.stop()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `sandbox serve`."""
    group = subparsers.add_parser("sandbox", help="local sandbox CRMs (Salesforce, HubSpot) for demos and tests",
                                  description="Local servers speaking the subset of the Salesforce and HubSpot "
                                              "APIs leadpilot uses, with fault injection and request counts.",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog=f"example:\n  {EXAMPLE}")
    sub = group.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    serve = command(sub, "serve", help="run the sandbox CRMs on loopback until Ctrl-C", example=EXAMPLE,
                    handler=_serve,
                    description="Serves the Salesforce sandbox over TLS (a local CA under --state/tls; point the "
                                "connector's ca_bundle at it) and the HubSpot sandbox over HTTP, backed by SQLite "
                                "files under --state that survive restarts. Prints the connector settings to use. "
                                "GET <url>/__sandbox/stats counts requests per endpoint; POST <url>/__sandbox/faults "
                                "changes fault injection at runtime.")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    serve.add_argument("--salesforce-port", type=int, default=8443, metavar="P", help="default 8443; 0 picks one")
    serve.add_argument("--hubspot-port", type=int, default=8444, metavar="P", help="default 8444; 0 picks one")
    serve.add_argument("--state", default="var/sandbox", metavar="DIR", help="SQLite stores and TLS files (default var/sandbox)")
    serve.add_argument("--seed-from", metavar="DIR", help="a `leadpilot generate` folder; seeds empty stores")
    serve.add_argument("--faults", metavar="K=V,...", help="fault injection, e.g. 'rate_429=0.05,latency_ms=50'")
    serve.add_argument("--no-salesforce", action="store_true", help="do not start the Salesforce sandbox")
    serve.add_argument("--no-hubspot", action="store_true", help="do not start the HubSpot sandbox")
    add_json_argument(serve)
