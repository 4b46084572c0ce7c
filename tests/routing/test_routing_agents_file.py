"""The officers file: a valid file loads with defaults; each broken entry is reported with its path."""
from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml

from config.errors import ConfigError
from config.sections.routing import RoutingConfig
from routing.agents_file import load_agents_file, load_agents_text, parse_agents

CONFIG = RoutingConfig()

GOOD = textwrap.dedent("""
    agents:
      - agent_id: LO-1
        name: Ann Lee
        email: ann@example.com
        crm_user_id: "005xx01"
        states: [tx, CA]
        specialties: [FHA, first-time buyer, subprime]
        optimal_capacity: 12
        max_capacity: 18
        schedule: {timezone: America/Chicago, hours: {weekdays: "09:00-17:00", fri: "09:00-13:00"}}
        satisfaction: 4.6
        complaint_rate: 0.02
      - agent_id: LO-2
        timezone: America/New_York
        schedule: {mon: "08:00-12:00, 13:00-17:00", sat: off}
        licenses:
          - {state: NY, license_id: NY-1, nmls_id: "123", expires: 2025-12-31}
          - {state: NJ, license_id: NJ-1, nmls_id: "123", expires: 2027-12-31}
""")


def test_given_a_valid_file_when_loaded_then_every_field_and_default_is_set() -> None:
    ann, bob = load_agents_text(GOOD, CONFIG)
    assert ann.licensed_states(date(2026, 11, 2)) == {"TX", "CA"}
    assert ann.specialties == {"fha", "first_time_buyer", "subprime"}
    assert (ann.optimal_capacity, ann.max_capacity) == (12, 18)
    assert ann.schedule is not None and ann.schedule.hours[4] == ((540, 780),)  # Friday overrides weekdays
    assert ann.schedule.hours[5] == ()
    assert ann.channels == {"call", "text"} and ann.complaint_rate == 0.02
    # silent capacity -> config defaults; day-keyed schedule + timezone shorthand
    assert (bob.optimal_capacity, bob.max_capacity) == (CONFIG.default_optimal_capacity, CONFIG.default_max_capacity)
    assert bob.schedule is not None and bob.schedule.timezone == "America/New_York"
    assert bob.schedule.hours[0] == ((480, 720), (780, 1020))


def test_given_an_expired_licence_then_its_state_no_longer_counts() -> None:
    _, bob = load_agents_text(GOOD, CONFIG)
    assert bob.licensed_states(date(2025, 6, 1)) == {"NY", "NJ"}
    assert bob.licensed_states(date(2026, 11, 2)) == {"NJ"}


def test_given_a_state_both_listed_and_licensed_then_the_licence_expiry_wins() -> None:
    text = """
    - agent_id: A
      states: [TX, OK]
      licenses: [{state: TX, expires: 2020-01-01}]
    """
    (a,) = load_agents_text(textwrap.dedent(text), CONFIG)
    assert a.licensed_states(date(2026, 1, 1)) == {"OK"}


def test_given_many_mistakes_then_all_are_reported_with_their_paths() -> None:
    text = """
    agents:
      - agent_id: A
        states: [TX, XX]
        specialties: [fha, helicopters]
      - agent_id: B
        schedule: {timezone: Mars/Olympus, hours: {mon: "17:00-09:00"}}
        complaint_rate: 3
        favourite_colour: blue
      - agent_id: A
      - agent_id: C
        schedule: {mon: "09:00-17:00"}
      - agent_id: D
        optimal_capacity: 30
        max_capacity: 10
    """
    with pytest.raises(ConfigError) as err:
        load_agents_text(textwrap.dedent(text), CONFIG, source="agents.yaml")
    message = str(err.value)
    assert "agents.yaml" in message
    for expected in ("agents[0].states", "XX", "helicopters", "exceeds max_capacity",
                     "agents[1].schedule.timezone", "Mars/Olympus", "must end after it starts",
                     "agents[1].complaint_rate", "agents[1].favourite_colour", "unknown key",
                     "duplicate agent_id 'A'", "needs `timezone`"):
        assert expected in message, expected


def test_given_the_synthetic_generator_format_then_it_loads() -> None:
    # the shape SyntheticAgent.to_yaml_dict writes: states, licenses with ISO dates, day -> hours, open_leads
    doc = {"agents": [{
        "agent_id": "LO-001", "name": "X Y", "email": "x@example.com", "states": ["TX", "OK"],
        "licenses": [{"state": "TX", "license_id": "TX-MLO-1", "nmls_id": "1", "expires": "2026-12-31"},
                     {"state": "OK", "license_id": "OK-MLO-1", "nmls_id": "1", "expires": "2025-12-31"}],
        "specialties": ["fha", "prime"], "optimal_capacity": 10, "max_capacity": 20, "open_leads": 7,
        "timezone": "America/Chicago", "schedule": {"mon": "09:00-17:00", "sat": "10:00-14:00"}, "active": True,
    }]}
    (a,) = parse_agents(yaml.safe_load(yaml.safe_dump(doc)), CONFIG)
    assert a.open_leads == 7 and a.licensed_states(date(2026, 11, 1)) == {"TX"}


def test_given_no_file_or_a_bad_top_level_then_the_admin_is_told_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agents file not found"):
        load_agents_file(tmp_path / "missing.yaml", CONFIG)
    with pytest.raises(ConfigError, match="list of officers"):
        load_agents_text("agents: 3\nextra: 1\n", CONFIG)
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_agents_text("agents: [\n", CONFIG)
    path = tmp_path / "agents.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert [a.agent_id for a in load_agents_file(path, CONFIG)] == ["LO-1", "LO-2"]
    assert load_agents_text("", CONFIG) == []
