"""HubSpot contact properties: the default mapping to canonical lead fields and the properties leadpilot writes.

Standard HubSpot properties are used where HubSpot has one (email, phone, state, zip, analytics
counters, email opt-out); the mortgage fields are custom properties a lender's portal defines, listed
in `MORTGAGE_PROPERTIES` so the sandbox can create them and `crm check` can say which are missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True)
class PropertySpec:
    """A contact property definition as the properties API takes it (type/fieldType pairs HubSpot accepts)."""

    name: str
    label: str
    type: str = "string"  # string | number | datetime | date | bool | enumeration
    field_type: str = "text"  # text | textarea | number | date | booleancheckbox | select
    description: str = ""
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (value, label)


# HubSpot contact property -> canonical lead field.
DEFAULT_FIELD_MAPPING: Final[dict[str, str]] = {
    "hs_object_id": "crm_id",
    "lead_id": "lead_id",
    "hs_analytics_source": "source",
    "createdate": "created_at",
    "lastmodifieddate": "updated_at",
    "firstname": "first_name",
    "lastname": "last_name",
    "email": "email",
    "phone": "phone",
    "state": "state",
    "zip": "zip_code",
    "loan_amount": "loan_amount",
    "loan_purpose": "loan_purpose",
    "loan_type": "loan_type",
    "property_type": "property_type",
    "property_value": "property_value",
    "down_payment": "down_payment",
    "purchase_timeline": "timeline",
    "first_time_buyer": "first_time_buyer",
    "annual_income": "annual_income",
    "monthly_debt": "monthly_debt",
    "credit_score": "credit_score",
    "employment_status": "employment_status",
    "employment_tenure_months": "employment_tenure_months",
    "hs_analytics_num_visits": "website_sessions",
    "hs_analytics_num_page_views": "page_views",
    "calculator_uses": "calculator_uses",
    "hs_email_open": "email_opens",
    "hs_email_click": "email_clicks",
    "tcpa_consent": "tcpa_consent",
    "tcpa_consent_timestamp": "consent_timestamp",
    "tcpa_consent_method": "consent_method",
    "tcpa_consent_ip": "consent_ip",
    "tcpa_consent_text": "consent_text",
    "trustedform_cert_url": "consent_certificate",
    "do_not_call": "do_not_call",
    "hs_email_optout": "email_opt_out",
    "lead_cost": "lead_cost",
}

# Canonical fields that are bookkeeping, not scoring inputs: a change to them alone never re-scores.
NON_INPUT_FIELDS: Final[frozenset[str]] = frozenset(
    {"crm_id", "lead_id", "source", "created_at", "updated_at", "converted", "converted_at", "conversion_value",
     "lead_cost"}
)

# Standard HubSpot contact properties (exist in every portal).
STANDARD_PROPERTIES: Final[tuple[PropertySpec, ...]] = (
    PropertySpec("hs_object_id", "Record ID", "number", "number"),
    PropertySpec("createdate", "Create Date", "datetime", "date"),
    PropertySpec("lastmodifieddate", "Last Modified Date", "datetime", "date"),
    PropertySpec("firstname", "First Name"),
    PropertySpec("lastname", "Last Name"),
    PropertySpec("email", "Email"),
    PropertySpec("phone", "Phone Number"),
    PropertySpec("state", "State/Region"),
    PropertySpec("zip", "Postal Code"),
    PropertySpec("hs_analytics_source", "Original Source", "enumeration", "select"),
    PropertySpec("hs_analytics_num_visits", "Number of Sessions", "number", "number"),
    PropertySpec("hs_analytics_num_page_views", "Number of Pageviews", "number", "number"),
    PropertySpec("hs_email_open", "Marketing emails opened", "number", "number"),
    PropertySpec("hs_email_click", "Marketing emails clicked", "number", "number"),
    PropertySpec("hs_email_optout", "Unsubscribed from all email", "bool", "booleancheckbox"),
    PropertySpec("hubspot_owner_id", "Contact owner", "enumeration", "select"),
    PropertySpec("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=(
        ("subscriber", "Subscriber"), ("lead", "Lead"), ("marketingqualifiedlead", "Marketing Qualified Lead"),
        ("salesqualifiedlead", "Sales Qualified Lead"), ("opportunity", "Opportunity"), ("customer", "Customer"),
        ("evangelist", "Evangelist"), ("other", "Other"))),
    PropertySpec("hs_lifecyclestage_opportunity_date", "Became an Opportunity Date", "datetime", "date"),
    PropertySpec("hs_lifecyclestage_customer_date", "Became a Customer Date", "datetime", "date"),
)

# The lender's own contact properties holding the mortgage lead (group `mortgage_lead` in the sandbox).
MORTGAGE_PROPERTIES: Final[tuple[PropertySpec, ...]] = (
    PropertySpec("lead_id", "Lead ID"),
    PropertySpec("loan_amount", "Loan Amount"),
    PropertySpec("loan_purpose", "Loan Purpose"),
    PropertySpec("loan_type", "Loan Type"),
    PropertySpec("property_type", "Property Type"),
    PropertySpec("property_value", "Property Value"),
    PropertySpec("down_payment", "Down Payment"),
    PropertySpec("purchase_timeline", "Purchase Timeline"),
    PropertySpec("first_time_buyer", "First-Time Buyer", "bool", "booleancheckbox",
                 options=(("true", "Yes"), ("false", "No"))),
    PropertySpec("annual_income", "Annual Income"),
    PropertySpec("monthly_debt", "Monthly Debt"),
    PropertySpec("credit_score", "Credit Score"),
    PropertySpec("employment_status", "Employment Status"),
    PropertySpec("employment_tenure_months", "Employment Tenure (months)"),
    PropertySpec("calculator_uses", "Calculator Uses", "number", "number"),
    PropertySpec("tcpa_consent", "TCPA Consent"),
    PropertySpec("tcpa_consent_timestamp", "TCPA Consent Time"),
    PropertySpec("tcpa_consent_method", "TCPA Consent Method"),
    PropertySpec("tcpa_consent_ip", "TCPA Consent IP"),
    PropertySpec("tcpa_consent_text", "TCPA Consent Text", field_type="textarea"),
    PropertySpec("trustedform_cert_url", "TrustedForm Certificate URL"),
    PropertySpec("do_not_call", "Do Not Call"),
    PropertySpec("lead_cost", "Lead Cost"),
)

DEAL_PROPERTIES: Final[tuple[str, ...]] = ("amount", "closedate", "dealstage", "hs_is_closed_won", "hs_lastmodifieddate")
