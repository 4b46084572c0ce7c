"""Write-back payloads: score fields and owner on the Lead, an assignment record upserted by external id,
packed as sObject Collections subrequests (200 records) inside Composite calls (25 subrequests = 1 call)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import WriteBackItem, WriteBackResult
from connectors.salesforce.schema import REASONS_MAX, SHORT_TEXT, AssignmentFieldNames, ScoreFieldNames

# Per-record errors that a later try can fix; anything else needs an admin (validation rule, permissions).
RETRYABLE_RECORD_ERRORS = frozenset({
    "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG", "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "PROCESSING_HALTED", "TXN_SECURITY_NO_ACCESS", "UNKNOWN_EXCEPTION",
})


def sf_datetime(value: datetime) -> str:
    """Salesforce's timestamp format, in UTC with milliseconds."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value if len(value) <= limit else value[:limit - 1] + "…"


def _lines(values: Sequence[str], limit: int) -> str | None:
    return _text("\n".join(values), limit) if values else None


def _number(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def lead_record(item: WriteBackItem, names: ScoreFieldNames, owner_field: str | None,
                sobject: str = "Lead") -> dict[str, Any]:
    """The Lead update: every score field (None clears a stale value) and the owner when assigned.

    An item without a score (a queue-drain assignment, a take-back) updates only what it carries, so
    it never erases the score fields an earlier write set.
    """
    record: dict[str, Any] = {
        "attributes": {"type": sobject}, "Id": item.crm_id,
        names.score: item.score, names.probability: _number(item.probability, 4),
        names.confidence: _number(item.confidence, 4), names.model_version: _text(item.model_version, 80),
        names.scored_at: sf_datetime(item.scored_at) if item.scored_at else None,
        names.reasons: _lines(item.reasons, REASONS_MAX),
        names.compliance_status: _text(item.compliance_status, 40),
        names.compliance_reasons: _lines(item.compliance_reasons, REASONS_MAX),
        names.input_hash: _text(item.input_hash, 64),
    }
    if item.score is None and item.model_version is None:
        record = {k: v for k, v in record.items() if v is not None}
    if owner_field and item.owner_crm_user_id:
        record[owner_field] = item.owner_crm_user_id
    return record


def assignment_record(item: WriteBackItem, names: AssignmentFieldNames, sobject: str) -> dict[str, Any] | None:
    """The assignment record, keyed by the item's assignment external id (or its idempotency key)."""
    if not item.owner_crm_user_id:
        return None
    return {
        "attributes": {"type": sobject},
        names.external_id: _text(item.assignment_external_id or item.idempotency_key, 80),
        names.lead: item.crm_id, names.agent: item.owner_crm_user_id,
        names.match_score: _number(item.match_score, 4), names.reason: _text(item.assignment_reason, SHORT_TEXT),
        names.routing_outcome: _text(item.routing_outcome, 40), names.ab_arm: _text(item.ab_arm, 40),
        names.model_version: _text(item.model_version, 80),
        names.assigned_at: sf_datetime(item.scored_at) if item.scored_at else None,
    }


@dataclass
class Subrequest:
    """One sObject Collections call inside a Composite request, and which items its records belong to."""

    reference_id: str
    method: str
    url: str
    records: list[dict[str, Any]]
    item_indexes: list[int]
    kind: str  # "lead" | "assignment"

    def body(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "referenceId": self.reference_id,
                "body": {"allOrNone": False, "records": self.records}}


@dataclass
class _ItemState:
    lead_ok: bool | None = None
    assignment_ok: bool | None = None  # None: no assignment record for this item
    errors: list[str] = field(default_factory=list)
    retryable: bool = True


def plan(items: Sequence[WriteBackItem], *, api_version: str, names: ScoreFieldNames,
         assignment_names: AssignmentFieldNames, owner_field: str | None, assignment_object: str | None,
         collection_size: int) -> list[Subrequest]:
    """The Collections subrequests writing `items`: Lead updates, then assignment upserts, 200 a call."""
    base = f"/services/data/v{api_version}/composite/sobjects"
    leads = [(i, lead_record(item, names, owner_field)) for i, item in enumerate(items)]
    subs: list[Subrequest] = []
    for n, chunk in enumerate(_chunks(leads, collection_size)):
        subs.append(Subrequest(f"leads{n}", "PATCH", base, [r for _, r in chunk], [i for i, _ in chunk], "lead"))
    if assignment_object:
        assignments = [(i, rec) for i, item in enumerate(items)
                       if (rec := assignment_record(item, assignment_names, assignment_object)) is not None]
        url = f"{base}/{assignment_object}/{assignment_names.external_id}"
        for n, chunk in enumerate(_chunks(assignments, collection_size)):
            subs.append(Subrequest(f"assign{n}", "PATCH", url, [r for _, r in chunk], [i for i, _ in chunk],
                                   "assignment"))
    return subs


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def composite_batches(subs: list[Subrequest], composite_size: int) -> Iterator[list[Subrequest]]:
    """Groups of at most `composite_size` subrequests, each group one Composite call."""
    yield from _chunks(subs, composite_size)


class ResultCollector:
    """Folds per-record results of the subrequests into one WriteBackResult per item, in order."""

    def __init__(self, items: Sequence[WriteBackItem]):
        self.items = items
        self.states = [_ItemState() for _ in items]

    def record_results(self, sub: Subrequest, status: int, body: Any) -> None:
        """Apply one subrequest's response: a list of {id, success, errors}, or a whole-call error."""
        if status >= 300 or not isinstance(body, list) or len(body) != len(sub.records):
            codes = [str(e.get("errorCode")) for e in body if isinstance(e, dict)] if isinstance(body, list) else []
            message = (f"{sub.kind} write failed: HTTP {status} "
                       f"{'; '.join(codes) or str(body)[:200]}")
            retryable = status >= 500 or status == 429 or any(c in RETRYABLE_RECORD_ERRORS for c in codes)
            for index in sub.item_indexes:
                self._fail(index, sub.kind, message, retryable)
            return
        for index, result in zip(sub.item_indexes, body):
            if result.get("success"):
                self._ok(index, sub.kind)
                continue
            errors = result.get("errors") or [{"statusCode": "UNKNOWN_EXCEPTION", "message": "no detail"}]
            text = "; ".join(f"{e.get('statusCode')}: {e.get('message')}"
                             + (f" ({', '.join(e['fields'])})" if e.get("fields") else "") for e in errors)
            retryable = all(e.get("statusCode") in RETRYABLE_RECORD_ERRORS for e in errors)
            self._fail(index, sub.kind, f"{sub.kind}: {text}", retryable)

    def fail_all(self, subs: Sequence[Subrequest], message: str, retryable: bool) -> None:
        """Mark every item of subrequests that were never answered (the call failed after retries)."""
        for sub in subs:
            for index in sub.item_indexes:
                self._fail(index, sub.kind, message, retryable)

    def _ok(self, index: int, kind: str) -> None:
        state = self.states[index]
        if kind == "lead":
            state.lead_ok = state.lead_ok is not False
        else:
            state.assignment_ok = state.assignment_ok is not False

    def _fail(self, index: int, kind: str, message: str, retryable: bool) -> None:
        state = self.states[index]
        if kind == "lead":
            state.lead_ok = False
        else:
            state.assignment_ok = False
        state.errors.append(message)
        state.retryable = state.retryable and retryable

    def results(self) -> list[WriteBackResult]:
        out: list[WriteBackResult] = []
        for item, state in zip(self.items, self.states):
            ok = state.lead_ok is True and state.assignment_ok is not False
            if ok:
                out.append(WriteBackResult(item.crm_id, True))
            else:
                error = "; ".join(state.errors) or "not written (no response)"
                out.append(WriteBackResult(item.crm_id, False, error, state.retryable))
        return out
