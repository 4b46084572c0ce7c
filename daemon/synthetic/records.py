"""Records of the synthetic data set that cross module borders: licences and loan officers."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True)
class SyntheticLicense:
    """A state mortgage loan originator licence; valid while `expires` is on or after the day checked."""

    state: str
    license_id: str
    nmls_id: str
    expires: date

    def valid_on(self, day: date) -> bool:
        """True when the licence has not expired on `day`."""
        return self.expires >= day


@dataclass
class SyntheticAgent:
    """A loan officer: licences, specialties, capacity, working hours and (ground truth) skill."""

    agent_id: str
    name: str
    email: str
    states: list[str]                 # every state with a licence on file, expired ones included
    licenses: list[SyntheticLicense]
    specialties: list[str]            # tokens of vocab.SPECIALTIES
    optimal_capacity: int
    max_capacity: int
    open_leads: int
    timezone: str                     # IANA zone
    schedule: dict[str, str]          # "mon".."sun" -> "09:00-17:00"; a missing day is off
    active: bool
    skill: float                      # ground truth: odds multiplier of this officer (1.0 = reference)
    specialty_multipliers: dict[str, float] = field(default_factory=dict)  # ground truth, per specialty

    def licensed_states(self, on: date) -> list[str]:
        """States where this officer holds a licence valid on `on`."""
        return sorted({lic.state for lic in self.licenses if lic.valid_on(on)})

    def to_yaml_dict(self) -> dict[str, object]:
        """The officer as an admin would write it in an agents file (no ground-truth fields)."""
        data = asdict(self)
        for hidden in ("skill", "specialty_multipliers"):
            data.pop(hidden)
        data["licenses"] = [{**asdict(lic), "expires": lic.expires.isoformat()} for lic in self.licenses]
        return data
