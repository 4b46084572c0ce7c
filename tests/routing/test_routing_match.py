"""Match scores and hard rules over every (lead, officer) pair."""
from __future__ import annotations

import numpy as np
import pytest

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.leads import prepare_leads
from routing.match import build_matches, capacity_score
from routing_builders import NOW, history, leads, officer, profiles

CONFIG = RoutingConfig()


def test_capacity_score_is_one_empty_half_at_optimal_and_zero_when_full() -> None:
    load = np.array([0, 10, 15, 19, 20, 25])
    score = capacity_score(load, np.full(6, 10), np.full(6, 20))
    assert score.tolist() == pytest.approx([1.0, 0.5, 0.25, 0.05, 0.0, 0.0])
    assert np.all(np.diff(score) <= 0)
    # optimal 0 or optimal = max still gives a sensible falling score, never NaN
    assert capacity_score(np.array([0, 5]), np.array([0, 10]), np.array([10, 10])).tolist() == pytest.approx([0.5, 0.75])


def test_hard_rules_licence_active_channel_and_configured_capacity() -> None:
    team = [officer("tx"), officer("ca", ["CA"]), officer("gone", active=False), officer("zero", max_capacity=0),
            officer("caller", channels=["call"])]
    batch = leads([{"state": "TX"}, {"state": "CA"}, {"state": "TX", "allowed_channels": ["text", "email"]}])
    batch.loc[:1, "allowed_channels"] = batch.loc[:1, "allowed_channels"].astype(object)
    batch.at[0, "allowed_channels"] = ["call", "text"]
    batch.at[1, "allowed_channels"] = "call;text"
    mm = build_matches(prepare_leads(batch, CONFIG), profiles(team), CONFIG, NOW)
    assert mm.licensed.tolist() == [[True, False, True, True, True], [False, True, False, False, False],
                                    [True, False, True, True, True]]
    assert mm.eligible.tolist() == [[True, False, False, False, True], [False, True, False, False, False],
                                    [True, False, False, False, False]]  # caller does not text


def test_given_a_caller_mask_or_check_then_it_replaces_the_agents_file_licences() -> None:
    team = [officer("a", ["TX"]), officer("b", ["TX"])]
    view = prepare_leads(leads([{"state": "TX"}, {"state": "NY"}]), CONFIG)
    mask = np.array([[False, True], [True, False]])
    assert build_matches(view, profiles(team), CONFIG, NOW, licensed=mask).licensed.tolist() == mask.tolist()
    seen: list[tuple[list, list]] = []

    def registry(states, agent_ids):  # the shape of compliance's LicenceRegistry.eligibility_mask
        seen.append((list(states), list(agent_ids)))
        return np.array([[s == "NY", False] for s in states])

    mm = build_matches(view, profiles(team), CONFIG, NOW, licensed=registry)
    assert seen == [(["TX", "NY"], ["a", "b"])] and mm.licensed.tolist() == [[False, False], [True, False]]
    with pytest.raises(BadInputError, match="shape"):
        build_matches(view, profiles(team), CONFIG, NOW, licensed=np.ones((3, 2), dtype=bool))


def test_expired_licences_from_the_agents_file_do_not_count() -> None:
    from datetime import date
    team = [officer("lapsed", expires=date(2026, 1, 1)), officer("valid", expires=date(2027, 1, 1))]
    mm = build_matches(prepare_leads(leads([{}]), CONFIG), profiles(team), CONFIG, NOW)
    assert mm.licensed.tolist() == [[False, True]]


def test_components_are_in_unit_range_and_follow_their_definitions() -> None:
    team = [officer("spec", specialties=["fha", "subprime"], max_capacity=10, optimal=5, open_leads=5),
            officer("plain", max_capacity=10, open_leads=0, schedule={}),
            officer("night", schedule={"weekdays": "20:00-23:00"}, complaint_rate=0.5)]
    hist = history({"spec": (50, 10), "plain": (50, 10), "night": (50, 10)})
    batch = leads([{"loan_type": "fha", "credit_score": 600}, {"loan_type": "va", "credit_score": 750},
                   {"loan_type": None, "credit_score": None}])
    mm = build_matches(prepare_leads(batch, CONFIG), profiles(team, hist), CONFIG, NOW)
    assert mm.expertise[:, 0].tolist() == [1.0, 0.0, 0.0] and mm.expertise[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert mm.capacity_at().tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert mm.availability.tolist()[:2] == [1.0, CONFIG.unknown_schedule_availability]
    assert mm.availability_notes[1] == "no schedule on file" and 0 < mm.availability[2] < 0.75
    # equal history: performance 0.5 (team average), halved again by a 50% complaint rate
    assert mm.performance[0, 0] == pytest.approx(0.5) and mm.performance[0, 2] == pytest.approx(0.25)
    match = mm.match()
    assert np.all((match >= 0) & (match <= 1))
    w = CONFIG.weights
    expected = (w.performance * 0.5 + w.capacity * 0.5 + w.expertise * 1.0 + w.availability * 1.0)
    assert match[0, 0] == pytest.approx(expected / (w.performance + w.capacity + w.expertise + w.availability))


def test_weights_from_config_change_the_ranking() -> None:
    team = [officer("spec", specialties=["fha"], open_leads=9), officer("idle")]
    view = prepare_leads(leads([{"loan_type": "fha"}]), CONFIG)
    ps = profiles(team)
    by_capacity = RoutingConfig(weights={"performance": 0, "capacity": 1, "expertise": 0, "availability": 0})
    by_expertise = RoutingConfig(weights={"performance": 0, "capacity": 0, "expertise": 1, "availability": 0})
    assert np.argmax(build_matches(view, ps, by_capacity, NOW).match()[0]) == 1
    assert np.argmax(build_matches(view, ps, by_expertise, NOW).match()[0]) == 0


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(BadInputError, match="time-zone-aware"):
        build_matches(prepare_leads(leads([{}]), CONFIG), profiles([officer("a")]), CONFIG, NOW.replace(tzinfo=None))
