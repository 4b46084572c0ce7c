"""Assignment strategies: batch-optimal is truly optimal, all respect capacities and hard rules."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.errors import BadInputError
from routing.assign import UNASSIGNED, greedy_assignment, optimal_assignment, round_robin_assignment
from routing_builders import random_instance


def brute_force(value: np.ndarray, allowed: np.ndarray, capacity: np.ndarray) -> float:
    """The best total value by trying every choice."""
    n, m = value.shape
    best = 0.0
    for choice in itertools.product(range(-1, m), repeat=n):
        used = np.bincount([c for c in choice if c >= 0], minlength=m)
        if np.any(used > capacity) or any(c >= 0 and not allowed[i, c] for i, c in enumerate(choice)):
            continue
        best = max(best, sum(value[i, c] for i, c in enumerate(choice) if c >= 0))
    return best


def check_valid(choice: np.ndarray, allowed: np.ndarray, capacity: np.ndarray) -> None:
    for i, j in enumerate(choice):
        assert j == UNASSIGNED or allowed[i, j]
    assert np.all(np.bincount(choice[choice >= 0], minlength=allowed.shape[1]) <= capacity)


def test_the_classic_case_where_greedy_loses() -> None:
    # lead 0 slightly prefers officer 0, but lead 1 can only use officer 0
    value = np.array([[0.30, 0.28], [0.25, 0.01]])
    allowed = np.ones((2, 2), dtype=bool)
    capacity = np.array([1, 1])
    greedy = greedy_assignment(value, allowed, capacity)
    optimal = optimal_assignment(value, allowed, capacity)
    assert greedy.tolist() == [0, 1] and optimal.tolist() == [1, 0]
    assert value[[0, 1], optimal].sum() > value[[0, 1], greedy].sum()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 5), m=st.integers(1, 3),
       method=st.sampled_from(["auto", "flow", "slots"]))
def test_optimal_matches_brute_force_on_small_batches(seed: int, n: int, m: int, method: str) -> None:
    value, allowed, capacity = random_instance(np.random.default_rng(seed), n, m)
    choice = optimal_assignment(value, allowed, capacity, method=method)
    check_valid(choice, allowed, capacity)
    total = float(sum(value[i, j] for i, j in enumerate(choice) if j >= 0))
    assert total == pytest.approx(brute_force(value, allowed, capacity))
    # nobody is left out while an officer who may take them has room
    used = np.bincount(choice[choice >= 0], minlength=m)
    for i in np.flatnonzero(choice < 0):
        assert not np.any(allowed[i] & (used < capacity))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_flow_and_slots_agree_on_larger_batches_with_capacity_tiers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    value = rng.uniform(0.02, 0.4, (40, 1))[:, [0] * 6] * rng.lognormal(0, 0.1, (40, 6))
    allowed = rng.random((40, 6)) < 0.6
    capacity = rng.integers(0, 9, 6)

    def tiers(j: int, slots: int) -> np.ndarray:
        return -0.01 * (np.arange(slots) // 3)

    totals = []
    for method in ("flow", "slots", "auto"):
        choice = optimal_assignment(value, allowed, capacity, tiers, method=method)
        check_valid(choice, allowed, capacity)
        used = np.zeros(6, dtype=int)
        total = 0.0
        for i, j in enumerate(choice):
            if j >= 0:
                total += value[i, j] + tiers(j, used[j] + 1)[-1]
                used[j] += 1
        totals.append(total)
    assert totals[0] == pytest.approx(totals[1], abs=1e-9) and totals[2] == pytest.approx(totals[0], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 30), m=st.integers(1, 6), start=st.integers(0, 10))
def test_greedy_and_round_robin_respect_rules_and_capacity(seed: int, n: int, m: int, start: int) -> None:
    value, allowed, capacity = random_instance(np.random.default_rng(seed), n, m)
    check_valid(greedy_assignment(value, allowed, capacity), allowed, capacity)
    rr, pointer = round_robin_assignment(allowed, capacity, start=start)
    check_valid(rr, allowed, capacity)
    assert 0 <= pointer < m


def test_round_robin_takes_turns_and_skips_who_cannot_take_the_lead() -> None:
    allowed = np.ones((5, 3), dtype=bool)
    allowed[1, 1] = False
    choice, pointer = round_robin_assignment(allowed, np.array([5, 5, 5]), start=1)
    assert choice.tolist() == [1, 2, 0, 1, 2] and pointer == 0
    full, _ = round_robin_assignment(allowed, np.array([1, 0, 0]))
    assert full.tolist() == [0, -1, -1, -1, -1]


def test_slot_bonus_spreads_equal_leads_over_officers() -> None:
    value = np.full((4, 2), 0.2)

    def falling(j: int, slots: int) -> np.ndarray:
        return -0.01 * np.arange(slots)

    choice = optimal_assignment(value, np.ones((4, 2), dtype=bool), np.array([4, 4]), falling)
    assert sorted(np.bincount(choice, minlength=2).tolist()) == [2, 2]
    greedy = greedy_assignment(value, np.ones((4, 2), dtype=bool), np.array([4, 4]), slot_bonus=falling)
    assert sorted(np.bincount(greedy, minlength=2).tolist()) == [2, 2]


def test_degenerate_inputs() -> None:
    assert optimal_assignment(np.zeros((0, 3)), np.zeros((0, 3), dtype=bool), np.array([1, 1, 1])).size == 0
    none_allowed = optimal_assignment(np.ones((2, 2)), np.zeros((2, 2), dtype=bool), np.array([5, 5]))
    assert none_allowed.tolist() == [-1, -1]
    no_capacity = optimal_assignment(np.ones((2, 2)), np.ones((2, 2), dtype=bool), np.array([0, -3]))
    assert no_capacity.tolist() == [-1, -1]
    with pytest.raises(BadInputError, match="NaN"):
        optimal_assignment(np.array([[np.nan]]), np.ones((1, 1), dtype=bool), np.array([1]))
    with pytest.raises(BadInputError, match="unknown assignment method"):
        optimal_assignment(np.ones((1, 1)), np.ones((1, 1), dtype=bool), np.array([1]), method="magic")
    big = np.ones((600, 50), dtype=bool)  # 600 leads x 50 officers x 10 slots: past SLOTS_MAX_CELLS, the LP serves
    choice = optimal_assignment(np.ones((600, 50)), big, np.full(50, 10))
    assert (choice >= 0).sum() == 500 and np.bincount(choice[choice >= 0], minlength=50).max() == 10
    with pytest.raises(BadInputError, match="capacity has shape"):
        optimal_assignment(np.ones((1, 2)), np.ones((1, 2), dtype=bool), np.array([1]))
