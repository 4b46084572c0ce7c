"""The Salesforce connector: incremental lead polling, outcomes, users, batched write-back, check/setup."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError, SalesforceResourceNotFound

from config.sections.connectors import ConnectorConfig
from connectors.base import (
    ApiUsage, CheckItem, Connector, ConnectorError, CrmAgent, CrmLead, FetchResult, Outcome, OutcomeBatch,
    QuotaExhaustedError, RetryableConnectorError, Watermark, WriteBackItem, WriteBackResult,
)
from connectors.mapping import map_record, parse_datetime
from connectors.retry import call_with_retry
from connectors.salesforce import soql
from connectors.salesforce.client import SalesforceSession, build_client, classify, error_message
from connectors.salesforce.schema import (
    DEFAULT_FIELD_MAPPING, FieldSpec, assignment_field_specs, lead_field_specs, object_metadata,
)
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writeback import ResultCollector, composite_batches, plan

log = logging.getLogger("leadpilot.connectors.salesforce")

T = TypeVar("T")
LEAD = "Lead"
ORDER = "SystemModstamp ASC, Id ASC"
_OUTCOME_FIELDS = ["Id", "IsConverted", "ConvertedDate", "ConvertedOpportunityId", "ConvertedOpportunity.IsWon",
                   "ConvertedOpportunity.IsClosed", "ConvertedOpportunity.Amount",
                   "ConvertedOpportunity.SystemModstamp", "SystemModstamp"]


class SalesforceConnector(Connector):
    """Salesforce through simple-salesforce: one client per connector, one retry layer (ours)."""

    config_model: ClassVar[type[SalesforceSettings]] = SalesforceSettings
    default_field_mapping: ClassVar[dict[str, str]] = DEFAULT_FIELD_MAPPING

    def __init__(self, config: ConnectorConfig, settings: SalesforceSettings):  # type: ignore[override]
        super().__init__(config, settings)
        self.settings: SalesforceSettings = settings
        self._session = SalesforceSession(settings.ca_bundle, settings.timeout_s)
        self._classify = classify(self._session)
        self._sf: Salesforce | None = None
        self._describes: dict[str, dict[str, dict[str, Any]] | None] = {}
        self._integration_user_id = settings.integration_user_id
        self._overlap = timedelta(seconds=settings.overlap_s)
        self._warned_missing = False
        # how retries wait; tests put a recorder here instead of sleeping
        self.sleep: Callable[[float], None] = time.sleep

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """One CRM call through the retry layer; errors a retry cannot fix become ConnectorError."""
        try:
            return call_with_retry(fn, what=f"salesforce {self.name}: {what}", classify=self._classify,
                                   settings=self.settings.retry, sleep=lambda seconds: self.sleep(seconds))
        except SalesforceAuthenticationFailed as exc:
            raise ConnectorError(
                f"salesforce {self.name}: login failed ({exc.code}: {exc.message}); check the {self.settings.auth} "
                f"credentials, domain '{self.settings.domain}' and that the user is active") from exc
        except SalesforceResourceNotFound:
            raise
        except SalesforceError as exc:
            raise ConnectorError(f"salesforce {self.name}: {what} refused: HTTP {exc.status} "
                                 f"{error_message(exc.content)}") from exc

    @property
    def client(self) -> Salesforce:
        """The simple-salesforce client, logged in on first use and kept for the connector's life."""
        if self._sf is None:
            self._sf = self._call("login", lambda: build_client(self.settings, self._session))
        return self._sf

    def _query_headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.settings.query_batch_size}"}

    def _below_floor(self) -> bool:
        remaining = self._session.quota.remaining
        return remaining is not None and remaining < self.settings.quota_floor

    def _quota_text(self) -> str:
        q = self._session.quota
        return f"{q.remaining} of {q.limit} daily API calls left, floor {self.settings.quota_floor}"

    def _query_pages(self, what: str, query: str, *, stop_below_floor: bool) -> tuple[list[dict[str, Any]], bool]:
        """All records of a query through nextRecordsUrl; (records, stopped early at the quota floor)."""
        result = self._call(what, lambda: self.client.query(query, headers=self._query_headers()))
        records: list[dict[str, Any]] = list(result["records"])
        while not result.get("done", True):
            if stop_below_floor and self._below_floor():
                log.warning("salesforce %s: %s paused mid-read: %s", self.name, what, self._quota_text())
                return records, True
            next_url = result["nextRecordsUrl"]
            result = self._call(f"{what} (next page)", lambda url=next_url: self.client.query_more(
                url, identifier_is_url=True, headers=self._query_headers()))
            records.extend(result["records"])
        return records, False

    def _describe(self, sobject: str) -> dict[str, dict[str, Any]] | None:
        """Field name -> describe entry of an object (cached), or None when the object does not exist."""
        if sobject not in self._describes:
            try:
                result = self._call(f"describe {sobject}",
                                    lambda: getattr(self.client, soql.name(sobject)).describe())
                self._describes[sobject] = {f["name"]: f for f in result["fields"]}
            except SalesforceResourceNotFound:
                self._describes[sobject] = None
        return self._describes[sobject]

    def integration_user_id(self) -> str:
        """The User Id leadpilot writes as (settings, else the OAuth userinfo endpoint, asked once)."""
        if self._integration_user_id is None:
            info = self._call("userinfo", lambda: self.client.oauth2("userinfo"))
            self._integration_user_id = str((info or {}).get("user_id") or "")
        return self._integration_user_id

    # -- reads ----------------------------------------------------------------------------------
    def _lead_fields(self) -> list[str]:
        described = self._describe(LEAD) or {}
        wanted = [f for f in self.field_mapping if "." not in f]
        missing = [f for f in wanted if f not in described]
        if missing and not self._warned_missing:
            self._warned_missing = True
            log.warning("salesforce %s: mapped Lead field(s) missing, read as empty: %s (leadpilot crm check)",
                        self.name, ", ".join(missing))
        extra = ["SystemModstamp", "LastModifiedById", self.settings.score_fields.input_hash]
        return ["Id"] + [f for f in wanted + extra if f in described and f != "Id"]

    def fetch_changed(self, since: Watermark, limit: int) -> FetchResult:
        """Leads changed at/after the watermark (minus the overlap on a new pass), oldest first."""
        if self._below_floor():
            raise QuotaExhaustedError(f"salesforce {self.name}: polling paused: {self._quota_text()}")
        fields = self._lead_fields()
        query = soql.select(fields, LEAD, [soql.window(since, self._overlap)], ORDER, limit)
        records, stopped = self._query_pages("poll leads", query, stop_below_floor=True)
        integration = self.integration_user_id()
        by_id: dict[str, CrmLead] = {}
        for record in records:
            lead = self._to_lead(record, integration)
            previous = by_id.get(lead.crm_id)
            if previous is None or lead.modified_at >= previous.modified_at:
                by_id[lead.crm_id] = lead
        leads = sorted(by_id.values(), key=lambda l: (l.modified_at, l.crm_id))
        complete = not stopped and len(records) < limit
        return FetchResult(leads, self._next_watermark(since, records, complete), complete)

    def _next_watermark(self, since: Watermark, records: list[dict[str, Any]], complete: bool,
                        extra_stamps: list[datetime] | None = None) -> Watermark:
        if not records and not extra_stamps:
            return Watermark(since.modified_at, None) if complete else since
        if not complete:
            last = records[-1]
            return Watermark(parse_datetime(last["SystemModstamp"]), str(last["Id"]))
        stamps = [parse_datetime(r["SystemModstamp"]) for r in records] + list(extra_stamps or [])
        if since.modified_at is not None:
            stamps.append(since.modified_at)
        return Watermark(max(stamps), None)

    def _to_lead(self, record: dict[str, Any], integration_user: str) -> CrmLead:
        # the parsed record becomes the raw payload in place: a copy per record doubled what every poll
        # holds for its overlap re-read (~800 records at a steady 2.5 leads/s)
        record.pop("attributes", None)
        raw = record
        fields, problems = map_record(raw, self.field_mapping)
        fields["crm_id"] = str(raw["Id"])
        stamp = parse_datetime(raw["SystemModstamp"])
        written = raw.get(self.settings.score_fields.input_hash)
        return CrmLead(
            crm_id=str(raw["Id"]), modified_at=stamp, fields=fields, raw=raw, problems=problems,
            modified_by_integration=bool(integration_user) and raw.get("LastModifiedById") == integration_user,
            written_input_hash=str(written) if written else None,
        )

    def fetch_outcomes(self, since: Watermark, limit: int) -> OutcomeBatch:
        """Converted leads changed since the watermark, with their opportunity's IsWon/Amount; on a new
        pass also leads whose opportunity alone changed (won or lost later)."""
        if self._below_floor():
            raise QuotaExhaustedError(f"salesforce {self.name}: outcome polling paused: {self._quota_text()}")
        converted = soql.equals("IsConverted", True)
        query = soql.select(_OUTCOME_FIELDS, LEAD, [converted, soql.window(since, self._overlap)], ORDER, limit)
        records, stopped = self._query_pages("poll outcomes", query, stop_below_floor=True)
        late: list[dict[str, Any]] = []
        if since.last_id is None and since.modified_at is not None and not stopped:
            opp_window = soql.window(Watermark(since.modified_at), self._overlap, "ConvertedOpportunity.SystemModstamp")
            late, _ = self._query_pages("poll won opportunities",
                                        soql.select(_OUTCOME_FIELDS, LEAD, [converted, opp_window], ORDER),
                                        stop_below_floor=False)
        outcomes: dict[str, Outcome] = {}
        opp_stamps: list[datetime] = []
        for record in records + late:
            outcome = _to_outcome(record)
            if outcome is None:
                continue
            opp = record.get("ConvertedOpportunity") or {}
            if opp.get("SystemModstamp"):
                opp_stamps.append(parse_datetime(opp["SystemModstamp"]))
            outcomes[outcome.crm_id] = outcome
        complete = not stopped and len(records) < limit
        return OutcomeBatch(list(outcomes.values()),
                            self._next_watermark(since, records, complete, opp_stamps if complete else None))

    def fetch_agents(self) -> list[CrmAgent]:
        """Active standard users, the integration user excluded."""
        query = soql.select(["Id", "Name", "Email", "IsActive", "Username"], "User",
                            [soql.equals("IsActive", True)], "Id ASC")
        records, _ = self._query_pages("read users", query, stop_below_floor=False)
        integration = self.integration_user_id()
        return [CrmAgent(str(r["Id"]), str(r.get("Name") or r.get("Username") or r["Id"]), r.get("Email"),
                         bool(r.get("IsActive"))) for r in records if r["Id"] != integration]

    # -- write-back -----------------------------------------------------------------------------
    def write_back(self, items: list[WriteBackItem]) -> list[WriteBackResult]:
        """Score fields, owner and assignment records for `items`: sObject Collections (200 records) inside
        Composite calls (25 subrequests), allOrNone=false; one result per item, in order. A call that
        fails after retries (or the spent quota) marks its items failed and retryable, never lost."""
        if not items:
            return []
        s = self.settings
        subs = plan(items, api_version=s.api_version, names=s.score_fields.names(),
                    assignment_names=s.assignment_fields.names(), owner_field=s.owner_field,
                    assignment_object=s.assignment_object, collection_size=s.collection_size)
        collector = ResultCollector(items)
        batches = list(composite_batches(subs, s.composite_size))
        for number, batch in enumerate(batches):
            body = json.dumps({"allOrNone": False, "compositeRequest": [sub.body() for sub in batch]})
            try:
                response = self._call("write-back", lambda body=body: self.client.restful(
                    "composite", method="POST", data=body))
            except (RetryableConnectorError, QuotaExhaustedError, ConnectorError) as exc:
                log.warning("salesforce %s: write-back of %d batch(es) failed: %s", self.name,
                            len(batches) - number, exc)
                for rest in batches[number:]:
                    collector.fail_all(rest, str(exc), retryable=True)
                break
            by_ref = {sub.reference_id: sub for sub in batch}
            answered = set()
            for part in (response or {}).get("compositeResponse", []):
                sub = by_ref.get(part.get("referenceId"))
                if sub is not None:
                    answered.add(sub.reference_id)
                    collector.record_results(sub, int(part.get("httpStatusCode", 500)), part.get("body"))
            collector.fail_all([sub for sub in batch if sub.reference_id not in answered],
                               "no answer for this subrequest in the composite response", retryable=True)
        return collector.results()

    def usage(self) -> ApiUsage:
        calls = dict(self._session.calls)
        return ApiUsage(calls=sum(calls.values()), errors=self._session.errors,
                        remaining=self._session.quota.remaining, limit=self._session.quota.limit,
                        calls_by_endpoint=calls)

    # -- admin ----------------------------------------------------------------------------------
    def _wanted_specs(self) -> tuple[list[FieldSpec], list[FieldSpec]]:
        s = self.settings
        lead_specs = lead_field_specs(s.score_fields.names(), LEAD)
        assign_specs = assignment_field_specs(s.assignment_fields.names(), s.assignment_object, LEAD) \
            if s.assignment_object else []
        return lead_specs, assign_specs

    def check(self) -> list[CheckItem]:
        """Login, read permission, quota, every mapped field to read and every field leadpilot writes."""
        items: list[CheckItem] = []
        try:
            client = self.client
        except ConnectorError as exc:
            return [CheckItem(False, "login", str(exc))]
        items.append(CheckItem(True, "login", f"{self.settings.auth} login to {client.sf_instance}, "
                                              f"API v{self.settings.api_version}"))
        try:
            self._call("read leads", lambda: client.query("SELECT Id FROM Lead LIMIT 1"))
            items.append(CheckItem(True, "read Lead", "the integration user can query leads"))
        except ConnectorError as exc:
            items.append(CheckItem(False, "read Lead", str(exc)))
        limits = self._call("limits", client.limits).get("DailyApiRequests", {})
        remaining, maximum = limits.get("Remaining"), limits.get("Max")
        if remaining is not None:
            low = remaining < self.settings.quota_floor
            items.append(CheckItem(not low, "API quota", f"{remaining} of {maximum} daily calls left"
                                   + (f": below the floor {self.settings.quota_floor}, polling would pause" if low else "")))
        described = self._describe(LEAD) or {}
        for crm_field, canonical in self.field_mapping.items():
            if "." in crm_field:
                continue
            if crm_field in described:
                items.append(CheckItem(True, f"Lead.{crm_field}", f"read as {canonical}"))
            else:
                items.append(CheckItem(False, f"Lead.{crm_field}", f"missing (read as {canonical}): create it, or map "
                                       f"{canonical} to an existing field in field_mapping"))
        items += self._check_writable(LEAD, described, self._wanted_specs()[0])
        if self.settings.owner_field:
            spec = described.get(self.settings.owner_field)
            items.append(CheckItem(bool(spec and spec.get("updateable")), f"Lead.{self.settings.owner_field}",
                                   "assignment owner" if spec and spec.get("updateable") else
                                   "missing or not writable by the integration user (owner_field)"))
        if self.settings.assignment_object:
            obj = self.settings.assignment_object
            obj_fields = self._describe(obj)
            if obj_fields is None:
                items.append(CheckItem(False, obj, "missing custom object: leadpilot crm setup --apply creates it"))
            else:
                items.append(CheckItem(True, obj, "assignment records"))
                items += self._check_writable(obj, obj_fields, self._wanted_specs()[1])
        return items

    def _check_writable(self, sobject: str, described: dict[str, dict[str, Any]],
                        specs: list[FieldSpec]) -> list[CheckItem]:
        out: list[CheckItem] = []
        for spec in specs:
            found = described.get(spec.name)
            what = f"{sobject}.{spec.name}"
            if found is None:
                out.append(CheckItem(False, what, f"missing ({spec.type}): leadpilot crm setup --apply creates it"))
            elif not (found.get("updateable") or found.get("createable")):
                out.append(CheckItem(False, what, "not writable by the integration user: grant Edit access in its "
                                                  "profile or a permission set (field-level security)"))
            elif spec.external_id and not found.get("externalId"):
                out.append(CheckItem(False, what, "must be an External ID (unique) field for upserts"))
            else:
                out.append(CheckItem(True, what, "writable"))
        return out

    def setup(self, apply: bool) -> list[CheckItem]:
        """Create the missing custom object and fields through the Tooling API; a dry run unless `apply`."""
        lead_specs, assign_specs = self._wanted_specs()
        items: list[CheckItem] = []
        todo: list[tuple[str, str, dict[str, Any]]] = []  # (tooling type, full name, metadata)
        obj = self.settings.assignment_object
        described_lead = self._describe(LEAD) or {}
        todo += [("CustomField", s.full_name, s.metadata()) for s in lead_specs if s.name not in described_lead]
        if obj:
            obj_fields = self._describe(obj)
            if obj_fields is None:
                todo.append(("CustomObject", obj, object_metadata("Lead Assignment", "Lead Assignments")))
                obj_fields = {}
            todo += [("CustomField", s.full_name, s.metadata()) for s in assign_specs if s.name not in obj_fields]
        if not todo:
            return [CheckItem(True, "setup", "every custom field leadpilot writes exists; nothing to do")]
        for kind, full_name, metadata in todo:
            label = f"{kind} {full_name} ({metadata.get('type', 'object')})"
            if not apply:
                items.append(CheckItem(False, label, "missing: would create (run with --apply)"))
                continue
            try:
                result = self._call(f"create {full_name}", lambda k=kind, n=full_name, m=metadata:
                                    self.client.toolingexecute(f"sobjects/{k}/", method="POST",
                                                               data={"FullName": n, "Metadata": m}))
                items.append(CheckItem(True, label, f"created ({(result or {}).get('id', '')}); grant the integration "
                                                    "user Edit access to it (field-level security)"))
            except ConnectorError as exc:
                items.append(CheckItem(False, label, f"not created: {exc}"))
        self._describes.clear()
        return items

    def close(self) -> None:
        self._session.close()


def _to_outcome(record: dict[str, Any]) -> Outcome | None:
    if not record.get("IsConverted"):
        return None
    opp = record.get("ConvertedOpportunity") or {}
    converted_at = parse_datetime(record["ConvertedDate"]) if record.get("ConvertedDate") else None
    won = bool(opp.get("IsWon")) if opp.get("IsClosed") else None
    amount = opp.get("Amount")
    stamps = [parse_datetime(record["SystemModstamp"])]
    if opp.get("SystemModstamp"):
        stamps.append(parse_datetime(opp["SystemModstamp"]))
    return Outcome(crm_id=str(record["Id"]), converted=True, converted_at=converted_at,
                   conversion_value=float(amount) if isinstance(amount, int | float) and won else None,
                   won=won, modified_at=max(stamps))
