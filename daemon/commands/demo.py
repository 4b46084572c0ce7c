"""`leadpilot demo`: the main job on embedded defaults, with sandbox CRMs and leads arriving live."""
from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime
from collections import Counter
from pathlib import Path
from typing import Any

from daemon.cli import command


class Progress:
    """Running totals of the demo, printed one line per cycle."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.scored = self.written = 0
        self.outcomes: Counter[str] = Counter()
        self.blocked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, report: Any) -> None:
        with self._lock:
            self.scored += report.processed
            self.written += report.written
            self.outcomes.update(report.outcomes)
            self.blocked.update(report.blocked_reasons)
            if report.processed or report.error:
                elapsed = time.monotonic() - self.started
                print(f"[{elapsed:5.0f}s] {report.line()}", flush=True)

    def summary(self) -> list[str]:
        assigned = self.outcomes["assigned"] + self.outcomes["priority_takeback"]
        lines = [f"scored {self.scored} leads, wrote {self.written} results back to the CRMs",
                 f"assigned {assigned} to loan officers; "
                 + ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())
                             if k not in ("assigned", "priority_takeback", "rescored"))]
        if self.blocked:
            top = ", ".join(f"{code} {n}" for code, n in self.blocked.most_common(5))
            lines.append(f"not callable, and why (a lead can have several reasons): {top}")
        return lines


def _show_crm_records(env: Any) -> list[str]:
    """A few scored leads read back with the real CRM clients, as a sales user sees them."""
    import hubspot
    import requests
    from simple_salesforce import Salesforce

    from connectors.sandbox.hubspot_app import SANDBOX_TOKEN
    from connectors.sandbox.salesforce_seed import IDENTITY

    lines = []
    sf_settings = next(c.settings for c in env.config.connectors if c.plugin == "salesforce")
    session = requests.Session()
    session.trust_env = False
    session.verify = sf_settings["ca_bundle"]
    sf = Salesforce(username=IDENTITY.sales_username, password=IDENTITY.sales_password,
                    security_token=IDENTITY.sales_token, domain=sf_settings["domain"], session=session)
    rows = sf.query("SELECT Id, LastName, AI_Lead_Score__c, AI_Score_Reasons__c, Compliance_Status__c, Owner.Name FROM Lead "
                    "WHERE AI_Lead_Score__c != null ORDER BY AI_Lead_Score__c DESC LIMIT 3")["records"]
    for row in rows:
        owner = (row.get("Owner") or {}).get("Name") or "unassigned"
        reasons = (row.get("AI_Score_Reasons__c") or "").replace("\n", "; ")
        lines.append(f"  Salesforce lead {row['Id']}: score {row['AI_Lead_Score__c']:.0f}, "
                     f"{row.get('Compliance_Status__c')}, owner {owner}: {reasons}")
    hs_settings = next(c.settings for c in env.config.connectors if c.plugin == "hubspot")
    client = hubspot.Client.create(access_token=SANDBOX_TOKEN, host=hs_settings["host"])
    from hubspot.crm.contacts import PublicObjectSearchRequest

    found = client.crm.contacts.search_api.do_search(PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "ai_lead_score", "operator": "HAS_PROPERTY"}]}],
        sorts=[{"propertyName": "ai_lead_score", "direction": "DESCENDING"}],
        properties=["ai_lead_score", "hubspot_owner_id", "ai_score_reasons", "compliance_status"], limit=3))
    scored = found.results
    for contact in scored:
        props = contact.properties
        lines.append(f"  HubSpot contact {contact.id}: score {props['ai_lead_score']}, {props.get('compliance_status')}, owner "
                     f"{props.get('hubspot_owner_id') or 'unassigned'}: {(props.get('ai_score_reasons') or '').replace(chr(10), '; ')[:160]}")
    return lines


def _demo(args: argparse.Namespace) -> int:
    from daemon.commands.config_cmd import load_checked
    from daemon.demo import DemoSizes, feeder, prepare
    from daemon.runtime import Runtime

    root = Path(args.dir).resolve()
    sizes = DemoSizes(history=args.history, officers=args.officers, initial_leads=args.initial,
                      poll_seconds=args.poll_seconds, fast_model=args.fast, seed=args.seed)
    print(f"leadpilot demo in {root} (Ctrl-C stops it cleanly)", flush=True)
    env = prepare(root, sizes, say=lambda text: print(text, flush=True))
    stop_feeding = threading.Event()
    progress = Progress()
    runtime = Runtime(config=env.config, load_config=lambda: load_checked(str(env.config_path)), on_cycle=progress)
    started = threading.Event()
    timer = None
    if args.duration > 0:
        timer = threading.Timer(args.duration, runtime.controller.request_stop, args=("demo time is up",))
        timer.daemon = True
    code = 1
    try:
        def announce() -> None:
            if started.wait(60):
                url = runtime.health_url or "(metrics disabled)"
                print(f"daemon running: polling both CRMs every {sizes.poll_seconds}s; metrics at {url}/metrics; "
                      f"{args.per_batch} new leads arrive every {args.every:.0f}s", flush=True)
                feeder(env, stop_feeding, every_s=args.every, per_batch=args.per_batch)
                if timer is not None:
                    timer.start()
        threading.Thread(target=announce, daemon=True).start()
        code = runtime.run_forever(started=started)
    finally:
        stop_feeding.set()
        if timer is not None:
            timer.cancel()
        print("\n== summary ==")
        for line in progress.summary():
            print(line)
        try:
            records = _show_crm_records(env)
        except Exception as exc:  # noqa: BLE001 - the summary must not hide the run's own result
            records = [f"  (could not read the sandbox CRMs back: {type(exc).__name__}: {exc})"]
        if records:
            print("what sales sees in the CRMs (read back with simple-salesforce and hubspot-api-client):")
            print("\n".join(records))
        env.close()
        kpi_path = root / "kpi.html"
        try:
            from daemon.demo import write_kpi_report

            print(f"KPI report: {write_kpi_report(env.config, kpi_path, datetime.now(UTC))}")
        except Exception as exc:  # noqa: BLE001 - the summary must not hide the run's own result
            print(f"  (the KPI report could not be written: {type(exc).__name__}: {exc})")
        print(f"""
where to look next:
  configuration  {env.config_path}
  store          {env.config.state_path(env.config.database.path)}
  KPI report     {kpi_path}   (plots a sales manager can read; leadpilot kpi -c {env.config_path} --html FILE)
  model card     {env.config.state_path(env.config.scoring.model_dir)}/ (leadpilot models list -c {env.config_path})
  status         leadpilot status -c {env.config_path}
  sandbox CRMs   leadpilot sandbox serve --state {root / 'sandbox'}   (records persist)""")
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command(subparsers, "demo", handler=_demo,
                     help="run the whole product on sandbox CRMs: seed history, train, score and route live leads",
                     example="leadpilot demo --duration 60")
    parser.add_argument("--dir", default="var/demo", help="working folder, rebuilt on each run (default var/demo)")
    parser.add_argument("--duration", type=float, default=90.0,
                        help="seconds to run before stopping; 0 runs until Ctrl-C (default 90)")
    parser.add_argument("--history", type=int, default=6000, help="past leads generated (default 6000)")
    parser.add_argument("--officers", type=int, default=12, help="loan officers (default 12)")
    parser.add_argument("--initial", type=int, default=150, help="new leads waiting in the CRMs at start")
    parser.add_argument("--per-batch", type=int, default=20, help="new leads arriving per batch (default 20)")
    parser.add_argument("--every", type=float, default=4.0, help="seconds between arriving batches (default 4)")
    parser.add_argument("--poll-seconds", type=int, default=5, help="poll interval (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated world")
    parser.add_argument("--fast", action="store_true", help="small models, for a quick look or a test")

