"""Settings of the HubSpot connector (`connectors[].settings` when `plugin: hubspot`)."""
from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from config.base import Section
from connectors.retry import RetrySettings


class HubSpotPropertyNames(Section):
    """Names of the contact properties leadpilot writes (all created in `property_group` by `crm setup`)."""

    score: str = Field("ai_lead_score", description="0-100 score (number)")
    probability: str = Field("ai_score_probability", description="calibrated conversion probability 0-1 (number)")
    confidence: str = Field("score_confidence", description="confidence of the score 0-1 (number)")
    model_version: str = Field("model_version", description="model that produced the score")
    scored_at: str = Field("score_timestamp", description="when the lead was scored (datetime)")
    reasons: str = Field("ai_score_reasons", description="reasons for the score, one per line")
    compliance_status: str = Field("compliance_status", description="compliance outcome (e.g. eligible, blocked)")
    compliance_reasons: str = Field("compliance_reasons", description="compliance reason codes, one per line")
    routing_outcome: str = Field("routing_outcome", description="routing outcome (assigned, priority, queue, ...)")
    assignment_id: str = Field("assignment_id", description="id of leadpilot's assignment (idempotency key)")
    assignment_reason: str = Field("assignment_reason", description="why this officer was chosen")
    ab_arm: str = Field("leadpilot_ab_arm", description="A/B test arm of the lead (champion, control, ...)")
    input_hash: str = Field("leadpilot_input_hash",
                            description="the daemon's hash of the scoring inputs, written with the score "
                                        "(CrmLead.written_input_hash)")
    read_hash: str = Field("leadpilot_read_hash",
                           description="the connector's hash of the contact's input values as read before scoring; "
                                       "unchanged = the last change was our own write-back (no re-score)")


class HubSpotSettings(Section):
    """A HubSpot portal reached with a private-app access token."""

    access_token: SecretStr = Field(..., description="private app access token (or access_token_file)")
    host: str = Field("https://api.hubapi.com", description="API base URL; the sandbox's http://127.0.0.1:PORT")
    ssl_ca_cert: str | None = Field(None, description="CA bundle for a corporate TLS proxy")
    timeout_s: float = Field(30.0, gt=0, le=600, description="per-request timeout")
    search_page_size: int = Field(200, ge=1, le=200, description="contacts per search page (HubSpot max 200)")
    search_result_cap: int = Field(10_000, ge=1, le=10_000,
                                   description="results one search query can page through (HubSpot: 10,000)")
    search_requests_per_second: float = Field(4.0, gt=0, le=100,
                                              description="client-side pacing of the search endpoint (HubSpot ~5/s)")
    overlap_s: float = Field(30.0, ge=0, le=3600,
                             description="each new poll re-reads this far back: HubSpot's search index trails its "
                                         "writes by seconds (duplicates are dropped by crm_id and modified time)")
    batch_size: int = Field(100, ge=1, le=100, description="inputs per batch read/update call (HubSpot max 100)")
    property_group: str = Field("leadpilot", pattern=r"^[a-z][a-z0-9_]*$",
                                description="contact property group holding leadpilot's properties")
    property_group_label: str = Field("LeadPilot", description="label of that group in HubSpot")
    properties: HubSpotPropertyNames = Field(default_factory=HubSpotPropertyNames)
    owner_property: str = Field("hubspot_owner_id", description="contact property holding the assigned owner")
    converted_stages: list[str] = Field(["opportunity", "customer"],
                                        description="lifecycle stages that count as converted")
    won_stages: list[str] = Field(["customer"], description="lifecycle stages that count as won (a funded loan)")
    quota_floor: int = Field(0, ge=0, description="pause polling while fewer daily API calls than this remain")
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @field_validator("host")
    @classmethod
    def _no_trailing_slash(cls, host: str) -> str:
        if not host.startswith(("http://", "https://")):
            raise ValueError("host must start with http:// or https://")
        return host.rstrip("/")
