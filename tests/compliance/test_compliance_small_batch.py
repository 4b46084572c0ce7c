"""check_leads' small-batch path (value by value, for the scoring API's one lead) gives what the
column-wise numpy path gives, field for field, on messy leads; the hashes stay byte-identical.

Each fast helper is compared with the call it stands in for: object_columns / boxed with column_arrays /
native_values, filled_items / filled_list with filled_values, lead_shares / share_reasons with
assess_arrays, lookup_each with lookup, eligibility_rows with eligibility_mask, lead_hash_of and
context_hash_of with sha256_hex, timestamp's datetime shortcut with the pandas path it skips.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

import compliance.check as check_module
from compliance.check import (USED_FIELDS, ComplianceResult, _jsonable, canonical_json, check_leads, context_hash_of,
                              decision_context, lead_hash_of, sha256_hex)
from compliance.columns import boxed, column_arrays, native_values, object_columns, raw_items
from compliance.dnc import DncRegistry
from compliance.licensing import Licence, LicenceRegistry
from compliance.quality import FIELD_GROUPS, assess_arrays, filled_items, filled_list, filled_values, lead_shares, \
    share_reasons
from compliance.values import timestamp
from config.sections.compliance import ComplianceConfig, DataQualityConfig, DncConfig
from compliance_builders import NOW, frame, good_lead
from test_compliance_check import CFG, DNC, LICENCES
from test_compliance_columns import zoo

MESSY: list[Any] = [
    None, np.nan, pd.NA, pd.NaT, "", "  ", " n/a ", "NULL", "unknown", "-", "None", "nan", "\xa0NA\xa0",
    np.int64(5), np.float64(3.0), np.float64("nan"), np.float32(2.5), 7, 0, 1, -3, 2.0, 1.5, 1e20, float("inf"),
    True, False, np.bool_(True), np.bool_(False), "yes", "no", "0", "1", "true", "opt-out",
    NOW, NOW - timedelta(days=40), (NOW - timedelta(days=2)).replace(tzinfo=None),
    NOW.astimezone(timezone(timedelta(hours=-5))), pd.Timestamp(NOW - timedelta(days=1)),
    np.datetime64("2026-10-30T12:00:00"), date(2026, 10, 30), (NOW - timedelta(days=3)).isoformat(), "1761000000",
    1_761_000_000_000, Decimal("2.0"), Decimal("NaN"), b"n/a", b"ok",
    "(201) 234-5678", "201-999-9999", "201-222-3333", 2012345678, 2012345678.0, np.int64(2014445555),
    "+44 20 7946 0958",
    "CA", "ca", "California", " TX ", "ZZ", "NV", "ann@example.com", "bad@", "203.0.113.7", "999.1.1.1",
    "https://cert.trustedform.com/" + "b" * 40, "web_form", "x",
]


def messy_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """n good leads, each with a random handful of its used fields spoilt by a messy value."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        lead = good_lead(lead_id=f"L-{i}")
        for name in rng.choice(USED_FIELDS, size=int(rng.integers(0, 12)), replace=False).tolist():
            lead[name] = MESSY[int(rng.integers(0, len(MESSY)))]
        if rng.random() < 0.2:
            del lead[USED_FIELDS[int(rng.integers(0, len(USED_FIELDS)))]]  # a column the batch lacks
        rows.append(lead)
    return rows


def object_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The one-object-block frame daemon.pipeline.lead_frame builds for a small batch."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    values = np.empty((len(rows), len(columns)), dtype=object)
    for i, row in enumerate(rows):
        for j, name in enumerate(columns):
            values[i, j] = row.get(name)
    return pd.DataFrame(values, columns=columns, dtype=object)


def fields(result: ComplianceResult) -> tuple[Any, ...]:
    """Every field and property, reasons as their codes (Reason members compare equal to str)."""
    return (*astuple(result), tuple(type(r) for r in result.reasons), result.status, result.reason_text)


def large_path(monkeypatch: pytest.MonkeyPatch, leads: pd.DataFrame, **kwargs: Any) -> list[ComplianceResult]:
    with monkeypatch.context() as patch:
        patch.setattr(check_module, "SMALL_BATCH", -1)
        return check_leads(leads, **kwargs)


def same(a: list[ComplianceResult], b: list[ComplianceResult]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert fields(x) == fields(y)


OPTIONS: dict[str, Any] = {"now": NOW, "config": CFG, "dnc": DNC, "licences": LICENCES}


@pytest.mark.parametrize("n, seed", [(1, 0), (1, 1), (1, 2), (2, 3), (5, 4), (17, 5), (32, 6), (64, 7)])
@pytest.mark.parametrize("build", [object_frame, pd.DataFrame], ids=["object-block", "inferred-dtypes"])
def test_the_small_path_gives_every_field_the_large_path_gives(monkeypatch: pytest.MonkeyPatch, n: int, seed: int,
                                                               build: Any) -> None:
    leads = build(messy_rows(n, seed))
    same(check_leads(leads, **OPTIONS), large_path(monkeypatch, leads, **OPTIONS))


@pytest.mark.parametrize("options", [
    {"dnc": None}, {"licences": None}, {"agent_ids": ["lo-3", "lo-1"]}, {"agent_ids": []},
    {"dnc": DncRegistry.from_numbers(federal=[2012345678], federal_updated_at=NOW - timedelta(days=90))},
    {"config": CFG.model_copy(update={"dnc": DncConfig(max_age_days=0, require_coverage=False),
                                      "data_quality": DataQualityConfig(contact=0.5, property=0.0)})},
    {"now": NOW.astimezone(timezone(timedelta(hours=9)))},
])
def test_the_paths_agree_with_every_option(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
    for build in (object_frame, pd.DataFrame):
        leads = build(messy_rows(9, 11))
        kwargs = OPTIONS | options
        same(check_leads(leads, **kwargs), large_path(monkeypatch, leads, **kwargs))


def test_the_messy_rows_do_reach_many_outcomes() -> None:
    results = check_leads(object_frame(messy_rows(64, 7)), **OPTIONS)
    assert {r.status for r in results} == {"COMPLIANT", "EMAIL_ONLY", "BLOCKED"}
    assert len({reason for r in results for reason in r.reasons}) >= 15


def test_hashes_are_those_stored_before_the_fast_paths() -> None:
    # computed by the implementation before the small-batch path: stored audit rows are compared with these
    [good] = check_leads(frame(good_lead()), **OPTIONS)
    assert good.lead_hash == "83a4e7a90d9879c79b6b0931ac8bd462165e2b00f5d8bcaeb4df457ed596f31d"
    assert good.input_hash == "ece8cef8f1063960aa1125cfaeeca43b4fc213e38ef6e0f38afcb6bd3730340f"
    messy = good_lead(phone=None, state="n/a", annual_income=np.nan, credit_score=np.int64(700), consent_timestamp=NOW,
                      tcpa_consent="yes")
    for leads in (frame(messy), object_frame([messy])):
        [result] = check_leads(leads, **OPTIONS)
        assert result.lead_hash == "481499cf545243360134cb6284399499e73361b99a58d20f9c6872df2b6a7557"
        assert result.input_hash == "ca12120032f8608367f6c9b2038993c81b4bd0b000e38dbc11620136cd6105f7"


def reference_json(value: Any) -> str:
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_canonical_json_is_json_dumps_of_the_jsonable_value() -> None:
    values: list[Any] = [*MESSY, {"b": [1, {"z": None, "a": "é\u2028"}], "a": (NOW, 2.0)}, "snow ☃", "\x00\"\\"]
    for value in values:
        assert canonical_json(value) == reference_json(value), repr(value)
    assert canonical_json({str(i): v for i, v in enumerate(values)}) == reference_json(
        {str(i): v for i, v in enumerate(values)})


@pytest.mark.parametrize("seed", range(6))
def test_lead_hash_of_is_sha256_hex_of_the_record(seed: int) -> None:
    for lead in messy_rows(40, seed):
        record = {name: lead.get(name) for name in USED_FIELDS}
        expected = hashlib.sha256(reference_json(record).encode("utf-8")).hexdigest()
        assert lead_hash_of(record) == sha256_hex(record) == expected


class Version(str):
    """A str subclass: the context cache must not take it for the plain string it equals."""


@pytest.mark.parametrize("dnc, licences, agents", [
    (DNC, LICENCES, ("lo-1", "lo-2", "lo-3")),
    (None, None, ()),
    (DncRegistry.from_numbers(federal=[2019999999], version="v000007"), LICENCES, ("lo-3", "n/a", " ")),
    (DncRegistry.from_numbers(federal_updated_at=NOW.astimezone(timezone(timedelta(hours=2)))), None, ("lo-1",)),
    (DncRegistry.from_numbers(federal_updated_at=(NOW).replace(tzinfo=None), version=Version("v1")), LICENCES, (1,)),
])
def test_context_hash_of_is_sha256_hex_of_the_context_every_time(dnc: DncRegistry | None,
                                                                 licences: LicenceRegistry | None,
                                                                 agents: tuple[Any, ...]) -> None:
    configs = [CFG, CFG.model_copy(update={"rule_set_version": "n/a"}),
               ComplianceConfig.model_validate({"consent": {"max_age_days": 30}})]
    for _ in range(2):  # the second round reads the cached texts
        for config in configs:
            for now in (NOW, NOW + timedelta(microseconds=1), NOW.astimezone(timezone(timedelta(hours=-3)))):
                expected = sha256_hex(decision_context(now, config, dnc, licences, agents))
                assert context_hash_of(now, config, dnc, licences, agents) == expected


def test_context_hash_follows_a_rule_change_on_the_same_config_object() -> None:
    config = CFG.model_copy(deep=True)
    before = context_hash_of(NOW, config, DNC, LICENCES, ("lo-1",))
    config.consent.max_age_days = 7  # mutated in place: the cache is keyed on content, not identity
    after = context_hash_of(NOW, config, DNC, LICENCES, ("lo-1",))
    assert before != after == sha256_hex(decision_context(NOW, config, DNC, LICENCES, ("lo-1",)))


@pytest.mark.parametrize("n, seed", [(1, 0), (3, 1), (40, 2)])
def test_object_columns_reads_what_column_arrays_reads(n: int, seed: int) -> None:
    source = zoo(n, seed).astype(object)
    names = [*source.columns, "not_there"]
    # one object block, as daemon.pipeline builds it; a name twice, where the last column wins
    values = np.concatenate([source.to_numpy(), source[["object"]].to_numpy()], axis=1)
    leads = pd.DataFrame(values, columns=[*source.columns, "str"], dtype=object)
    raw = object_columns(leads, names)
    assert raw is not None
    arrays = column_arrays(leads, names)
    assert list(raw) == list(arrays)
    for name, array in arrays.items():
        items = raw_items(array)
        assert len(raw[name]) == len(items) and all(a is b for a, b in zip(raw[name], items)), name
        assert boxed(raw[name]) == native_values(array) or _same_nan(boxed(raw[name]), native_values(array)), name


def _same_nan(a: list[Any], b: list[Any]) -> bool:
    return all(x is y or x == y or (x != x and y != y) for x, y in zip(a, b))


def test_object_columns_declines_frames_of_other_blocks() -> None:
    assert object_columns(zoo(3, 0), ["str"]) is None
    assert object_columns(pd.DataFrame({"a": [1.0, 2.0]}), ["a"]) is None
    assert object_columns(pd.DataFrame(), ["a"]) is None


@pytest.mark.parametrize("n, seed", [(1, 0), (1, 1), (4, 2), (50, 3)])
def test_filled_items_and_filled_list_agree_with_filled_values(n: int, seed: int) -> None:
    for leads in (zoo(n, seed), zoo(n, seed).astype(object)):
        for name in leads.columns:
            array = column_arrays(leads, [name])[name]
            expected = filled_values(array).tolist()
            assert filled_list(array) == expected, name
            if isinstance(array, np.ndarray) and array.dtype == object:
                assert filled_items(array.tolist()) == expected, name
    odd = np.array([*MESSY, ["a"], {"k": 1}, (), pd.Timedelta("NaT"), np.timedelta64("NaT")], dtype=object)
    assert filled_items(odd.tolist()) == filled_values(odd).tolist()


@pytest.mark.parametrize("n, seed", [(1, 0), (2, 1), (30, 2)])
def test_lead_shares_and_share_reasons_agree_with_assess_arrays(n: int, seed: int) -> None:
    config = DataQualityConfig(financial=0.6, property=5 / 7)  # a threshold a share can equal exactly
    for leads in (pd.DataFrame(messy_rows(n, seed)), object_frame(messy_rows(n, seed))):
        arrays = column_arrays(leads, USED_FIELDS)
        report = assess_arrays(arrays, n, leads.index, config)
        shares = lead_shares({f: filled_list(a) for f, a in arrays.items()}, n)
        assert shares == {g: report.shares[g].tolist() for g in FIELD_GROUPS}
        assert share_reasons(shares, n, config) == report.lead_reasons(config)
    assert lead_shares({}, 2) == {g: [0.0, 0.0] for g in FIELD_GROUPS}


def test_lookup_each_agrees_with_lookup() -> None:
    rng = np.random.default_rng(5)
    listed = rng.integers(2_000_000_000, 9_999_999_999, 500, dtype=np.uint64)
    registry = DncRegistry.from_numbers(federal=listed, state=listed[:50], internal=listed[-20:],
                                        covered_areas=range(200, 600))
    queries = [*listed[::7].tolist(), *(listed[::11] + 1).tolist(), 0, 2012345678, 9_999_999_999, 10**10, 10**12]
    matches = registry.lookup(queries)
    assert registry.lookup_each(queries) == (matches.federal.tolist(), matches.state.tolist(),
                                             matches.internal.tolist(), matches.covered.tolist())
    empty = DncRegistry.from_numbers()
    assert empty.lookup_each([2012345678]) == ([False], [False], [False], [False])


def test_eligibility_rows_agree_with_eligibility_mask() -> None:
    registry = LicenceRegistry([Licence("lo-1", "CA", date(2027, 12, 31), "CA-1"),
                                Licence("lo-2", "CA", date(2026, 1, 1), "CA-2"),
                                Licence("lo-3", "TX", date(2027, 12, 31), "TX-3")])
    states = ["CA", "ca", "California", "TX", None, "ZZ", " n/a ", np.nan, "NV"]
    for agents in (("lo-1", "lo-2", "lo-3"), ("lo-3",), ()):
        rows = registry.eligibility_rows(states, agents, NOW.date())
        assert rows == registry.eligibility_mask(states, agents, NOW.date()).tolist()
        rows[5].append(True)  # each row is the caller's own list
        assert registry.eligibility_rows(states, agents, NOW.date())[5] == [False] * len(agents)


@pytest.mark.parametrize("value", [
    NOW, NOW.replace(tzinfo=None), datetime(1, 1, 1), datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 11, 1, 1, 30, fold=1),
    datetime(2026, 11, 1, 1, 30, 0, 7, tzinfo=UTC, fold=1),
])
def test_timestamps_datetime_shortcut_gives_the_pandas_paths_answer(value: datetime) -> None:
    parsed = pd.Timestamp(value).to_pydatetime()  # the general path, written out
    expected = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    got = timestamp(value)
    assert got == expected and got.tzinfo is UTC and got.utcoffset() == timedelta(0)
    assert (got.year, got.month, got.day, got.hour, got.minute, got.second, got.microsecond) == (
        expected.year, expected.month, expected.day, expected.hour, expected.minute, expected.second,
        expected.microsecond)
