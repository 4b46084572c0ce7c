"""Hard rules and match scores for every (lead, officer) pair of a batch, vectorised with numpy.

Match score = weighted mean of four components in [0, 1] (weights from config.routing.weights):
- performance: the officer's estimated chance on this lead over the team's average officer (routing/profiles.py),
  halved and capped (0.5 = team average, 1.0 = twice the team's rate), times (1 - complaint_rate);
- capacity: 1 with no open leads, 0.5 at optimal_capacity, falling to near 0 at max_capacity;
- expertise: share of the lead's tags (loan type, credit tier, jumbo, first-time buyer) in the officer's specialties;
- availability: 1 on shift now; off shift 0.75 falling to 0 as the next shift is up to 24 h away;
  no schedule on file: config `unknown_schedule_availability`.
Hard rules (all must hold): licensed in the lead's state, active, max_capacity above 0, and a channel
(call or text) that the lead's consent allows. Room below max_capacity is checked by assignment.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from config.errors import BadInputError
from config.sections.routing import RoutingConfig
from routing.leads import LeadView
from routing.outcome import Candidate, MatchComponents
from routing.profiles import ProfileSet
from routing.schedule import availability

# A caller-provided licence rule: (lead states as given, agent ids) -> boolean (n_leads x n_agents) matrix,
# e.g. lambda s, a: registry.eligibility_mask(s, a, now.date()) with compliance's LicenceRegistry.
LicenceCheck = Callable[[Sequence[str | None], Sequence[str]], np.ndarray]
Licensed = np.ndarray | LicenceCheck | None
_CAPACITY_STEPS = 8


def capacity_score(load: np.ndarray, optimal: np.ndarray, maximum: np.ndarray) -> np.ndarray:
    """1 at no load, 0.5 at optimal, linear to 0 at maximum (a lead's score for the slot at `load`)."""
    load, maximum = np.asarray(load, float), np.asarray(maximum, float)
    optimal = np.minimum(np.asarray(optimal, float), maximum)
    below = 1 - 0.5 * np.divide(load, optimal, out=np.zeros_like(load), where=optimal > 0)
    above = 0.5 * np.divide(maximum - load, maximum - optimal, out=np.zeros_like(load), where=maximum > optimal)
    score = np.where((load <= optimal) & (optimal > 0), below, above)
    return np.clip(np.where(load >= maximum, 0.0, score), 0.0, 1.0)


def _capacity_one(load: int, optimal: int, maximum: int) -> float:
    """capacity_score for one officer, without numpy's per-call overhead (called per reported candidate)."""
    optimal = min(optimal, maximum)
    if load >= maximum:
        return 0.0
    if optimal > 0 and load <= optimal:
        return 1 - 0.5 * load / optimal
    return 0.5 * (maximum - load) / (maximum - optimal) if maximum > optimal else 0.0


@dataclass(frozen=True)
class MatchMatrix:
    """Every pair's hard-rule flags and match components for one batch; rows = leads, columns = officers."""

    licensed: np.ndarray  # (n, m) bool
    active: np.ndarray  # (m,) bool
    channel_ok: np.ndarray  # (n, m) bool
    capacity_configured: np.ndarray  # (m,) bool: max_capacity > 0
    load: np.ndarray  # (m,) int, open leads now
    maximum: np.ndarray  # (m,) int
    optimal: np.ndarray  # (m,) int
    performance: np.ndarray  # (n, m)
    expertise: np.ndarray  # (n, m)
    availability: np.ndarray  # (m,)
    availability_notes: list[str]
    expected: np.ndarray  # (n, m) estimated conversion probability
    weights: tuple[float, float, float, float]  # performance, capacity, expertise, availability; sum 1

    @property
    def eligible(self) -> np.ndarray:
        """(n, m) all hard rules but room: licensed, active, capacity configured, channel allowed."""
        return self.licensed & self.channel_ok & (self.active & self.capacity_configured)[None, :]

    @property
    def free(self) -> np.ndarray:
        return np.maximum(self.maximum - self.load, 0)

    def capacity_at(self, extra: np.ndarray | int = 0) -> np.ndarray:
        """(m,) capacity component if each officer had `extra` more leads than now."""
        return capacity_score(self.load + extra, self.optimal, self.maximum)

    def match(self, extra: np.ndarray | int = 0) -> np.ndarray:
        """(n, m) match scores in [0, 1] with officers' loads raised by `extra`."""
        wp, wc, we, wa = self.weights
        return (wp * self.performance + we * self.expertise
                + (wc * self.capacity_at(extra) + wa * self.availability)[None, :])

    def objective(self, config: RoutingConfig, base: np.ndarray) -> tuple[np.ndarray, float]:
        """(n, m) value to maximise at current loads, and the factor turning match-score gains into value."""
        if config.objective == "match_score":
            return self.match(), 1.0
        scale = config.match_tiebreak * max(float(np.mean(base)) if base.size else 0.0, 1e-6)
        return self.expected + scale * self.match(), scale

    def slot_bonus(self, j: int, slots: int, scale: float) -> np.ndarray:
        """Value change of officer j's k-th extra lead (k = 0..slots-1) from its falling capacity component.

        Steps of an eighth of max capacity rather than one per slot: the solver slows down sharply when every
        slot of an officer has its own value, and an eighth is fine enough to spread leads over officers.
        """
        step = max(1, int(np.ceil(self.maximum[j] / _CAPACITY_STEPS)))
        ks = (np.arange(slots) // step) * step
        cap = capacity_score(self.load[j] + ks, self.optimal[j], self.maximum[j])
        return scale * self.weights[1] * (cap - cap[0] if slots else cap)

    def candidate(self, i: int, j: int, agent_id: str, extra: int = 0) -> Candidate:
        """The pair (i, j) as a Candidate, the capacity part taken with `extra` leads more than now."""
        cap = _capacity_one(int(self.load[j]) + extra, int(self.optimal[j]), int(self.maximum[j]))
        comps = MatchComponents(
            performance=round(float(self.performance[i, j]), 4), capacity=round(cap, 4),
            expertise=round(float(self.expertise[i, j]), 4), availability=round(float(self.availability[j]), 4))
        wp, wc, we, wa = self.weights
        score = wp * comps.performance + wc * comps.capacity + we * comps.expertise + wa * comps.availability
        return Candidate(agent_id, round(score, 4), comps, round(float(self.expected[i, j]), 5))


def licence_matrix(leads: LeadView, profiles: ProfileSet, now: datetime, licensed: Licensed) -> np.ndarray:
    """(n, m) licensed flags: the caller's mask or check (compliance's registry), else the agents file's licences."""
    n, m = len(leads), len(profiles.agents)
    if licensed is None:
        states = [a.spec.licensed_states(now.date()) for a in profiles.agents]
        mask = np.array([[s is not None and s in st for st in states] for s in leads.states], dtype=bool)
        return mask.reshape(n, m)
    mask = licensed(leads.raw_states, profiles.agent_ids) if callable(licensed) else licensed
    mask = np.asarray(mask)
    if mask.shape != (n, m):
        raise BadInputError(f"licence mask has shape {mask.shape}, expected (leads, officers) = ({n}, {m})")
    return mask.astype(bool)


def build_matches(leads: LeadView, profiles: ProfileSet, config: RoutingConfig, now: datetime,
                  *, licensed: Licensed = None, loads: np.ndarray | None = None) -> MatchMatrix:
    """Hard rules and components for all pairs; `loads` (m,) overrides the profiles' open loads."""
    if now.tzinfo is None:
        raise BadInputError("routing needs a time-zone-aware `now` (e.g. datetime.now(UTC))")
    agents = profiles.agents
    n, m = len(leads), len(agents)
    specs = [a.spec for a in agents]
    channel_ok = np.array([[bool(ch and (ch & s.channels)) for s in specs] for ch in leads.channels],
                          dtype=bool).reshape(n, m)
    expertise = np.array([[len(t & s.specialties) / len(t) if t else 0.0 for s in specs] for t in leads.tags],
                         dtype=float).reshape(n, m)
    complaints = np.array([s.complaint_rate or 0.0 for s in specs], dtype=float)
    expected = profiles.expected_conversion(leads)
    lift = profiles.lift_matrix(leads, expected)
    performance = np.clip(lift / 2, 0.0, 1.0) * (1 - complaints)[None, :]
    avail = [availability(s.schedule, now, unknown=config.unknown_schedule_availability) for s in specs]
    w = config.weights
    total = w.performance + w.capacity + w.expertise + w.availability
    load = np.array([a.open_load for a in agents], dtype=int) if loads is None else np.asarray(loads, dtype=int)
    return MatchMatrix(
        licensed=licence_matrix(leads, profiles, now, licensed),
        active=np.array([s.active for s in specs], dtype=bool),
        channel_ok=channel_ok,
        capacity_configured=np.array([s.max_capacity > 0 for s in specs], dtype=bool),
        load=load,
        maximum=np.array([s.max_capacity for s in specs], dtype=int),
        optimal=np.array([s.optimal_capacity for s in specs], dtype=int),
        performance=performance,
        expertise=expertise,
        availability=np.array([a.value for a in avail], dtype=float),
        availability_notes=[a.note for a in avail],
        expected=expected,
        weights=(w.performance / total, w.capacity / total, w.expertise / total, w.availability / total),
    )
