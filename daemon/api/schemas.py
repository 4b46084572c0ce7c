"""Request and response bodies of /api/v1, as pydantic models (they are also the OpenAPI document).

A lead is the canonical lead (config/canonical.py) minus `crm_id` (the API sets it from `lead_id`) and the
outcome fields (sent to /feedback instead). Each value goes through the same conversion as a CRM value
(connectors.mapping.convert): "$250,000" or "250k" is a loan amount, "yes" a consent flag, "Texas" a state.
What cannot be converted is a 422 naming the field, never silently dropped. Phone and email are the
exception: compliance judges them (PHONE_INVALID, EMAIL_INVALID), as for a polled lead.
"""
from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from config.canonical import CANONICAL_FIELDS
from connectors.mapping import RANGES, convert

# Fields a caller may not send, with what to do instead (used for the 422 message).
OUTCOME_FIELDS: Final[frozenset[str]] = frozenset({"converted", "converted_at", "conversion_value"})
NOT_ACCEPTED: Final[dict[str, str]] = {
    "crm_id": "is set from lead_id; leave it out",
    **{f: "is an outcome: send it to POST /api/v1/feedback" for f in OUTCOME_FIELDS},
}
LEAD_FIELDS: Final[tuple[str, ...]] = tuple(f for f in CANONICAL_FIELDS if f not in NOT_ACCEPTED)
MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 2_000
MAX_LONG_TEXT = {"consent_text": 20_000, "consent_certificate": 2_000}
_COMPLIANCE_JUDGES = frozenset({"phone", "email"})  # kept as text when malformed: compliance gives the reason
_PYTHON_TYPES: Final[dict[str, Any]] = {"str": str, "int": int, "float": float, "bool": bool, "datetime": datetime}
_KIND_HELP: Final[dict[str, str]] = {
    "str": "text", "int": "whole number (a numeric string is accepted)",
    "float": "number ('$250,000' and '250k' are accepted)", "bool": "true/false ('yes'/'no' are accepted)",
    "datetime": "ISO 8601 date-time (UTC when no offset) or epoch seconds/milliseconds",
}


EXAMPLE: Final[dict[str, Any]] = {
    "lead_id": "WEB-20261127-0042", "loan_amount": 350000, "property_value": 450000, "annual_income": 120000,
    "credit_score": 742, "employment_status": "employed", "website_sessions": 4, "calculator_uses": 2,
    "email_opens": 3, "state": "TX", "zip_code": "78701", "loan_purpose": "purchase", "phone": "(512) 555-0142",
    "email": "pat@example.com", "tcpa_consent": True, "consent_timestamp": "2026-11-27T14:02:11Z",
    "consent_method": "web_form", "consent_ip": "203.0.113.7", "consent_text": "I agree to be contacted ...",
}
_MORE_EXAMPLES: Final[dict[str, list[Any]]] = {
    "state": ["Texas", "ca"], "loan_amount": ["$350,000", "350k"], "tcpa_consent": ["yes"], "zip_code": ["78701-1234"],
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text_ok(name: str, value: str) -> None:
    limit = MAX_ID_LENGTH if name == "lead_id" else MAX_LONG_TEXT.get(name, MAX_TEXT_LENGTH)
    if len(value) > limit:
        raise ValueError(f"is longer than {limit} characters")
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text (unpaired surrogate)") from None


def canonical_value(name: str, value: Any) -> Any:
    """One API value as the canonical field's type, or ValueError with a message an integrator can act on."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValueError(f"must be a single {_KIND_HELP[CANONICAL_FIELDS[name]]}, not a JSON {type(value).__name__}")
    if isinstance(value, str):
        _text_ok(name, value)
        if not value.strip():
            return None  # a blank form field is a missing value
    try:
        result = convert(name, value)
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        if name in _COMPLIANCE_JUDGES and isinstance(value, str):
            return value.strip()
        reason = str(exc) if isinstance(exc, ValueError) and str(exc) else "is out of range"
        raise ValueError(f"{_shown(value)} {reason}") from None
    if isinstance(result, str):
        _text_ok(name, result)
    return result


def _lead_field(name: str) -> tuple[Any, Any]:
    kind = CANONICAL_FIELDS[name]
    annotation = Annotated[_PYTHON_TYPES[kind] | None, BeforeValidator(partial(canonical_value, name))]
    if name == "lead_id":
        return (Annotated[str, BeforeValidator(partial(_required_id, name))],
                Field(description="your id of the lead; scoring the same id with the same inputs again "
                                  "returns the stored answer", min_length=1, max_length=MAX_ID_LENGTH))
    extra: dict[str, Any] = {}
    if name in RANGES:  # documented; the conversion enforces them (a value outside is an entry error)
        extra["minimum"], extra["maximum"] = RANGES[name]
    if name in EXAMPLE:
        extra["examples"] = [EXAMPLE[name], *_MORE_EXAMPLES.get(name, [])]
    return annotation, Field(None, description=_KIND_HELP[kind], json_schema_extra=extra or None)


def _required_id(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("must be a text id (a whole number is accepted)")
    text = str(value).strip()
    _text_ok(name, text)
    return text


class _LeadBase(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": EXAMPLE})

    def fields(self) -> dict[str, Any]:
        """The canonical fields sent (None for those left out)."""
        return {name: getattr(self, name) for name in LEAD_FIELDS}


LeadData: type[_LeadBase] = create_model(  # type: ignore[call-overload]
    "LeadData", __base__=_LeadBase, __doc__="A lead in canonical fields; only lead_id is required.",
    **{name: _lead_field(name) for name in LEAD_FIELDS},
)


def batch_request_model(max_batch: int) -> type[BaseModel]:
    """The /score/batch body, whose size limit comes from the configuration."""
    return create_model(
        "BatchScoringRequest", __config__=ConfigDict(extra="forbid"),
        leads=(list[LeadData], Field(min_length=1, max_length=max_batch,  # type: ignore[valid-type]
                                     description=f"1 to {max_batch} leads, each lead_id at most once")),
    )


class FeedbackRequest(BaseModel):
    """A conversion outcome of a lead scored through the API: the label the learning loop trains on."""

    model_config = ConfigDict(extra="forbid")

    lead_id: Annotated[str, BeforeValidator(partial(_required_id, "lead_id"))] = Field(
        min_length=1, max_length=MAX_ID_LENGTH)
    converted: Annotated[bool, BeforeValidator(partial(canonical_value, "converted"))]
    conversion_value: Annotated[float | None, BeforeValidator(partial(canonical_value, "conversion_value"))] = Field(
        None, description="revenue of the conversion, if any")
    timestamp: Annotated[datetime, BeforeValidator(partial(canonical_value, "converted_at"))] = Field(
        description="when it converted (or was found not to); ISO 8601")


# -- responses ------------------------------------------------------------------------------------

class Contribution(BaseModel):
    """One of the lead's top reasons: the feature's TreeSHAP contribution in log-odds and score points."""

    feature: str
    label: str
    value: str | None
    contribution: float
    points: float
    text: str


class ComplianceReasonOut(BaseModel):
    code: str
    description: str


class ComplianceOut(BaseModel):
    """COMPLIANT: may be routed to a calling officer; EMAIL_ONLY / BLOCKED: never, with every reason."""

    status: Literal["COMPLIANT", "EMAIL_ONLY", "BLOCKED"]
    compliant: bool
    allowed_channels: list[str]
    reasons: list[ComplianceReasonOut]
    rule_set_version: str


class AgentOut(BaseModel):
    agent_id: str
    name: str | None = None
    match_score: float | None = None
    components: dict[str, float] = Field(default_factory=dict,
                                         description="performance, capacity, expertise, availability (0-1)")


class RoutingOut(BaseModel):
    outcome: str = Field(description="assigned, priority_takeback, queued, nurture, manager_escalation, blocked "
                                     "or held (the lead keeps the officer it has)")
    reason_code: str | None
    reason: str
    assigned: bool = Field(description="true when the officer's capacity is reserved for this lead "
                                       "(?assign=true, or an earlier assignment it keeps)")


class ScoringResponse(BaseModel):
    """The decision on one lead: score, reasons, compliance and the recommended officer."""

    lead_id: str
    score: int = Field(description="0-100: the lead's percentile among the model's validation leads; "
                                   ">= 80 is the top 20%")
    probability: float = Field(description="calibrated probability to convert")
    confidence: float = Field(description="0-1: ensemble member agreement x completeness of the inputs")
    model_version: str
    timestamp: datetime = Field(description="when the decision was made (a repeat returns the stored one)")
    reasons: list[str]
    feature_contributions: list[Contribution]
    compliance: ComplianceOut
    recommended_agent: AgentOut | None
    alternatives: list[AgentOut]
    routing: RoutingOut
    ab_arm: str | None = None


class BatchScoringResponse(BaseModel):
    results: list[ScoringResponse]


class FeedbackResponse(BaseModel):
    lead_id: str
    status: Literal["created", "updated", "unchanged"]
    converted: bool
    converted_at: datetime | None
    conversion_value: float | None


class KpiSnapshotOut(BaseModel):
    name: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    metrics: dict[str, Any]


class ModelPerformance(BaseModel):
    model_version: str
    status: str
    registered_at: str
    training_window: dict[str, Any]
    validation_metrics: dict[str, Any]
    gate: dict[str, Any]
    latest_kpi: KpiSnapshotOut | None


class Problem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer: what went wrong, every problem with its field (422), and the request id."""

    error: str
    request_id: str
    problems: list[Problem] = Field(default_factory=list)
