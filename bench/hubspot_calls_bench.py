"""HubSpot API calls per 1,000 new leads for a full cycle (poll + write-back + assignment), counted by the sandbox.

Seeds the HubSpot sandbox with `--existing` synthetic leads, polls them once (the watermark), then lets
`--new-leads` new contacts arrive and runs one daemon-like cycle with the real connector: owners,
contacts search from the watermark, one batch update per 100 leads carrying score, reasons and the
owner assignment. Side by side: the same cycle written one PATCH per lead (the seed's examples), and
the next cycle's poll, which sees our own write-backs and recognises every one of them.

    .venv/bin/python bench/hubspot_calls_bench.py --new-leads 1000
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import hubspot
from hubspot.crm.contacts import SimplePublicObjectInput

from config.sections.connectors import ConnectorConfig
from connectors.base import Watermark, WriteBackItem
from connectors.hubspot import HubSpotConnector
from connectors.sandbox.faults import FaultInjector, RequestStats
from connectors.sandbox.hubspot_app import SANDBOX_TOKEN, create_hubspot_app, hubspot_error_body
from connectors.sandbox.hubspot_store import HubSpotStore, add_leads, seed_hubspot
from connectors.sandbox.server import serve
from daemon.synthetic import generate

TARGET_PER_1000 = 25


def _items(leads: list, owners: list[str]) -> list[WriteBackItem]:  # type: ignore[type-arg]
    now = datetime.now(UTC)
    return [WriteBackItem(crm_id=lead.crm_id, idempotency_key=f"score:{lead.crm_id}", score=50 + i % 50,
                          probability=(50 + i % 50) / 100, confidence=0.8, model_version="bench", scored_at=now,
                          reasons=["Credit score: +5", "Timeline: +3"], compliance_status="eligible",
                          owner_crm_user_id=owners[i % len(owners)], assignment_external_id=f"asg-{lead.crm_id}",
                          assignment_reason="best licensed match", input_hash=f"h{lead.crm_id}")
            for i, lead in enumerate(leads)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: .venv/bin/python bench/hubspot_calls_bench.py --new-leads 1000")
    parser.add_argument("--new-leads", type=int, default=1000, help="contacts arriving between two polls")
    parser.add_argument("--existing", type=int, default=2000, help="contacts already polled before")
    parser.add_argument("--agents", type=int, default=20, help="loan officers (HubSpot owners)")
    parser.add_argument("--poll-batch", type=int, default=2000, help="leads fetched per cycle at most")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    data = generate(n_leads=args.existing + args.new_leads, n_agents=max(args.agents, 2), seed=args.seed)
    old, new = data.leads.iloc[:args.existing], data.leads.iloc[args.existing:]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hubspot.sqlite"
        seed_hubspot(db, old, data.agents)
        stats = RequestStats()
        app = create_hubspot_app(db, FaultInjector(error_body=hubspot_error_body), stats)
        with serve(app) as server:
            settings = {"access_token": SANDBOX_TOKEN, "host": server.url}
            connector = HubSpotConnector.from_config(ConnectorConfig(name="bench", plugin="hubspot", settings=settings))
            mark, known = Watermark(), set()
            while True:  # catch up on the existing contacts: the watermark a running daemon would hold
                result = connector.fetch_changed(mark, args.poll_batch)
                known.update(lead.crm_id for lead in result.leads)
                mark = result.next_watermark
                if result.complete:
                    break
            # new leads arrive (created now, as a web form or a lead vendor would)
            arrivals = new.assign(created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
            add_leads(HubSpotStore(db), arrivals)

            def cycle(write_one_by_one: bool) -> tuple[dict[str, int], int, float]:
                stats.reset()
                started = time.perf_counter()
                owners = [a.crm_user_id for a in connector.fetch_agents()]
                fetched, since = [], mark
                while True:
                    result = connector.fetch_changed(since, args.poll_batch)
                    fetched.extend(result.leads)
                    since = result.next_watermark
                    if result.complete:
                        break
                # the overlap re-reads the last seconds of the previous pass; the daemon drops those as seen
                items = _items([lead for lead in fetched if lead.crm_id not in known], owners)
                if write_one_by_one:
                    basic = client.crm.contacts.basic_api
                    for item in items:
                        basic.update(item.crm_id, SimplePublicObjectInput(properties={
                            "ai_lead_score": str(item.score), "hubspot_owner_id": item.owner_crm_user_id}))
                else:
                    failures = [r for r in connector.write_back(items) if not r.ok]
                    assert not failures, failures[:3]
                return stats.snapshot(), len(items), time.perf_counter() - started

            client = hubspot.Client.create(access_token=SANDBOX_TOKEN, host=server.url)
            naive, n_naive, t_naive = cycle(write_one_by_one=True)
            # the batched run polls from the same watermark (the naive run's writes only moved the timestamps)
            batched, n_batched, t_batched = cycle(write_one_by_one=False)
            stats.reset()
            after = connector.fetch_changed(mark, args.poll_batch * 10)
            next_poll = stats.snapshot()
            ours = sum(lead.modified_by_integration for lead in after.leads)
            connector.close()

    per_1000 = lambda calls, n: 1000 * calls / max(n, 1)  # noqa: E731
    print(f"HubSpot sandbox, {args.new_leads} new leads ({args.existing} already polled), {args.agents} owners\n")
    print(f"{'cycle':<34}{'new':>7}{'calls':>8}{'per 1,000':>11}{'seconds':>9}   by endpoint")
    for label, counts, n, secs in (("one PATCH per lead (seed style)", naive, n_naive, t_naive),
                                   ("batched (this connector)", batched, n_batched, t_batched)):
        total = sum(counts.values())
        print(f"{label:<34}{n:>7}{total:>8}{per_1000(total, n):>11.1f}{secs:>9.2f}   {counts}")
    total_b, total_n = sum(batched.values()), sum(naive.values())
    print(f"\nbatched / one-per-lead calls: {total_b / max(total_n, 1):.3f}  "
          f"(target <= {TARGET_PER_1000} per 1,000: {'met' if per_1000(total_b, n_batched) <= TARGET_PER_1000 else 'MISSED'})")
    print(f"next poll after our write-back: {sum(next_poll.values())} calls, {len(after.leads)} contacts seen, "
          f"{ours} recognised as our own write-back (not re-scored)")


if __name__ == "__main__":
    main()
