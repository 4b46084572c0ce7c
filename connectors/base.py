"""The `Connector` interface every CRM plugin implements, and the records that cross it.

The daemon owns state (watermarks, outbox, audit); a connector only talks to its CRM:
it is handed a watermark and returns records plus the next watermark, so a crash between
a fetch and a commit loses nothing.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from config.errors import LeadpilotError
from config.sections.connectors import ConnectorConfig


class ConnectorError(LeadpilotError):
    """A CRM call failed in a way the admin must act on (auth, permissions, missing fields)."""


class RetryableConnectorError(ConnectorError):
    """A CRM call failed after our retries (429, 5xx, dropped connection); try again next cycle."""


class QuotaExhaustedError(ConnectorError):
    """The CRM's API quota is spent (Salesforce REQUEST_LIMIT_EXCEEDED, HubSpot daily limit); pause polling."""


@dataclass(frozen=True)
class Watermark:
    """Position of an incremental read: records modified at or after `modified_at`, ties broken by id."""

    modified_at: datetime | None = None
    last_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"modified_at": self.modified_at.isoformat() if self.modified_at else None, "last_id": self.last_id}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Watermark":
        if not data:
            return cls()
        stamp = data.get("modified_at")
        return cls(datetime.fromisoformat(stamp) if stamp else None, data.get("last_id"))


@dataclass
class CrmLead:
    """One CRM record mapped to canonical fields; `problems` lists what could not be parsed (kept, not dropped)."""

    crm_id: str
    modified_at: datetime
    fields: dict[str, Any]
    raw: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    modified_by_integration: bool = False
    # input hash leadpilot last wrote onto the record (None: never scored or unknown); with
    # modified_by_integration it tells our own write-back apart from a user's change
    written_input_hash: str | None = None


@dataclass
class FetchResult:
    """A batch of changed leads and the watermark to persist once they are safely stored."""

    leads: list[CrmLead]
    next_watermark: Watermark
    complete: bool = True  # False: stopped early (batch limit or quota floor); call again


@dataclass(frozen=True)
class Outcome:
    """A conversion outcome, the learning loop's label."""

    crm_id: str
    converted: bool
    converted_at: datetime | None
    conversion_value: float | None = None
    won: bool | None = None
    modified_at: datetime | None = None


@dataclass
class OutcomeBatch:
    outcomes: list[Outcome]
    next_watermark: Watermark


@dataclass(frozen=True)
class CrmAgent:
    """A CRM user who can own leads (Salesforce User, HubSpot owner)."""

    crm_user_id: str
    name: str
    email: str | None
    active: bool = True


@dataclass
class WriteBackItem:
    """What leadpilot writes onto one CRM lead: score fields, compliance status and the assignment."""

    crm_id: str
    idempotency_key: str  # stable per (lead, input hash, model version); reused on retry
    score: int | None = None
    probability: float | None = None
    confidence: float | None = None
    model_version: str | None = None
    scored_at: datetime | None = None
    reasons: list[str] = field(default_factory=list)
    compliance_status: str | None = None
    compliance_reasons: list[str] = field(default_factory=list)
    owner_crm_user_id: str | None = None
    assignment_external_id: str | None = None  # upsert key of the assignment record
    assignment_reason: str | None = None
    match_score: float | None = None
    routing_outcome: str | None = None
    ab_arm: str | None = None
    input_hash: str | None = None


@dataclass(frozen=True)
class WriteBackResult:
    crm_id: str
    ok: bool
    error: str | None = None
    retryable: bool = True


@dataclass
class ApiUsage:
    """API calls made by this connector since it was created, and the CRM's quota where known."""

    calls: int = 0
    errors: int = 0
    remaining: int | None = None
    limit: int | None = None
    calls_by_endpoint: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckItem:
    """One line of `leadpilot crm check` / `crm setup`."""

    ok: bool
    what: str
    detail: str = ""


class Connector(ABC):
    """A CRM plugin. Subclasses declare `config_model` (their settings) and `default_field_mapping`."""

    config_model: ClassVar[type[BaseModel]]
    default_field_mapping: ClassVar[dict[str, str]]  # CRM field -> canonical field

    def __init__(self, config: ConnectorConfig, settings: BaseModel):
        self.config = config
        self.settings = settings
        self.field_mapping = {**self.default_field_mapping, **config.field_mapping}

    @classmethod
    def from_config(cls, config: ConnectorConfig) -> "Connector":
        """Validate the plugin settings and build the connector."""
        return cls(config, cls.config_model.model_validate(config.settings))

    @property
    def name(self) -> str:
        return self.config.name

    @abstractmethod
    def fetch_changed(self, since: Watermark, limit: int) -> FetchResult:
        """Leads created or changed at/after the watermark, oldest first, at most `limit`."""

    @abstractmethod
    def fetch_outcomes(self, since: Watermark, limit: int) -> OutcomeBatch:
        """Conversion outcomes changed since the watermark."""

    @abstractmethod
    def fetch_agents(self) -> list[CrmAgent]:
        """Users/owners who can be assigned leads."""

    @abstractmethod
    def write_back(self, items: list[WriteBackItem]) -> list[WriteBackResult]:
        """Write a batch in as few API calls as the CRM allows; one result per item, in order."""

    @abstractmethod
    def usage(self) -> ApiUsage:
        """API calls made so far and the remaining quota."""

    @abstractmethod
    def check(self) -> list[CheckItem]:
        """Connectivity, permissions and every missing field (`leadpilot crm check`)."""

    @abstractmethod
    def setup(self, apply: bool) -> list[CheckItem]:
        """Create missing custom fields/properties; a dry run unless `apply`."""

    def close(self) -> None:
        """Release HTTP sessions."""
