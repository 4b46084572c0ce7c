"""Every compliance reason code, what it means and what it blocks: the one table auditors read.

| code | blocks | meaning |
|---|---|---|
| PHONE_MISSING | call, text | no phone number on the lead |
| PHONE_INVALID | call, text | the phone is not a valid NANP number (bad length or country code, N11, 0/1 leading digit, 555-01xx fictional, ...) |
| EMAIL_MISSING | email | no email address on the lead |
| EMAIL_INVALID | email | the email address is malformed |
| EMAIL_OPT_OUT | email | the CRM's email opt-out field is set |
| CONSENT_MISSING | call, text | the TCPA consent flag is empty or unreadable |
| CONSENT_DECLINED | call, text | the TCPA consent flag says no |
| CONSENT_TIMESTAMP_MISSING | call, text | consent has no timestamp |
| CONSENT_TIMESTAMP_INVALID | call, text | the consent timestamp cannot be parsed |
| CONSENT_IN_FUTURE | call, text | the consent timestamp is later than now plus the allowed clock skew |
| CONSENT_EXPIRED | call, text | consent is older than compliance.consent.max_age_days |
| CONSENT_METHOD_MISSING | call, text | how consent was captured (web form, ...) is not recorded |
| CONSENT_IP_MISSING | call, text | the consenting IP address is not recorded (compliance.consent.require_ip) |
| CONSENT_IP_INVALID | call, text | the consenting IP address is not an IPv4/IPv6 address (compliance.consent.require_ip) |
| CONSENT_PROOF_MISSING | call, text | neither consent text nor a certificate (TrustedForm / Jornaya) is recorded |
| CONSENT_CERTIFICATE_INVALID | call, text | a certificate is given but is not a TrustedForm / Jornaya id or an https URL, and there is no consent text |
| CRM_DO_NOT_CALL | call, text | the CRM's do-not-call field is set |
| DNC_FEDERAL | call, text | the phone is on the National Do-Not-Call Registry |
| DNC_STATE | call, text | the phone is on a state Do-Not-Call list |
| DNC_INTERNAL | call, text | the phone is on the internal suppression list (CRM opt-outs, complaints) |
| DNC_REGISTRY_MISSING | call, text | no DNC registry was loaded, so no number can be cleared for calls |
| DNC_REGISTRY_STALE | call, text | the federal data is older than compliance.dnc.max_age_days (the FTC safe harbour asks for 31) |
| DNC_NOT_COVERED | call, text | no federal full file was loaded for the phone's area code (compliance.dnc.require_coverage) |
| STATE_MISSING | routing | the lead has no state, so no licensed officer can be chosen |
| STATE_UNKNOWN | routing | the state is not a US state or territory code |
| NO_LICENSED_AGENT | routing | no officer holds an unexpired licence in the lead's state |
| QUALITY_CONTACT_LOW | — | contact fields filled below compliance.data_quality.contact |
| QUALITY_FINANCIAL_LOW | — | financial fields filled below compliance.data_quality.financial |
| QUALITY_BEHAVIOUR_LOW | — | behaviour fields filled below compliance.data_quality.behaviour |
| QUALITY_PROPERTY_LOW | — | loan/property fields filled below compliance.data_quality.property |

"routing" means the lead is not `compliant`: it is never routed to a calling officer (it may still
be emailed). "—" codes are advisory: reported and written back, they block nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Iterable, Literal

Channel = Literal["call", "text", "email"]
CHANNELS: Final[tuple[Channel, ...]] = ("call", "text", "email")
PHONE_CHANNELS: Final[frozenset[Channel]] = frozenset({"call", "text"})


class Reason(StrEnum):
    """A reason code; its value is what the CRM status field and the audit trail carry."""

    PHONE_MISSING = "PHONE_MISSING"
    PHONE_INVALID = "PHONE_INVALID"
    EMAIL_MISSING = "EMAIL_MISSING"
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_OPT_OUT = "EMAIL_OPT_OUT"
    CONSENT_MISSING = "CONSENT_MISSING"
    CONSENT_DECLINED = "CONSENT_DECLINED"
    CONSENT_TIMESTAMP_MISSING = "CONSENT_TIMESTAMP_MISSING"
    CONSENT_TIMESTAMP_INVALID = "CONSENT_TIMESTAMP_INVALID"
    CONSENT_IN_FUTURE = "CONSENT_IN_FUTURE"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_METHOD_MISSING = "CONSENT_METHOD_MISSING"
    CONSENT_IP_MISSING = "CONSENT_IP_MISSING"
    CONSENT_IP_INVALID = "CONSENT_IP_INVALID"
    CONSENT_PROOF_MISSING = "CONSENT_PROOF_MISSING"
    CONSENT_CERTIFICATE_INVALID = "CONSENT_CERTIFICATE_INVALID"
    CRM_DO_NOT_CALL = "CRM_DO_NOT_CALL"
    DNC_FEDERAL = "DNC_FEDERAL"
    DNC_STATE = "DNC_STATE"
    DNC_INTERNAL = "DNC_INTERNAL"
    DNC_REGISTRY_MISSING = "DNC_REGISTRY_MISSING"
    DNC_REGISTRY_STALE = "DNC_REGISTRY_STALE"
    DNC_NOT_COVERED = "DNC_NOT_COVERED"
    STATE_MISSING = "STATE_MISSING"
    STATE_UNKNOWN = "STATE_UNKNOWN"
    NO_LICENSED_AGENT = "NO_LICENSED_AGENT"
    QUALITY_CONTACT_LOW = "QUALITY_CONTACT_LOW"
    QUALITY_FINANCIAL_LOW = "QUALITY_FINANCIAL_LOW"
    QUALITY_BEHAVIOUR_LOW = "QUALITY_BEHAVIOUR_LOW"
    QUALITY_PROPERTY_LOW = "QUALITY_PROPERTY_LOW"


@dataclass(frozen=True)
class ReasonInfo:
    """What a reason code means and what it takes away from the lead."""

    description: str
    blocks: frozenset[Channel] = frozenset()
    blocks_routing: bool = False


_P = PHONE_CHANNELS
_E: frozenset[Channel] = frozenset({"email"})

REASONS: Final[dict[Reason, ReasonInfo]] = {
    Reason.PHONE_MISSING: ReasonInfo("no phone number on the lead", _P),
    Reason.PHONE_INVALID: ReasonInfo("the phone is not a valid NANP number", _P),
    Reason.EMAIL_MISSING: ReasonInfo("no email address on the lead", _E),
    Reason.EMAIL_INVALID: ReasonInfo("the email address is malformed", _E),
    Reason.EMAIL_OPT_OUT: ReasonInfo("the CRM's email opt-out field is set", _E),
    Reason.CONSENT_MISSING: ReasonInfo("the TCPA consent flag is empty or unreadable", _P),
    Reason.CONSENT_DECLINED: ReasonInfo("the TCPA consent flag says no", _P),
    Reason.CONSENT_TIMESTAMP_MISSING: ReasonInfo("consent has no timestamp", _P),
    Reason.CONSENT_TIMESTAMP_INVALID: ReasonInfo("the consent timestamp cannot be parsed", _P),
    Reason.CONSENT_IN_FUTURE: ReasonInfo("the consent timestamp is in the future", _P),
    Reason.CONSENT_EXPIRED: ReasonInfo("consent is older than the configured maximum age", _P),
    Reason.CONSENT_METHOD_MISSING: ReasonInfo("the consent capture method is not recorded", _P),
    Reason.CONSENT_IP_MISSING: ReasonInfo("the consenting IP address is not recorded", _P),
    Reason.CONSENT_IP_INVALID: ReasonInfo("the consenting IP address is not an IP address", _P),
    Reason.CONSENT_PROOF_MISSING: ReasonInfo("neither consent text nor a certificate is recorded", _P),
    Reason.CONSENT_CERTIFICATE_INVALID: ReasonInfo(
        "the consent certificate is not a TrustedForm/Jornaya id or https URL", _P),
    Reason.CRM_DO_NOT_CALL: ReasonInfo("the CRM's do-not-call field is set", _P),
    Reason.DNC_FEDERAL: ReasonInfo("the phone is on the National Do-Not-Call Registry", _P),
    Reason.DNC_STATE: ReasonInfo("the phone is on a state Do-Not-Call list", _P),
    Reason.DNC_INTERNAL: ReasonInfo("the phone is on the internal suppression list", _P),
    Reason.DNC_REGISTRY_MISSING: ReasonInfo("no DNC registry is loaded; calls cannot be cleared", _P),
    Reason.DNC_REGISTRY_STALE: ReasonInfo("the federal DNC data is older than the configured maximum age", _P),
    Reason.DNC_NOT_COVERED: ReasonInfo("no federal DNC data was loaded for the phone's area code", _P),
    Reason.STATE_MISSING: ReasonInfo("the lead has no state", blocks_routing=True),
    Reason.STATE_UNKNOWN: ReasonInfo("the state is not a US state or territory code", blocks_routing=True),
    Reason.NO_LICENSED_AGENT: ReasonInfo("no officer holds an unexpired licence in the lead's state",
                                         blocks_routing=True),
    Reason.QUALITY_CONTACT_LOW: ReasonInfo("contact fields filled below the threshold"),
    Reason.QUALITY_FINANCIAL_LOW: ReasonInfo("financial fields filled below the threshold"),
    Reason.QUALITY_BEHAVIOUR_LOW: ReasonInfo("behaviour fields filled below the threshold"),
    Reason.QUALITY_PROPERTY_LOW: ReasonInfo("loan/property fields filled below the threshold"),
}


def allowed_channels(reasons: Iterable[Reason]) -> tuple[Channel, ...]:
    """The channels no reason blocks, in the fixed order call, text, email."""
    blocked: set[str] = set()
    for r in reasons:
        blocked |= REASONS[r].blocks
    return tuple(c for c in CHANNELS if c not in blocked)


def blocks_routing(reasons: Iterable[Reason]) -> bool:
    """True when any reason keeps the lead away from a calling officer."""
    return any(REASONS[r].blocks_routing for r in reasons)
