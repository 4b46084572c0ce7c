"""Builders for compliance tests: one fully valid lead that each test spoils in one way."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

NOW = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
GOOD_PHONE = "(201) 234-5678"
GOOD_PHONE_INT = 2012345678


def good_lead(**overrides: Any) -> dict[str, Any]:
    """A lead that passes every check (with a registry covering area 201 and an officer licensed in CA)."""
    lead: dict[str, Any] = {
        "lead_id": "L-1", "crm_id": "00Q1", "source": "web", "created_at": NOW - timedelta(days=2),
        "updated_at": NOW - timedelta(days=1),
        "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com", "phone": GOOD_PHONE,
        "state": "CA", "zip_code": "94107",
        "loan_amount": 420_000.0, "loan_purpose": "purchase", "loan_type": "conventional",
        "property_type": "single_family", "property_value": 550_000.0, "down_payment": 110_000.0,
        "timeline": "0-3 months",
        "annual_income": 145_000.0, "monthly_debt": 900.0, "credit_score": 742, "employment_status": "employed",
        "employment_tenure_months": 48,
        "website_sessions": 4, "page_views": 19, "calculator_uses": 2, "email_opens": 3, "email_clicks": 1,
        "tcpa_consent": True, "consent_timestamp": (NOW - timedelta(days=3)).isoformat(),
        "consent_method": "web_form", "consent_ip": "203.0.113.7",
        "consent_text": "I agree to be contacted by phone and text...",
        "consent_certificate": "https://cert.trustedform.com/" + "a" * 40,
        "do_not_call": False, "email_opt_out": False,
        "converted": None, "converted_at": None, "conversion_value": None, "lead_cost": 85.0,
    }
    lead.update(overrides)
    return lead


def frame(*leads: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(leads))
