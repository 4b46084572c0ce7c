"""The HubSpot connector: contacts in, scores and owners out, on the real hubspot-api-client.

Poll: contacts search on `lastmodifieddate` (see `search.py` for the watermark, ties and the
10,000-result cap). Write-back: batch update, 100 contacts a call; a batch HubSpot rejects as a
whole (one invalid value) is split in halves until the bad record stands alone, so one bad record
never blocks the others. Our own write-backs bump `lastmodifieddate`: each write carries the
connector's hash of the contact's input values as read before scoring (`leadpilot_read_hash`); a
contact whose inputs still hash to it is flagged `modified_by_integration` (not re-scored). The
daemon's own input hash travels too (`leadpilot_input_hash` -> `CrmLead.written_input_hash`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest, PublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.deals import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

from config.sections.connectors import ConnectorConfig
from connectors.base import (
    ApiUsage,
    CheckItem,
    Connector,
    ConnectorError,
    CrmAgent,
    CrmLead,
    FetchResult,
    Outcome,
    OutcomeBatch,
    QuotaExhaustedError,
    Watermark,
    WriteBackItem,
    WriteBackResult,
)
from connectors.hubspot.api import HubSpotApi, HubSpotRequestError
from connectors.hubspot.fields import DEAL_PROPERTIES, DEFAULT_FIELD_MAPPING, NON_INPUT_FIELDS
from connectors.hubspot.outcomes import outcome_for
from connectors.hubspot.search import Hit, IncrementalSearch, SearchPage, SearchQuery, from_ms, to_ms
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.setup import check_properties, setup_properties
from connectors.hubspot.writeback import item_properties, results_from_batch
from connectors.mapping import map_record, parse_datetime

log = logging.getLogger("leadpilot.connectors.hubspot")

MODIFIED = "lastmodifieddate"
ASSOCIATION_BATCH = 1000  # the v4 associations batch read takes up to 1,000 ids
_HASH_CACHE_SIZE = 200_000


# A 400 naming these is about the portal's properties, not one record: every record would fail alike.
_SETUP_CODES = ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")


class _SetupProblem(ConnectorError):
    """The portal lacks a property leadpilot writes (or it is read-only)."""


def read_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of a contact's canonical input values (bookkeeping fields such as ids and timestamps left out)."""
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, (datetime, date)) else value

    inputs = {k: plain(v) for k, v in sorted(fields.items()) if k not in NON_INPUT_FIELDS}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class HubSpotConnector(Connector):
    """HubSpot CRM v3 through hubspot-api-client with a private-app token."""

    config_model: ClassVar[type[HubSpotSettings]] = HubSpotSettings
    default_field_mapping: ClassVar[dict[str, str]] = DEFAULT_FIELD_MAPPING

    def __init__(self, config: ConnectorConfig, settings: HubSpotSettings, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        super().__init__(config, settings)
        self.settings: HubSpotSettings = settings
        self.api = HubSpotApi(settings, sleep=sleep, clock=clock)
        names = settings.properties
        self._lead_properties = sorted({*self.field_mapping, MODIFIED, names.input_hash, names.read_hash,
                                        settings.owner_property})
        self._outcome_properties = sorted({MODIFIED, "lifecyclestage",
                                           *(f"hs_lifecyclestage_{s}_date" for s in settings.converted_stages)})
        # hash of the inputs as last read, per contact, until a write-back has put it on the contact
        self._read_hashes: OrderedDict[str, str] = OrderedDict()

    # ---- reading ---------------------------------------------------------------------------------
    def _searcher(self, properties: list[str], extra: Sequence[dict[str, Any]] = ()) -> IncrementalSearch:
        def page(query: SearchQuery) -> SearchPage:
            request = PublicObjectSearchRequest(
                filter_groups=[{"filters": group} for group in query.filter_groups],
                sorts=[{"propertyName": query.sort_property, "direction": "ASCENDING"}],
                properties=properties, limit=query.limit, after=query.after)
            response = self.api.call("contacts.search", self.api.contacts_search.do_search_with_http_info, request)
            hits = [Hit(str(obj.id), self._modified_ms(obj), dict(obj.properties or {})) for obj in response.results]
            nxt = response.paging.next.after if response.paging and response.paging.next else None
            return SearchPage(hits, nxt, int(response.total or 0))

        return IncrementalSearch(page, MODIFIED, self.settings.search_page_size, self.settings.search_result_cap,
                                 extra_filters=tuple(extra), overlap_ms=int(self.settings.overlap_s * 1000))

    @staticmethod
    def _modified_ms(obj: Any) -> int:
        stamp = (obj.properties or {}).get(MODIFIED)
        return to_ms(parse_datetime(stamp) if stamp else obj.updated_at)

    def _check_quota(self) -> None:
        remaining = self.api.usage().remaining
        if self.settings.quota_floor and remaining is not None and remaining < self.settings.quota_floor:
            raise QuotaExhaustedError(f"HubSpot daily API calls remaining ({remaining}) are below settings.quota_floor "
                                      f"({self.settings.quota_floor}); polling pauses until the daily limit resets")

    def fetch_changed(self, since: Watermark, limit: int) -> FetchResult:
        """Contacts modified at/after the watermark, oldest first, mapped to canonical fields."""
        self._check_quota()
        read = self._searcher(self._lead_properties).read(since, limit)
        return FetchResult([self._to_lead(hit) for hit in read.hits], read.watermark, read.complete)

    def _to_lead(self, hit: Hit) -> CrmLead:
        fields, problems = map_record(hit.properties, self.field_mapping)
        fields["crm_id"] = hit.id
        current = read_hash(fields)
        names = self.settings.properties
        ours = hit.properties.get(names.read_hash) == current
        if ours:
            # the contact already carries this hash (our own write-back read again): a write would not
            # change it, so nothing is kept; one entry per contact ever seen grew without end
            self._read_hashes.pop(hit.id, None)
        else:
            self._read_hashes[hit.id] = current
            self._read_hashes.move_to_end(hit.id)
            while len(self._read_hashes) > _HASH_CACHE_SIZE:
                self._read_hashes.popitem(last=False)
        # Hit's properties are this read's own copy: they become the raw payload as they are
        return CrmLead(hit.id, from_ms(hit.modified_ms), fields, hit.properties, problems,
                       modified_by_integration=ours, written_input_hash=hit.properties.get(names.input_hash) or None)

    def fetch_outcomes(self, since: Watermark, limit: int) -> OutcomeBatch:
        """Contacts whose lifecycle stage reached a converted stage, with their deals' won/lost and amounts."""
        self._check_quota()
        stages = [s.lower() for s in self.settings.converted_stages]
        extra = [{"propertyName": "lifecyclestage", "operator": "IN", "values": stages}]
        read = self._searcher(self._outcome_properties, extra).read(since, limit)
        deals_of = self._deals_of([h.id for h in read.hits])
        outcomes: list[Outcome] = [outcome_for(h, deals_of.get(h.id, []), stages, self.settings.won_stages)
                                   for h in read.hits]
        return OutcomeBatch(outcomes, read.watermark)

    def _deals_of(self, contact_ids: list[str]) -> dict[str, list[dict[str, str | None]]]:
        links: dict[str, list[str]] = {}
        for chunk in _chunks(contact_ids, ASSOCIATION_BATCH):
            body = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in chunk])
            response = self.api.call("associations.batch_read", self.api.associations.get_page_with_http_info,
                                     "contacts", "deals", body)
            for row in response.results or []:
                links[str(row._from.id)] = [str(t.to_object_id) for t in row.to or []]
        deal_ids = sorted({d for ids in links.values() for d in ids})
        deals: dict[str, dict[str, str | None]] = {}
        for chunk in _chunks(deal_ids, self.settings.batch_size):
            body = BatchReadInputSimplePublicObjectId(properties=list(DEAL_PROPERTIES), properties_with_history=[],
                                                      inputs=[SimplePublicObjectId(id=i) for i in chunk])
            response = self.api.call("deals.batch_read", self.api.deals_batch.read_with_http_info, body)
            for obj in response.results or []:
                deals[str(obj.id)] = dict(obj.properties or {})
        return {cid: [deals[d] for d in ids if d in deals] for cid, ids in links.items()}

    def fetch_agents(self) -> list[CrmAgent]:
        """Active HubSpot owners (people who can own contacts)."""
        agents: list[CrmAgent] = []
        after: str | None = None
        while True:
            page = self.api.call("owners", self.api.owners.get_page_with_http_info, limit=500, after=after,
                                 archived=False)
            for owner in page.results or []:
                name = " ".join(p for p in (owner.first_name, owner.last_name) if p) or owner.email or str(owner.id)
                agents.append(CrmAgent(str(owner.id), name, owner.email, active=not owner.archived))
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                return agents

    # ---- writing ---------------------------------------------------------------------------------
    def write_back(self, items: list[WriteBackItem]) -> list[WriteBackResult]:
        """Batch updates of at most `batch_size` contacts; one result per item, in order."""
        latest: dict[str, WriteBackItem] = {}
        for item in items:  # HubSpot rejects a batch naming one id twice: the last item for a contact wins
            latest[item.crm_id] = item
        results: dict[str, WriteBackResult] = {}
        pending = list(latest.values())
        size = self.settings.batch_size
        for start in range(0, len(pending), size):
            try:
                results.update(self._update(pending[start:start + size]))
            except ConnectorError as exc:
                # HubSpot is unavailable, the quota is spent, the token or the properties are wrong: every
                # later batch would fail alike, so stop calling; the rest is retried next cycle
                log.error("hubspot %s: write-back stopped: %s", self.name, exc)
                results.update({i.crm_id: WriteBackResult(i.crm_id, False, str(exc), retryable=True)
                                for i in pending[start:]})
                break
        for crm_id, result in results.items():
            if result.ok:  # the contact carries the hash now; a failed write keeps it for the retry
                self._read_hashes.pop(crm_id, None)
        return [results[item.crm_id] for item in items]

    def _update(self, chunk: list[WriteBackItem]) -> dict[str, WriteBackResult]:
        inputs = [SimplePublicObjectBatchInput(id=i.crm_id, properties=self._properties_of(i)) for i in chunk]
        try:
            response = self.api.call("contacts.batch_update", self.api.contacts_batch.update_with_http_info,
                                     BatchInputSimplePublicObjectBatchInput(inputs=inputs))
        except HubSpotRequestError as exc:
            if exc.status != 400:
                raise
            if any(code in exc.body for code in _SETUP_CODES):
                raise _SetupProblem(f"{exc}; run `leadpilot crm setup --apply` or fix settings.properties") from exc
            if len(chunk) == 1:  # the bad record, isolated: report it, never block the others
                return {chunk[0].crm_id: WriteBackResult(chunk[0].crm_id, False, str(exc), retryable=False)}
            half = len(chunk) // 2
            return {**self._update(chunk[:half]), **self._update(chunk[half:])}
        return results_from_batch([i.crm_id for i in chunk], response)

    def _properties_of(self, item: WriteBackItem) -> dict[str, str]:
        # the inputs as this process last read them; unknown after a restart (then the daemon's
        # written_input_hash check alone keeps the lead from a needless re-score)
        read = self._read_hashes.get(item.crm_id)
        return item_properties(item, self.settings.properties, self.settings.owner_property, read)

    # ---- admin -----------------------------------------------------------------------------------
    def usage(self) -> ApiUsage:
        return self.api.usage()

    def check(self) -> list[CheckItem]:
        """Token and scopes (owners, contacts search), then the property group and every property."""
        items: list[CheckItem] = []
        probes: list[tuple[str, Callable[[], Any]]] = [
            ("read owners (crm.objects.owners.read)",
             lambda: self.api.call("owners", self.api.owners.get_page_with_http_info, limit=1)),
            ("search contacts (crm.objects.contacts.read)",
             lambda: self.api.call("contacts.search", self.api.contacts_search.do_search_with_http_info,
                                   PublicObjectSearchRequest(limit=1, properties=[MODIFIED]))),
        ]
        for what, probe in probes:
            try:
                probe()
            except ConnectorError as exc:
                items.append(CheckItem(False, what, str(exc)))
                if isinstance(exc, HubSpotRequestError) and exc.status == 401:
                    return items
            else:
                items.append(CheckItem(True, what, f"{self.settings.host}"))
        try:
            items.extend(check_properties(self.api, self.settings, self.field_mapping))
        except ConnectorError as exc:
            items.append(CheckItem(False, "read contact properties (crm.schemas.contacts.read)", str(exc)))
        return items

    def setup(self, apply: bool) -> list[CheckItem]:
        """Create the `leadpilot` property group and missing properties; a dry run unless `apply`."""
        return setup_properties(self.api, self.settings, apply)

    def close(self) -> None:
        self.api.close()
