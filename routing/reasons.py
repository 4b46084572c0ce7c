"""One-line, human reasons for routing decisions, as a sales manager would read them in the CRM."""
from __future__ import annotations

from routing.outcome import ReasonCode
from routing.profiles import AgentProfile, TeamStats

_TAG_NAMES = {
    "fha": "FHA", "va": "VA", "usda": "USDA", "jumbo": "jumbo", "conventional": "conventional",
    "first_time_buyer": "first-time buyer", "subprime": "subprime", "near_prime": "near-prime", "prime": "prime",
}


def _pct(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def assigned_reason(state: str | None, lead_tags: frozenset[str], profile: AgentProfile, team: TeamStats,
                    load_before: int, availability_note: str) -> str:
    """'Licensed in TX, FHA specialist, 4 of 25 slots used, conversion 18% vs team 12%' (+ availability if off shift)."""
    parts = [f"Licensed in {state}" if state else "Licensed"]
    matched = [t for t in _TAG_NAMES if t in lead_tags and t in profile.spec.specialties]
    if matched:
        parts.append(" and ".join(_TAG_NAMES[t] for t in matched) + " specialist")
    parts.append(f"{load_before} of {profile.spec.max_capacity} slots used")
    if team.rate is None or profile.conversion_rate is None:
        parts.append("no conversion history yet")
    elif profile.leads == 0:
        parts.append(f"new officer, rated at team conversion {_pct(team.rate)}")
    else:
        parts.append(f"conversion {_pct(profile.conversion_rate)} vs team {_pct(team.rate)}")
    if availability_note != "on shift":
        parts.append(availability_note)
    return ", ".join(parts)


def unrouted_reason(code: ReasonCode, *, state: str | None = None, score: float | None = None,
                    priority: int | None = None, queue: int | None = None) -> str:
    """The sentence for a lead that got no officer (or was displaced), by reason code."""
    s = "" if score is None else f"{score:.0f}"
    texts = {
        ReasonCode.SCORE_MISSING: "No valid AI score (scoring failed or inputs missing): a manager decides",
        ReasonCode.STATE_MISSING: "No valid US state on the lead, so no officer can be proven licensed: a manager decides",
        ReasonCode.NO_LICENSED_OFFICER: f"No active licence for {state} among the officers: a manager decides",
        ReasonCode.NO_ACTIVE_OFFICER: f"Officers licensed in {state} are all inactive: a manager decides",
        ReasonCode.NO_OFFICER_FOR_CHANNEL: f"No officer licensed in {state} works a channel the lead's consent allows",
        ReasonCode.NO_CAPACITY_CONFIGURED: f"Officers licensed in {state} all have max_capacity 0: a manager decides",
        ReasonCode.CONSENT_CHANNELS_MISSING: "Consent channels unknown (compliance gave none): not contacted",
        ReasonCode.NO_CONTACT_CHANNEL: "Consent allows no contact channel: not contacted",
        ReasonCode.EMAIL_ONLY_CONSENT: "Consent allows email only: automated nurture, no calling officer",
        ReasonCode.PRIORITY_NO_TAKEBACK: f"Score {s} >= {priority} but every eligible officer is full and holds no "
                                         "lower-scored uncontacted lead: queued first",
        ReasonCode.CAPACITY_FULL_QUEUED: f"Score {s} >= {queue}, every eligible officer is full: queued",
        ReasonCode.CAPACITY_FULL_NURTURE: f"Score {s} < {queue} and every eligible officer is full: automated nurture",
        ReasonCode.TAKEN_BACK: f"Taken back for a higher-scored priority lead (this one scored {s}): re-queued",
    }
    return texts.get(code, code.value)
