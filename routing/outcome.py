"""What routing decides for each lead: the records the daemon persists and writes back to the CRM."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class OutcomeKind(StrEnum):
    """Where a lead ends up; every lead gets exactly one."""

    ASSIGNED = "assigned"
    PRIORITY_TAKEBACK = "priority_takeback"  # assigned by taking back a lower-scored uncontacted lead
    QUEUED = "queued"  # waits for capacity (persistent queue, FIFO within score)
    NURTURE = "nurture"  # automated email nurture, no officer
    MANAGER_ESCALATION = "manager_escalation"  # a person must decide: nothing fits
    BLOCKED = "blocked"  # may not be contacted at all


class ReasonCode(StrEnum):
    """Why; stable codes for metrics, audit and CRM picklists."""

    ASSIGNED = "assigned"
    QUEUE_SERVED = "queue_served"
    PRIORITY_TAKEBACK = "priority_takeback"
    TAKEN_BACK = "taken_back_requeued"  # a lead of this batch displaced by a priority lead
    CAPACITY_FULL_QUEUED = "capacity_full_queued"
    PRIORITY_NO_TAKEBACK = "priority_no_takeback_queued"
    CAPACITY_FULL_NURTURE = "capacity_full_nurture"
    EMAIL_ONLY_CONSENT = "email_only_consent"
    NO_CONTACT_CHANNEL = "no_contact_channel"
    CONSENT_CHANNELS_MISSING = "consent_channels_missing"
    SCORE_MISSING = "score_missing"
    STATE_MISSING = "state_missing"
    NO_LICENSED_OFFICER = "no_licensed_officer"
    NO_ACTIVE_OFFICER = "no_active_officer"
    NO_OFFICER_FOR_CHANNEL = "no_officer_for_channel"
    NO_CAPACITY_CONFIGURED = "no_capacity_configured"


@dataclass(frozen=True)
class MatchComponents:
    """The four normalised parts of a match score, each in [0, 1]."""

    performance: float
    capacity: float
    expertise: float
    availability: float


@dataclass(frozen=True)
class Candidate:
    """One officer for one lead: match score (0-1), its parts and the estimated conversion chance."""

    agent_id: str
    match_score: float
    components: MatchComponents
    expected_conversion: float


@dataclass(frozen=True)
class Assignment:
    """Routing's decision for one lead. `agent_id` is set for assigned and priority_takeback only."""

    lead_id: str
    outcome: OutcomeKind
    reason_code: ReasonCode
    reason: str  # one line for the CRM, e.g. "Licensed in TX, FHA specialist, 4 of 25 slots used, ..."
    agent_id: str | None = None
    match: Candidate | None = None
    alternatives: tuple[Candidate, ...] = ()
    score: float | None = None
    strategy: str = "optimal"

    @property
    def match_score(self) -> float | None:
        return None if self.match is None else self.match.match_score

    @property
    def has_officer(self) -> bool:
        return self.agent_id is not None


@dataclass(frozen=True)
class Takeback:
    """Move to write back: `lead_id` leaves `from_agent_id` (re-queued) so `for_lead_id` can take its slot."""

    lead_id: str
    from_agent_id: str
    for_lead_id: str
    score: float | None
    reason: str


@dataclass(frozen=True)
class QueueItem:
    """A lead waiting for capacity; served highest score first, first-in first-out within a score."""

    lead_id: str
    score: float
    enqueued_at: datetime
    reason_code: ReasonCode


@dataclass(frozen=True)
class RoutingResult:
    """One batch's decisions: one Assignment per input lead (input order), plus moves for the daemon."""

    assignments: tuple[Assignment, ...]
    takebacks: tuple[Takeback, ...] = ()
    queue: tuple[QueueItem, ...] = ()  # new queue entries, re-queued taken-back leads included
    next_round_robin: int = 0

    def by_lead(self) -> dict[str, Assignment]:
        return {a.lead_id: a for a in self.assignments}

    def counts(self) -> dict[str, int]:
        """Leads per outcome kind, for logs and metrics."""
        return dict(Counter(a.outcome.value for a in self.assignments))
