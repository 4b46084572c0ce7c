"""The Salesforce sandbox's object model: field metadata as describe reports it, and value validation on write."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox.soql import parse_soql_datetime

# Tooling API Metadata types -> describe types.
METADATA_TYPES: dict[str, str] = {
    "Number": "double", "Currency": "currency", "Percent": "percent", "Text": "string",
    "LongTextArea": "textarea", "TextArea": "textarea", "DateTime": "datetime", "Date": "date",
    "Checkbox": "boolean", "Lookup": "reference", "Email": "email", "Phone": "phone", "Picklist": "picklist",
}
NUMERIC_TYPES = frozenset({"double", "currency", "percent", "int"})
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "picklist", "url"})
SYSTEM_FIELDS = frozenset({"Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                           "SystemModstamp", "IsDeleted", "Name"})
KEY_PREFIXES = {"User": "005", "Lead": "00Q", "Opportunity": "006", "CustomField": "00N", "CustomObject": "01I"}


@dataclass(frozen=True)
class SfField:
    """One field of an sObject, in the shape of a describe result."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    updateable: bool = True
    createable: bool = True
    nillable: bool = True

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "label": self.label or self.name, "length": self.length,
            "precision": self.precision, "scale": self.scale, "custom": self.custom,
            "externalId": self.external_id, "unique": self.unique, "idLookup": self.external_id or self.name == "Id",
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship_name, "updateable": self.updateable,
            "createable": self.createable, "nillable": self.nillable,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _f(name: str, type_: str, **kw: Any) -> SfField:
    return SfField(name, type_, **kw)


def _system(sobject: str) -> list[SfField]:
    ro = {"updateable": False, "createable": False}
    return [
        _f("Id", "id", length=18, nillable=False, **ro),
        _f("CreatedDate", "datetime", **ro), _f("LastModifiedDate", "datetime", **ro),
        _f("SystemModstamp", "datetime", **ro), _f("IsDeleted", "boolean", **ro),
        _f("CreatedById", "reference", reference_to="User", relationship_name="CreatedBy", **ro),
        _f("LastModifiedById", "reference", reference_to="User", relationship_name="LastModifiedBy", **ro),
    ]


def system_fields() -> list[SfField]:
    """The read-only fields every object has (Id, timestamps, created/modified by)."""
    return _system("")


STANDARD_OBJECTS: dict[str, list[SfField]] = {
    "User": _system("User") + [
        _f("Username", "string", length=80), _f("Name", "string", length=121, updateable=False, createable=False),
        _f("FirstName", "string", length=40), _f("LastName", "string", length=80), _f("Email", "email", length=128),
        _f("IsActive", "boolean"), _f("TimeZoneSidKey", "picklist", length=40),
        _f("FederationIdentifier", "string", length=512),
    ],
    "Lead": _system("Lead") + [
        _f("FirstName", "string", length=40), _f("LastName", "string", length=80), _f("Company", "string", length=255),
        _f("Email", "email", length=80), _f("Phone", "phone", length=40), _f("State", "string", length=80),
        _f("PostalCode", "string", length=20), _f("Status", "picklist", length=40), _f("LeadSource", "picklist", length=40),
        _f("OwnerId", "reference", reference_to="User", relationship_name="Owner"),
        _f("IsConverted", "boolean"), _f("ConvertedDate", "date"),
        _f("ConvertedOpportunityId", "reference", reference_to="Opportunity", relationship_name="ConvertedOpportunity"),
        _f("DoNotCall", "boolean"), _f("HasOptedOutOfEmail", "boolean"),
    ],
    "Opportunity": _system("Opportunity") + [
        _f("Name", "string", length=120), _f("StageName", "picklist", length=40), _f("IsClosed", "boolean"),
        _f("IsWon", "boolean"), _f("Amount", "currency", precision=18, scale=2), _f("CloseDate", "date"),
        _f("OwnerId", "reference", reference_to="User", relationship_name="Owner"),
    ],
}

# The mortgage fields a lead buyer adds to Lead; stored verbatim when seeded so bad data reaches the connector.
MORTGAGE_LEAD_FIELDS: list[SfField] = [
    _f(name, type_, custom=True, **kw) for name, type_, kw in [
        ("Loan_Amount__c", "currency", {"precision": 18, "scale": 2}),
        ("Loan_Purpose__c", "picklist", {"length": 40}), ("Loan_Type__c", "picklist", {"length": 40}),
        ("Property_Type__c", "picklist", {"length": 40}),
        ("Property_Value__c", "currency", {"precision": 18, "scale": 2}),
        ("Down_Payment__c", "currency", {"precision": 18, "scale": 2}), ("Timeline__c", "picklist", {"length": 40}),
        ("First_Time_Buyer__c", "boolean", {}),
        ("Annual_Income__c", "currency", {"precision": 18, "scale": 2}),
        ("Monthly_Debt__c", "currency", {"precision": 18, "scale": 2}),
        ("Credit_Score__c", "double", {"precision": 3, "scale": 0}),
        ("Employment_Status__c", "picklist", {"length": 40}),
        ("Employment_Tenure_Months__c", "double", {"precision": 4, "scale": 0}),
        ("Website_Sessions__c", "double", {"precision": 6, "scale": 0}),
        ("Page_Views__c", "double", {"precision": 7, "scale": 0}),
        ("Calculator_Uses__c", "double", {"precision": 6, "scale": 0}),
        ("Email_Opens__c", "double", {"precision": 6, "scale": 0}),
        ("Email_Clicks__c", "double", {"precision": 6, "scale": 0}),
        ("TCPA_Consent__c", "boolean", {}), ("Consent_Timestamp__c", "datetime", {}),
        ("Consent_Method__c", "string", {"length": 40}), ("Consent_IP__c", "string", {"length": 45}),
        ("Consent_Text__c", "textarea", {"length": 32000}), ("Consent_Certificate__c", "string", {"length": 255}),
        ("Lead_Cost__c", "currency", {"precision": 10, "scale": 2}),
    ]
]


def field_from_metadata(name: str, meta: dict[str, Any]) -> SfField:
    """An SfField from a Tooling API CustomField `Metadata` body; raises ValueError when it is unusable."""
    mtype = meta.get("type")
    if mtype not in METADATA_TYPES:
        raise ValueError(f"unsupported field type {mtype!r} (supported: {', '.join(sorted(METADATA_TYPES))})")
    if not name.endswith("__c"):
        raise ValueError(f"custom field names end with __c: {name!r}")
    if not meta.get("label"):
        raise ValueError("Metadata.label is required")
    kind = METADATA_TYPES[mtype]
    if kind == "reference" and not meta.get("referenceTo"):
        raise ValueError("a Lookup needs Metadata.referenceTo")
    if kind == "string" and not meta.get("length"):
        raise ValueError("a Text field needs Metadata.length")
    return SfField(
        name=name, type=kind, label=str(meta["label"]), length=int(meta.get("length") or 0),
        precision=int(meta.get("precision") or 0), scale=int(meta.get("scale") or 0), custom=True,
        external_id=bool(meta.get("externalId")), unique=bool(meta.get("unique")),
        reference_to=meta.get("referenceTo"),
        # the child's side of a lookup is <field>__r; Metadata.relationshipName names the parent's child list
        relationship_name=name[:-3] + "__r" if kind == "reference" else None,
    )


def sf_datetime(value: datetime) -> str:
    """Salesforce's REST timestamp format: 2026-01-02T03:04:05.000+0000."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


class FieldValueError(ValueError):
    """A value a field cannot hold; `code` is the Salesforce statusCode of the per-record error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def coerce_value(spec: SfField, value: Any) -> Any:
    """A written value as Salesforce would store it, or FieldValueError with its statusCode."""
    if value is None:
        if not spec.nillable:
            raise FieldValueError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{spec.name}]")
        return None
    kind = spec.type
    if kind in NUMERIC_TYPES:
        if isinstance(value, bool):
            raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{spec.label}: value not of required type: {value}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                  f"{spec.label}: value not of required type: {value}") from None
        if not math.isfinite(number):
            raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{spec.label}: value not of required type: {value}")
        if spec.precision and abs(number) >= 10 ** (spec.precision - spec.scale):
            raise FieldValueError("NUMBER_OUTSIDE_VALID_RANGE",
                                  f"{spec.label}: value outside of valid range on numeric field: {value}")
        return round(number, spec.scale) if spec.precision else number
    if kind in TEXT_TYPES or kind in ("id", "reference"):
        if not isinstance(value, str):
            if kind in TEXT_TYPES and isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            else:
                raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                      f"{spec.label}: value not of required type: {value!r}")
        if spec.length and len(value) > spec.length:
            raise FieldValueError("STRING_TOO_LONG",
                                  f"{spec.label}: data value too large: {value[:20]}... (max length={spec.length})")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{spec.label}: value not of required type: {value!r}")
        return value
    if kind == "datetime":
        try:
            return sf_datetime(parse_soql_datetime(str(value)))
        except ValueError:
            raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                  f"{spec.label}: value not of required type: {value!r}") from None
    if kind == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise FieldValueError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                  f"{spec.label}: value not of required type: {value!r}") from None
    return value
