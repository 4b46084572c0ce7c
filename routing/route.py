"""Route a batch of scored, compliant leads: hard rules, assignment, overflow. Every lead gets one outcome.

The daemon calls `route` once per cycle and `drain_queue` on its queue_drain schedule; both are pure:
loads, licences, open leads and `now` come in as arguments, decisions go out as dataclasses.
"""
from __future__ import annotations

from collections import Counter

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.assign import UNASSIGNED, greedy_assignment, optimal_assignment, round_robin_assignment
from routing.leads import LeadView, prepare_leads
from routing.match import Licensed, MatchMatrix, build_matches
from routing.outcome import Assignment, Candidate, OutcomeKind, QueueItem, ReasonCode, RoutingResult, Takeback
from routing.overflow import Held, Holdings, OpenLeads, Overflow, overflow_tier, queue_order
from routing.profiles import ProfileSet
from routing.reasons import assigned_reason, unrouted_reason

Strategy = Literal["optimal", "greedy", "round_robin"]
STRATEGIES: tuple[str, ...] = ("optimal", "greedy", "round_robin")


@dataclass(frozen=True)
class DrainResult:
    """Queue drain: decisions for the served (or no longer servable) leads, and what stays queued, in order."""

    assignments: tuple[Assignment, ...]
    remaining: tuple[QueueItem, ...]


OpenLeadsInput = pd.DataFrame | OpenLeads | None


def _loads(profiles: ProfileSet, open_leads: OpenLeadsInput) -> np.ndarray:
    """Open leads per officer: counted from `open_leads` when given (the store's truth), else the profiles'."""
    if open_leads is None:
        return np.array([a.open_load for a in profiles.agents], dtype=int)
    if isinstance(open_leads, OpenLeads):
        counts: Mapping[str, int] = open_leads.counts
    elif "agent_id" not in open_leads.columns:
        raise BadInputError("open leads need an agent_id column")
    else:
        counts = Counter(str(a) for a in open_leads["agent_id"].tolist())
    return np.array([counts.get(a, 0) for a in profiles.agent_ids], dtype=int)


def _precheck(view: LeadView, mm: MatchMatrix, config: RoutingConfig, score_of: np.ndarray) -> dict[int, Assignment]:
    """Outcomes for leads no officer may take, whatever the capacity; in the order the rules are checked."""
    decided: dict[int, Assignment] = {}
    lic = mm.licensed
    lic_active = lic & mm.active[None, :]
    lic_active_channel = lic_active & mm.channel_ok
    eligible = mm.eligible
    for i, lead_id in enumerate(view.lead_ids):
        state, channels = view.states[i], view.channels[i]
        kind = OutcomeKind.MANAGER_ESCALATION
        if not np.isfinite(score_of[i]):
            code = ReasonCode.SCORE_MISSING
        elif state is None and not lic[i].any():
            # a caller's licence check may read state names routing does not ("Texas"); trust its mask
            code = ReasonCode.STATE_MISSING
        elif channels is None:
            kind, code = OutcomeKind.BLOCKED, ReasonCode.CONSENT_CHANNELS_MISSING
        elif not channels:
            kind, code = OutcomeKind.BLOCKED, ReasonCode.NO_CONTACT_CHANNEL
        elif channels == {"email"}:
            kind, code = OutcomeKind.NURTURE, ReasonCode.EMAIL_ONLY_CONSENT
        elif not lic[i].any():
            code = ReasonCode.NO_LICENSED_OFFICER
        elif not lic_active[i].any():
            code = ReasonCode.NO_ACTIVE_OFFICER
        elif not lic_active_channel[i].any():
            code = ReasonCode.NO_OFFICER_FOR_CHANNEL
        elif not eligible[i].any():
            code = ReasonCode.NO_CAPACITY_CONFIGURED
        else:
            continue
        score = float(score_of[i]) if np.isfinite(score_of[i]) else None
        decided[i] = Assignment(lead_id, kind, code, unrouted_reason(code, state=state, score=score), score=score)
    return decided


def _alternatives(i: int, chosen: int, value: np.ndarray, allowed_row: np.ndarray, mm: MatchMatrix,
                  agent_ids: Sequence[str], count: int) -> tuple[Candidate, ...]:
    """The next best officers for lead i by the same objective, excluding the chosen one."""
    if count <= 0:
        return ()
    mask = allowed_row.copy()
    if chosen >= 0:
        mask[chosen] = False
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return ()
    best = idx[np.argsort(-value[i, idx], kind="stable")[:count]]
    return tuple(mm.candidate(i, int(j), agent_ids[int(j)]) for j in best)


@dataclass(frozen=True)
class RoutingProblem:
    """A batch ready to assign: pairs allowed by every hard rule, their values, and the leads decided already."""

    view: LeadView
    matches: MatchMatrix
    decided: dict[int, Assignment]  # rows settled by the hard rules (escalation, nurture, blocked)
    routable: np.ndarray  # (n,) bool
    allowed: np.ndarray  # (n, m) bool: eligible and routable (room is checked with `matches.free`)
    value: np.ndarray  # (n, m) objective at current loads
    scale: float  # value per unit of match score (slot bonuses)


def build_problem(leads: pd.DataFrame, profiles: ProfileSet, config: RoutingConfig, now: datetime, *,
                  licensed: Licensed = None, open_leads: OpenLeadsInput = None) -> RoutingProblem:
    """Apply the hard rules and compute match values for a batch (the first half of `route`)."""
    view = prepare_leads(leads, config)
    mm = build_matches(view, profiles, config, now, licensed=licensed, loads=_loads(profiles, open_leads))
    decided = _precheck(view, mm, config, view.scores)
    routable = np.ones(len(view), dtype=bool)
    routable[list(decided)] = False
    base = profiles.base_probability(view)
    value, scale = mm.objective(config, base[routable] if routable.any() else base)
    return RoutingProblem(view, mm, decided, routable, mm.eligible & routable[:, None], value, scale)


def route(leads: pd.DataFrame, profiles: ProfileSet, config: RoutingConfig, now: datetime, *,
          licensed: Licensed = None, open_leads: OpenLeadsInput = None,
          strategy: Strategy = "optimal", round_robin_start: int = 0) -> RoutingResult:
    """Decide every lead of the batch: an officer, a priority take-back, the queue, nurture, a manager, or blocked.

    `leads`: canonical columns plus `score` (0-100), optionally `probability` (calibrated) and
    `allowed_channels` (from compliance; absent column = unrestricted). Batch order is arrival order.
    `licensed`: compliance's (n_leads x n_officers) mask or a callable (states, agent_ids) -> mask; None uses
    the agents file's licences valid on `now`. `open_leads`: the store's open assignments (OpenLeads, or a
    DataFrame with lead_id, agent_id, score, contacted, assigned_at); it sets loads and the take-back pool.
    """
    if strategy not in STRATEGIES:
        raise BadInputError(f"unknown routing strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    problem = build_problem(leads, profiles, config, now, licensed=licensed, open_leads=open_leads)
    open_rows = OpenLeads.of(open_leads)  # checked here, read only if a priority lead must take one back
    view, mm, allowed, value, scale = problem.view, problem.matches, problem.allowed, problem.value, problem.scale
    n, agent_ids = len(view), profiles.agent_ids
    # the hard rules' outcomes carry the strategy too, so an audit can tell the A/B arms apart
    decided = {i: replace(a, strategy=strategy) for i, a in problem.decided.items()}
    routable = problem.routable
    free = mm.free

    def bonus(j: int, slots: int) -> np.ndarray:
        return mm.slot_bonus(j, slots, scale)

    next_rr = round_robin_start
    if strategy == "optimal":
        choice = optimal_assignment(value, allowed, free, bonus)
    elif strategy == "greedy":
        choice = greedy_assignment(value, allowed, free, slot_bonus=bonus)
    else:
        choice, next_rr = round_robin_assignment(allowed, free, start=round_robin_start)

    waiting = [int(i) for i in np.flatnonzero(routable & (choice == UNASSIGNED))]
    # highest scores first, so that they pick the slots freed by take-backs before lower ones
    waiting.sort(key=lambda i: (-view.scores[i], i))
    # the take-back pool is only read by a waiting priority lead: most batches (one API lead) never build it
    takes_back = any(overflow_tier(float(view.scores[i]), config.thresholds) is Overflow.PRIORITY for i in waiting)
    holdings = Holdings.from_open_leads(agent_ids, open_rows) if takes_back else None
    added = np.zeros(len(agent_ids), dtype=int)
    allowed_room = allowed & (free > 0)[None, :]
    for i in np.flatnonzero(choice != UNASSIGNED):
        j = int(choice[i])
        decided[int(i)] = _assigned(view, mm, profiles, config, int(i), j, int(mm.load[j] + added[j]), value,
                                    allowed_room, strategy, ReasonCode.ASSIGNED)
        if holdings is not None:
            holdings.add(j, Held(view.lead_ids[i], float(view.scores[i]), now, True, int(i)))
        added[j] += 1

    takebacks: list[Takeback] = []
    queue: list[QueueItem] = []
    for i in waiting:
        score = float(view.scores[i])
        tier = overflow_tier(score, config.thresholds)
        taken = None
        if tier is Overflow.PRIORITY and holdings is not None:
            taken = holdings.take_lowest(np.flatnonzero(mm.eligible[i]), below=score)
        if taken is not None:
            j, held = taken
            lead = view.lead_ids[i]
            if held.in_batch:
                row = held.batch_row
                room = mm.eligible[row] & (mm.load + added < mm.maximum)
                room[j] = False
                if room.any():  # another officer may still take the displaced lead: move it there
                    k = int(np.argmax(np.where(room, value[row], -np.inf)))
                    decided[row] = _assigned(view, mm, profiles, config, row, k, int(mm.load[k] + added[k]), value,
                                             allowed_room, strategy, ReasonCode.ASSIGNED)
                    holdings.add(k, Held(held.lead_id, held.score, now, True, row))
                    added[k] += 1
                else:
                    decided[row] = Assignment(
                        held.lead_id, OutcomeKind.QUEUED, ReasonCode.TAKEN_BACK,
                        unrouted_reason(ReasonCode.TAKEN_BACK, score=held.score), score=held.score, strategy=strategy)
                    queue.append(QueueItem(held.lead_id, held.score, now, ReasonCode.TAKEN_BACK))
                note = f"took back same-batch lead {held.lead_id}"
            else:
                note = f"took back uncontacted lead {held.lead_id}"
                takebacks.append(Takeback(held.lead_id, agent_ids[j], lead,
                                          held.score if np.isfinite(held.score) else None,
                                          f"Taken back for priority lead {lead} (score {score:.0f}); re-queued"))
                # it keeps its place: enqueued when it was first assigned, if known
                requeue_score = held.score if np.isfinite(held.score) else 0.0
                queue.append(QueueItem(held.lead_id, requeue_score, held.assigned_at or now, ReasonCode.TAKEN_BACK))
            # the officer's load is unchanged: one lead out, this one in
            a = _assigned(view, mm, profiles, config, i, j, int(mm.load[j] + added[j]) - 1, value, allowed_room,
                          strategy, ReasonCode.PRIORITY_TAKEBACK)
            decided[i] = Assignment(a.lead_id, OutcomeKind.PRIORITY_TAKEBACK, ReasonCode.PRIORITY_TAKEBACK,
                                    f"Priority score {score:.0f}: {note}; {a.reason}", a.agent_id, a.match,
                                    a.alternatives, score, strategy)
            holdings.add(j, Held(view.lead_ids[i], score, now, True, i))
            continue
        if tier is Overflow.NURTURE:
            kind, code = OutcomeKind.NURTURE, ReasonCode.CAPACITY_FULL_NURTURE
        else:
            kind = OutcomeKind.QUEUED
            code = ReasonCode.PRIORITY_NO_TAKEBACK if tier is Overflow.PRIORITY else ReasonCode.CAPACITY_FULL_QUEUED
            queue.append(QueueItem(view.lead_ids[i], score, now, code))
        decided[i] = Assignment(view.lead_ids[i], kind, code, unrouted_reason(
            code, score=score, priority=config.thresholds.priority_score, queue=config.thresholds.queue_score),
            score=score, strategy=strategy)

    if len(decided) != n:  # every lead must leave with an outcome; anything else is a bug here
        raise AssertionError(f"routing decided {len(decided)} of {n} leads")
    return RoutingResult(tuple(decided[i] for i in range(n)), tuple(takebacks), tuple(queue), next_rr)


def _assigned(view: LeadView, mm: MatchMatrix, profiles: ProfileSet, config: RoutingConfig, i: int, j: int,
              load_before: int, value: np.ndarray, allowed_room: np.ndarray, strategy: str,
              code: ReasonCode) -> Assignment:
    """Officer j takes lead i while holding `load_before` open leads (this batch's earlier ones included)."""
    agent = profiles.agents[j]
    match = mm.candidate(i, j, agent.agent_id, extra=load_before - int(mm.load[j]))
    reason = assigned_reason(view.states[i], view.tags[i], agent, profiles.team, load_before,
                             mm.availability_notes[j])
    alts = _alternatives(i, j, value, allowed_room[i], mm, profiles.agent_ids, config.alternatives)
    score = float(view.scores[i]) if np.isfinite(view.scores[i]) else None
    kind = OutcomeKind.PRIORITY_TAKEBACK if code is ReasonCode.PRIORITY_TAKEBACK else OutcomeKind.ASSIGNED
    return Assignment(view.lead_ids[i], kind, code, reason, agent.agent_id, match, alts, score, strategy)


def drain_queue(queue: Sequence[QueueItem], leads: pd.DataFrame, profiles: ProfileSet, config: RoutingConfig,
                now: datetime, *, licensed: Licensed = None, open_leads: OpenLeadsInput = None) -> DrainResult:
    """Serve queued leads in queue order (score, then first-in first-out) onto officers with free capacity.

    `leads` holds the queued leads' current canonical rows (lead_id, state, score, ...). A queued lead that no
    officer may take any more (licence lapsed, consent withdrawn) leaves the queue with that outcome and reason.
    """
    if not queue:
        return DrainResult((), ())
    ordered = queue_order(queue)
    ids = [q.lead_id for q in ordered]
    if "lead_id" not in leads.columns:
        raise BadInputError("the queued leads' rows need a lead_id column")
    rows = leads.assign(lead_id=leads["lead_id"].astype(str)).drop_duplicates("lead_id").set_index("lead_id")
    missing = [x for x in ids if x not in rows.index]
    if missing:
        raise BadInputError(f"queued lead(s) without a lead row: {', '.join(missing[:5])}")
    frame = rows.loc[ids].reset_index()
    # the queue's score is the one the lead was queued with; scoring may have refreshed it in the row
    if "score" not in frame.columns:
        frame["score"] = [q.score for q in ordered]
    view = prepare_leads(frame, config)
    mm = build_matches(view, profiles, config, now, licensed=licensed, loads=_loads(profiles, open_leads))
    decided = _precheck(view, mm, config, view.scores)
    value, scale = mm.objective(config, profiles.base_probability(view))
    allowed = mm.eligible.copy()
    for i in decided:
        allowed[i] = False
    free = mm.free.copy()
    added = np.zeros(len(free), dtype=int)
    allowed_room = allowed & (free > 0)[None, :]
    out: list[Assignment] = []
    remaining: list[QueueItem] = []
    for i, item in enumerate(ordered):
        if i in decided:
            out.append(decided[i])
            continue
        room = allowed[i] & (added < free)
        if not room.any():
            remaining.append(item)
            continue
        cap_gain = np.array([mm.slot_bonus(j, int(added[j]) + 1, scale)[-1] for j in range(len(free))])
        j = int(np.argmax(np.where(room, value[i] + cap_gain, -np.inf)))
        out.append(_assigned(view, mm, profiles, config, i, j, int(mm.load[j] + added[j]), value, allowed_room,
                             "queue", ReasonCode.QUEUE_SERVED))
        added[j] += 1
    return DrainResult(tuple(out), tuple(remaining))
