"""Routing: match weights, overflow thresholds and the officers file."""
from __future__ import annotations

from pydantic import Field, model_validator

from config.base import Section


class MatchWeights(Section):
    performance: float = Field(0.40, ge=0)
    capacity: float = Field(0.25, ge=0)
    expertise: float = Field(0.20, ge=0)
    availability: float = Field(0.15, ge=0)

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


class RoutingConfig(Section):
    agents_file: str | None = Field(None, description="officers YAML overlaying CRM users (licences, capacity, schedule)")
    weights: MatchWeights = Field(default_factory=MatchWeights)
    thresholds: OverflowThresholds = Field(default_factory=OverflowThresholds)
    shrinkage_leads: float = Field(20.0, ge=0, description="prior strength: an officer's rate counts as this many team-average leads")
    alternatives: int = Field(3, ge=0, le=10)
    default_max_capacity: int = Field(25, ge=0, description="open leads an officer may hold when the agents file is silent")
