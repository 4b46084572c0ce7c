"""`crm check` and `crm setup` for HubSpot: the property group and properties leadpilot writes, via the properties API."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

from connectors.base import CheckItem
from connectors.hubspot.api import HubSpotApi, HubSpotRequestError
from connectors.hubspot.fields import PropertySpec
from connectors.hubspot.settings import HubSpotSettings

OBJECT_TYPE = "contacts"


def output_property_specs(settings: HubSpotSettings) -> list[PropertySpec]:
    """The contact properties leadpilot writes, with the types HubSpot should give them."""
    n = settings.properties
    return [
        PropertySpec(n.score, "AI Lead Score", "number", "number",
                     "0-100: the calibrated conversion probability as a percentile-stable score (leadpilot)"),
        PropertySpec(n.probability, "AI Score Probability", "number", "number",
                     "Calibrated probability (0-1) that this lead converts with an average loan officer"),
        PropertySpec(n.confidence, "Score Confidence", "number", "number",
                     "0-1: agreement of the ensemble members and completeness of the inputs"),
        PropertySpec(n.model_version, "Model Version", description="Model that produced the score"),
        PropertySpec(n.scored_at, "Score Timestamp", "datetime", "date", "When leadpilot scored this lead"),
        PropertySpec(n.reasons, "AI Score Reasons", field_type="textarea", description="Why the lead got its score"),
        PropertySpec(n.compliance_status, "Compliance Status", description="leadpilot compliance outcome"),
        PropertySpec(n.compliance_reasons, "Compliance Reasons", field_type="textarea",
                     description="Compliance reason codes, one per line"),
        PropertySpec(n.routing_outcome, "Routing Outcome", description="How leadpilot routed the lead"),
        PropertySpec(n.ab_arm, "A/B Arm", description="leadpilot's A/B test arm (control: routed round robin)"),
        PropertySpec(n.assignment_id, "Assignment ID", description="leadpilot assignment id (idempotency key)"),
        PropertySpec(n.assignment_reason, "Assignment Reason", field_type="textarea",
                     description="Why this loan officer was chosen"),
        PropertySpec(n.input_hash, "LeadPilot Input Hash",
                     description="Hash of the scoring inputs at the last write; do not edit"),
        PropertySpec(n.read_hash, "LeadPilot Read Hash",
                     description="Hash of this contact's input values as leadpilot read them; do not edit"),
    ]


def _existing(api: HubSpotApi) -> tuple[set[str], Mapping[str, Any]]:
    groups = api.call("properties.groups", api.groups.get_all_with_http_info, OBJECT_TYPE)
    props = api.call("properties", api.properties.get_all_with_http_info, OBJECT_TYPE)
    return {g.name for g in groups.results}, {p.name: p for p in props.results}


def check_properties(api: HubSpotApi, settings: HubSpotSettings, field_mapping: Mapping[str, str]) -> list[CheckItem]:
    """One item for the group, each output property (present, right type) and each mapped input property."""
    groups, props = _existing(api)
    items = [CheckItem(settings.property_group in groups, f"property group {settings.property_group}",
                       "" if settings.property_group in groups else "missing: run `leadpilot crm setup --apply`")]
    for spec in output_property_specs(settings):
        have = props.get(spec.name)
        if have is None:
            items.append(CheckItem(False, f"property {spec.name}", "missing: run `leadpilot crm setup --apply`"))
        elif have.type != spec.type:
            items.append(CheckItem(False, f"property {spec.name}",
                                   f"has type {have.type}, leadpilot writes {spec.type}: change it in HubSpot or "
                                   "point settings.properties at another property"))
        else:
            items.append(CheckItem(True, f"property {spec.name}"))
    if settings.owner_property not in props:
        items.append(CheckItem(False, f"property {settings.owner_property}",
                               "owner property missing: set settings.owner_property"))
    for crm_name, canonical in sorted(field_mapping.items()):
        if crm_name not in props:
            items.append(CheckItem(False, f"mapped property {crm_name}",
                                   f"maps to {canonical} but does not exist in HubSpot: create it or change "
                                   "field_mapping (the field will be empty until then)"))
    return items


def setup_properties(api: HubSpotApi, settings: HubSpotSettings, apply: bool) -> list[CheckItem]:
    """Create the group and every missing output property; only report what would be created unless `apply`."""
    groups, props = _existing(api)
    items: list[CheckItem] = []
    if settings.property_group not in groups:
        what = f"property group {settings.property_group}"
        if not apply:
            items.append(CheckItem(False, what, "would be created (dry run; add --apply)"))
        else:
            body = PropertyGroupCreate(name=settings.property_group, label=settings.property_group_label,
                                       display_order=-1)
            items.append(_create(api, "properties.groups", api.groups.create_with_http_info, body, what))
    for spec in output_property_specs(settings):
        what = f"property {spec.name}"
        if spec.name in props:
            items.append(CheckItem(True, what, "exists"))
            continue
        if not apply:
            items.append(CheckItem(False, what, f"would be created as {spec.type} (dry run; add --apply)"))
            continue
        body = PropertyCreate(name=spec.name, label=spec.label, type=spec.type, field_type=spec.field_type,
                              group_name=settings.property_group, description=spec.description,
                              options=[OptionInput(label=label, value=value, hidden=False, display_order=i)
                                       for i, (value, label) in enumerate(spec.options)] or None)
        items.append(_create(api, "properties", api.properties.create_with_http_info, body, what))
    return items


def _create(api: HubSpotApi, endpoint: str, fn: Any, body: Any, what: str) -> CheckItem:
    try:
        api.call(endpoint, fn, OBJECT_TYPE, body)
    except HubSpotRequestError as exc:
        if exc.status == 409:  # created by an earlier attempt whose answer was lost
            return CheckItem(True, what, "exists")
        return CheckItem(False, what, str(exc))
    return CheckItem(True, what, "created")
