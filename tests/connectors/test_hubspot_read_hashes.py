"""The HubSpot connector keeps a contact's read hash only until a write-back has put it on the contact:
re-reading our own write-backs (the overlap window, every poll) keeps nothing, so memory does not grow
with every contact ever seen."""
from __future__ import annotations

from hubspot.crm.contacts import SimplePublicObjectInput

from connectors.base import Watermark
from hubspot_fixtures import SandboxFactory, drain, failed, item_for, make_leads, make_sandbox  # noqa: F401


def test_given_contacts_written_back_and_read_again_then_no_read_hash_is_kept(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(60))
    connector = sandbox.connector(overlap_s=30)
    ids, mark, _ = drain(connector, Watermark(), 100)
    kept = connector._read_hashes  # the cache under test
    assert len(kept) == 60  # read, not yet written: each write-back carries its contact's hash

    assert not failed(connector.write_back([item_for(i) for i in ids]))
    assert len(kept) == 0
    for _ in range(3):  # the echo of our writes, then overlap re-reads
        again = connector.fetch_changed(mark, 100)
        mark = again.next_watermark
        assert all(lead.modified_by_integration for lead in again.leads)
    assert len(kept) == 0

    # a sales edit of a scoring input: its hash is kept until its write-back
    sandbox.client().crm.contacts.basic_api.update(ids[0], SimplePublicObjectInput(properties={"annual_income": "95000"}))
    changed = connector.fetch_changed(mark, 100)
    assert {lead.crm_id for lead in changed.leads if not lead.modified_by_integration} == {ids[0]}
    assert set(kept) == {ids[0]}
    assert not failed(connector.write_back([item_for(ids[0])]))
    assert len(kept) == 0


def test_given_a_later_write_without_a_fresh_read_then_the_contact_still_reads_as_ours(
        make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(make_leads(5))
    connector = sandbox.connector()
    ids, mark, _ = drain(connector, Watermark(), 100)
    assert not failed(connector.write_back([item_for(i) for i in ids]))

    # e.g. the queue drain assigns an officer later: the hash is not sent again, so it is not cleared
    assert not failed(connector.write_back([item_for(ids[0], score=91)]))

    leads = connector.fetch_changed(Watermark(), 100).leads
    assert len(leads) == 5 and all(lead.modified_by_integration for lead in leads)
