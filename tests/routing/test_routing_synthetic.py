"""Batch-optimal routing against the synthetic generator's ground truth (small world; the bench goes big)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from config.sections.routing import RoutingConfig
from routing import build_profiles, load_agents_text
from routing.simulate import BEST, simulate_routing

CONFIG = RoutingConfig()

synthetic = pytest.importorskip("daemon.synthetic")


@pytest.fixture(scope="module")
def world() -> tuple:
    """A small synthetic world: history to learn from, a batch of the newest leads to route, the truth."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    data = synthetic.generate(n_leads=6000, n_agents=12, seed=11, now=now)
    ordered = data.leads.sort_values("created_at").reset_index(drop=True)
    ordered["probability"] = ordered["true_probability"]
    ordered["score"] = (ordered["true_probability"].rank(pct=True) * 100).round()
    batch = ordered.tail(200).reset_index(drop=True)
    past = data.outcomes[data.outcomes["lead_id"].isin(ordered["lead_id"].iloc[:-200])]
    hist = past[["lead_id", "agent_id", "converted", "status"]].merge(
        ordered[["lead_id", "loan_type", "credit_score", "loan_amount", "first_time_buyer", "score", "probability"]],
        on="lead_id")
    hist["converted"] = hist["converted"].where(hist["status"] != "open")
    agents = load_agents_text(yaml.safe_dump({"agents": [a.to_yaml_dict() for a in data.agents]}), CONFIG)
    return data, agents, hist, batch, now


def test_on_synthetic_ground_truth_batch_optimal_beats_round_robin(world: tuple) -> None:
    data, agents, hist, batch, now = world
    ps = build_profiles(hist, agents, CONFIG).with_loads({a.agent_id: 0 for a in agents})
    true_p = data.truth.conversion_probability(batch, ps.agent_ids)
    report = simulate_routing(batch, ps, CONFIG, now, true_p)
    got = {k: v.expected_conversions for k, v in report.outcomes.items()}
    assert got["optimal"] > 1.10 * got["round_robin"]
    assert got["optimal"] >= got["greedy"] * 0.99
    assert got["optimal"] <= got[BEST] + 1e-9
    assert len({v.assigned for v in report.outcomes.values()}) == 1  # same leads served by every strategy


def test_the_first_time_buyer_field_brings_routing_closer_to_the_best_possible(world: tuple) -> None:
    data, agents, hist, batch, now = world
    ratios = []
    for hidden in ([], ["first_time_buyer"]):
        ps = build_profiles(hist.drop(columns=hidden), agents, CONFIG).with_loads({a.agent_id: 0 for a in agents})
        true_p = data.truth.conversion_probability(batch, ps.agent_ids)
        ratios.append(simulate_routing(batch.drop(columns=hidden), ps, CONFIG, now, true_p).ratio("optimal", BEST))
    with_field, without = ratios
    assert with_field > without and with_field > 0.97


def test_the_generators_agents_file_loads_as_written(world: tuple, tmp_path) -> None:
    from routing import load_agents_file

    data, agents, *_ = world
    data.write(tmp_path)
    loaded = load_agents_file(tmp_path / "agents.yaml", CONFIG)
    assert [a.agent_id for a in loaded] == [a.agent_id for a in agents]
    assert [a.licensed_states(data.now.date()) for a in loaded] == [
        frozenset(a.licensed_states(data.now.date())) for a in data.agents]
