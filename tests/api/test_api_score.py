"""POST /api/v1/score and /score/batch over real HTTP: the decision, its record in the store, replays, reservations."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from config.sections.api import ApiConfig
from daemon.api.record import ANSWER_EVENT, API_CONNECTOR
from daemon.api.schemas import LeadData
from daemon.context import AppContext
from daemon.lead_sync import input_hash
from daemon.store import Assignment, AuditEvent, Lead, Score

LeadFactory = Callable[..., dict[str, Any]]


def stored(ctx: AppContext, lead_id: str) -> dict[str, Any]:
    """What the store holds about an API lead: the row and how many scores, events and assignments it has."""
    with ctx.session(readonly=True) as s:
        lead = s.execute(select(Lead).where(Lead.connector == API_CONNECTOR, Lead.crm_id == lead_id)).scalar_one()
        def n(column: Any, *where: Any) -> int:
            return int(s.execute(select(func.count(column)).where(*where)).scalar_one())
        kinds = dict(s.execute(select(AuditEvent.kind, func.count(AuditEvent.id))
                               .where(AuditEvent.lead_pk == lead.id).group_by(AuditEvent.kind)).all())
        return {"lead": lead, "scores": n(Score.id, Score.lead_pk == lead.id), "events": kinds,
                "assignments": n(Assignment.id, Assignment.lead_pk == lead.id)}


def test_given_a_lead_when_scored_then_the_answer_has_score_reasons_compliance_and_an_officer(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory) -> None:
    lead = new_lead(0)
    r = client.post("/api/v1/score", json=lead)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["lead_id"] == lead["lead_id"]
    assert 0 <= body["score"] <= 100 and 0.0 <= body["probability"] <= 1.0 and 0.0 <= body["confidence"] <= 1.0
    assert body["model_version"] == ctx.registry.champion()
    assert body["reasons"] and all(isinstance(t, str) and "points" in t for t in body["reasons"])
    assert [c["text"] for c in body["feature_contributions"]] == body["reasons"]
    assert body["compliance"]["status"] == "COMPLIANT" and body["compliance"]["reasons"] == []
    agent = body["recommended_agent"]
    assert agent is not None and agent["agent_id"].startswith("LO-") and 0 <= agent["match_score"] <= 1
    assert {a["agent_id"] for a in body["alternatives"]}.isdisjoint({agent["agent_id"]})
    assert body["routing"]["outcome"] == "assigned" and body["routing"]["assigned"] is False
    assert r.headers["x-request-id"]

    # recorded like a polled lead: a lead row under "api", a score, compliance and routing audit events
    seen = stored(ctx, lead["lead_id"])
    row = seen["lead"]
    assert row.lead_id == lead["lead_id"] and row.state == lead["state"] and row.created_at is not None
    assert row.input_hash == input_hash(LeadData.model_validate(lead).fields())
    assert seen["scores"] == 1 and seen["assignments"] == 0  # a recommendation takes no capacity
    assert seen["events"] == {"compliance": 1, "routing": 1, ANSWER_EVENT: 1}


def test_given_the_same_lead_twice_when_scored_then_the_stored_answer_comes_back_unchanged(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory) -> None:
    lead = new_lead(1)
    first = client.post("/api/v1/score", json=lead).json()
    again = client.post("/api/v1/score", json=dict(reversed(list(lead.items())))).json()
    assert again == first  # timestamp included: it is the stored decision, not a new one
    assert stored(ctx, lead["lead_id"])["scores"] == 1

    changed = client.post("/api/v1/score", json={**lead, "credit_score": 820, "website_sessions": 30}).json()
    assert changed["timestamp"] != first["timestamp"]
    assert any(c["feature"] == "credit_score" and c["value"] == "820" for c in changed["feature_contributions"]) \
        or changed["score"] != first["score"]
    assert stored(ctx, lead["lead_id"])["scores"] == 2
    # back to the first inputs: the lead row follows and the old answer is not served for newer inputs
    back = client.post("/api/v1/score", json=lead).json()
    assert back["score"] == first["score"] and stored(ctx, lead["lead_id"])["scores"] == 3


def test_given_assign_true_when_scored_then_one_assignment_reserves_the_officer_and_repeats_keep_it(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory) -> None:
    lead = new_lead(2)
    recommended = client.post("/api/v1/score", json=lead).json()
    assert recommended["routing"]["assigned"] is False and stored(ctx, lead["lead_id"])["assignments"] == 0

    assigned = client.post("/api/v1/score", params={"assign": "true"}, json=lead).json()
    assert assigned["routing"]["assigned"] is True, (assigned["routing"], assigned["compliance"])
    officer = assigned["recommended_agent"]["agent_id"]
    with ctx.session(readonly=True) as s:
        rows = s.execute(select(Assignment).join(Lead, Lead.id == Assignment.lead_pk)
                         .where(Lead.crm_id == lead["lead_id"])).scalars().all()
    assert [(a.agent_id, a.state) for a in rows] == [(officer, "written")]

    # repeats, with or without assign, get the reserved answer and reserve nothing more
    assert client.post("/api/v1/score", params={"assign": "true"}, json=lead).json() == assigned
    assert client.post("/api/v1/score", json=lead).json() == assigned
    assert stored(ctx, lead["lead_id"])["assignments"] == 1

    # new inputs: re-scored, and the lead keeps its officer rather than being routed again
    moved = client.post("/api/v1/score", params={"assign": "true"}, json={**lead, "email_opens": 9}).json()
    assert moved["routing"] == {**moved["routing"], "outcome": "held", "assigned": True}
    assert moved["recommended_agent"]["agent_id"] == officer
    assert stored(ctx, lead["lead_id"])["assignments"] == 1


def test_given_leads_failing_compliance_when_scored_then_200_with_every_reason_and_no_officer(
        client: httpx.Client, new_lead: LeadFactory) -> None:
    cases = {
        "declined": new_lead(3, tcpa_consent=False),
        "no phone, bad email": new_lead(4, phone=None, email="not-an-email"),
        "bad phone": new_lead(5, phone="555"),
        "no state": new_lead(6, state=None),
    }
    expected = {"declined": {"CONSENT_DECLINED"}, "no phone, bad email": {"PHONE_MISSING", "EMAIL_INVALID"},
                "bad phone": {"PHONE_INVALID"}, "no state": {"STATE_MISSING"}}
    for name, lead in cases.items():
        r = client.post("/api/v1/score", params={"assign": "true"}, json=lead)
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        codes = {x["code"] for x in body["compliance"]["reasons"]}
        assert body["compliance"]["compliant"] is False and expected[name] <= codes, (name, codes)
        assert all(x["description"] for x in body["compliance"]["reasons"])
        assert body["recommended_agent"] is None and body["routing"]["assigned"] is False, name
        assert 0 <= body["score"] <= 100  # still scored


def test_given_a_batch_when_scored_then_answers_come_in_order_and_match_single_calls(
        client: httpx.Client, new_lead: LeadFactory) -> None:
    leads = [new_lead(10 + i) for i in range(8)]
    r = client.post("/api/v1/score/batch", json={"leads": leads})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["lead_id"] for x in results] == [lead["lead_id"] for lead in leads]
    # each lead scored singly afterwards gets the answer the batch stored
    assert client.post("/api/v1/score", json=leads[3]).json() == results[3]
    assert len({x["score"] for x in results}) > 1  # different leads, different scores


def test_given_a_bad_batch_when_posted_then_422_names_each_duplicate_and_the_size_limit(
        client: httpx.Client, new_lead: LeadFactory, api_config: ApiConfig) -> None:
    a, b = new_lead(20), new_lead(21)
    dup = client.post("/api/v1/score/batch", json={"leads": [a, b, a]})
    assert dup.status_code == 422
    assert dup.json()["problems"] == [{"field": "leads.2.lead_id", "message": f"{a['lead_id']!r} is also leads.0; "
                                                                              "send each lead once"}]
    big = client.post("/api/v1/score/batch", json={"leads": [new_lead(i) for i in range(api_config.max_batch + 1)]})
    assert big.status_code == 422 and big.json()["problems"][0]["field"] == "leads"
    empty = client.post("/api/v1/score/batch", json={"leads": []})
    assert empty.status_code == 422


def test_given_concurrent_calls_when_scored_then_each_gets_its_own_answer_and_one_lead_is_assigned_once(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory, api: Any) -> None:
    leads = [new_lead(30 + i) for i in range(16)]
    twin = new_lead(50)

    def call(lead: dict[str, Any]) -> httpx.Response:
        return client.post("/api/v1/score", params={"assign": "true"}, json=lead)

    with ThreadPoolExecutor(8) as pool:
        singles = list(pool.map(call, leads))
        twins = list(pool.map(call, [twin] * 8))
    assert all(r.status_code == 200 for r in singles + twins)
    assert [r.json()["lead_id"] for r in singles] == [lead["lead_id"] for lead in leads]
    assert all(r.json() == twins[0].json() for r in twins)  # the same lead at once: one decision
    seen = stored(ctx, twin["lead_id"])
    assert seen["scores"] == 1 and seen["assignments"] == (1 if twins[0].json()["routing"]["assigned"] else 0)


def test_given_a_priority_api_lead_taking_back_slots_then_a_crm_lead_is_requeued_and_told_an_api_lead_released(
        client: httpx.Client, ctx: AppContext, new_lead: LeadFactory) -> None:
    """What record_decisions does with routing's take-backs when an API call reserves (?assign=true)."""
    from datetime import UTC, datetime

    from daemon.api.record import record_decisions
    from daemon.store import OutboxItem, QueueEntry
    from routing.outcome import RoutingResult, Takeback

    api_lead = new_lead(12)
    held = client.post("/api/v1/score", params={"assign": "true"}, json=api_lead).json()
    officer = held["recommended_agent"]["agent_id"]
    now = datetime.now(UTC)
    with ctx.session() as s:
        crm = s.execute(select(Lead).where(Lead.connector == "history")).scalars().first()
        assert crm is not None
        s.add(Assignment(lead_pk=crm.id, agent_id=officer, match_score=0.5, reason="r", external_id=f"LP-t-{crm.id}",
                         assigned_at=now, updated_at=now))
    with ctx.session() as s:
        pk = s.execute(select(Lead.id).where(Lead.crm_id == api_lead["lead_id"])).scalar_one()
        takebacks = tuple(Takeback(str(x), officer, "P-1", 20.0, "Taken back for priority lead P-1") for x in (pk, crm.id))
        record_decisions(s, [], RoutingResult((), takebacks), now, reserve=True, answers=[])
    with ctx.session(readonly=True) as s:
        states = dict(s.execute(select(Assignment.lead_pk, Assignment.state)
                                .where(Assignment.lead_pk.in_([pk, crm.id]))).all())
        queued = set(s.execute(select(QueueEntry.lead_pk).where(QueueEntry.lead_pk.in_([pk, crm.id]))).scalars())
        told = s.execute(select(OutboxItem.connector).where(OutboxItem.lead_pk == crm.id,
                                                            OutboxItem.kind == "takeback")).scalars().all()
    assert states == {pk: "released", crm.id: "released"}
    assert queued == {crm.id}  # the queue is drained for CRM leads; the API caller simply asks again
    assert told == ["history"]  # the CRM lead's own connector writes the change back
