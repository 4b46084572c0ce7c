"""DNC registry: compact encoding, exact batch lookups, tolerant parsing, atomic refresh that keeps the old data."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from compliance.dnc import (DncRefreshError, DncRegistry, DncRegistryError, NumberSet, current_version, refresh,
                            save)
from compliance.dnc_files import DncFileError, declared_area, file_kind, parse_file, parse_record

T0 = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def lines(*numbers: int) -> str:
    return "".join(f"{n}\n" for n in numbers)


# ------------------------------------------------------------------ NumberSet


def test_given_random_numbers_then_lookup_agrees_with_numpy_isin_and_uses_4_bytes_each() -> None:
    rng = np.random.default_rng(3)
    stored = rng.integers(2_000_000_000, 9_999_999_999, 50_000, dtype=np.uint64)
    numbers = NumberSet.from_numbers(stored)
    queries = np.concatenate([stored[:5000], rng.integers(0, 10_000_000_000, 20_000, dtype=np.uint64),
                              np.array([0, 9_999_999_999, 10_000_000_000, 2**63], dtype=np.uint64)])
    assert np.array_equal(numbers.contains(queries), np.isin(queries, stored))
    assert len(numbers) == np.unique(stored).size
    assert np.array_equal(numbers.to_numbers(), np.unique(stored))
    assert numbers.local.dtype == np.uint32
    assert numbers.nbytes / len(numbers) < 4.2  # 4 bytes a number plus 8 KB of offsets


def test_given_a_few_numbers_at_a_time_then_lookup_still_agrees_with_numpy_isin(tmp_path: Path) -> None:
    # up to 16 numbers are bisected one by one (the scoring API's one lead), more go through the batch sort
    rng = np.random.default_rng(5)
    stored = rng.integers(2_000_000_000, 9_999_999_999, 20_000, dtype=np.uint64)
    built = NumberSet.from_numbers(stored)
    save(DncRegistry(built, NumberSet.empty(), NumberSet.empty(), np.ones(1000, dtype=bool)), tmp_path, now=T0)
    mapped = DncRegistry.open(tmp_path).federal  # memory-mapped, as the daemon reads it
    queries = np.concatenate([stored[:300], rng.integers(0, 10_000_000_000, 300, dtype=np.uint64),
                              np.sort(stored)[[0, -1]], np.sort(stored)[[0, -1]] + np.uint64(1),
                              np.array([0, 9_999_999_999, 10_000_000_000, 2**63], dtype=np.uint64)])
    rng.shuffle(queries)
    for numbers in (built, mapped):
        for size in (1, 2, 7, 16, 17):
            for start in range(0, queries.size, size):
                chunk = queries[start:start + size]
                assert np.array_equal(numbers.contains(chunk), np.isin(chunk, stored)), chunk
    assert NumberSet.empty().contains(queries[:3]).tolist() == [False] * 3


def test_given_an_empty_set_or_no_queries_then_nothing_matches() -> None:
    assert NumberSet.empty().contains([2012345678]).tolist() == [False]
    assert NumberSet.from_numbers([2012345678]).contains(np.array([], dtype=np.uint64)).shape == (0,)


def test_given_a_number_over_ten_digits_then_building_refuses_it() -> None:
    with pytest.raises(ValueError, match="more than 10 digits"):
        NumberSet.from_numbers([20123456789])


def test_registry_lookup_reports_each_list_and_federal_coverage() -> None:
    registry = DncRegistry.from_numbers(federal=[2012345678], state=[3102340188], internal=[2012345679],
                                        covered_areas=[201])
    matches = registry.lookup([2012345678, 3102340188, 2012345679, 2012340000])
    assert matches.federal.tolist() == [True, False, False, False]
    assert matches.state.tolist() == [False, True, False, False]
    assert matches.internal.tolist() == [False, False, True, False]
    assert matches.covered.tolist() == [True, False, True, True]
    assert registry.contains([2012345678, 2012340000]).tolist() == [True, False]


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("line, expected", [
    ("2012345678", (2012345678, None)),
    ("12012345678", (2012345678, None)),
    ("201,2345678", (2012345678, None)),
    ("201,2345678,2026-11-01,A", (2012345678, True)),
    ("2012345678,D", (2012345678, False)),
    ('"201","2345678","11/01/2026","DELETE"', (2012345678, False)),
    ("2012345678|add|2026-11-01 10:00:00", (2012345678, True)),
    ("201\t2345678\tR", (2012345678, False)),
])
def test_given_each_known_record_layout_then_number_and_flag(line: str, expected: tuple[int, bool | None]) -> None:
    assert parse_record(line) == expected


@pytest.mark.parametrize("line, message", [
    ("201234567", "no 10-digit"),
    ("22012345678", "11 digits"),
    ("2012345678,A,D", "more than one"),
    ("2012345678,banana", "unexpected field"),
    ("<PhoneNumber>2012345678</PhoneNumber>", "XML"),
])
def test_given_a_bad_record_then_the_error_says_why(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_record(line)


def test_file_kind_and_declared_area_come_from_the_name() -> None:
    assert file_kind(Path("dnc_change_20261101.txt")) == "change"
    assert file_kind(Path("201_chg.csv")) == "change"
    assert file_kind(Path("201.txt")) == "full"
    assert declared_area(Path("dnc_201_full_20261101.txt")) == 201
    assert declared_area(Path("national_20261101.txt")) is None
    assert declared_area(Path("201_202.txt")) is None


@pytest.mark.parametrize("body", [lines(2012345678, 2019876543), "201,2345678\n201,9876543\n",
                                  "2012345678\r\n2019876543\r\n", "201,2345678\r\n201,9876543\r\n",
                                  "PhoneNumber\n2012345678\n\n2019876543", "# FTC\n2012345678\n2019876543\n",
                                  "\ufeff2012345678\n2019876543\n"])
def test_given_a_full_file_in_any_layout_then_the_same_numbers(tmp_path: Path, body: str) -> None:
    parsed = parse_file(write(tmp_path / "201.txt", body))
    assert parsed.kind == "full"
    assert parsed.adds.tolist() == [2012345678, 2019876543]
    assert parsed.areas.tolist() == [201]


def test_given_a_change_file_then_adds_and_deletes_with_the_last_action_winning(tmp_path: Path) -> None:
    body = "AreaCode,Phone,ChangeDate,Type\n201,2345678,2026-11-01,A\n201,9876543,2026-11-01,D\n" \
           "202,2345678,2026-11-01,A\n202,2345678,2026-11-02,D\n"
    parsed = parse_file(write(tmp_path / "dnc_change_20261102.csv", body))
    assert parsed.kind == "change"
    assert parsed.adds.tolist() == [2012345678]
    assert parsed.deletes.tolist() == [2019876543, 2022345678]
    assert parsed.areas.size == 0


@pytest.mark.parametrize("name, body, line, message", [
    ("201.txt", "2012345678\n2019876543\n20198765", 3, "truncated last line"),
    ("201.txt", "2012345678\n20123X5678\n2019876543\n", 2, "unexpected field"),
    ("201.txt", b"2012345678\n\x00\xff\xfe\x00\n", 2, "not plain text"),
    ("201.txt", "2012345678\n2022345678\n", 2, "area code 202, but its name says 201"),
    ("201.txt", "2012345678,D\n", 1, "delete flag in a full file"),
    ("dnc_change_1.txt", "2012345678\n", 1, "without an add/delete flag"),
])
def test_given_a_corrupt_file_then_the_error_names_file_and_line(tmp_path: Path, name: str, body: str | bytes,
                                                                  line: int, message: str) -> None:
    with pytest.raises(DncFileError, match=message) as caught:
        parse_file(write(tmp_path / name, body))
    assert caught.value.file == name and caught.value.line == line
    assert f"{name}, line {line}" in str(caught.value)


@pytest.mark.parametrize("name, body, message", [
    ("201.txt", "", "empty file"),
    ("201.txt", "PhoneNumber\n\n", "no phone numbers"),
    ("201.zip", "PK..", "unpack it"),
])
def test_given_an_empty_or_packed_file_then_a_clear_error(tmp_path: Path, name: str, body: str, message: str) -> None:
    with pytest.raises(DncFileError, match=message):
        parse_file(write(tmp_path / name, body))


def test_given_a_state_list_with_formatted_numbers_then_they_are_read(tmp_path: Path) -> None:
    parsed = parse_file(write(tmp_path / "ny_state.txt", "(201) 234-5678\n+1 310 234 0188\n"), kind="full",
                        federal=False)
    assert parsed.adds.tolist() == [2012345678, 3102340188]
    assert parsed.areas.size == 0  # a state list grants no federal coverage


# ------------------------------------------------------------------ refresh


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "drop", tmp_path / "registry"


def test_given_full_and_change_files_then_a_new_version_is_live_and_memory_mapped(dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    write(drop / "201.txt", lines(2012345678, 2019876543, 2012000001))
    write(drop / "202.txt", lines(2022345678))
    write(drop / "dnc_change_20261101.txt", "201,9876543,2026-11-01,D\n203,2345678,2026-11-01,A\n")
    result = refresh(drop, reg, now=T0)
    assert result.ok and result.changed and result.version == "v000001" and result.alerts == ()
    assert result.applied == ("201.txt", "202.txt", "dnc_change_20261101.txt")
    registry = DncRegistry.open(reg)
    assert isinstance(registry.federal.local, np.memmap)
    assert registry.counts == {"federal": 4, "state": 0, "internal": 0}
    assert registry.federal.contains([2012345678, 2019876543, 2032345678]).tolist() == [True, False, True]
    assert np.flatnonzero(registry.covered).tolist() == [201, 202]  # change files grant no coverage
    assert registry.federal_updated_at == T0
    manifest = json.loads((reg / "v000001" / "manifest.json").read_text())
    assert [a["name"] for a in manifest["applied"]] == list(result.applied)


def test_given_the_same_drop_again_then_nothing_is_reapplied(dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    write(drop / "201.txt", lines(2012345678))
    write(drop / "dnc_change_1.txt", "2019876543,A\n")
    refresh(drop, reg, now=T0)
    again = refresh(drop, reg, now=T0 + timedelta(days=1))
    assert again.ok and not again.changed and again.version == "v000001"
    assert set(again.skipped) == {"201.txt", "dnc_change_1.txt"}
    assert DncRegistry.open(reg).federal_updated_at == T0  # no new federal data: its age keeps counting


def test_given_a_newer_full_file_then_it_replaces_its_area_code_only(dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    write(drop / "201.txt", lines(2012345678, 2019876543))
    write(drop / "202.txt", lines(2022345678))
    refresh(drop, reg, now=T0)
    write(drop / "201.txt", lines(2012345678, 2015550200))  # same name, new content
    result = refresh(drop, reg, now=T0 + timedelta(days=1))
    assert result.ok and result.applied == ("201.txt",)
    registry = DncRegistry.open(reg)
    assert registry.federal.contains([2012345678, 2019876543, 2015550200, 2022345678]).tolist() == \
        [True, False, True, True]


def test_given_a_truncated_file_then_the_old_registry_stays_live_and_the_alert_names_it(
        dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    write(drop / "201.txt", lines(2012345678, 2019876543))
    good = refresh(drop, reg, now=T0)
    write(drop / "202.txt", "2022345678\n2022345679\n202234")
    bad = refresh(drop, reg, now=T0 + timedelta(days=1))
    assert not bad.ok and not bad.changed and bad.version == good.version
    assert [(a.file, a.line) for a in bad.alerts] == [("202.txt", 3)]
    assert "truncated" in bad.alerts[0].message
    assert current_version(reg) == "v000001"
    assert DncRegistry.open(reg).counts["federal"] == 2
    with pytest.raises(DncRefreshError, match=r"202.txt, line 3"):
        bad.raise_for_alerts()


def test_given_every_bad_file_then_every_alert_is_reported(dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    write(drop / "201.txt", "")
    write(drop / "202.txt", "2022345678\nabc\n")
    write(drop / "203.xml", "<x/>")
    write(drop / "README.md", "how to download")
    result = refresh(drop, reg, now=T0)
    assert not result.ok and current_version(reg) is None
    assert sorted(a.file for a in result.alerts) == ["201.txt", "202.txt", "203.xml"]
    assert result.ignored == ("README.md",)


def test_given_a_drastic_shrink_or_too_few_numbers_then_refused(dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    write(drop / "201.txt", lines(*range(2012340000, 2012340100)))
    assert refresh(drop, reg, now=T0).ok
    write(drop / "201.txt", lines(*range(2012340000, 2012340050)))  # half the area code vanished
    shrunk = refresh(drop, reg, now=T0 + timedelta(days=1), max_shrink=0.2)
    assert not shrunk.ok and "would shrink from 100 to 50" in shrunk.alerts[0].message
    small = refresh(drop, reg, now=T0 + timedelta(days=1), max_shrink=0.9, min_numbers=1000)
    assert not small.ok and "fewer than compliance.dnc.min_numbers=1000" in small.alerts[0].message
    assert DncRegistry.open(reg).counts["federal"] == 100
    assert refresh(drop, reg, now=T0 + timedelta(days=1), max_shrink=0.6).ok


def test_given_state_internal_lists_and_crm_opt_outs_then_each_is_its_own_list(dirs: tuple[Path, Path],
                                                                                tmp_path: Path) -> None:
    drop, reg = dirs
    write(drop / "201.txt", lines(2012345678))
    state = write(tmp_path / "lists" / "ca_state.txt", "3102340188\n")
    internal = write(tmp_path / "lists" / "suppressed.txt", "(415) 234-5678\n")
    result = refresh(drop, reg, now=T0, state_lists=[state], internal_files=[internal],
                     internal_numbers=["212-234-5678", "garbage", None, 6462345678])
    assert result.ok and result.internal_invalid == 1
    registry = DncRegistry.open(reg)
    assert registry.counts == {"federal": 1, "state": 1, "internal": 3}
    matches = registry.lookup([3102340188, 4152345678, 2122345678, 6462345678])
    assert matches.state.tolist() == [True, False, False, False]
    assert matches.internal.tolist() == [False, True, True, True]
    # a new opt-out alone makes a new version; federal data (and its age) carry over
    again = refresh(drop, reg, now=T0 + timedelta(days=2), state_lists=[state], internal_files=[internal],
                    internal_numbers=["212-234-5678", 6462345678, "7182345678"])
    assert again.ok and again.changed and again.counts["internal"] == 4
    assert DncRegistry.open(reg).federal_updated_at == T0


def test_given_a_missing_state_list_file_then_refused(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    drop, reg = dirs
    result = refresh(drop, reg, now=T0, state_lists=[tmp_path / "nope.txt"])
    assert not result.ok and result.alerts[0].file == "nope.txt" and "cannot read" in result.alerts[0].message


def test_old_versions_are_pruned_and_current_always_names_a_complete_version(dirs: tuple[Path, Path]) -> None:
    drop, reg = dirs
    for day in range(5):
        write(drop / f"dnc_change_{day}.txt", f"20123400{day:02d},A\n")
        assert refresh(drop, reg, now=T0 + timedelta(days=day), keep_versions=2).ok
    versions = sorted(p.name for p in reg.iterdir() if p.name.startswith("v"))
    assert versions == ["v000004", "v000005"] and current_version(reg) == "v000005"
    assert not list(reg.glob(".tmp-*")) and not list(reg.glob(".CURRENT*"))
    assert DncRegistry.open(reg).counts["federal"] == 5


def test_given_no_registry_or_a_damaged_one_then_open_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DncRegistryError, match="run the DNC refresh job"):
        DncRegistry.open(tmp_path / "none")
    version = save(DncRegistry.from_numbers(federal=[2012345678]), tmp_path / "reg", now=T0)
    (tmp_path / "reg" / version / "federal.local.npy").write_bytes(b"garbage")
    with pytest.raises(DncRegistryError, match="damaged"):
        DncRegistry.open(tmp_path / "reg")
    write(tmp_path / "reg" / "CURRENT", "../../etc\n")
    with pytest.raises(DncRegistryError, match="not a registry version"):
        DncRegistry.open(tmp_path / "reg")


def test_saved_registry_round_trips(tmp_path: Path) -> None:
    original = DncRegistry.from_numbers(federal=[2012345678, 2022345678], state=[3102340188],
                                        internal=[4152345678], federal_updated_at=T0)
    save(original, tmp_path / "reg", now=T0)
    loaded = DncRegistry.open(tmp_path / "reg")
    assert loaded.counts == original.counts
    assert np.array_equal(loaded.covered, original.covered)
    assert loaded.federal_updated_at == T0


def test_refresh_refuses_a_naive_clock(dirs: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        refresh(*dirs, now=datetime(2026, 11, 1))
