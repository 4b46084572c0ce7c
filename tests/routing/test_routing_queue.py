"""Draining the queue as capacity frees: highest score first, first-in first-out within a score."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing import OutcomeKind, QueueItem, ReasonCode, drain_queue
from routing.overflow import queue_order
from routing_builders import NOW, leads, officer, profiles

CONFIG = RoutingConfig()


def item(lead_id: str, score: float, minutes_ago: int) -> QueueItem:
    return QueueItem(lead_id, score, NOW - timedelta(minutes=minutes_ago), ReasonCode.CAPACITY_FULL_QUEUED)


def test_queue_order_is_score_then_first_in_first_out() -> None:
    items = [item("late70", 70, 1), item("early70", 70, 30), item("top", 90, 0), item("low", 61, 60)]
    assert [q.lead_id for q in queue_order(items)] == ["top", "early70", "late70", "low"]


def test_given_two_free_slots_then_the_first_two_in_queue_order_are_served() -> None:
    queue = [item("late70", 70, 1), item("early70", 70, 30), item("top", 90, 0), item("low", 61, 60)]
    rows = leads([{"lead_id": q.lead_id, "score": q.score} for q in queue])
    team = [officer("a", max_capacity=3, open_leads=2), officer("b", max_capacity=5, open_leads=4)]
    result = drain_queue(queue, rows, profiles(team), CONFIG, NOW)
    assert [(a.lead_id, a.outcome, a.reason_code) for a in result.assignments] == [
        ("top", OutcomeKind.ASSIGNED, ReasonCode.QUEUE_SERVED), ("early70", OutcomeKind.ASSIGNED, ReasonCode.QUEUE_SERVED)]
    assert sorted(a.agent_id for a in result.assignments) == ["a", "b"]
    assert [q.lead_id for q in result.remaining] == ["late70", "low"]


def test_a_lead_blocked_at_the_head_does_not_block_others() -> None:
    # the top lead is in CA where the only officer is full; the TX lead behind it is served
    queue = [item("ca", 95, 10), item("tx", 65, 5)]
    rows = leads([{"lead_id": "ca", "state": "CA"}, {"lead_id": "tx", "state": "TX"}])
    team = [officer("ca_officer", ["CA"], max_capacity=1, open_leads=1), officer("tx_officer", ["TX"])]
    result = drain_queue(queue, rows, profiles(team), CONFIG, NOW)
    assert [(a.lead_id, a.agent_id) for a in result.assignments] == [("tx", "tx_officer")]
    assert [q.lead_id for q in result.remaining] == ["ca"]


def test_a_queued_lead_nobody_may_take_any_more_leaves_the_queue_with_a_reason() -> None:
    queue = [item("ny", 75, 10)]
    result = drain_queue(queue, leads([{"lead_id": "ny", "state": "NY"}]), profiles([officer("a", ["TX"])]),
                         CONFIG, NOW)
    (a,) = result.assignments
    assert (a.outcome, a.reason_code) == (OutcomeKind.MANAGER_ESCALATION, ReasonCode.NO_LICENSED_OFFICER)
    assert result.remaining == ()


def test_loads_come_from_open_leads_when_given() -> None:
    queue = [item("x", 70, 1)]
    open_leads = pd.DataFrame({"lead_id": ["o1", "o2"], "agent_id": ["a", "a"]})
    result = drain_queue(queue, leads([{"lead_id": "x"}]), profiles([officer("a", max_capacity=2)]), CONFIG, NOW,
                         open_leads=open_leads)
    assert result.assignments == () and [q.lead_id for q in result.remaining] == ["x"]


def test_empty_queue_and_missing_rows() -> None:
    assert drain_queue([], leads([]), profiles([officer("a")]), CONFIG, NOW).assignments == ()
    with pytest.raises(BadInputError, match="without a lead row: gone"):
        drain_queue([item("gone", 70, 1)], leads([{"lead_id": "other"}]), profiles([officer("a")]), CONFIG, NOW)
