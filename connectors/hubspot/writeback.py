"""What leadpilot writes on a HubSpot contact, as property values, and how a batch answer maps back to items.

Assignment is the `hubspot_owner_id` property plus `assignment_id` (the assignment's external id)
and its reason, written in the same update as the score. A batch update sets values, it creates
nothing, so repeating it after a lost response changes nothing: a retry can never duplicate an
assignment, and HubSpot logs no new property version for an unchanged value.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from connectors.base import WriteBackItem, WriteBackResult
from connectors.hubspot.settings import HubSpotPropertyNames

# Per-record error categories a retry cannot fix.
PERMANENT_CATEGORIES = frozenset({"OBJECT_NOT_FOUND", "VALIDATION_ERROR", "INVALID_OWNER_ID", "PROPERTY_DOESNT_EXIST",
                                  "READ_ONLY_VALUE", "INVALID_OPTION"})
MAX_TEXT = 65_000  # HubSpot's string properties hold 65,536 characters


def _stamp(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"


def _lines(values: Iterable[str]) -> str:
    return "\n".join(str(v) for v in values)[:MAX_TEXT]


def item_properties(item: WriteBackItem, names: HubSpotPropertyNames, owner_property: str,
                    read_hash: str | None) -> dict[str, str]:
    """Property values for one item; fields the item leaves empty are not sent (so never cleared)."""
    values: dict[str, Any] = {
        names.score: item.score,
        names.probability: None if item.probability is None else f"{item.probability:.6f}",
        names.confidence: None if item.confidence is None else f"{item.confidence:.4f}",
        names.model_version: item.model_version,
        names.scored_at: None if item.scored_at is None else _stamp(item.scored_at),
        names.reasons: _lines(item.reasons) if item.reasons else None,
        names.compliance_status: item.compliance_status,
        names.compliance_reasons: _lines(item.compliance_reasons) if item.compliance_reasons else None,
        names.routing_outcome: item.routing_outcome,
        owner_property: item.owner_crm_user_id,
        names.assignment_id: item.assignment_external_id,
        names.assignment_reason: item.assignment_reason,
        names.ab_arm: item.ab_arm,
        names.input_hash: item.input_hash,
        names.read_hash: read_hash,
    }
    return {k: str(v) for k, v in values.items() if v is not None}


def results_from_batch(ids: list[str], response: Any) -> dict[str, WriteBackResult]:
    """One result per id from a batch update answer (200 or 207 multi-status)."""
    results: dict[str, WriteBackResult] = {}
    for obj in getattr(response, "results", None) or []:
        results[str(obj.id)] = WriteBackResult(str(obj.id), True)
    for error in getattr(response, "errors", None) or []:
        context = getattr(error, "context", None) or {}
        category = str(getattr(error, "category", "") or "")
        message = str(getattr(error, "message", "") or category or "failed")
        for crm_id in context.get("ids") or []:
            if crm_id not in results:
                results[str(crm_id)] = WriteBackResult(str(crm_id), False, f"{category}: {message}",
                                                       retryable=category not in PERMANENT_CATEGORIES)
    for crm_id in ids:
        results.setdefault(crm_id, WriteBackResult(crm_id, False, "HubSpot returned no result for this record",
                                                   retryable=True))
    return results
