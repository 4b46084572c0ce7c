"""TCPA consent and email permission for one lead: which reasons take away call, text or email.

Calls and texts (the TCPA treats a text as a call) need prior express written consent: the consent
flag set, a timestamp not older than `max_age_days` and not in the future (beyond the allowed clock
skew), the capture method, the consenting IP (when `require_ip`) and the consent text or a certificate
(when `require_text_or_certificate`). Email needs no TCPA consent (CAN-SPAM is opt-out): it is allowed
unless the address is missing or malformed or the CRM's email opt-out field is set.
Do-Not-Call lists are checked in compliance.check, not here.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Mapping

from compliance.reasons import Reason
from compliance.values import TimestampError, flag, text, timestamp
from config.sections.compliance import ConsentConfig

CertificateKind = Literal["trustedform", "jornaya", "url"]

CONSENT_FIELDS: Final[tuple[str, ...]] = (
    "tcpa_consent", "consent_timestamp", "consent_method", "consent_ip", "consent_text", "consent_certificate",
)
_TRUSTEDFORM_ID = re.compile(r"^[0-9a-f]{40}$", re.IGNORECASE)
_TRUSTEDFORM_URL = re.compile(r"^https://cert\.trustedform\.com/[0-9a-f]{40}/?$", re.IGNORECASE)
_JORNAYA_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_HTTPS_URL = re.compile(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$", re.IGNORECASE)
# deliberately loose: one @, a dot in the domain, no spaces; deliverability is the mail server's job
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


@dataclass(frozen=True)
class ConsentResult:
    """The TCPA verdict for one lead: `valid` when calls and texts are permitted by consent."""

    reasons: tuple[Reason, ...]
    consented_at: datetime | None
    age_days: float | None
    certificate_kind: CertificateKind | None

    @property
    def valid(self) -> bool:
        return not self.reasons


def certificate_kind(value: Any) -> CertificateKind | None:
    """What a consent certificate reference is: a TrustedForm cert, a Jornaya LeadiD, another https URL, or None."""
    ref = text(value)
    if ref is None:
        return None
    if _TRUSTEDFORM_URL.match(ref) or _TRUSTEDFORM_ID.match(ref):
        return "trustedform"
    if _JORNAYA_ID.match(ref) or (_HTTPS_URL.match(ref) and "leadid" in ref.lower()):
        return "jornaya"
    if _HTTPS_URL.match(ref):
        return "url"
    return None


def check_consent(lead: Mapping[str, Any], *, now: datetime, config: ConsentConfig) -> ConsentResult:
    """Every consent problem of one lead (a mapping of canonical fields), not just the first."""
    reasons: list[Reason] = []
    given = flag(lead.get("tcpa_consent"))
    if given is None:
        reasons.append(Reason.CONSENT_MISSING)
    elif not given:
        reasons.append(Reason.CONSENT_DECLINED)

    consented_at: datetime | None = None
    age_days: float | None = None
    try:
        consented_at = timestamp(lead.get("consent_timestamp"))
    except TimestampError:
        reasons.append(Reason.CONSENT_TIMESTAMP_INVALID)
    else:
        if consented_at is None:
            reasons.append(Reason.CONSENT_TIMESTAMP_MISSING)
        else:
            age = now - consented_at
            age_days = age.total_seconds() / 86400.0
            if age < -timedelta(minutes=config.future_tolerance_minutes):
                reasons.append(Reason.CONSENT_IN_FUTURE)
            elif age > timedelta(days=config.max_age_days):
                reasons.append(Reason.CONSENT_EXPIRED)

    if text(lead.get("consent_method")) is None:
        reasons.append(Reason.CONSENT_METHOD_MISSING)

    if config.require_ip:
        ip = text(lead.get("consent_ip"))
        if ip is None:
            reasons.append(Reason.CONSENT_IP_MISSING)
        else:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                reasons.append(Reason.CONSENT_IP_INVALID)

    kind = certificate_kind(lead.get("consent_certificate"))
    if config.require_text_or_certificate and text(lead.get("consent_text")) is None and kind is None:
        has_certificate = text(lead.get("consent_certificate")) is not None
        reasons.append(Reason.CONSENT_CERTIFICATE_INVALID if has_certificate else Reason.CONSENT_PROOF_MISSING)
    return ConsentResult(tuple(reasons), consented_at, age_days, kind)


def check_email(lead: Mapping[str, Any]) -> tuple[Reason, ...]:
    """Reasons that take away the email channel: missing, malformed, or opted out in the CRM."""
    reasons: list[Reason] = []
    email = text(lead.get("email"))
    if email is None:
        reasons.append(Reason.EMAIL_MISSING)
    elif not _EMAIL.match(email):
        reasons.append(Reason.EMAIL_INVALID)
    if flag(lead.get("email_opt_out")):
        reasons.append(Reason.EMAIL_OPT_OUT)
    return tuple(reasons)
