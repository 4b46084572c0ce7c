"""The officers file (YAML): licences, specialties, capacity, schedule; validated with every problem reported."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator

from config.base import Section
from config.canonical import US_STATES
from config.errors import ConfigError, Problem
from config.loader import parse_yaml
from config.sections.routing import RoutingConfig
from routing.schedule import DAY_NAMES, Schedule, build_schedule, check_timezone

LOAN_TYPES: frozenset[str] = frozenset({"fha", "va", "usda", "jumbo", "conventional"})
CREDIT_TIERS: frozenset[str] = frozenset({"subprime", "near_prime", "prime"})
SPECIALTIES: frozenset[str] = LOAN_TYPES | CREDIT_TIERS | {"first_time_buyer"}
OFFICER_CHANNELS: frozenset[str] = frozenset({"call", "text"})


@dataclass(frozen=True)
class Licence:
    """One state licence; `expires` None means it does not lapse (or the date is kept elsewhere)."""

    state: str
    license_id: str | None = None
    nmls_id: str | None = None
    expires: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.expires is None or self.expires >= day


@dataclass(frozen=True)
class AgentSpec:
    """One loan officer as the agents file describes them (no history: see routing.profiles)."""

    agent_id: str
    name: str = ""
    email: str | None = None
    crm_user_id: str | None = None
    active: bool = True
    licences: tuple[Licence, ...] = ()
    specialties: frozenset[str] = frozenset()
    channels: frozenset[str] = OFFICER_CHANNELS
    optimal_capacity: int = 20
    max_capacity: int = 25
    schedule: Schedule | None = None
    satisfaction: float | None = None  # 0-5 stars
    complaint_rate: float | None = None  # share of customers who complained, 0-1
    open_leads: int = 0  # load known from the file; the daemon's store overrides it

    def licensed_states(self, on: date) -> frozenset[str]:
        """States this officer may take leads from on `on` (expired licences do not count)."""
        return frozenset(lic.state for lic in self.licences if lic.valid_on(on))


class _LicenceModel(Section):
    state: str
    license_id: str | None = None
    nmls_id: str | None = None
    expires: date | None = None

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        return _state_code(value)


class _ScheduleModel(Section):
    timezone: str
    hours: dict[str, Any] = Field(default_factory=dict, description="day -> '09:00-17:00' (or a list, or null)")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        build_schedule("UTC", value)  # raises ValueError with the bad day or span
        return value


class _AgentModel(Section):
    agent_id: str = Field(min_length=1)
    name: str = ""
    email: str | None = None
    crm_user_id: str | None = None
    active: bool = True
    states: list[str] = Field(default_factory=list, description="licence states without licence details")
    licenses: list[_LicenceModel] = Field(default_factory=list, validation_alias=AliasChoices("licenses", "licences"))
    specialties: list[str] = Field(default_factory=list)
    channels: list[Literal["call", "text"]] = Field(default_factory=lambda: ["call", "text"])
    optimal_capacity: int | None = Field(None, ge=0)
    max_capacity: int | None = Field(None, ge=0)
    open_leads: int = Field(0, ge=0)
    timezone: str | None = Field(None, description="shorthand: schedule given as day -> hours plus this zone")
    schedule: _ScheduleModel | None = None
    satisfaction: float | None = Field(None, ge=0, le=5)
    complaint_rate: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _schedule_shorthand(cls, data: Any) -> Any:
        # `timezone: X` + `schedule: {mon: ...}` is accepted as well as `schedule: {timezone, hours}`
        if isinstance(data, dict) and isinstance(data.get("schedule"), dict):
            sched = data["schedule"]
            if "hours" not in sched and "timezone" not in sched:
                data = {**data, "schedule": {"timezone": data.get("timezone") or "", "hours": sched}}
                if not data.get("timezone"):
                    raise ValueError("schedule given as days needs `timezone` (IANA, e.g. America/Chicago)")
        return data

    @field_validator("states")
    @classmethod
    def _states(cls, value: list[str]) -> list[str]:
        return [_state_code(v) for v in value]

    @field_validator("specialties")
    @classmethod
    def _specialties(cls, value: list[str]) -> list[str]:
        out = [str(v).strip().lower().replace("-", "_").replace(" ", "_") for v in value]
        unknown = sorted(set(out) - SPECIALTIES)
        if unknown:
            raise ValueError(f"unknown specialty {', '.join(unknown)}; valid: {', '.join(sorted(SPECIALTIES))}")
        return out

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @model_validator(mode="after")
    def _capacity(self) -> "_AgentModel":
        if self.optimal_capacity is not None and self.max_capacity is not None and self.optimal_capacity > self.max_capacity:
            raise ValueError(f"optimal_capacity {self.optimal_capacity} exceeds max_capacity {self.max_capacity}")
        return self


def _state_code(value: str) -> str:
    code = str(value).strip().upper()
    if code not in US_STATES:
        raise ValueError(f"unknown state {value!r}; use the two-letter postal code")
    return code


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _to_spec(model: _AgentModel, config: RoutingConfig) -> AgentSpec:
    maximum = config.default_max_capacity if model.max_capacity is None else model.max_capacity
    optimal = model.optimal_capacity if model.optimal_capacity is not None else min(config.default_optimal_capacity, maximum)
    # a state listed under `licenses` follows that licence's expiry; one only under `states` does not lapse
    detailed = {lic.state for lic in model.licenses}
    licences = [Licence(s) for s in dict.fromkeys(model.states) if s not in detailed]
    licences += [Licence(lic.state, lic.license_id, lic.nmls_id, lic.expires) for lic in model.licenses]
    schedule = None if model.schedule is None else build_schedule(model.schedule.timezone, model.schedule.hours)
    return AgentSpec(
        agent_id=model.agent_id, name=model.name, email=model.email, crm_user_id=model.crm_user_id,
        active=model.active, licences=tuple(licences), specialties=frozenset(model.specialties),
        channels=frozenset(model.channels), optimal_capacity=min(optimal, maximum), max_capacity=maximum,
        schedule=schedule, satisfaction=model.satisfaction, complaint_rate=model.complaint_rate,
        open_leads=model.open_leads,
    )


def parse_agents(data: Any, config: RoutingConfig, source: str = "agents file") -> list[AgentSpec]:
    """Validate parsed YAML (a list of officers, or `{agents: [...]}`); raises ConfigError listing every problem."""
    if isinstance(data, dict) and set(data) == {"agents"}:
        data = data["agents"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ConfigError(source, [Problem("", "must be a list of officers, or a mapping with one key `agents`")])
    problems: list[Problem] = []
    specs: list[AgentSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data):
        raw_id = str(item.get("agent_id")) if isinstance(item, dict) and item.get("agent_id") is not None else None
        if raw_id is not None and raw_id in seen:
            problems.append(Problem(f"agents[{i}].agent_id",
                                    f"duplicate agent_id {raw_id!r} (first at agents[{seen[raw_id]}])"))
            continue
        if raw_id is not None:
            seen[raw_id] = i
        try:
            model = _AgentModel.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = f"unknown key; valid keys: {', '.join(sorted(_AgentModel.model_fields))}"
                problems.append(Problem(_loc(("agents", i, *err["loc"])), msg))
            continue
        specs.append(_to_spec(model, config))
    if problems:
        raise ConfigError(source, problems)
    return specs


def load_agents_text(text: str, config: RoutingConfig, source: str = "agents file") -> list[AgentSpec]:
    """Parse and validate agents YAML text."""
    return parse_agents(parse_yaml(text, source), config, source)


def load_agents_file(path: str | Path, config: RoutingConfig) -> list[AgentSpec]:
    """Read the agents file (like a config file, the one read routing does); raises ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "agents file not found; fix routing.agents_file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [Problem("", f"cannot read the agents file: {exc}")]) from None
    return load_agents_text(text, config, source)


__all__ = ["AgentSpec", "Licence", "SPECIALTIES", "LOAN_TYPES", "CREDIT_TIERS", "OFFICER_CHANNELS", "DAY_NAMES",
           "parse_agents", "load_agents_text", "load_agents_file"]
