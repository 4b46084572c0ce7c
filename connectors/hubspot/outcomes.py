"""Conversion outcomes of HubSpot contacts from their lifecycle stage and their associated deals.

A contact counts as converted once its lifecycle stage reaches one of `converted_stages`
(opportunity: the application; customer: the funded loan) or a deal of it is closed won. It is won
when a deal is closed won or the stage is one of `won_stages`; lost when every associated deal is
closed lost; otherwise undecided (None). The value is the sum of the closed-won deals' amounts.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from connectors.base import Outcome
from connectors.hubspot.search import Hit, from_ms
from connectors.mapping import parse_datetime

Properties = Mapping[str, str | None]


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _amount(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def outcome_for(contact: Hit, deals: Sequence[Properties], converted_stages: Sequence[str],
                won_stages: Sequence[str]) -> Outcome:
    """The outcome of one contact given the properties of its associated deals."""
    stage = (contact.properties.get("lifecyclestage") or "").lower()
    won_deals = [d for d in deals if (d.get("hs_is_closed_won") or "").lower() == "true"
                 or d.get("dealstage") == "closedwon"]
    lost = bool(deals) and all(d.get("dealstage") == "closedlost" for d in deals)
    won: bool | None = True if (won_deals or stage in won_stages) else (False if lost else None)
    converted = stage in converted_stages or bool(won_deals)
    stamps = [_time(contact.properties.get(f"hs_lifecyclestage_{s}_date")) for s in converted_stages]
    stamps += [_time(d.get("closedate")) for d in won_deals]
    known = [s for s in stamps if s is not None]
    amounts = [a for a in (_amount(d.get("amount")) for d in won_deals) if a is not None]
    return Outcome(
        crm_id=contact.id,
        converted=converted,
        converted_at=min(known) if converted and known else None,
        conversion_value=sum(amounts) if amounts else None,
        won=won,
        modified_at=from_ms(contact.modified_ms),
    )
