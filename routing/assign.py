"""Assignment strategies over a (leads x officers) value matrix with per-officer capacities.

`optimal_assignment` is batch-optimal: the largest total value subject to capacities, solved as a
min-cost flow (an LP on the transportation network) or, equivalently, with scipy's linear_sum_assignment
over officers replicated once per free slot. `greedy_assignment` (lead by lead, best officer left) and
`round_robin_assignment` (the no-AI baseline, also the A/B control arm) share the same inputs.
All return, per lead, the column index of its officer or -1.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import coo_matrix

from config.errors import BadInputError

# slot_bonus(j, slots) -> value added to officer j's k-th extra lead, k = 0..slots-1 (non-increasing)
SlotBonus = Callable[[int, int], np.ndarray]
UNASSIGNED = -1


def _check(value: np.ndarray | None, allowed: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    allowed = np.asarray(allowed, dtype=bool)
    capacity = np.maximum(np.asarray(capacity, dtype=int), 0)
    if allowed.ndim != 2 or capacity.shape != (allowed.shape[1],):
        raise BadInputError(f"capacity has shape {capacity.shape}, expected ({allowed.shape[1]},) officers")
    if value is not None and np.shape(value) != allowed.shape:
        raise BadInputError(f"value matrix has shape {np.shape(value)}, expected {allowed.shape}")
    if value is not None and not np.all(np.isfinite(np.asarray(value)[allowed])):
        raise BadInputError("value matrix has NaN or infinite entries for allowed pairs")
    return allowed, capacity


def _tiers(bonus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run-length encode a non-increasing per-slot bonus into (tier sizes, tier bonuses)."""
    if bonus.size == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, np.diff(bonus) != 0])
    sizes = np.diff(np.r_[starts, bonus.size])
    return sizes, bonus[starts]


def _flow(value: np.ndarray, usable: np.ndarray, slots: np.ndarray, bonuses: list[np.ndarray]) -> np.ndarray | None:
    """The transportation problem as a min-cost-flow LP (HiGHS dual simplex); None if the answer is not integral.

    Variables: x[i, j] for usable pairs (0..1) and y[j, t] for each officer's capacity tiers (0..tier size);
    officer j's leads equal the sum of its tiers, whose bonuses fall, so tiers fill in order. The constraint
    matrix is a network matrix, so a basic optimal solution is integral.
    """
    n, m = usable.shape
    ii, jj = np.nonzero(usable)
    k = ii.size
    tier_agent, tier_size, tier_bonus = [], [], []
    for j in range(m):
        sizes, values = _tiers(bonuses[j])
        tier_agent += [j] * sizes.size
        tier_size += sizes.tolist()
        tier_bonus += values.tolist()
    t = len(tier_agent)
    lead_rows = coo_matrix((np.ones(k), (ii, np.arange(k))), shape=(n, k + t))
    agent_rows = coo_matrix((np.r_[np.ones(k), -np.ones(t)], (np.r_[jj, tier_agent], np.arange(k + t))),
                            shape=(m, k + t))
    cost = -np.r_[value[ii, jj], tier_bonus]
    bounds = np.c_[np.zeros(k + t), np.r_[np.ones(k), tier_size]]
    res = linprog(cost, A_ub=lead_rows.tocsr(), b_ub=np.ones(n), A_eq=agent_rows.tocsr(), b_eq=np.zeros(m),
                  bounds=bounds, method="highs-ds")
    if res.status != 0 or res.x is None:
        return None
    x = res.x[:k]
    if np.any(np.abs(x - np.round(x)) > 1e-6):
        return None
    chosen = x > 0.5
    result = np.full(n, UNASSIGNED, dtype=int)
    result[ii[chosen]] = jj[chosen]
    return result


def _slots(value: np.ndarray, usable: np.ndarray, slots: np.ndarray, bonuses: list[np.ndarray]) -> np.ndarray:
    """The same problem by replicating each officer once per slot and solving linear_sum_assignment."""
    n, m = usable.shape
    cols = np.repeat(np.arange(m), slots)
    bonus = np.concatenate([bonuses[j] for j in range(m)]) if cols.size else np.zeros(0)
    sub = value[:, cols] + bonus[None, :]
    feasible = usable[:, cols]
    # an infeasible pair is worth as much as leaving the lead unassigned: nothing
    r, c = linear_sum_assignment(np.where(feasible, -sub, 0.0))
    ok = feasible[r, c]
    result = np.full(n, UNASSIGNED, dtype=int)
    result[r[ok]] = cols[c[ok]]
    return result


# Up to this many (lead x officer slot) cells, "auto" solves by slots: linear_sum_assignment takes
# 0.1-0.2 ms for 8-100 leads over 12 officers where the LP takes 2.7-5 ms (the LP's set-up dominates).
SLOTS_MAX_CELLS = 250_000


def optimal_assignment(value: np.ndarray, allowed: np.ndarray, capacity: np.ndarray,
                       slot_bonus: SlotBonus | None = None, method: str = "auto") -> np.ndarray:
    """Maximise the total value of the batch subject to capacities (batch-optimal, not lead by lead).

    Every allowed pair counts as worth a little more than leaving the lead unassigned, so a lead is only
    left out when every officer who may take it is full. `method`: "flow" (an LP over the transportation
    network, for big batches), "slots" (linear_sum_assignment over capacity slots, for small ones) or
    "auto" (slots up to SLOTS_MAX_CELLS lead-slot pairs); all are exact and give the same total.
    """
    allowed, capacity = _check(value, allowed, capacity)
    if method not in ("auto", "flow", "slots"):
        raise BadInputError(f"unknown assignment method {method!r}; use auto, flow or slots")
    n, m = allowed.shape
    result = np.full(n, UNASSIGNED, dtype=int)
    usable = allowed & (capacity > 0)[None, :]
    rows = np.flatnonzero(usable.any(axis=1))
    if rows.size == 0:
        return result
    usable = usable[rows]
    # no officer needs more slots than leads it could take
    slots = np.minimum(capacity, usable.sum(axis=0))
    bonuses = [np.asarray(slot_bonus(j, int(slots[j])), dtype=float) if slot_bonus and slots[j] > 0
               else np.zeros(int(slots[j])) for j in range(m)]
    sub = np.asarray(value, dtype=float)[rows]
    first = np.array([b[0] if b.size else 0.0 for b in bonuses])
    best = np.argmax(np.where(usable, sub + first[None, :], -np.inf), axis=1)
    if np.unique(best).size == best.size:
        # every lead's best officer (in that officer's best slot) differs: no lead can do better, so this is
        # the optimum without solving (always so for one lead, as the API decides them)
        result[rows] = best
        return result
    # shift so that every usable pair, in any slot, is worth strictly more than no assignment
    lowest = min([float(sub[usable].min())] + [float(b.min()) + float(sub[usable].min()) for b in bonuses if b.size])
    sub = sub + (max(0.0, -lowest) + 1e-6)
    if method == "auto":
        method = "slots" if rows.size * int(slots.sum()) <= SLOTS_MAX_CELLS else "flow"
    choice = _flow(sub, usable, slots, bonuses) if method == "flow" else None
    if choice is None:
        choice = _slots(sub, usable, slots, bonuses)
    result[rows] = choice
    return result


def greedy_assignment(value: np.ndarray, allowed: np.ndarray, capacity: np.ndarray,
                      order: np.ndarray | None = None, slot_bonus: SlotBonus | None = None) -> np.ndarray:
    """Lead by lead in `order` (default: batch order), the best officer that still has room."""
    allowed, capacity = _check(value, allowed, capacity)
    n, m = allowed.shape
    value = np.asarray(value, dtype=float)
    used = np.zeros(m, dtype=int)
    # bonus[j, k]: value change of officer j's k-th extra lead; padded past capacity (never used there)
    depth = int(min(capacity.max(initial=0), n)) + 1
    bonus = np.zeros((m, depth))
    if slot_bonus:
        for j in range(m):
            k = min(int(capacity[j]), depth)
            bonus[j, :k] = slot_bonus(j, k)
    cols = np.arange(m)
    result = np.full(n, UNASSIGNED, dtype=int)
    for i in (range(n) if order is None else order):
        room = allowed[i] & (used < capacity)
        if not room.any():
            continue
        current = bonus[cols, np.minimum(used, depth - 1)]
        j = int(np.argmax(np.where(room, value[i] + current, -np.inf)))
        result[i] = j
        used[j] += 1
    return result


def round_robin_assignment(allowed: np.ndarray, capacity: np.ndarray, start: int = 0,
                           order: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Each lead to the next officer in turn that may take it and has room; returns (choice, next start)."""
    allowed, capacity = _check(None, allowed, capacity)
    n, m = allowed.shape
    used = np.zeros(m, dtype=int)
    result = np.full(n, UNASSIGNED, dtype=int)
    pointer = start % m if m else 0
    for i in (range(n) if order is None else order):
        for step in range(m):
            j = (pointer + step) % m
            if allowed[i, j] and used[j] < capacity[j]:
                result[i] = j
                used[j] += 1
                pointer = (j + 1) % m
                break
    return result, pointer
