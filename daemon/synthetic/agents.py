"""Synthetic loan officers: licences that cover every lead state twice, specialties, capacity, hours."""
from __future__ import annotations

from datetime import date

import numpy as np

from config.errors import BadInputError
from daemon.synthetic import geography as geo
from daemon.synthetic.records import SyntheticAgent, SyntheticLicense
from daemon.synthetic.vocab import FIRST_NAMES, LAST_NAMES, SPECIALTIES, SPECIALTY_WEIGHTS

MIN_STATES, MAX_STATES = 3, 15
MIN_COVER = 2  # active officers with a valid licence in every state that has leads
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = ("09:00-17:00", "08:00-16:00", "10:00-18:00", "08:30-17:30")


def _inactive_count(n_agents: int) -> int:
    """'A couple' of officers have left, as long as enough stay to cover every state."""
    return 0 if n_agents <= MIN_COVER else (1 if n_agents < 6 else 2)


def make_agents(rng: np.random.Generator, n_agents: int, lead_states: list[str], today: date) -> list[SyntheticAgent]:
    """n_agents officers; each state in `lead_states` gets >= 2 active officers with a valid licence.

    Officers hold 3-15 licences; only when there are too few active officers to cover every state twice
    does the least-loaded officer take more than 15.
    """
    if n_agents < MIN_COVER:
        raise BadInputError(f"--agents must be at least {MIN_COVER}: every state with leads needs "
                            f"{MIN_COVER} licensed officers")
    n_states = geo.CODES.size
    inactive = set(rng.choice(n_agents, size=_inactive_count(n_agents), replace=False).tolist())
    held: list[set[int]] = []
    for _ in range(n_agents):
        k = MIN_STATES + rng.binomial(MAX_STATES - MIN_STATES, 0.3)
        held.append(set(rng.choice(n_states, size=k, replace=False, p=geo.POPULATION_WEIGHTS).tolist()))
    home = [int(rng.choice(sorted(h), p=geo.POPULATION_WEIGHTS[sorted(h)] / geo.POPULATION_WEIGHTS[sorted(h)].sum()))
            for h in held]
    active_ids = [i for i in range(n_agents) if i not in inactive]
    code_index = {c: i for i, c in enumerate(geo.CODES.tolist())}
    for state in sorted({code_index[s] for s in lead_states if s in code_index}):
        while sum(state in held[i] for i in active_ids) < MIN_COVER:
            candidates = [i for i in active_ids if state not in held[i]]
            sizes = np.array([len(held[i]) for i in candidates])
            fewest = [c for c, s in zip(candidates, sizes) if s == sizes.min()]
            held[fewest[int(rng.integers(0, len(fewest)))]].add(state)

    # a few licences lapsed last year: only where two other active, valid licences remain
    cover = np.zeros(n_states, dtype=np.int64)
    for i in active_ids:
        cover[list(held[i])] += 1
    expired: set[tuple[int, int]] = set()
    for i in rng.permutation(n_agents).tolist():
        if len(expired) >= max(1, n_agents // 6) or n_agents < 3:
            break
        spare = [s for s in sorted(held[i]) if s != home[i] and (i in inactive or cover[s] > MIN_COVER)]
        if spare:
            s = spare[int(rng.integers(0, len(spare)))]
            expired.add((i, s))
            cover[s] -= 0 if i in inactive else 1

    valid_until = date(today.year, 12, 31) if today < date(today.year, 12, 31) else date(today.year + 1, 12, 31)
    lapsed_on = date(today.year - 1, 12, 31)
    nmls = rng.choice(np.arange(100_000, 2_600_000), size=n_agents, replace=False)
    first = rng.integers(0, len(FIRST_NAMES), n_agents)
    last = rng.integers(0, len(LAST_NAMES), n_agents)
    skill = np.round(np.exp(rng.normal(0.0, 0.25, n_agents)), 3)
    weights = np.array(SPECIALTY_WEIGHTS) / sum(SPECIALTY_WEIGHTS)
    agents: list[SyntheticAgent] = []
    for i in range(n_agents):
        states = sorted(geo.CODES[list(held[i])].tolist())
        licences = [SyntheticLicense(
            state=s, license_id=f"{s}-MLO-{int(rng.integers(10_000, 1_000_000)):06d}", nmls_id=str(nmls[i]),
            expires=lapsed_on if (i, code_index[s]) in expired else valid_until) for s in states]
        specialties = [SPECIALTIES[j] for j in sorted(rng.choice(len(SPECIALTIES), size=int(rng.integers(1, 4)),
                                                                  replace=False, p=weights).tolist())]
        multipliers = {s: round(float(np.exp(rng.normal(np.log(1.8), 0.15))), 3) for s in specialties}
        optimal = int(rng.integers(8, 31))
        maximum = optimal + int(rng.integers(5, 16))
        days = _DAYS[:5] if rng.random() < 0.85 else ("mon", "tue", "wed", "thu")
        hours = _HOURS[int(rng.integers(0, len(_HOURS)))]
        schedule = {d: hours for d in days}
        if rng.random() < 0.3:
            schedule["sat"] = "10:00-14:00"
        name_first, name_last = FIRST_NAMES[first[i]], LAST_NAMES[last[i]]
        agents.append(SyntheticAgent(
            agent_id=f"LO-{i + 1:03d}", name=f"{name_first} {name_last}",
            email=f"{name_first.lower()}.{name_last.lower().replace(chr(39), '')}.{i + 1}@example.com",
            states=states, licenses=licences, specialties=specialties,
            optimal_capacity=optimal, max_capacity=maximum,
            open_leads=0 if i in inactive else int(min(maximum, rng.binomial(maximum, 0.6))),
            timezone=geo.STATES[home[i]].timezone, schedule=schedule, active=i not in inactive,
            skill=float(skill[i]), specialty_multipliers=multipliers,
        ))
    return agents
