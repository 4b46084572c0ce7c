"""The HubSpot sandbox's records: contacts, deals, owners, associations and property definitions in SQLite.

Values are kept as HubSpot keeps them, strings per property; `lastmodifieddate` moves on every write
that changes a value, and each change is logged (property history) so tests can prove a lead was
written exactly once. One short-lived sqlite3 connection per operation, writes serialised by a lock,
so the FastAPI worker threads and a test reading the file never share a connection.
"""
from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from config.errors import LeadpilotError

# Properties every contact has; HubSpot derives them, a write cannot set them.
READ_ONLY_PROPERTIES = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"})
# Contacts name their modified time `lastmodifieddate`; deals (like most objects) `hs_lastmodifieddate`.
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
DEFAULT_SEARCH_PROPERTIES = ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id")
DEFAULT_DEAL_PROPERTIES = ("dealname", "amount", "closedate", "dealstage", "pipeline", "createdate",
                           "hs_lastmodifieddate", "hs_object_id")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    object_type TEXT NOT NULL, id INTEGER NOT NULL, created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0, properties TEXT NOT NULL, PRIMARY KEY (object_type, id));
CREATE INDEX IF NOT EXISTS objects_modified ON objects (object_type, modified_ms);
CREATE TABLE IF NOT EXISTS history (
    object_type TEXT NOT NULL, object_id INTEGER NOT NULL, name TEXT NOT NULL, value TEXT,
    ts_ms INTEGER NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_object ON history (object_type, object_id, name);
CREATE TABLE IF NOT EXISTS owners (
    id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, user_id INTEGER,
    archived INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS associations (
    from_type TEXT NOT NULL, from_id INTEGER NOT NULL, to_type TEXT NOT NULL, to_id INTEGER NOT NULL,
    PRIMARY KEY (from_type, from_id, to_type, to_id));
CREATE TABLE IF NOT EXISTS property_groups (
    object_type TEXT NOT NULL, name TEXT NOT NULL, label TEXT NOT NULL, display_order INTEGER NOT NULL,
    PRIMARY KEY (object_type, name));
CREATE TABLE IF NOT EXISTS property_defs (
    object_type TEXT NOT NULL, name TEXT NOT NULL, label TEXT NOT NULL, type TEXT NOT NULL,
    field_type TEXT NOT NULL, group_name TEXT NOT NULL, description TEXT NOT NULL, options TEXT NOT NULL,
    hubspot_defined INTEGER NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY (object_type, name));
CREATE TABLE IF NOT EXISTS id_seq (object_type TEXT PRIMARY KEY, next_id INTEGER NOT NULL);
"""

_FIRST_ID = {"contacts": 1001, "deals": 5001}


class SandboxStoreError(LeadpilotError):
    """A sandbox request cannot be served as asked (unknown property, bad filter); becomes an HTTP 400."""


@dataclass
class StoredObject:
    """A contact or deal as stored: id, timestamps (epoch ms) and its string property values."""

    id: int
    created_ms: int
    modified_ms: int
    properties: dict[str, str]
    archived: bool = False

    def property_values(self, object_type: str) -> dict[str, str]:
        """Stored values plus the ones HubSpot derives (id, createdate, last modified date)."""
        values = dict(self.properties)
        values["hs_object_id"] = str(self.id)
        values["createdate"] = ms_to_iso(self.created_ms)
        values[MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate")] = ms_to_iso(self.modified_ms)
        if object_type == "deals":  # calculated by HubSpot from the stage
            values["hs_is_closed_won"] = "true" if values.get("dealstage") == "closedwon" else "false"
        return values


@dataclass(frozen=True)
class PropertyDef:
    """A property definition (what GET /crm/v3/properties/{objectType} lists)."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    hubspot_defined: bool = False
    created_ms: int = 0


@dataclass(frozen=True)
class Owner:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    user_id: int
    archived: bool
    created_ms: int
    updated_ms: int


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ms_to_iso(ms: int) -> str:
    """HubSpot's datetime format: ISO 8601 in UTC with milliseconds and a Z."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: str | int | float | None) -> int | None:
    """Epoch milliseconds from what HubSpot accepts for a datetime: ms digits or ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(round(parsed.timestamp() * 1000))


class HubSpotStore:
    """SQLite-backed records of one sandbox portal."""

    def __init__(self, db_path: str | Path):
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")  # readers (searches) never wait for a batch update
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            with con:
                yield con
        finally:
            con.close()

    # ---- ids -------------------------------------------------------------------------------
    def _next_ids(self, con: sqlite3.Connection, object_type: str, count: int) -> list[int]:
        row = con.execute("SELECT next_id FROM id_seq WHERE object_type = ?", (object_type,)).fetchone()
        start = row["next_id"] if row else _FIRST_ID.get(object_type, 1)
        con.execute("INSERT OR REPLACE INTO id_seq (object_type, next_id) VALUES (?, ?)", (object_type, start + count))
        return list(range(start, start + count))

    # ---- objects ---------------------------------------------------------------------------
    def create_objects(self, object_type: str, items: Sequence[Mapping[str, Any]], *,
                       source: str = "IMPORT", ts_ms: int | None = None, log_history: bool = True) -> list[StoredObject]:
        """Insert objects; `createdate`/`lastmodifieddate` in an item's properties set its timestamps (seeding)."""
        ts = ts_ms if ts_ms is not None else now_ms()
        created: list[StoredObject] = []
        with self._lock, self._connect() as con:
            ids = self._next_ids(con, object_type, len(items))
            history: list[tuple[Any, ...]] = []
            for oid, item in zip(ids, items):
                props = {k: _to_str(v) for k, v in item.items() if v is not None and _to_str(v) != ""}
                created_ms = parse_time_ms(props.pop("createdate", None)) or ts
                modified_ms = (parse_time_ms(props.pop("lastmodifieddate", None))
                               or parse_time_ms(props.pop("hs_lastmodifieddate", None)) or created_ms)
                props.pop("hs_object_id", None)
                con.execute("INSERT INTO objects (object_type, id, created_ms, modified_ms, properties) VALUES (?,?,?,?,?)",
                            (object_type, oid, created_ms, modified_ms, json.dumps(props)))
                if log_history:
                    history.extend((object_type, oid, k, v, modified_ms, source) for k, v in props.items())
                created.append(StoredObject(oid, created_ms, modified_ms, props))
            con.executemany("INSERT INTO history VALUES (?,?,?,?,?,?)", history)
        return created

    def get_objects(self, object_type: str, ids: Iterable[int]) -> dict[int, StoredObject]:
        """Stored objects by id (missing ids are absent from the result)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[int, StoredObject] = {}
        with self._connect() as con:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in con.execute(f"SELECT * FROM objects WHERE object_type = ? AND archived = 0 AND id IN ({marks})",
                                       (object_type, *chunk)):
                    found[row["id"]] = _row_object(row)
        return found

    def update_objects(self, object_type: str, updates: Mapping[int, Mapping[str, str]], *,
                       source: str = "INTEGRATION", ts_ms: int | None = None) -> dict[int, StoredObject]:
        """Apply property values (\"\" clears one); an object whose values change gets `lastmodifieddate` = ts."""
        ts = ts_ms if ts_ms is not None else now_ms()
        result: dict[int, StoredObject] = {}
        with self._lock, self._connect() as con:
            current = {row["id"]: _row_object(row) for row in con.execute(
                f"SELECT * FROM objects WHERE object_type = ? AND archived = 0 AND id IN ({','.join('?' * len(updates))})",
                (object_type, *updates))} if updates else {}
            history: list[tuple[Any, ...]] = []
            for oid, values in updates.items():
                obj = current.get(oid)
                if obj is None:
                    continue
                changed = False
                values = dict(values)
                stage = _to_str(values.get("lifecyclestage", ""))
                if object_type == "contacts" and stage and stage != obj.properties.get("lifecyclestage"):
                    # HubSpot stamps the day a contact first entered each lifecycle stage
                    values.setdefault(f"hs_lifecyclestage_{stage}_date",
                                      obj.properties.get(f"hs_lifecyclestage_{stage}_date") or ms_to_iso(ts))
                for name, value in values.items():
                    text = _to_str(value)
                    if obj.properties.get(name) == (text or None):
                        continue
                    changed = True
                    if text == "":
                        obj.properties.pop(name, None)
                    else:
                        obj.properties[name] = text
                    history.append((object_type, oid, name, text, ts, source))
                if changed:
                    obj.modified_ms = max(ts, obj.modified_ms)
                    con.execute("UPDATE objects SET properties = ?, modified_ms = ? WHERE object_type = ? AND id = ?",
                                (json.dumps(obj.properties), obj.modified_ms, object_type, oid))
                result[oid] = obj
            con.executemany("INSERT INTO history VALUES (?,?,?,?,?,?)", history)
        return result

    def set_modified(self, object_type: str, ids: Iterable[int], ts_ms: int) -> None:
        """Force `lastmodifieddate` (tests: many records sharing one timestamp)."""
        with self._lock, self._connect() as con:
            con.executemany("UPDATE objects SET modified_ms = ? WHERE object_type = ? AND id = ?",
                            [(ts_ms, object_type, i) for i in ids])

    def scan(self, object_type: str, min_modified_ms: int | None = None) -> list[StoredObject]:
        """Every live object, optionally only those modified at/after a time (the search pre-filter)."""
        sql = "SELECT * FROM objects WHERE object_type = ? AND archived = 0"
        args: list[Any] = [object_type]
        if min_modified_ms is not None:
            sql += " AND modified_ms >= ?"
            args.append(min_modified_ms)
        with self._connect() as con:
            return [_row_object(row) for row in con.execute(sql, args)]

    def count(self, object_type: str) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM objects WHERE object_type = ? AND archived = 0",
                                   (object_type,)).fetchone()[0])

    def history(self, object_type: str, object_id: int, name: str) -> list[tuple[str | None, int, str]]:
        """(value, ts_ms, source) of every change of one property, oldest first."""
        with self._connect() as con:
            return [(r["value"], r["ts_ms"], r["source"]) for r in con.execute(
                "SELECT value, ts_ms, source FROM history WHERE object_type = ? AND object_id = ? AND name = ? "
                "ORDER BY rowid", (object_type, object_id, name))]

    def change_counts(self, object_type: str, name: str) -> dict[int, int]:
        """How many times each object's property changed (tests: written exactly once)."""
        with self._connect() as con:
            return {r[0]: r[1] for r in con.execute(
                "SELECT object_id, COUNT(*) FROM history WHERE object_type = ? AND name = ? GROUP BY object_id",
                (object_type, name))}

    # ---- owners ----------------------------------------------------------------------------
    def add_owners(self, owners: Sequence[Mapping[str, Any]]) -> list[Owner]:
        """Insert owners: dicts with email, first_name, last_name, optional id/user_id/archived."""
        ts = now_ms()
        out: list[Owner] = []
        with self._lock, self._connect() as con:
            start = (con.execute("SELECT COALESCE(MAX(id), 70000000) FROM owners").fetchone()[0]) + 1
            for offset, o in enumerate(owners):
                owner = Owner(int(o.get("id") or start + offset), o.get("email"), o.get("first_name"),
                              o.get("last_name"), int(o.get("user_id") or 9000000 + start + offset),
                              bool(o.get("archived", False)), ts, ts)
                con.execute("INSERT INTO owners VALUES (?,?,?,?,?,?,?,?)",
                            (owner.id, owner.email, owner.first_name, owner.last_name, owner.user_id,
                             int(owner.archived), owner.created_ms, owner.updated_ms))
                out.append(owner)
        return out

    def owners(self, archived: bool = False) -> list[Owner]:
        with self._connect() as con:
            return [Owner(r["id"], r["email"], r["first_name"], r["last_name"], r["user_id"], bool(r["archived"]),
                          r["created_ms"], r["updated_ms"])
                    for r in con.execute("SELECT * FROM owners WHERE archived = ? ORDER BY id", (int(archived),))]

    # ---- associations ----------------------------------------------------------------------
    def associate(self, pairs: Iterable[tuple[str, int, str, int]]) -> None:
        """Add associations in both directions, as HubSpot does."""
        rows = [(a, ai, b, bi) for a, ai, b, bi in pairs]
        with self._lock, self._connect() as con:
            con.executemany("INSERT OR IGNORE INTO associations VALUES (?,?,?,?)", rows)
            con.executemany("INSERT OR IGNORE INTO associations VALUES (?,?,?,?)",
                            [(b, bi, a, ai) for a, ai, b, bi in rows])

    def associated(self, from_type: str, to_type: str, ids: Iterable[int]) -> dict[int, list[int]]:
        wanted = list(ids)
        out: dict[int, list[int]] = {i: [] for i in wanted}
        with self._connect() as con:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                for r in con.execute(
                        f"SELECT from_id, to_id FROM associations WHERE from_type = ? AND to_type = ? "
                        f"AND from_id IN ({','.join('?' * len(chunk))}) ORDER BY to_id", (from_type, to_type, *chunk)):
                    out[r["from_id"]].append(r["to_id"])
        return out

    # ---- property definitions --------------------------------------------------------------
    def groups(self, object_type: str) -> list[tuple[str, str, int]]:
        with self._connect() as con:
            return [(r["name"], r["label"], r["display_order"]) for r in con.execute(
                "SELECT * FROM property_groups WHERE object_type = ? ORDER BY display_order, name", (object_type,))]

    def add_group(self, object_type: str, name: str, label: str, display_order: int = -1) -> bool:
        """False when the group already exists."""
        with self._lock, self._connect() as con:
            cur = con.execute("INSERT OR IGNORE INTO property_groups VALUES (?,?,?,?)",
                              (object_type, name, label, display_order))
            return cur.rowcount == 1

    def property_defs(self, object_type: str) -> dict[str, PropertyDef]:
        with self._connect() as con:
            return {r["name"]: PropertyDef(r["name"], r["label"], r["type"], r["field_type"], r["group_name"],
                                           r["description"], json.loads(r["options"]), bool(r["hubspot_defined"]),
                                           r["created_ms"])
                    for r in con.execute("SELECT * FROM property_defs WHERE object_type = ? ORDER BY name",
                                         (object_type,))}

    def add_property(self, object_type: str, prop: PropertyDef) -> bool:
        """False when a property of that name already exists."""
        with self._lock, self._connect() as con:
            cur = con.execute("INSERT OR IGNORE INTO property_defs VALUES (?,?,?,?,?,?,?,?,?,?)",
                              (object_type, prop.name, prop.label, prop.type, prop.field_type, prop.group_name,
                               prop.description, json.dumps(prop.options), int(prop.hubspot_defined),
                               prop.created_ms or now_ms()))
            return cur.rowcount == 1


def _row_object(row: sqlite3.Row) -> StoredObject:
    return StoredObject(row["id"], row["created_ms"], row["modified_ms"], json.loads(row["properties"]),
                        bool(row["archived"]))


def _to_str(value: Any) -> str:
    """HubSpot keeps every value as a string: booleans as true/false, datetimes as ISO, NaN as empty."""
    if value is None:
        return ""
    try:
        if value != value:  # NaN, NaT
            return ""
    except TypeError:  # pandas.NA refuses to be a bool
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return ms_to_iso(int(round(stamp.timestamp() * 1000)))
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _to_str(value.item())
    return str(value)


# ---- seeding -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedSummary:
    """What `seed_hubspot` put in the portal (`seeded` False: the store already held contacts; left as is)."""

    contacts: int
    owners: int
    deals: int
    seeded: bool


_DEAL_PROPERTY_DEFS = (
    PropertyDef("dealname", "Deal Name", "string", "text", "dealinformation", hubspot_defined=True),
    PropertyDef("amount", "Amount", "number", "number", "dealinformation", hubspot_defined=True),
    PropertyDef("closedate", "Close Date", "datetime", "date", "dealinformation", hubspot_defined=True),
    PropertyDef("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation", hubspot_defined=True,
                options=[{"value": v, "label": v, "displayOrder": i, "hidden": False} for i, v in enumerate(
                    ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
                     "contractsent", "closedwon", "closedlost"))]),
    PropertyDef("pipeline", "Pipeline", "enumeration", "select", "dealinformation", hubspot_defined=True,
                options=[{"value": "default", "label": "Sales Pipeline", "displayOrder": 0, "hidden": False}]),
    PropertyDef("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", "dealinformation",
                hubspot_defined=True),
    PropertyDef("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation",
                hubspot_defined=True),
    PropertyDef("createdate", "Create Date", "datetime", "date", "dealinformation", hubspot_defined=True),
    PropertyDef("hs_object_id", "Record ID", "number", "number", "dealinformation", hubspot_defined=True),
)


def seed_properties(store: HubSpotStore, *, with_leadpilot_properties: bool = True) -> None:
    """Standard and mortgage contact properties, deal properties, and (optionally) leadpilot's own group."""
    from connectors.hubspot.fields import MORTGAGE_PROPERTIES, STANDARD_PROPERTIES

    store.add_group("contacts", "contactinformation", "Contact information", 0)
    store.add_group("contacts", "mortgage_lead", "Mortgage lead", 1)
    store.add_group("deals", "dealinformation", "Deal information", 0)
    for group, specs, builtin in (("contactinformation", STANDARD_PROPERTIES, True),
                                  ("mortgage_lead", MORTGAGE_PROPERTIES, False)):
        for spec in specs:
            store.add_property("contacts", PropertyDef(
                spec.name, spec.label, spec.type, spec.field_type, group, spec.description,
                [{"value": v, "label": label, "displayOrder": i, "hidden": False}
                 for i, (v, label) in enumerate(spec.options)], builtin))
    for prop in _DEAL_PROPERTY_DEFS:
        store.add_property("deals", prop)
    if with_leadpilot_properties:
        from connectors.hubspot.settings import HubSpotSettings
        from connectors.hubspot.setup import output_property_specs

        settings = HubSpotSettings(access_token="unused")
        store.add_group("contacts", settings.property_group, settings.property_group_label, 2)
        for spec in output_property_specs(settings):
            store.add_property("contacts", PropertyDef(spec.name, spec.label, spec.type, spec.field_type,
                                                       settings.property_group, spec.description))


def _attr(agent: Any, name: str, default: Any = None) -> Any:
    return agent.get(name, default) if isinstance(agent, Mapping) else getattr(agent, name, default)


def seed_hubspot(db_path: str | Path, leads_df: Any, agents: Sequence[Any], *,
                 with_leadpilot_properties: bool = True) -> SeedSummary:
    """Fill an empty sandbox portal from a `leadpilot generate` data set.

    `leads_df`: DataFrame of canonical lead columns (each becomes a contact through the connector's default
    mapping; converted leads get lifecycle stage `customer` and a closed-won deal of their conversion value).
    `agents`: SyntheticAgent objects or agents.yaml dicts (name, email, active) -> owners.
    `with_leadpilot_properties`: also create leadpilot's property group, as `crm setup --apply` would.
    """
    from connectors.hubspot.fields import DEFAULT_FIELD_MAPPING

    store = HubSpotStore(db_path)
    seed_properties(store, with_leadpilot_properties=with_leadpilot_properties)
    if store.count("contacts"):
        return SeedSummary(store.count("contacts"), len(store.owners()), store.count("deals"), False)
    owners = []
    for agent in agents:
        first, _, last = str(_attr(agent, "name", "") or "").partition(" ")
        owners.append({"email": _attr(agent, "email"), "first_name": first or None, "last_name": last or None,
                       "archived": not bool(_attr(agent, "active", True))})
    store.add_owners(owners)
    contacts, deals = add_leads(store, leads_df)
    return SeedSummary(contacts, len(owners), deals, True)


def add_leads(store: HubSpotStore, leads_df: Any) -> tuple[int, int]:
    """Create a contact per canonical lead row (converted ones with a closed-won deal); (contacts, deals) made."""
    from connectors.hubspot.fields import DEFAULT_FIELD_MAPPING

    to_crm = {canonical: crm for crm, canonical in DEFAULT_FIELD_MAPPING.items()
              if canonical not in ("crm_id", "created_at", "updated_at")}
    records = leads_df.to_dict("records") if hasattr(leads_df, "to_dict") else list(leads_df)
    contacts: list[dict[str, Any]] = []
    deals: list[tuple[int, dict[str, Any]]] = []
    for index, lead in enumerate(records):
        props: dict[str, Any] = {crm: lead.get(canonical) for canonical, crm in to_crm.items() if canonical in lead}
        created = lead.get("created_at")
        props["createdate"] = created
        props["lastmodifieddate"] = lead.get("updated_at") if _to_str(lead.get("updated_at")) else created
        converted = _to_str(lead.get("converted")).lower() in ("true", "1")
        props["lifecyclestage"] = "customer" if converted else "lead"
        if converted:
            when = lead.get("converted_at") if _to_str(lead.get("converted_at")) else created
            props["hs_lifecyclestage_opportunity_date"] = when
            props["hs_lifecyclestage_customer_date"] = when
            deals.append((index, {"dealname": f"Mortgage {lead.get('lead_id') or index}", "dealstage": "closedwon",
                                  "pipeline": "default", "amount": lead.get("conversion_value"), "closedate": when,
                                  "createdate": when}))
        contacts.append(props)
    created_contacts = store.create_objects("contacts", contacts, log_history=False)
    created_deals = store.create_objects("deals", [d for _, d in deals], log_history=False)
    store.associate(("contacts", created_contacts[i].id, "deals", deal.id)
                    for (i, _), deal in zip(deals, created_deals))
    return len(created_contacts), len(created_deals)
