"""The canonical lead: the field names every CRM record is mapped to (see DESIGN.md)."""
from __future__ import annotations

from typing import Final

# field name -> kind; kinds drive parsing in connectors and the store's column types.
CANONICAL_FIELDS: Final[dict[str, str]] = {
    # ids and timestamps
    "lead_id": "str", "crm_id": "str", "source": "str",
    "created_at": "datetime", "updated_at": "datetime",
    # contact
    "first_name": "str", "last_name": "str", "email": "str", "phone": "str",
    "state": "str", "zip_code": "str",
    # loan
    "loan_amount": "float", "loan_purpose": "str", "loan_type": "str", "property_type": "str",
    "property_value": "float", "down_payment": "float", "timeline": "str",
    "first_time_buyer": "bool",  # buys a home for the first time; officers specialise in these buyers
    # finance
    "annual_income": "float", "monthly_debt": "float", "credit_score": "int",
    "employment_status": "str", "employment_tenure_months": "int",
    # behaviour
    "website_sessions": "int", "page_views": "int", "calculator_uses": "int",
    "email_opens": "int", "email_clicks": "int",
    # consent
    "tcpa_consent": "bool", "consent_timestamp": "datetime", "consent_method": "str",
    "consent_ip": "str", "consent_text": "str", "consent_certificate": "str",
    # suppression fed by CRM opt-out fields
    "do_not_call": "bool", "email_opt_out": "bool",
    # outcome
    "converted": "bool", "converted_at": "datetime", "conversion_value": "float", "lead_cost": "float",
}

PII_FIELDS: Final[frozenset[str]] = frozenset(
    {"first_name", "last_name", "email", "phone", "consent_ip", "zip_code"}
)

# Fair lending law: these may feed the fairness audit, never a model.
PROTECTED_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {"race", "ethnicity", "sex", "gender", "age", "date_of_birth", "marital_status",
     "family_status", "familial_status", "national_origin", "religion"}
)

US_STATES: Final[frozenset[str]] = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)
