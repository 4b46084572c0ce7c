"""The scoring API's fast path (a few leads read without pandas Series, open leads without a DataFrame, the
take-back pool read only when needed) decides exactly as the full path does."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import routing.leads
from config.sections.routing import RoutingConfig
from routing import route
from routing.leads import SMALL_BATCH, LeadView, prepare_leads
from routing.overflow import Holdings, OpenLeadRows, OpenLeads
from routing_builders import NOW, officer, profiles

CONFIG = RoutingConfig()

MESSY: dict[str, list[Any]] = {
    "state": ["TX", " ca ", "Texas", None, np.nan, "ZZ", "ny", "OK"],
    "loan_type": ["FHA", "Conv", "va", None, np.nan, "jumbo", "rd", "boat"],
    "credit_score": [720, "680", None, "abc", 900, 599.5, " 810 ", np.nan],
    "loan_amount": [250_000, "1,000", None, 900_000.0, "800000", np.nan, -5, "x"],
    "first_time_buyer": [True, "yes", "0", None, np.nan, "maybe", 1, False],
    "score": [72, 88.0, None, "91", -5, 101, 35, np.nan],
    "probability": [0.2, None, 1.5, "0.4", 0.05, np.nan, 0.9, 0.33],
    "allowed_channels": [["call", "text"], "call,text", None, [], ["email"], "text", ("call",), ["CALL", "fax"]],
}


def messy_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [{"lead_id": f"L{i}", **{c: v[int(rng.integers(0, len(v)))] for c, v in MESSY.items()}}
            for i in range(n)]


def clean_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Tidy values, so that pandas types the columns (int, float, bool, text) instead of keeping objects."""
    rng = np.random.default_rng(seed)
    return [{"lead_id": 1000 + i, "state": str(rng.choice(["TX", "CA", "WA"])),
             "loan_type": str(rng.choice(["fha", "va", "conventional"])), "credit_score": int(rng.integers(550, 800)),
             "loan_amount": float(rng.integers(1, 12)) * 100_000, "first_time_buyer": bool(rng.random() < 0.5),
             "score": int(rng.integers(0, 101)), "probability": float(rng.random())} for i in range(n)]


def object_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One block of Python objects, as the pipeline hands over up to SMALL_FRAME leads."""
    columns = list(rows[0])
    return pd.DataFrame(np.array([[r[c] for c in columns] for r in rows], dtype=object), columns=columns,
                        dtype=object)


@pytest.fixture
def full_path(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run a function with every batch read the pandas way (as batches above SMALL_BATCH are)."""
    def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        with monkeypatch.context() as m:
            m.setattr(routing.leads, "SMALL_BATCH", 0)
            return fn(*args, **kwargs)
    return run


def same_view(a: LeadView, b: LeadView) -> None:
    for name in ("lead_ids", "states", "channels", "loan_type", "credit_tier", "score_band", "tags",
                 "first_time_buyer"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("scores", "probability", "loan_amount"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # raw values go to the caller's licence check: the same values (NaN as NaN)
    assert [None if pd.isna(v) else v for v in a.raw_states] == [None if pd.isna(v) else v for v in b.raw_states]


@pytest.mark.parametrize("make", [pd.DataFrame, object_frame], ids=["typed", "objects"])
@pytest.mark.parametrize("rows", [messy_rows, clean_rows], ids=["messy", "clean"])
@pytest.mark.parametrize("size", [1, 2, 5, SMALL_BATCH])
def test_a_few_leads_are_read_as_the_pandas_path_reads_them(make: Any, rows: Any, size: int, full_path: Any) -> None:
    for seed in range(12):
        frame = make(rows(size, seed))
        if make is pd.DataFrame and rows is clean_rows:
            assert {str(t) for t in frame.dtypes} >= {"int64", "float64", "bool"}
        same_view(prepare_leads(frame, CONFIG), full_path(prepare_leads, frame, CONFIG))


def test_a_lead_read_alone_reads_as_in_a_big_batch() -> None:
    rows = messy_rows(3 * SMALL_BATCH, 7)
    big = prepare_leads(pd.DataFrame(rows), CONFIG)
    for i in range(0, len(rows), 5):
        one = prepare_leads(object_frame(rows[i:i + 1]), CONFIG)
        assert (one.states, one.tags, one.channels, one.score_band) == (
            big.states[i:i + 1], big.tags[i:i + 1], big.channels[i:i + 1], big.score_band[i:i + 1])
        np.testing.assert_array_equal(one.scores, big.scores[i:i + 1])


def random_world(seed: int, n: int) -> tuple[pd.DataFrame, Any, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    team = [officer(f"o{j}", list(rng.choice(["TX", "CA", "OK"], size=rng.integers(1, 3), replace=False)),
                    max_capacity=int(rng.integers(0, 4)), specialties=["fha"] if rng.random() < 0.4 else [],
                    active=bool(rng.random() < 0.9), schedule=None if rng.random() < 0.7 else {})
            for j in range(int(rng.integers(1, 6)))]
    k = int(rng.integers(0, 3 * len(team) + 1))
    open_leads = pd.DataFrame({
        "lead_id": [f"held{j}" for j in range(k)],
        "agent_id": [team[int(rng.integers(0, len(team)))].agent_id for _ in range(k)],
        "score": [float(rng.integers(0, 100)) if rng.random() < 0.9 else np.nan for _ in range(k)],
        "contacted": rng.random(k) < 0.4,
        "assigned_at": [NOW - timedelta(minutes=int(rng.integers(0, 600))) for _ in range(k)]})
    rows = messy_rows(n, seed)
    for row in rows:  # mostly leads that some officer may take
        if rng.random() < 0.7:
            row.update(state=str(rng.choice(["TX", "CA", "OK"])), score=float(rng.integers(40, 101)),
                       allowed_channels=["call", "text"])
    return object_frame(rows), profiles(team), open_leads


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(1, 8),
       strategy=st.sampled_from(["optimal", "greedy", "round_robin"]))
def test_a_few_leads_are_routed_as_the_full_path_routes_them(seed: int, n: int, strategy: str) -> None:
    batch, ps, open_leads = random_world(seed, n)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(routing.leads, "SMALL_BATCH", 0)
        full = route(batch, ps, CONFIG, NOW, open_leads=open_leads, strategy=strategy)  # type: ignore[arg-type]
    fast = route(batch, ps, CONFIG, NOW, open_leads=open_leads, strategy=strategy)  # type: ignore[arg-type]
    rows = OpenLeads.of(open_leads)
    assert rows is not None
    lazy = OpenLeads(rows.counts, rows.rows)  # rows read on demand, as the daemon hands them over
    light = route(batch, ps, CONFIG, NOW, open_leads=lazy, strategy=strategy)  # type: ignore[arg-type]
    assert repr(fast) == repr(full) == repr(light)


def test_open_leads_as_rows_hold_back_the_same_leads_as_the_frame() -> None:
    batch, ps, open_leads = random_world(3, 4)
    open_leads = pd.concat([open_leads, pd.DataFrame({
        "lead_id": [7, "x"], "agent_id": [ps.agents[0].agent_id, "gone"], "score": ["55", None],
        "contacted": ["no", 0], "assigned_at": [None, pd.NaT]})], ignore_index=True)
    frame = Holdings.from_open_leads(ps.agent_ids, open_leads)
    rows = Holdings.from_open_leads(ps.agent_ids, OpenLeads.of(open_leads))
    assert repr(frame.by_agent) == repr(rows.by_agent)
    assert any(h.lead_id == "7" for held in rows.by_agent.values() for h in held)
    roundtrip = OpenLeads.of(OpenLeads.of(open_leads).to_frame())  # type: ignore[union-attr]
    assert repr(Holdings.from_open_leads(ps.agent_ids, roundtrip).by_agent) == repr(frame.by_agent)


def test_the_take_back_pool_is_read_only_when_a_priority_lead_finds_every_officer_full() -> None:
    team = [officer("a", max_capacity=2)]
    rows = OpenLeadRows(["old1", "old2"], ["a", "a"], [40.0, 20.0], [False, False],
                        [NOW - timedelta(hours=2), NOW - timedelta(hours=1)])
    reads: list[int] = []

    def fetch() -> OpenLeadRows:
        reads.append(1)
        return rows

    free = OpenLeads({"a": 1}, fetch)  # one slot left: the lead is assigned, nothing is taken back
    (a,) = route(object_frame(messy_rows(1, 0)) .assign(state="TX", score=90, allowed_channels=[["call"]]),
                 profiles(team), CONFIG, NOW, open_leads=free).assignments
    assert a.agent_id == "a" and reads == []
    full = OpenLeads({"a": 2}, fetch)
    result = route(object_frame(messy_rows(1, 0)).assign(state="TX", score=90, allowed_channels=[["call"]]),
                   profiles(team), CONFIG, NOW, open_leads=full)
    assert reads == [1] and [t.lead_id for t in result.takebacks] == ["old2"]
    reference = route(object_frame(messy_rows(1, 0)).assign(state="TX", score=90, allowed_channels=[["call"]]),
                      profiles(team), CONFIG, NOW, open_leads=rows.to_frame())
    assert repr(result) == repr(reference)


def test_open_leads_plus_a_batchs_assignments_count_and_hold_both() -> None:
    base = OpenLeads.from_rows(OpenLeadRows(["h1"], ["a"], [30.0], [False], [NOW]))
    more = base.plus(OpenLeadRows(["n1", "n2"], ["a", "b"], [50.0, 60.0], [False, False], [NOW, NOW]))
    assert more.counts == {"a": 2, "b": 1} and len(more) == 3
    assert more.rows().lead_id == ["h1", "n1", "n2"]
    no_times = OpenLeads.from_rows(OpenLeadRows(["h1"], ["a"], [30.0], None, None)).plus(
        OpenLeadRows(["n1"], ["b"], [50.0], [False], [NOW]))
    assert no_times.rows().contacted == [True, False] and no_times.rows().assigned_at == [None, NOW]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_a_batchs_assignments_added_as_rows_load_officers_as_the_concatenated_frame_did(seed: int) -> None:
    # the daemon's A/B control arm sees the officers' loads after the AI arm's assignments
    batch, ps, open_leads = random_world(seed, 6)
    first, second = batch.iloc[:3], batch.iloc[3:]
    ai = route(first, ps, CONFIG, NOW, open_leads=open_leads)
    taken = [d for d in ai.assignments if d.agent_id]
    frame = pd.concat([open_leads, pd.DataFrame([
        {"lead_id": d.lead_id, "agent_id": d.agent_id, "score": d.score or 0.0, "contacted": False,
         "assigned_at": NOW} for d in taken])], ignore_index=True) if taken else open_leads
    rows = OpenLeads.of(open_leads)
    assert rows is not None
    plus = rows.plus(OpenLeadRows([d.lead_id for d in taken], [str(d.agent_id) for d in taken],
                                  [float(d.score or 0.0) for d in taken], [False] * len(taken), [NOW] * len(taken)))
    for strategy in ("round_robin", "optimal"):
        assert repr(route(second, ps, CONFIG, NOW, open_leads=plus, strategy=strategy)) == repr(  # type: ignore[arg-type]
            route(second, ps, CONFIG, NOW, open_leads=frame, strategy=strategy))  # type: ignore[arg-type]
