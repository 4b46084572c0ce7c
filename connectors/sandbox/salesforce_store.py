"""The Salesforce sandbox's data: sObject metadata and records in one SQLite file (thread-safe).

Records survive restarts of `leadpilot sandbox serve`; an in-memory mirror keeps queries fast.
Every write stamps SystemModstamp/LastModifiedById like Salesforce does, one stamp per transaction
(so a batch update produces the timestamp ties the connector must resolve).
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.sandbox.salesforce_schema import (
    KEY_PREFIXES, MORTGAGE_LEAD_FIELDS, STANDARD_OBJECTS, SYSTEM_FIELDS, FieldValueError, SfField, coerce_value,
    sf_datetime, system_fields,
)
from connectors.sandbox.soql import parse_soql_datetime

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
DEFAULT_DAILY_LIMIT = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (name TEXT PRIMARY KEY, label TEXT NOT NULL, custom INTEGER NOT NULL,
                                    key_prefix TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fields (sobject TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL,
                                   PRIMARY KEY (sobject, name));
CREATE TABLE IF NOT EXISTS records (sobject TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
                                    PRIMARY KEY (sobject, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, user_id TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (username TEXT PRIMARY KEY, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oauth_apps (client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL,
                                       run_as_user_id TEXT NOT NULL, public_key_pem TEXT);
"""


def id18(id15: str) -> str:
    """Salesforce's case-insensitive 18-character id: the 15-character id plus its 3-character checksum."""
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


class StoreError(ValueError):
    """A request the store refuses; `code` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Write:
    """One record write in a transaction: update by Id, insert, or upsert by an external id field."""

    op: str  # "update" | "insert" | "upsert"
    sobject: str
    values: dict[str, Any]
    record_id: str | None = None
    external_field: str | None = None
    fail_with: tuple[str, str] | None = None  # injected per-record failure (statusCode, message)


@dataclass
class WriteOutcome:
    id: str | None
    success: bool
    created: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, with_created: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "success": self.success, "errors": self.errors}
        if with_created:
            out["created"] = self.created
        return out


def _error(code: str, message: str, fields: Iterable[str] = ()) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": list(fields)}


class SalesforceStore:
    """sObjects, records, sessions, credentials and the daily API quota of one sandbox org."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._fields: dict[str, dict[str, SfField]] = {}
        self._objects: dict[str, tuple[str, bool, str]] = {}
        self._records: dict[str, dict[str, dict[str, Any]]] = {}
        self._ext_index: dict[tuple[str, str], dict[str, str]] = {}
        self._load_metadata()
        if not self._objects:
            self._install_standard_objects()

    # -- metadata -------------------------------------------------------------------------------
    def _load_metadata(self) -> None:
        for name, label, custom, prefix in self._db.execute("SELECT name, label, custom, key_prefix FROM objects"):
            self._objects[name] = (label, bool(custom), prefix)
            self._fields[name] = {}
        for sobject, name, spec in self._db.execute("SELECT sobject, name, spec FROM fields"):
            self._fields.setdefault(sobject, {})[name] = SfField(**json.loads(spec))

    def _install_standard_objects(self) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            for name, specs in STANDARD_OBJECTS.items():
                self._add_object(name, name, False, KEY_PREFIXES[name])
                extra = MORTGAGE_LEAD_FIELDS if name == "Lead" else []
                for spec in specs + extra:
                    self._add_field(name, spec)
            self._set_meta("daily_limit", str(DEFAULT_DAILY_LIMIT))
            self._db.execute("COMMIT")

    def _add_object(self, name: str, label: str, custom: bool, prefix: str) -> None:
        self._db.execute("INSERT INTO objects VALUES (?, ?, ?, ?)", (name, label, int(custom), prefix))
        self._objects[name] = (label, custom, prefix)
        self._fields[name] = {}

    def _add_field(self, sobject: str, spec: SfField) -> None:
        self._db.execute("INSERT INTO fields VALUES (?, ?, ?)", (sobject, spec.name, json.dumps(spec.to_json())))
        self._fields[sobject][spec.name] = spec

    def object_names(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    def object_info(self, sobject: str) -> tuple[str, bool, str] | None:
        """(label, custom, key prefix) of an object, or None when it does not exist."""
        with self._lock:
            return self._objects.get(sobject)

    def fields(self, sobject: str) -> dict[str, SfField] | None:
        with self._lock:
            found = self._fields.get(sobject)
            return dict(found) if found is not None else None

    def create_field(self, sobject: str, spec: SfField) -> str:
        """Add a custom field (Tooling API); returns its 00N id."""
        with self._lock:
            if sobject not in self._objects:
                raise StoreError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
            if spec.name in self._fields[sobject]:
                raise StoreError("DUPLICATE_DEVELOPER_NAME", f"There is already a field named {spec.name} on {sobject}.")
            if spec.reference_to and spec.reference_to not in self._objects:
                raise StoreError("FIELD_INTEGRITY_EXCEPTION", f"referenceTo {spec.reference_to} does not exist")
            self._db.execute("BEGIN")
            self._add_field(sobject, spec)
            new_id = self._new_id("CustomField")
            self._db.execute("COMMIT")
            return new_id

    def create_object(self, name: str, label: str) -> str:
        """Add a custom object with Salesforce's system fields, an auto-number Name and an owner."""
        with self._lock:
            if not name.endswith("__c"):
                raise StoreError("FIELD_INTEGRITY_EXCEPTION", f"custom object names end with __c: {name}")
            if name in self._objects:
                raise StoreError("DUPLICATE_DEVELOPER_NAME", f"There is already an object named {name}.")
            prefix = f"a{len([o for o in self._objects.values() if o[1]]):02d}"
            self._db.execute("BEGIN")
            self._add_object(name, label, True, prefix)
            for spec in system_fields():
                self._add_field(name, spec)
            self._add_field(name, SfField("Name", "string", label=f"{label} Number", length=80,
                                          updateable=False, createable=False))
            self._add_field(name, SfField("OwnerId", "reference", reference_to="User", relationship_name="Owner"))
            new_id = self._new_id("CustomObject")
            self._db.execute("COMMIT")
            return new_id

    # -- ids, clock, meta -----------------------------------------------------------------------
    def _get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         (key, value))

    def _new_id(self, sobject: str) -> str:
        prefix = KEY_PREFIXES.get(sobject) or self._objects[sobject][2]
        number = int(self._get_meta(f"counter:{prefix}") or "0") + 1
        self._set_meta(f"counter:{prefix}", str(number))
        digits = ""
        n = number
        while n:
            n, r = divmod(n, 62)
            digits = _BASE62[r] + digits
        # "0" padding keeps ids in creation order; "ZZ" tells sandbox ids apart
        return id18(prefix + "ZZ" + digits.rjust(10, "0"))

    def _next_stamp(self, now: datetime | None) -> datetime:
        """A millisecond timestamp after every stamp the org holds (SystemModstamp never goes back), or
        exactly `now` when a test or a seed chooses it (which then raises the floor for later writes)."""
        last_text = self._get_meta("last_stamp")
        last = parse_soql_datetime(last_text) if last_text else None
        if now is not None:
            stamp = now.astimezone(UTC).replace(microsecond=now.microsecond // 1000 * 1000)
        else:
            stamp = datetime.now(UTC)
            stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
            if last is not None and stamp <= last:
                stamp = last + timedelta(milliseconds=1)
        if last is None or stamp > last:
            self._set_meta("last_stamp", sf_datetime(stamp))
        return stamp

    # -- records --------------------------------------------------------------------------------
    def _table(self, sobject: str) -> dict[str, dict[str, Any]]:
        table = self._records.get(sobject)
        if table is None:
            table = {}
            for rid, data in self._db.execute("SELECT id, data FROM records WHERE sobject = ?", (sobject,)):
                table[rid] = json.loads(data)
            self._records[sobject] = table
        return table

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Every record of an object (copies)."""
        with self._lock:
            if sobject not in self._objects:
                raise StoreError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
            return [dict(r) for r in self._table(sobject).values()]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            if sobject not in self._objects:
                return None
            found = self._table(sobject).get(record_id)
            return dict(found) if found is not None else None

    def count(self, sobject: str) -> int:
        with self._lock:
            return len(self._table(sobject))

    def _index(self, sobject: str, field_name: str) -> dict[str, str]:
        key = (sobject, field_name)
        index = self._ext_index.get(key)
        if index is None:
            index = {}
            for rid, record in self._table(sobject).items():
                value = record.get(field_name)
                if value is not None:
                    index[str(value)] = rid
            self._ext_index[key] = index
        return index

    def _save(self, sobject: str, record: dict[str, Any]) -> None:
        table = self._table(sobject)
        previous = table.get(record["Id"])
        for (obj, fname), index in self._ext_index.items():
            if obj != sobject:
                continue
            if previous is not None and previous.get(fname) is not None:
                index.pop(str(previous[fname]), None)
            if record.get(fname) is not None:
                index[str(record[fname])] = record["Id"]
        table[record["Id"]] = record
        self._db.execute("INSERT INTO records VALUES (?, ?, ?) ON CONFLICT(sobject, id) DO UPDATE SET data = excluded.data",
                         (sobject, record["Id"], json.dumps(record)))

    def insert_raw(self, sobject: str, values: dict[str, Any], *, user_id: str | None = None,
                   created: datetime | None = None, modified: datetime | None = None) -> str:
        """Seed a record verbatim (no type checks, like a data import), with chosen timestamps; returns its Id."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                rid = self.insert_raw_in_tx(sobject, values, user_id=user_id, created=created, modified=modified)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._records.pop(sobject, None)
                self._ext_index.clear()
                raise
            return rid

    def insert_raw_in_tx(self, sobject: str, values: dict[str, Any], *, user_id: str | None = None,
                         created: datetime | None = None, modified: datetime | None = None) -> str:
        """`insert_raw` inside a transaction opened by `transaction()` (fast bulk seeding)."""
        rid = values.get("Id") or self._new_id(sobject)
        stamp_created = self._next_stamp(created)
        stamp_modified = self._next_stamp(modified) if modified is not None else stamp_created
        record = {name: None for name in self._fields[sobject]}
        record.update(values)
        record.update({"Id": rid, "IsDeleted": False, "CreatedDate": sf_datetime(stamp_created),
                       "LastModifiedDate": sf_datetime(stamp_modified), "SystemModstamp": sf_datetime(stamp_modified),
                       "CreatedById": user_id, "LastModifiedById": user_id})
        if "OwnerId" in self._fields[sobject] and record.get("OwnerId") is None:
            record["OwnerId"] = user_id
        self._save(sobject, record)
        return rid

    def transaction(self) -> "_Transaction":
        """A context manager for bulk seeding with `insert_raw_in_tx`."""
        return _Transaction(self)

    def touch(self, sobject: str, record_id: str, stamp: datetime, user_id: str | None = None) -> None:
        """Set a record's SystemModstamp (tests: a transaction that committed late, with an old stamp)."""
        with self._lock:
            record = self._table(sobject)[record_id]
            # an explicit old stamp: deliberately not raising the floor (a late commit, as Salesforce has them)
            record = dict(record, SystemModstamp=sf_datetime(stamp), LastModifiedDate=sf_datetime(stamp))
            if user_id:
                record["LastModifiedById"] = user_id
            self._db.execute("BEGIN")
            self._save(sobject, record)
            self._db.execute("COMMIT")

    def apply(self, writes: list[Write], user_id: str, *, all_or_none: bool = False,
              now: datetime | None = None) -> list[WriteOutcome]:
        """Apply writes in one transaction with one SystemModstamp; each write succeeds or fails alone
        unless `all_or_none`, when one failure rolls back all."""
        with self._lock:
            stamp = sf_datetime(self._next_stamp(now))
            outcomes: list[WriteOutcome] = []
            staged: list[tuple[str, dict[str, Any]]] = []
            for write in writes:
                try:
                    sobject, record, created = self._prepare(write, user_id, stamp, staged)
                except StoreError as exc:
                    outcomes.append(WriteOutcome(write.record_id, False, errors=[_error(exc.code, str(exc))]))
                    continue
                except FieldValueError as exc:
                    outcomes.append(WriteOutcome(write.record_id, False, errors=[_error(exc.code, str(exc))]))
                    continue
                staged.append((sobject, record))
                outcomes.append(WriteOutcome(record["Id"], True, created))
            if all_or_none and not all(o.success for o in outcomes):
                for outcome in outcomes:
                    if outcome.success:
                        outcome.success = False
                        outcome.errors = [_error("ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                                 "Record rolled back because not all records were valid and the "
                                                 "request was using AllOrNone header")]
                return outcomes
            self._db.execute("BEGIN")
            try:
                for sobject, record in staged:
                    self._save(sobject, record)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._records.clear()
                self._ext_index.clear()
                raise
            return outcomes

    def _prepare(self, write: Write, user_id: str, stamp: str,
                 staged: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any], bool]:
        sobject = write.sobject
        specs = self._fields.get(sobject)
        if specs is None:
            raise StoreError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        if write.fail_with is not None:
            raise StoreError(*write.fail_with)
        existing: dict[str, Any] | None = None
        if write.op == "update":
            if not write.record_id:
                raise StoreError("MISSING_ARGUMENT", "Id not specified in an update call")
            existing = self._table(sobject).get(write.record_id)
            for staged_obj, staged_rec in staged:  # a later write in the same request sees an earlier one
                if staged_obj == sobject and staged_rec["Id"] == write.record_id:
                    existing = staged_rec
            if existing is None:
                code = "ENTITY_IS_DELETED" if write.record_id[:3] == self._objects[sobject][2] else "MALFORMED_ID"
                raise StoreError(code, f"entity is deleted or does not exist: {write.record_id}")
        elif write.op == "upsert":
            ext = write.external_field or ""
            spec = specs.get(ext)
            if spec is None or not (spec.external_id or ext == "Id"):
                raise StoreError("INVALID_FIELD", f"{ext} is not an external id field of {sobject}")
            key = write.values.get(ext)
            if key in (None, ""):
                raise StoreError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{ext}]")
            found = self._index(sobject, ext).get(str(key))
            for staged_obj, staged_rec in staged:
                if staged_obj == sobject and str(staged_rec.get(ext)) == str(key):
                    found = staged_rec["Id"]
                    existing = staged_rec
            if found is not None and existing is None:
                existing = self._table(sobject)[found]
        values = {k: v for k, v in write.values.items() if k != "attributes"}
        created = existing is None
        record = dict(existing) if existing is not None else {name: None for name in specs}
        problems: list[dict[str, Any]] = []
        for name, value in values.items():
            if name == "Id" and write.op == "update":
                continue
            spec = specs.get(name)
            if spec is None:
                raise StoreError("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            if name in SYSTEM_FIELDS or not (spec.createable if created else spec.updateable):
                if not (write.op == "upsert" and name == write.external_field):
                    raise StoreError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                     f"Unable to create/update fields: {name}. Please check the security settings "
                                     "of this field and verify that it is read/write for your profile or permission set.")
            try:
                coerced = coerce_value(spec, value)
            except FieldValueError as exc:
                problems.append(_error(exc.code, str(exc), [name]))
                continue
            if spec.type == "reference" and coerced is not None:
                target = spec.reference_to or ""
                if self.get(target, coerced) is None and not any(
                        o == target and r["Id"] == coerced for o, r in staged):
                    problems.append(_error("INVALID_CROSS_REFERENCE_KEY",
                                           f"invalid cross reference id: {coerced} is not a {target}", [name]))
                    continue
            if spec.unique and coerced is not None and name != write.external_field:
                other = self._index(sobject, name).get(str(coerced))
                if other is not None and other != record.get("Id"):
                    problems.append(_error("DUPLICATE_VALUE", f"duplicate value found: {name} duplicates value on "
                                           f"record with id: {other}", [name]))
                    continue
            record[name] = coerced
        if problems:
            first = problems[0]
            raise FieldValueError(first["statusCode"], first["message"])
        if created:
            record["Id"] = self._new_id(sobject)
            record.update({"CreatedDate": stamp, "CreatedById": user_id, "IsDeleted": False})
            if "OwnerId" in specs and record.get("OwnerId") is None:
                record["OwnerId"] = user_id
            if self._objects[sobject][1] and "Name" in specs:
                record["Name"] = "LA-" + str(self.count(sobject) + 1 + sum(1 for o, _ in staged if o == sobject)).rjust(7, "0")
        record.update({"SystemModstamp": stamp, "LastModifiedDate": stamp, "LastModifiedById": user_id})
        return sobject, record, created

    # -- auth -----------------------------------------------------------------------------------
    def set_credentials(self, username: str, password: str, security_token: str = "") -> None:
        """The password (plus security token, as the SOAP login sends them together) of a user."""
        with self._lock:
            self._db.execute("INSERT INTO credentials VALUES (?, ?) ON CONFLICT(username) DO UPDATE SET "
                             "secret = excluded.secret", (username, password + security_token))

    def check_login(self, username: str, secret: str) -> str | None:
        """The user id for a correct username/password+token of an active user, else None."""
        with self._lock:
            row = self._db.execute("SELECT secret FROM credentials WHERE username = ?", (username,)).fetchone()
            if row is None or not secrets.compare_digest(row[0], secret):
                return None
            return self.user_id(username)

    def user_id(self, username: str) -> str | None:
        """The Id of the active User with this username."""
        with self._lock:
            for user in self._table("User").values():
                if user.get("Username") == username and user.get("IsActive"):
                    return str(user["Id"])
            return None

    def set_oauth_app(self, client_id: str, client_secret: str, run_as_username: str,
                      public_key_pem: str | None = None) -> None:
        """A connected app: client credentials run as `run_as_username`; JWT assertions verify with the key."""
        run_as = self.user_id(run_as_username)
        if run_as is None:
            raise StoreError("NOT_FOUND", f"no active user {run_as_username}")
        with self._lock:
            self._db.execute("INSERT INTO oauth_apps VALUES (?, ?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET "
                             "client_secret = excluded.client_secret, run_as_user_id = excluded.run_as_user_id, "
                             "public_key_pem = excluded.public_key_pem",
                             (client_id, client_secret, run_as, public_key_pem))

    def oauth_app(self, client_id: str) -> tuple[str, str, str | None] | None:
        """(client secret, run-as user id, public key PEM) of a connected app."""
        with self._lock:
            row = self._db.execute("SELECT client_secret, run_as_user_id, public_key_pem FROM oauth_apps "
                                   "WHERE client_id = ?", (client_id,)).fetchone()
            return (row[0], row[1], row[2]) if row else None

    def create_session(self, user_id: str) -> str:
        """A new session id (access token) for a user."""
        token = "00DZZ0000000001!" + secrets.token_urlsafe(48)
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (token, user_id, sf_datetime(datetime.now(UTC))))
        return token

    def session_user(self, token: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT user_id FROM sessions WHERE token = ?", (token,)).fetchone()
            return row[0] if row else None

    def expire_sessions(self) -> None:
        """Invalidate every session (tests: the connector must log in again)."""
        with self._lock:
            self._db.execute("DELETE FROM sessions")

    # -- daily API quota -----------------------------------------------------------------------
    def set_daily_limit(self, limit: int, used: int | None = None) -> None:
        with self._lock:
            self._set_meta("daily_limit", str(limit))
            if used is not None:
                self._set_meta("usage_day", datetime.now(UTC).date().isoformat())
                self._set_meta("usage_used", str(used))

    def usage(self) -> tuple[int, int]:
        """(used today, daily limit)."""
        with self._lock:
            today = datetime.now(UTC).date().isoformat()
            used = int(self._get_meta("usage_used") or 0) if self._get_meta("usage_day") == today else 0
            return used, int(self._get_meta("daily_limit") or DEFAULT_DAILY_LIMIT)

    def charge(self) -> tuple[bool, int, int]:
        """Count one API request against today's quota: (allowed, used, limit); refused once spent."""
        with self._lock:
            used, limit = self.usage()
            if used >= limit:
                return False, used, limit
            self._set_meta("usage_day", datetime.now(UTC).date().isoformat())
            self._set_meta("usage_used", str(used + 1))
            return True, used + 1, limit

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    def __init__(self, store: SalesforceStore):
        self.store = store

    def __enter__(self) -> SalesforceStore:
        self.store._lock.acquire()
        self.store._db.execute("BEGIN")
        return self.store

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.store._db.execute("COMMIT")
            else:
                self.store._db.execute("ROLLBACK")
                self.store._records.clear()
                self.store._ext_index.clear()
        finally:
            self.store._lock.release()
