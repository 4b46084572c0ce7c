"""Salesforce field names: the default Lead mapping and the custom fields leadpilot writes (created by `crm setup`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# CRM field -> canonical field. Standard Lead fields plus the mortgage custom fields a lead buyer adds.
DEFAULT_FIELD_MAPPING: dict[str, str] = {
    "Id": "crm_id", "LeadSource": "source", "CreatedDate": "created_at", "LastModifiedDate": "updated_at",
    "FirstName": "first_name", "LastName": "last_name", "Email": "email", "Phone": "phone",
    "State": "state", "PostalCode": "zip_code",
    "Loan_Amount__c": "loan_amount", "Loan_Purpose__c": "loan_purpose", "Loan_Type__c": "loan_type",
    "Property_Type__c": "property_type", "Property_Value__c": "property_value",
    "Down_Payment__c": "down_payment", "Timeline__c": "timeline", "First_Time_Buyer__c": "first_time_buyer",
    "Annual_Income__c": "annual_income", "Monthly_Debt__c": "monthly_debt", "Credit_Score__c": "credit_score",
    "Employment_Status__c": "employment_status", "Employment_Tenure_Months__c": "employment_tenure_months",
    "Website_Sessions__c": "website_sessions", "Page_Views__c": "page_views",
    "Calculator_Uses__c": "calculator_uses", "Email_Opens__c": "email_opens", "Email_Clicks__c": "email_clicks",
    "TCPA_Consent__c": "tcpa_consent", "Consent_Timestamp__c": "consent_timestamp",
    "Consent_Method__c": "consent_method", "Consent_IP__c": "consent_ip", "Consent_Text__c": "consent_text",
    "Consent_Certificate__c": "consent_certificate",
    "DoNotCall": "do_not_call", "HasOptedOutOfEmail": "email_opt_out",
    "IsConverted": "converted", "ConvertedDate": "converted_at", "Lead_Cost__c": "lead_cost",
}


@dataclass(frozen=True)
class FieldSpec:
    """A custom field as the Tooling API's CustomField Metadata describes it."""

    sobject: str
    name: str
    label: str
    type: str  # Metadata type: Number, Text, LongTextArea, DateTime, Checkbox, Lookup, Currency
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    description: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.sobject}.{self.name}"

    def metadata(self) -> dict[str, Any]:
        """The `Metadata` body of a Tooling API CustomField create."""
        meta: dict[str, Any] = {"label": self.label, "type": self.type, "description": self.description}
        if self.type == "LongTextArea":
            meta["visibleLines"] = 5
        for key, value in (("length", self.length), ("precision", self.precision), ("scale", self.scale),
                           ("referenceTo", self.reference_to), ("relationshipName", self.relationship_name)):
            if value is not None:
                meta[key] = value
        if self.external_id:
            meta["externalId"] = True
        if self.unique:
            meta["unique"] = True
        if self.type == "Lookup":
            meta["deleteConstraint"] = "SetNull"
        return meta


@dataclass(frozen=True)
class ScoreFieldNames:
    """Where each write-back value goes on the Lead (settings `score_fields` override)."""

    score: str = "AI_Lead_Score__c"
    probability: str = "AI_Score_Probability__c"
    confidence: str = "Score_Confidence__c"
    model_version: str = "Model_Version__c"
    scored_at: str = "Score_Timestamp__c"
    reasons: str = "AI_Score_Reasons__c"
    compliance_status: str = "Compliance_Status__c"
    compliance_reasons: str = "Compliance_Reasons__c"
    input_hash: str = "AI_Input_Hash__c"


@dataclass(frozen=True)
class AssignmentFieldNames:
    """Fields of the assignment record, one per (lead, assignment), upserted by `external_id`."""

    external_id: str = "External_Id__c"
    lead: str = "Lead__c"
    agent: str = "Agent__c"
    match_score: str = "Match_Score__c"
    reason: str = "Assignment_Reason__c"
    routing_outcome: str = "Routing_Outcome__c"
    ab_arm: str = "AB_Arm__c"
    model_version: str = "Model_Version__c"
    assigned_at: str = "Assigned_At__c"


# Text limits used both by setup (field lengths) and by write-back (truncation, so no STRING_TOO_LONG).
REASONS_MAX = 32_000
SHORT_TEXT = 255


def lead_field_specs(names: ScoreFieldNames, sobject: str = "Lead") -> list[FieldSpec]:
    """The custom fields leadpilot writes on the Lead."""
    return [
        FieldSpec(sobject, names.score, "AI Lead Score", "Number", precision=3, scale=0,
                  description="leadpilot score 0-100 (80+ priority, 60+ queue)"),
        FieldSpec(sobject, names.probability, "AI Score Probability", "Number", precision=5, scale=4,
                  description="calibrated probability to convert"),
        FieldSpec(sobject, names.confidence, "Score Confidence", "Number", precision=5, scale=4,
                  description="0-1: agreement of the models and completeness of the inputs"),
        FieldSpec(sobject, names.model_version, "Model Version", "Text", length=80),
        FieldSpec(sobject, names.scored_at, "Score Timestamp", "DateTime"),
        FieldSpec(sobject, names.reasons, "AI Score Reasons", "LongTextArea", length=REASONS_MAX),
        FieldSpec(sobject, names.compliance_status, "Compliance Status", "Text", length=40),
        FieldSpec(sobject, names.compliance_reasons, "Compliance Reasons", "LongTextArea", length=REASONS_MAX),
        FieldSpec(sobject, names.input_hash, "AI Input Hash", "Text", length=64,
                  description="hash of the scoring inputs; lets leadpilot recognise its own write-backs"),
    ]


def assignment_field_specs(names: AssignmentFieldNames, sobject: str, lead_sobject: str = "Lead") -> list[FieldSpec]:
    """The fields of the assignment custom object."""
    return [
        FieldSpec(sobject, names.external_id, "External Id", "Text", length=80, external_id=True, unique=True,
                  description="leadpilot's idempotency key: a retry updates, never duplicates"),
        FieldSpec(sobject, names.lead, "Lead", "Lookup", reference_to=lead_sobject,
                  relationship_name="Lead_Assignments"),
        FieldSpec(sobject, names.agent, "Agent", "Lookup", reference_to="User", relationship_name="Lead_Assignments"),
        FieldSpec(sobject, names.match_score, "Match Score", "Number", precision=6, scale=4),
        FieldSpec(sobject, names.reason, "Assignment Reason", "Text", length=SHORT_TEXT),
        FieldSpec(sobject, names.routing_outcome, "Routing Outcome", "Text", length=40),
        FieldSpec(sobject, names.ab_arm, "A/B Arm", "Text", length=40),
        FieldSpec(sobject, names.model_version, "Model Version", "Text", length=80),
        FieldSpec(sobject, names.assigned_at, "Assigned At", "DateTime"),
    ]


def object_metadata(label: str, plural: str) -> dict[str, Any]:
    """The `Metadata` body of a Tooling API CustomObject create (auto-numbered name)."""
    return {"label": label, "pluralLabel": plural, "deploymentStatus": "Deployed", "sharingModel": "ReadWrite",
            "nameField": {"label": f"{label} Number", "type": "AutoNumber", "displayFormat": "LA-{0000000}"}}
