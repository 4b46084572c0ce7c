"""Routing: match weights, overflow thresholds, the officers file and lead tagging."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import Section


class MatchWeights(Section):
    performance: float = Field(0.40, ge=0, description="officer's measured conversion for this kind of lead")
    capacity: float = Field(0.25, ge=0, description="room left: 1 with no open leads, 0.5 at optimal, near 0 at maximum")
    expertise: float = Field(0.20, ge=0, description="share of the lead's tags (loan type, credit tier, ...) among the officer's specialties")
    availability: float = Field(0.15, ge=0, description="on shift now, or how soon the next shift starts")

    @model_validator(mode="after")
    def _not_all_zero(self) -> "MatchWeights":
        if self.performance + self.capacity + self.expertise + self.availability <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


class OverflowThresholds(Section):
    priority_score: int = Field(80, ge=0, le=100, description="may take back a lower-scored uncontacted lead")
    queue_score: int = Field(60, ge=0, le=100, description="waits in the queue; below goes to nurture")

    @model_validator(mode="after")
    def _ordered(self) -> "OverflowThresholds":
        if self.queue_score > self.priority_score:
            raise ValueError("queue_score must not exceed priority_score")
        return self


class CreditTiers(Section):
    """Credit-score cut points that tag a lead subprime / near_prime / prime (officer specialties)."""

    subprime_below: int = Field(640, ge=300, le=850, description="credit score below this is subprime")
    prime_from: int = Field(720, ge=300, le=850, description="credit score at or above this is prime; between is near_prime")

    @model_validator(mode="after")
    def _ordered(self) -> "CreditTiers":
        if self.subprime_below > self.prime_from:
            raise ValueError("subprime_below must not exceed prime_from")
        return self


class RoutingConfig(Section):
    """How leads are matched to officers: see routing/match.py (score), routing/profiles.py (shrinkage)."""

    agents_file: str | None = Field(None, description="officers YAML overlaying CRM users (licences, capacity, schedule)")
    weights: MatchWeights = Field(default_factory=MatchWeights)
    thresholds: OverflowThresholds = Field(default_factory=OverflowThresholds)
    shrinkage_leads: float = Field(20.0, ge=0, description="prior guess of how far officers differ, as leads: an officer's level starts as if "
                                   "from this many team-average leads; the data then estimate the spread")
    cell_shrinkage_leads: float = Field(
        200.0, ge=0, description="prior guess for an officer's own deviation on one kind of lead (loan type, credit "
                                 "tier, first-time buyer), in leads; weaker evidence per cell, so larger")
    alternatives: int = Field(3, ge=0, le=10)
    default_max_capacity: int = Field(25, ge=0, description="open leads an officer may hold when the agents file is silent")
    default_optimal_capacity: int = Field(20, ge=0, description="open leads an officer handles best when the agents file is silent (capped at the maximum)")
    objective: Literal["expected_conversions", "match_score"] = Field(
        "expected_conversions",
        description="what batch assignment maximises: the sum of estimated conversion chances, or the sum of match scores")
    match_tiebreak: float = Field(
        0.02, ge=0, le=1,
        description="expected_conversions only: the match score adds up to this share of an average lead's conversion "
                    "chance, so near-ties go to the lighter-loaded, on-shift specialist")
    unknown_schedule_availability: float = Field(0.5, ge=0, le=1, description="availability of an officer with no schedule on file")
    jumbo_loan_amount: float = Field(832_750, gt=0, description="loan amounts above this (the conforming limit) are tagged jumbo")
    credit_tiers: CreditTiers = Field(default_factory=CreditTiers)
    performance_dimensions: list[Literal["score_band", "loan_type", "credit_tier", "first_time_buyer"]] = Field(
        default_factory=lambda: ["loan_type", "credit_tier", "first_time_buyer"],
        description="kinds of lead on which each officer gets an effect of their own; the lead's probability "
                    "already carries its score, so score_band is reported but off by default")
