"""When each scheduled job runs: an interval in seconds or a cron expression."""
from __future__ import annotations

from pydantic import Field, model_validator

from config.base import Section


class Schedule(Section):
    interval_seconds: int | None = Field(None, ge=1)
    cron: str | None = Field(None, description="five fields: minute hour day month weekday")
    enabled: bool = True

    @model_validator(mode="after")
    def _one_kind(self) -> "Schedule":
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError("give exactly one of interval_seconds or cron")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError("cron must have five fields: minute hour day month weekday")
        return self


def _every(seconds: int) -> Schedule:
    return Schedule(interval_seconds=seconds)


class SchedulesConfig(Section):
    poll: Schedule = Field(default_factory=lambda: _every(30))
    outcomes: Schedule = Field(default_factory=lambda: _every(900))
    agents: Schedule = Field(default_factory=lambda: _every(3600))
    queue_drain: Schedule = Field(default_factory=lambda: _every(60))
    dnc_refresh: Schedule = Field(default_factory=lambda: Schedule(cron="15 3 * * *"))
    retention: Schedule = Field(default_factory=lambda: Schedule(cron="30 3 * * *"))
    retrain_check: Schedule = Field(default_factory=lambda: Schedule(cron="0 4 * * *"))
    kpi: Schedule = Field(default_factory=lambda: Schedule(cron="0 6 * * *"))
    stop_timeout_seconds: int = Field(30, ge=1, description="on SIGTERM, finish the batch in hand within this")
