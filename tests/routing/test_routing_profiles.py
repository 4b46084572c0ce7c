"""Officer profiles: shrunk conversion, cells, lead-quality adjustment, speed and load."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.leads import prepare_leads
from routing.profiles import build_profiles
from routing.tokens import TOKENS
from routing_builders import history, leads, officer, profiles

CONFIG = RoutingConfig()


def test_given_three_leads_then_rates_are_never_zero_or_one_hundred_percent() -> None:
    team = history({**{f"o{i}": (150, 23) for i in range(6)}, "lucky": (3, 3), "unlucky": (3, 0)})
    ps = profiles([officer(f"o{i}") for i in range(6)] + [officer("lucky"), officer("unlucky"), officer("new")], team)
    by_id = {a.agent_id: a for a in ps.agents}
    team_rate = ps.team.rate
    assert team_rate == pytest.approx(141 / 906)
    assert by_id["lucky"].raw_rate == 1.0 and team_rate < by_id["lucky"].conversion_rate < 0.35
    assert by_id["unlucky"].raw_rate == 0.0 and 0.08 < by_id["unlucky"].conversion_rate < team_rate
    # a new officer is rated at the average officer's level: the team's, give or take what 6 leads suggest
    assert by_id["new"].leads == 0 and by_id["new"].conversion_rate == pytest.approx(team_rate, rel=0.1)
    assert by_id["unlucky"].conversion_rate < by_id["new"].conversion_rate < by_id["lucky"].conversion_rate


def test_given_more_evidence_then_less_shrinkage() -> None:
    def pulled_back(n: int) -> float:
        team = history({"a": (n, n // 2), **{f"b{i}": (400, 40) for i in range(4)}})
        ps = profiles([officer("a")] + [officer(f"b{i}") for i in range(4)], team)
        a = ps.agents[0]
        return (a.raw_rate - a.conversion_rate) / (a.raw_rate - ps.team.rate)

    few, many = pulled_back(10), pulled_back(200)
    assert 0 < many < few < 1
    assert many < 0.2 and few > 0.4


def test_given_outcomes_not_known_yet_then_they_do_not_count() -> None:
    hist = history({"a": (10, 5)})
    young = pd.DataFrame({"agent_id": ["a"] * 50, "converted": [None] * 50})
    ps = profiles([officer("a")], pd.concat([hist, young], ignore_index=True))
    assert ps.agents[0].leads == 10 and ps.team.leads == 10


def test_given_lead_probabilities_then_better_leads_do_not_make_a_better_officer() -> None:
    # A got leads worth 40% and converted 40%; B got leads worth 10% and converted 10%: equally good
    a = pd.DataFrame({"agent_id": "A", "converted": [True] * 80 + [False] * 120, "probability": 0.4})
    b = pd.DataFrame({"agent_id": "B", "converted": [True] * 20 + [False] * 180, "probability": 0.1})
    both = pd.concat([a, b], ignore_index=True)
    adjusted = profiles([officer("A"), officer("B")], both)
    assert adjusted.agents[0].lift == pytest.approx(adjusted.agents[1].lift, rel=0.05)
    naive = profiles([officer("A"), officer("B")], both.drop(columns="probability"))
    assert naive.agents[0].lift > 1.5 * naive.agents[1].lift


def test_given_an_officer_strong_in_fha_and_weak_in_va_then_the_lift_follows_the_loan_type() -> None:
    rows = []
    for agent, fha_rate, va_rate in (("fha_pro", 0.30, 0.05), ("even", 0.15, 0.15), ("even2", 0.15, 0.15)):
        for loan, rate in (("fha", fha_rate), ("va", va_rate)):
            rows += [{"agent_id": agent, "loan_type": loan, "converted": i < rate * 400} for i in range(400)]
    ps = profiles([officer("fha_pro"), officer("even"), officer("even2")], pd.DataFrame(rows))
    pro = ps.agents[0]
    assert pro.by_loan_type["fha"].rate > 0.2 > 0.1 > pro.by_loan_type["va"].rate
    assert pro.by_loan_type["fha"].leads == 400 and pro.by_loan_type["fha"].conversions == 120
    view = prepare_leads(leads([{"loan_type": "FHA"}, {"loan_type": "va"}, {"loan_type": None}]), CONFIG)
    lift = ps.lift_matrix(view)
    assert lift[0, 0] > 1.3 > 0.8 > lift[1, 0]
    # unknown loan type: half FHA, half VA like the history's leads, so in between
    assert lift[1, 0] < lift[2, 0] < lift[0, 0]
    # the even officers convert 15% everywhere: below the team on FHA (20%), above it on VA (11.7%)
    assert lift[0, 1] < 0.95 and lift[1, 1] > 1.05
    expected = ps.expected_conversion(view)
    assert expected[0, 0] == pytest.approx(0.30, abs=0.03) and expected[1, 0] == pytest.approx(0.05, abs=0.02)


def test_given_declared_specialists_outperform_then_a_new_specialist_inherits_that_prior() -> None:
    rows = []
    for agent, is_fha in (("s1", True), ("s2", True), ("g1", False), ("g2", False)):
        for loan in ("fha", "conventional"):
            rate = 0.30 if (is_fha and loan == "fha") else 0.12
            rows += [{"agent_id": agent, "loan_type": loan, "converted": i < rate * 300} for i in range(300)]
    team = [officer("s1", specialties=["fha"]), officer("s2", specialties=["fha"]), officer("g1"), officer("g2"),
            officer("new_fha", specialties=["fha"]), officer("new_plain")]
    ps = profiles(team, pd.DataFrame(rows))
    new_fha, new_plain = ps.agents[4], ps.agents[5]
    assert new_fha.leads == 0
    assert new_fha.by_loan_type["fha"].rate > 1.3 * new_plain.by_loan_type["fha"].rate


def test_speed_and_load_come_from_history_and_overrides() -> None:
    hist = pd.DataFrame({"agent_id": ["a"] * 4, "converted": [True, True, False, False],
                         "days_to_close": [10, 30, None, None], "response_minutes": [1, 2, 3, 100]})
    ps = build_profiles(hist, [officer("a", open_leads=3), officer("b", open_leads=2)], CONFIG, open_load={"a": 7})
    a, b = ps.agents
    assert (a.days_to_close, a.response_minutes, a.open_load, b.open_load) == (20.0, 2.5, 7, 2)
    assert a.free_capacity == 3 and ps.with_loads({"b": 9}).agents[1].open_load == 9


def test_given_no_history_then_profiles_exist_with_the_neutral_lift() -> None:
    ps = build_profiles(None, [officer("a"), officer("b")], CONFIG)
    assert ps.team.rate is None and [a.lift for a in ps.agents] == [1.0, 1.0]
    view = prepare_leads(leads([{"score": 90}, {"score": 40, "probability": 0.2}]), CONFIG)
    assert np.allclose(ps.base_probability(view), [0.9, 0.2])  # score/100 is the last resort


def test_bad_history_and_officer_lists_are_refused() -> None:
    with pytest.raises(BadInputError, match="agent_id and converted"):
        build_profiles(pd.DataFrame({"agent": ["a"]}), [officer("a")], CONFIG)
    with pytest.raises(BadInputError, match="duplicate agent_id"):
        build_profiles(None, [officer("a"), officer("a")], CONFIG)


def test_score_band_and_credit_tier_are_derived_from_raw_columns() -> None:
    hist = pd.DataFrame({"agent_id": ["a"] * 6, "converted": [1, 0, 1, 0, 0, 0],
                         "score": [90, 85, 65, 61, 20, None], "credit_score": [800, 700, 600, 650, "n/a", 700]})
    ps = profiles([officer("a")], hist)
    assert set(ps.team.by_dimension["score_band"]) == {"high", "medium", "low"}
    assert set(ps.team.by_dimension["credit_tier"]) == {"prime", "near_prime", "subprime"}
    assert ps.agents[0].by_score_band["high"].leads == 2


def test_given_a_first_time_buyer_specialist_then_first_time_buyers_go_their_way() -> None:
    rows = []
    for agent, ftb_rate in (("ftb_pro", 0.32), ("plain", 0.15), ("plain2", 0.15)):
        for ftb, rate in ((True, ftb_rate), (False, 0.15)):
            rows += [{"agent_id": agent, "first_time_buyer": "Yes" if ftb else "No", "loan_type": "fha",
                      "converted": i < rate * 300} for i in range(300)]
    team = [officer("ftb_pro", specialties=["first_time_buyer"]), officer("plain"), officer("plain2")]
    ps = profiles(team, pd.DataFrame(rows))
    assert "first_time_buyer" in ps.performance_dimensions
    pro = ps.agents[0]
    assert (pro.by_dimension["first_time_buyer"]["yes"].leads, pro.by_dimension["first_time_buyer"]["yes"].conversions) \
        == (300, 96)
    view = prepare_leads(leads([{"first_time_buyer": True}, {"first_time_buyer": False}]), CONFIG)
    expected = ps.expected_conversion(view)
    assert expected[0, 0] > 1.5 * expected[0, 1] and expected[0, 0] == pytest.approx(0.32, abs=0.04)
    assert expected[1, 0] == pytest.approx(expected[1, 1], rel=0.1)
    assert view.first_time_buyer == [True, False] and "first_time_buyer" in view.tags[0]


def test_given_a_blank_loan_type_then_it_counts_as_what_similar_past_leads_were() -> None:
    # subprime leads were FHA, prime leads conventional: a blank-type subprime lead is most likely FHA
    rows = []
    for agent in ("fha_pro", "plain"):
        for loan, credit in (("fha", 600), ("conventional", 780)):
            rate = 0.3 if (agent == "fha_pro" and loan == "fha") else 0.12
            rows += [{"agent_id": agent, "loan_type": loan, "credit_score": credit, "converted": i < rate * 300}
                     for i in range(300)]
    ps = profiles([officer("fha_pro", specialties=["fha"]), officer("plain")], pd.DataFrame(rows))
    view = prepare_leads(leads([{"loan_type": None, "credit_score": 600}, {"loan_type": None, "credit_score": 780}]),
                         CONFIG)
    x = ps.lead_tokens(view)
    fha, conventional = TOKENS.index("fha"), TOKENS.index("conventional")
    assert x[0, fha] > 0.9 and x[1, conventional] > 0.9
    lift = ps.lift_matrix(view)
    assert lift[0, 0] > 1.2 > 1.05 > lift[1, 0] > 0.95
