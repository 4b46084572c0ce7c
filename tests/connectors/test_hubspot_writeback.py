"""Write-back over real HTTP: batch chunking, per-record failures, bad records, no write loops, idempotency."""
from __future__ import annotations

from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId, SimplePublicObjectInput

from connectors.base import Watermark
from hubspot_fixtures import SandboxFactory, drain, failed, item_for, make_leads, make_sandbox  # noqa: F401


def _owner_ids(sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(o.id) for o in sandbox.store.owners()]


def test_given_250_results_when_written_back_then_three_batch_calls_carry_them_all(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(250))
    connector = sandbox.connector()
    ids = sandbox.contact_ids()
    owner = _owner_ids(sandbox)[0]
    results = connector.write_back([item_for(i, owner) for i in ids])
    assert [r.crm_id for r in results] == ids and not failed(results)
    assert sandbox.count("contacts.batch_update") == 3  # 100 + 100 + 50, score and assignment in one update
    # a sales user sees them with the real client
    batch = sandbox.client().crm.contacts.batch_api
    seen = batch.read(BatchReadInputSimplePublicObjectId(
        properties=["ai_lead_score", "ai_score_reasons", "hubspot_owner_id", "assignment_id", "score_timestamp"],
        properties_with_history=[], inputs=[SimplePublicObjectId(id=i) for i in ids[:3]]))
    first = {o.id: o.properties for o in seen.results}[ids[0]]
    assert first["ai_lead_score"] == "72" and first["hubspot_owner_id"] == owner
    assert first["assignment_id"] == f"asg-{ids[0]}"
    assert first["ai_score_reasons"] == "Credit score 700: +5\nLoan amount: +2"
    assert first["score_timestamp"] == "2026-10-01T09:00:00.000Z"


def test_given_one_bad_owner_and_one_unknown_contact_when_written_back_then_only_those_fail(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(10))
    connector = sandbox.connector()
    ids = sandbox.contact_ids()
    owner = _owner_ids(sandbox)[0]
    items = [item_for(i, owner) for i in ids]
    items[4] = item_for(ids[4], owner="999")  # not an owner: HubSpot rejects the whole batch with 400
    items.append(item_for("424242", owner))  # no such contact: a 207 per-record error
    results = connector.write_back(items)
    bad = {r.crm_id: r for r in failed(results)}
    assert set(bad) == {ids[4], "424242"}
    assert "999" in (bad[ids[4]].error or "") and not bad[ids[4]].retryable
    assert "OBJECT_NOT_FOUND" in (bad["424242"].error or "") and not bad["424242"].retryable
    written = sandbox.store.change_counts("contacts", "ai_lead_score")
    assert sorted(str(k) for k in written) == sorted(set(ids) - {ids[4]})
    # splitting the rejected batch costs a handful of calls, not one per record
    assert sandbox.count("contacts.batch_update") <= 9


def test_given_partial_batch_failures_when_retried_next_cycle_then_every_lead_is_written_exactly_once(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(120))
    connector = sandbox.connector()
    owner = _owner_ids(sandbox)[1]
    sandbox.injector.update(partial_failure_rate=0.3, seed=3)
    pending = {i: item_for(i, owner) for i in sandbox.contact_ids()}
    first_failures = None
    for _cycle in range(30):
        results = connector.write_back(list(pending.values()))
        assert all(r.retryable for r in failed(results))  # injected failures are temporary
        first_failures = first_failures if first_failures is not None else len(failed(results))
        pending = {r.crm_id: pending[r.crm_id] for r in failed(results)}
        if not pending:
            break
    assert not pending and first_failures and first_failures > 10
    for prop in ("ai_lead_score", "hubspot_owner_id", "assignment_id"):
        assert set(sandbox.store.change_counts("contacts", prop).values()) == {1}, prop


def test_given_the_leadpilot_properties_missing_when_written_back_then_one_call_fails_all_with_a_setup_hint(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(150), with_leadpilot_properties=False)
    connector = sandbox.connector()
    results = connector.write_back([item_for(i) for i in sandbox.contact_ids()])
    assert len(failed(results)) == 150 and all(r.retryable for r in results)
    assert "crm setup --apply" in (results[0].error or "")
    assert sandbox.count("contacts.batch_update") == 1


def test_given_bad_crm_data_when_fetched_then_problems_are_kept_and_the_lead_is_still_written_back(
        make_sandbox: SandboxFactory) -> None:
    leads = make_leads(5).astype(object)
    leads.loc[1, ["phone", "state", "loan_amount", "credit_score"]] = ["123", "Narnia", "n/a", "abc"]
    leads.loc[2, "loan_amount"] = "$9,999,999,999"
    leads.loc[3, ["email", "first_name", "created_at"]] = [None, None, leads.loc[3, "created_at"]]
    sandbox = make_sandbox(leads)
    connector = sandbox.connector()
    result = connector.fetch_changed(Watermark(), 100)
    by_lead = {lead.fields["lead_id"]: lead for lead in result.leads}
    junk = by_lead["L00001"]
    assert junk.fields["state"] is None and junk.fields["credit_score"] is None and junk.fields["loan_amount"] is None
    assert junk.fields["phone"] == "123"  # kept as text for compliance to judge, with a problem
    assert {p.split(" ")[0] for p in junk.problems} == {"phone", "state", "loan_amount", "credit_score"}
    assert by_lead["L00002"].fields["loan_amount"] is None and "plausible range" in by_lead["L00002"].problems[0]
    assert by_lead["L00003"].fields["email"] is None and by_lead["L00003"].problems == []  # missing is not a problem
    results = connector.write_back([item_for(lead.crm_id) for lead in result.leads])
    assert not failed(results) and len(results) == 5


def test_given_our_own_write_back_when_polled_again_then_no_lead_asks_for_a_rescore(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(30))
    connector = sandbox.connector()
    ids, mark, _ = drain(connector, Watermark(), 100)
    owner = _owner_ids(sandbox)[0]
    assert not failed(connector.write_back([item_for(i, owner) for i in ids]))
    after_write = connector.fetch_changed(mark, 100)
    assert len(after_write.leads) == 30  # our update moved lastmodifieddate...
    assert all(lead.modified_by_integration for lead in after_write.leads)  # ...and is recognised as ours
    # a sales user changes a scoring input on one lead and only a bookkeeping field on another
    basic = sandbox.client().crm.contacts.basic_api
    basic.update(ids[0], SimplePublicObjectInput(properties={"annual_income": "95000"}))
    basic.update(ids[1], SimplePublicObjectInput(properties={"lead_cost": "12.50"}))
    changed = {lead.crm_id: lead for lead in connector.fetch_changed(after_write.next_watermark, 100).leads}
    assert set(changed) == {ids[0], ids[1]}
    assert not changed[ids[0]].modified_by_integration  # inputs changed: re-score
    assert changed[ids[1]].modified_by_integration  # nothing that scoring reads changed


def test_the_daemons_input_hash_is_written_and_read_back_and_a_restart_only_loses_the_hint(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(2))
    ids = sandbox.contact_ids()
    fresh = sandbox.connector()  # never polled (a restart between poll and write): no read hash of its own
    assert not failed(fresh.write_back([item_for(i, hash_=f"daemon-{i}") for i in ids]))
    assert sandbox.store.history("contacts", int(ids[0]), "leadpilot_read_hash") == []
    leads = {lead.crm_id: lead for lead in fresh.fetch_changed(Watermark(), 10).leads}
    assert leads[ids[0]].written_input_hash == f"daemon-{ids[0]}"  # the daemon's guard still works
    assert not leads[ids[0]].modified_by_integration  # the connector's hint is unknown, so not claimed
    # the next write after this poll carries the read hash again
    assert not failed(fresh.write_back([item_for(ids[0], hash_=f"daemon-{ids[0]}")]))
    again = {lead.crm_id: lead for lead in fresh.fetch_changed(Watermark(), 10).leads}
    assert again[ids[0]].modified_by_integration


def test_given_the_same_item_twice_in_a_batch_then_one_update_is_sent_and_both_get_its_result(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(3))
    connector = sandbox.connector()
    ids = sandbox.contact_ids()
    results = connector.write_back([item_for(ids[0], score=10), item_for(ids[1]), item_for(ids[0], score=20)])
    assert [r.crm_id for r in results] == [ids[0], ids[1], ids[0]] and not failed(results)
    assert [v for v, _, _ in sandbox.store.history("contacts", int(ids[0]), "ai_lead_score")] == ["20"]
