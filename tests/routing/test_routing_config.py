"""The routing section of the YAML config: defaults are valid, mistakes name their key."""
from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.loader import validate


def test_defaults_and_overrides() -> None:
    config = validate({"routing": {"objective": "match_score", "credit_tiers": {"prime_from": 700}}}, "t.yaml")
    r = config.routing
    assert r.objective == "match_score" and r.credit_tiers.prime_from == 700 and r.credit_tiers.subprime_below == 640
    assert r.performance_dimensions == ["loan_type", "credit_tier", "first_time_buyer"] and r.weights.performance == 0.40


@pytest.mark.parametrize(("routing", "path", "words"), [
    ({"objective": "most_fun"}, "routing.objective", "must be one of"),
    ({"credit_tiers": {"subprime_below": 700, "prime_from": 650}}, "routing.credit_tiers", "must not exceed"),
    ({"thresholds": {"priority_score": 50, "queue_score": 60}}, "routing.thresholds", "must not exceed"),
    ({"weights": {"performance": 0, "capacity": 0, "expertise": 0, "availability": 0}}, "routing.weights", "above 0"),
    ({"performance_dimensions": ["zodiac"]}, "routing.performance_dimensions[0]", "must be one of"),
    ({"match_tiebreak": 2}, "routing.match_tiebreak", "<= 1"),
    ({"shrinkage_leads": -1}, "routing.shrinkage_leads", ">= 0"),
])
def test_mistakes_are_reported_with_their_path(routing: dict, path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate({"routing": routing}, "t.yaml")
    text = str(err.value)
    assert path in text and words in text
