"""Licences: expired ones never count, unknown states are reasons, files with bad rows say which row."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from compliance.licensing import Licence, LicenceRegistry, normalise_state
from compliance.reasons import Reason
from config.errors import ConfigError

ON = date(2026, 11, 1)

YAML_ROWS = """
- {agent_id: lo-1, state: CA, license_id: CA-DFPI-1, nmls_id: "100001", expires: 2027-12-31}
- {agent_id: lo-1, state: TX, license_id: TX-SML-1, expires: 2026-10-31}   # expired the day before
- {agent_id: lo-2, state: ca, nmls_id: 100002, expires: "2026-11-01"}      # valid through its expiry date
- {agent_id: lo-3, state: New York, license_id: NY-1, expires: 11/30/2027}
"""

YAML_AGENTS = """
agents:
  - agent_id: lo-7
    nmls_id: "700007"
    licenses:
      - {state: FL, expires: 2027-06-30}
      - {state: GA, license_id: GA-7, expires: 2025-06-30}
"""

CSV = """Agent ID,State,Licence Number,NMLS,Expiration
lo-1,CA,CA-1,100001,2027-12-31
lo-4,ZZ,ZZ-1,,2027-12-31
lo-5,WA,,,2027-12-31
lo-6,OR,OR-6,,soon
lo-8,NV,NV-8,,
,AZ,AZ-0,,2027-01-01
"""


def load(tmp_path: Path, name: str, text: str, **kwargs: object) -> LicenceRegistry:
    path = tmp_path / name
    path.write_text(text)
    return LicenceRegistry.load(path, **kwargs)  # type: ignore[arg-type]


def test_given_yaml_rows_then_expired_licences_do_not_count(tmp_path: Path) -> None:
    registry = load(tmp_path, "licences.yaml", YAML_ROWS)
    assert registry.problems == ()
    assert registry.agents_for("CA", ON) == ("lo-1", "lo-2")
    assert registry.agents_for("TX", ON) == ()
    assert registry.agents_for("TX", date(2026, 10, 31)) == ("lo-1",)
    assert registry.agents_for("CA", date(2026, 11, 2)) == ("lo-1",)
    assert registry.agents_for("NY", ON) == ("lo-3",)
    assert registry.is_licensed("lo-2", "CA", ON) and not registry.is_licensed("lo-2", "TX", ON)


def test_given_officers_with_nested_licences_then_agent_nmls_is_inherited(tmp_path: Path) -> None:
    registry = load(tmp_path, "agents.yml", YAML_AGENTS)
    assert registry.licences[0] == Licence("lo-7", "FL", date(2027, 6, 30), None, "700007")
    assert registry.agents_for("FL", ON) == ("lo-7",) and registry.agents_for("GA", ON) == ()


def test_given_a_csv_with_bad_rows_then_good_rows_load_and_each_bad_row_is_a_problem(tmp_path: Path) -> None:
    registry = load(tmp_path, "licences.csv", CSV)
    assert registry.agents_for("CA", ON) == ("lo-1",)
    problems = {p.path: p.message for p in registry.problems}
    assert "'ZZ' is not a US state code" in problems["row 2"]
    assert "give license_id or nmls_id" in problems["row 3"]
    assert "'soon' is not a date" in problems["row 4"]
    assert "expires is missing" in problems["row 5"]
    assert "agent_id is missing" in problems["row 6"]


def test_given_strict_loading_then_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "licences.csv", CSV, strict=True)
    assert len(caught.value.problems) == 5 and caught.value.exit_code == 2


@pytest.mark.parametrize("name, text, message", [
    ("l.yaml", "agents: [1, 2]", "must be a mapping"),
    ("l.yaml", "{foo: 1}", "expected a list"),
    ("l.yaml", "- [unclosed", "not valid YAML"),
    ("l.json", "[]", "must end in .yaml"),
])
def test_given_an_unusable_file_then_config_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, name, text)


def test_given_a_missing_file_then_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        LicenceRegistry.load(tmp_path / "none.yaml")


@pytest.mark.parametrize("value, expected", [
    ("CA", ("CA", None)), (" ca ", ("CA", None)), ("California", ("CA", None)), ("new  york", ("NY", None)),
    ("D.C.", ("DC", None)), ("PR", ("PR", None)), (None, (None, Reason.STATE_MISSING)),
    ("", (None, Reason.STATE_MISSING)), ("ZZ", (None, Reason.STATE_UNKNOWN)), ("Ontario", (None, Reason.STATE_UNKNOWN)),
    (12, (None, Reason.STATE_UNKNOWN)),
])
def test_state_codes_are_normalised_or_give_a_reason(value: object, expected: tuple[str | None, Reason | None]) -> None:
    assert normalise_state(value) == expected


def test_eligibility_mask_is_leads_by_agents_with_bad_states_all_false(tmp_path: Path) -> None:
    registry = load(tmp_path, "licences.yaml", YAML_ROWS)
    agents = ["lo-1", "lo-2", "lo-3", "lo-unknown"]
    mask = registry.eligibility_mask(["CA", "tx", "ZZ", None, "New York"], agents, ON)
    assert mask.dtype == bool and mask.shape == (5, 4)
    assert mask.tolist() == [
        [True, True, False, False],
        [False, False, False, False],
        [False, False, False, False],
        [False, False, False, False],
        [False, False, True, False],
    ]
    assert registry.eligibility_mask([], agents, ON).shape == (0, 4)


def test_state_tables_are_remembered_but_never_shared_with_callers_or_kept_stale(tmp_path: Path) -> None:
    registry = load(tmp_path, "licences.yaml", YAML_ROWS)
    agents = ["lo-1", "lo-2", "lo-3"]
    fresh = lambda licences, on: LicenceRegistry(licences).state_table(agents, on)  # noqa: E731
    table = registry.state_table(agents, ON)
    assert np.array_equal(table, fresh(registry.licences, ON))
    table[:] = True  # a caller's copy: the registry's answer must not change
    assert np.array_equal(registry.state_table(agents, ON), fresh(registry.licences, ON))
    assert registry.eligibility_mask(["TX"], agents, ON).tolist() == [[False, False, False]]
    earlier = date(2026, 10, 31)  # lo-1's TX licence still valid
    assert registry.eligibility_mask(["TX"], agents, earlier).tolist() == [[True, False, False]]
    registry.licences = tuple(lic for lic in registry.licences if lic.state != "CA")
    assert np.array_equal(registry.state_table(agents, ON), fresh(registry.licences, ON))
    assert registry.eligibility_mask(["CA"], agents, ON).tolist() == [[False, False, False]]


def test_expiring_and_digest(tmp_path: Path) -> None:
    registry = load(tmp_path, "licences.yaml", YAML_ROWS)
    assert [lic.agent_id for lic in registry.expiring(ON, within_days=30)] == ["lo-2"]
    same = load(tmp_path, "again.yaml", "\n".join(reversed(YAML_ROWS.strip().splitlines())))
    assert same.digest == registry.digest  # order does not matter
    changed = LicenceRegistry(registry.licences[1:])
    assert changed.digest != registry.digest
    assert np.array_equal(registry.state_table(["lo-1"], ON).sum(axis=0), [1])
