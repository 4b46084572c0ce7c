"""Seeding the Salesforce sandbox: its users and credentials, leadpilot's custom fields, and generated leads."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.salesforce.schema import (
    DEFAULT_FIELD_MAPPING, AssignmentFieldNames, FieldSpec, ScoreFieldNames, assignment_field_specs,
    lead_field_specs,
)
from connectors.sandbox.salesforce_schema import field_from_metadata, sf_datetime
from connectors.sandbox.salesforce_store import SalesforceStore

ASSIGNMENT_OBJECT = "Lead_Assignment__c"


@dataclass(frozen=True)
class SandboxIdentity:
    """Who may log in to the sandbox, and how (the values `leadpilot sandbox serve` prints)."""

    integration_username: str = "integration@leadpilot.sandbox"
    password: str = "sandbox-password"
    security_token: str = "sandboxtoken"
    sales_username: str = "sales@leadpilot.sandbox"
    sales_password: str = "sales-password"
    sales_token: str = "salestoken"
    intake_username: str = "webform@leadpilot.sandbox"  # creates and owns seeded leads (web-to-lead), not an agent
    client_id: str = "leadpilot-sandbox-client"
    client_secret: str = "sandbox-client-secret"


IDENTITY = SandboxIdentity()


def setup_org(store: SalesforceStore, *, identity: SandboxIdentity = IDENTITY, with_leadpilot_fields: bool = True,
              jwt_public_key_pem: str | None = None) -> dict[str, str]:
    """Users (integration, sales), their credentials, a connected app and, unless told not to, leadpilot's
    custom fields and assignment object. Idempotent. Returns {username: user id}."""
    ids: dict[str, str] = {}
    for username, first, last, active in ((identity.integration_username, "Leadpilot", "Integration", True),
                                          (identity.sales_username, "Sam", "Sales", True),
                                          (identity.intake_username, "Web", "Intake", False)):
        existing = next((u["Id"] for u in store.records("User") if u.get("Username") == username), None)
        ids[username] = existing or store.insert_raw("User", {
            "Username": username, "FirstName": first, "LastName": last, "Name": f"{first} {last}",
            "Email": username, "IsActive": active, "TimeZoneSidKey": "America/New_York"})
    store.set_credentials(identity.integration_username, identity.password, identity.security_token)
    store.set_credentials(identity.sales_username, identity.sales_password, identity.sales_token)
    store.set_oauth_app(identity.client_id, identity.client_secret, identity.integration_username, jwt_public_key_pem)
    if with_leadpilot_fields:
        install_leadpilot_fields(store)
    return ids


def install_leadpilot_fields(store: SalesforceStore, score: ScoreFieldNames = ScoreFieldNames(),
                             assignment: AssignmentFieldNames = AssignmentFieldNames(),
                             assignment_object: str = ASSIGNMENT_OBJECT) -> None:
    """What `leadpilot crm setup --apply` would create, made directly (idempotent)."""
    if store.object_info(assignment_object) is None:
        store.create_object(assignment_object, "Lead Assignment")
    specs: list[FieldSpec] = lead_field_specs(score) + assignment_field_specs(assignment, assignment_object)
    for spec in specs:
        if spec.name not in (store.fields(spec.sobject) or {}):
            store.create_field(spec.sobject, field_from_metadata(spec.name, spec.metadata()))


def _plain(value: Any) -> Any:
    """A JSON-storable value: NaN/NaT/NA -> None, numpy scalars -> Python, timestamps -> Salesforce format."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            value = value.to_pydatetime()
        except ValueError:
            return None
    elif hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return sf_datetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if str(value) in ("NaT", "nan"):
        return None
    return value


def _typed(kind: str, value: Any) -> Any:
    """A CSV string in the field's type when it reads as one (numbers, booleans); junk stays as it is."""
    if not isinstance(value, str):
        return value
    if kind in ("double", "currency", "percent", "int"):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    if kind == "boolean" and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _when(value: Any) -> datetime | None:
    value = _plain(value)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        return None


def _attr(agent: Any, name: str, default: Any = None) -> Any:
    return agent.get(name, default) if isinstance(agent, Mapping) else getattr(agent, name, default)


def seed_users(store: SalesforceStore, agents: Iterable[Any]) -> dict[str, str]:
    """One User per agent (SyntheticAgent or agents.yaml dict); FederationIdentifier holds the agent id.
    Returns {agent_id: user id}."""
    ids: dict[str, str] = {}
    with store.transaction() as tx:
        for agent in agents:
            agent_id = str(_attr(agent, "agent_id"))
            name = str(_attr(agent, "name") or agent_id)
            first, _, last = name.partition(" ")
            email = _attr(agent, "email") or f"{agent_id}@leadpilot.sandbox"
            existing = tx.user_id(email)
            ids[agent_id] = existing or tx.insert_raw_in_tx("User", {
                "Username": email, "FirstName": first, "LastName": last or first, "Name": name, "Email": email,
                "IsActive": bool(_attr(agent, "active", True)), "FederationIdentifier": agent_id,
                "TimeZoneSidKey": _attr(agent, "timezone") or "America/New_York"})
    return ids


def seed_leads(store: SalesforceStore, leads: Any, *, owners: Mapping[str, str] | None = None,
               mapping: Mapping[str, str] = DEFAULT_FIELD_MAPPING, default_owner: str | None = None) -> list[str]:
    """Insert leads from a DataFrame of canonical columns, values verbatim (junk stays junk), with their
    created/updated times as CreatedDate/SystemModstamp; converted leads get a won Opportunity.
    `owners` maps lead_id -> user id. Returns the new Lead ids in row order."""
    reverse = {canonical: crm for crm, canonical in mapping.items()
               if "." not in crm and crm not in ("Id", "CreatedDate", "LastModifiedDate", "IsConverted", "ConvertedDate")}
    intake = next((u["Id"] for u in store.records("User") if u.get("Username") == IDENTITY.intake_username), None)
    owner_default = default_owner or intake
    lead_specs = store.fields("Lead") or {}
    ids: list[str] = []
    columns: Sequence[str] = list(leads.columns)
    with store.transaction() as tx:
        for row in leads.itertuples(index=False):
            data = dict(zip(columns, row))
            values: dict[str, Any] = {}
            for canonical, crm in reverse.items():
                if canonical in data and crm in lead_specs:
                    values[crm] = _typed(lead_specs[crm].type, _plain(data[canonical]))
            values.setdefault("LastName", "Unknown")
            values["Company"] = f"{values.get('LastName') or 'Unknown'} household"
            values["Status"] = "Open - Not Contacted"
            created = _when(data.get("created_at")) or datetime.now(UTC)
            updated = _when(data.get("updated_at")) or created
            lead_id = str(_plain(data.get("lead_id")) or "")
            owner = (owners or {}).get(lead_id) or owner_default
            values["OwnerId"] = owner
            converted = _plain(data.get("converted"))
            if converted is True or str(converted).lower() in ("true", "1"):
                converted_at = _when(data.get("converted_at")) or updated
                amount = _plain(data.get("conversion_value"))
                opp = tx.insert_raw_in_tx("Opportunity", {
                    "Name": f"Mortgage - {values.get('LastName')}", "StageName": "Closed Won", "IsClosed": True,
                    "IsWon": True, "Amount": amount if isinstance(amount, int | float) else None,
                    "CloseDate": converted_at.date().isoformat(), "OwnerId": owner},
                    user_id=owner_default, created=converted_at, modified=converted_at)
                values.update({"IsConverted": True, "ConvertedDate": converted_at.date().isoformat(),
                               "ConvertedOpportunityId": opp, "Status": "Closed - Converted"})
                updated = max(updated, converted_at)
            else:
                values["IsConverted"] = False
            ids.append(tx.insert_raw_in_tx("Lead", values, user_id=owner_default, created=created,
                                           modified=max(created, updated)))
    return ids


def seed_salesforce(db_path: str | Path, leads: Any, agents: Iterable[Any], outcomes: Any | None = None, *,
                    with_leadpilot_fields: bool = True) -> SalesforceStore:
    """A ready sandbox org at `db_path`: users, credentials, leadpilot's fields, agents as Users and the leads."""
    store = SalesforceStore(db_path)
    setup_org(store, with_leadpilot_fields=with_leadpilot_fields)
    agent_users = seed_users(store, agents)
    owners: dict[str, str] = {}
    if outcomes is not None and len(outcomes):
        for lead_id, agent_id in zip(outcomes["lead_id"], outcomes["agent_id"]):
            if str(agent_id) in agent_users:
                owners[str(lead_id)] = agent_users[str(agent_id)]
    seed_leads(store, leads, owners=owners)
    return store
