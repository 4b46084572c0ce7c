"""Settings of the Salesforce connector (`connectors[].settings` in the YAML), validated at start-up."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from config.base import Section
from connectors.retry import RetrySettings
from connectors.salesforce.schema import AssignmentFieldNames, ScoreFieldNames

AuthMode = Literal["password", "jwt", "client_credentials", "session"]


class ScoreFields(Section):
    """Lead fields the score is written to (defaults: the fields `leadpilot crm setup` creates)."""

    score: str = Field(ScoreFieldNames.score, description="0-100 score")
    probability: str = Field(ScoreFieldNames.probability, description="calibrated probability")
    confidence: str = Field(ScoreFieldNames.confidence, description="0-1 confidence")
    model_version: str = Field(ScoreFieldNames.model_version)
    scored_at: str = Field(ScoreFieldNames.scored_at)
    reasons: str = Field(ScoreFieldNames.reasons, description="reasons, one per line")
    compliance_status: str = Field(ScoreFieldNames.compliance_status)
    compliance_reasons: str = Field(ScoreFieldNames.compliance_reasons)
    input_hash: str = Field(ScoreFieldNames.input_hash, description="hash of the scored inputs (write-loop guard)")

    def names(self) -> ScoreFieldNames:
        return ScoreFieldNames(**self.model_dump())


class AssignmentFields(Section):
    """Fields of the assignment record (one per lead assignment, upserted by `external_id`)."""

    external_id: str = AssignmentFieldNames.external_id
    lead: str = AssignmentFieldNames.lead
    agent: str = AssignmentFieldNames.agent
    match_score: str = AssignmentFieldNames.match_score
    reason: str = AssignmentFieldNames.reason
    routing_outcome: str = AssignmentFieldNames.routing_outcome
    ab_arm: str = AssignmentFieldNames.ab_arm
    model_version: str = AssignmentFieldNames.model_version
    assigned_at: str = AssignmentFieldNames.assigned_at

    def names(self) -> AssignmentFieldNames:
        return AssignmentFieldNames(**self.model_dump())


class SalesforceSettings(Section):
    """How to reach one Salesforce org and where leadpilot reads and writes."""

    auth: AuthMode = Field("password", description="password (+ security token) | jwt | client_credentials | session")
    username: str | None = Field(None, description="integration user (password and jwt)")
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: str | None = Field(None, description="connected app consumer key (jwt, client_credentials)")
    consumer_secret: SecretStr | None = Field(None, description="connected app secret (client_credentials)")
    private_key_file: str | None = Field(None, description="PEM key signing the JWT bearer assertion")
    session_id: SecretStr | None = Field(None, description="an existing session id (auth: session)")
    instance_url: str | None = Field(None, description="https://yourorg.my.salesforce.com (auth: session)")
    domain: str = Field("login", description="login | test | <mydomain>.my; the sandbox prints its own "
                                              "(host:port/login)")
    api_version: str = Field("59.0", pattern=r"^\d{2,3}\.0$", description="REST API version, e.g. 59.0")
    ca_bundle: str | None = Field(None, description="PEM CA bundle to trust (corporate proxy, the sandbox's CA)")
    timeout_s: float = Field(60.0, gt=0, le=600, description="per HTTP request")
    integration_user_id: str | None = Field(
        None, description="User Id leadpilot writes as; default: asked once from the OAuth userinfo endpoint")
    overlap_s: int = Field(300, ge=0, le=86400,
                           description="each poll re-reads this far back: commits that landed with an older "
                                       "SystemModstamp are not missed; duplicates are dropped by (Id, SystemModstamp)")
    query_batch_size: int = Field(2000, ge=200, le=2000, description="records per query page (Sforce-Query-Options)")
    collection_size: int = Field(200, ge=1, le=200, description="records per sObject Collections subrequest")
    composite_size: int = Field(25, ge=1, le=25, description="subrequests per Composite call (one API call)")
    quota_floor: int = Field(
        1000, ge=0, description="polling pauses when fewer daily API calls than this remain (write-backs go on)")
    owner_field: str | None = Field("OwnerId", description="Lead field set to the assigned officer; null: not set")
    assignment_object: str | None = Field(
        "Lead_Assignment__c", description="custom object recording each assignment; null: none")
    score_fields: ScoreFields = Field(default_factory=ScoreFields)
    assignment_fields: AssignmentFields = Field(default_factory=AssignmentFields)
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @model_validator(mode="after")
    def _auth_complete(self) -> "SalesforceSettings":
        need: dict[str, tuple[str, ...]] = {
            "password": ("username", "password", "security_token"),
            "jwt": ("username", "consumer_key", "private_key_file"),
            "client_credentials": ("consumer_key", "consumer_secret"),
            "session": ("session_id", "instance_url"),
        }
        missing = [name for name in need[self.auth] if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"auth '{self.auth}' needs {', '.join(missing)}")
        if self.auth == "client_credentials" and self.domain in ("login", "test"):
            raise ValueError("auth 'client_credentials' needs your My Domain in `domain` (e.g. acme.my), "
                             "not login/test")
        if self.instance_url is not None and not self.instance_url.startswith("https://"):
            raise ValueError("instance_url must start with https://")
        return self
