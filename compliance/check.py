"""The per-batch compliance decision: every lead in, one ComplianceResult out, in the same order.

    results = check_leads(leads, now=now, config=cfg.compliance, dnc=registry, licences=licences)

A lead is `compliant` when it may be routed to a calling officer: the call channel is allowed (valid
phone, valid TCPA consent, on no DNC list, covered by fresh federal DNC data, no CRM do-not-call flag)
and nothing blocks routing (a known state with at least one officer licensed there today, when a
licence registry is given). A lead that fails is never dropped: it keeps its allowed channels (email
only, say) and every reason code (see compliance.reasons for the table). `input_hash` is the sha256 of
the canonical JSON of everything the decision used (lead fields, `now`, the rule set and config, the DNC
version, the licences), so the audit trail can show a decision was made on exactly those inputs;
`lead_hash` covers the lead fields alone, to tell whether a lead changed.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final, Sequence

import numpy as np
import pandas as pd

from compliance.columns import boxed, column_arrays, native_values, object_columns
from compliance.consent import CONSENT_FIELDS, check_consent, check_email
from compliance.dnc import DncRegistry
from compliance.licensing import LicenceRegistry, normalise_state
from compliance.phones import PhoneBatch, normalise_phones
from compliance.quality import FIELD_GROUPS, assess_arrays, filled_items, filled_list, lead_shares, share_reasons
from compliance.reasons import Channel, Reason, allowed_channels, blocks_routing
from compliance.values import BLANK_WORDS, flag, is_blank, require_aware, text
from config.sections.compliance import ComplianceConfig

# every lead field a decision reads; these (and nothing else) go into the hashes
USED_FIELDS: Final[tuple[str, ...]] = tuple(dict.fromkeys(
    ("lead_id", "crm_id", "phone", "email", "email_opt_out", "do_not_call", "state", *CONSENT_FIELDS,
     *(f for fields in FIELD_GROUPS.values() for f in fields))
))
# up to this many rows check_leads reads values one by one in Python (the scoring API's one lead, the
# daemon's small batches); above it, column-wise with numpy, whose per-call cost is then amortised
SMALL_BATCH: Final[int] = 64
_QUALITY_FIELDS: Final[tuple[str, ...]] = tuple(f for fields in FIELD_GROUPS.values() for f in fields)
_SORTED_FIELDS: Final[tuple[str, ...]] = tuple(sorted(USED_FIELDS))
_RULE_SECTIONS: Final[frozenset[str]] = frozenset({"rule_set_version", "consent", "dnc", "data_quality"})
# _context_key -> the decision context's canonical JSON before and after `now` (see context_hash_of)
_CONTEXT_TEXT: dict[tuple[Any, ...], tuple[str, str]] = {}
# json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds this encoder, and its
# encode() the C encoder below, on every call: a few us each, and a decision encodes several values
_ENCODER: Final[json.JSONEncoder] = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# the C encoder JSONEncoder.encode makes for those options; markers None: _jsonable's output has no cycles
_C_ENCODE: Final[Any] = (None if json.encoder.c_make_encoder is None else json.encoder.c_make_encoder(
    None, None, json.encoder.encode_basestring, None, ":", ",", True, False, True))


def _encode(value: Any) -> str:
    """json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for acyclic JSON values."""
    if _C_ENCODE is None:  # a Python built without the json accelerator
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


@dataclass(frozen=True)
class ComplianceResult:
    """The compliance decision for one lead, as written back to the CRM and kept in the audit trail."""

    row: int
    lead_id: str | None
    compliant: bool
    allowed_channels: tuple[Channel, ...]
    reasons: tuple[Reason, ...]
    rule_set_version: str
    input_hash: str
    lead_hash: str
    checked_at: datetime
    phone: int | None = None
    state: str | None = None
    eligible_agents: tuple[str, ...] = ()
    consent_age_days: float | None = None
    quality: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """CRM status: COMPLIANT, EMAIL_ONLY (no calls or texts, email allowed) or BLOCKED."""
        if self.compliant:
            return "COMPLIANT"
        return "EMAIL_ONLY" if "email" in self.allowed_channels else "BLOCKED"

    @property
    def reason_text(self) -> str:
        """The reason codes as one CRM field value ("CONSENT_EXPIRED;DNC_FEDERAL")."""
        return ";".join(r.value for r in self.reasons)


def _jsonable(value: Any) -> Any:
    kind = type(value)
    # the common exact types first, with the answers the general path below gives them
    if kind is str:
        return None if value.strip().lower() in BLANK_WORDS else value
    if kind is bool or kind is int or value is None:
        return value
    if kind is float:
        # 700.0 (a number column with a gap reads as floats) and 700 are one input: hash them alike
        return (int(value) if value.is_integer() else value) if math.isfinite(value) else None
    if is_blank(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _jsonable(float(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, blanks as null, timestamps in ISO 8601: the same inputs give the same text."""
    return _encode(_jsonable(value))


def sha256_hex(value: Any) -> str:
    """sha256 of canonical_json(value)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def lead_hash_of(record: dict[str, Any]) -> str:
    """sha256_hex(record) for a record of exactly USED_FIELDS, without the general recursion per value."""
    plain: dict[str, Any] = {}
    for name in _SORTED_FIELDS:  # already in the encoder's order, so its sort finds nothing to move
        value = record[name]
        kind = type(value)
        # _jsonable's answers for the exact types a lead frame holds, inline; the rest go through it
        if kind is str:
            plain[name] = None if value.strip().lower() in BLANK_WORDS else value
        elif value is None or kind is bool or kind is int:
            plain[name] = value
        elif kind is datetime:
            plain[name] = value.isoformat()
        else:
            plain[name] = _jsonable(value)
    return hashlib.sha256(_encode(plain).encode("utf-8")).hexdigest()


def decision_context(now: datetime, config: ComplianceConfig, dnc: DncRegistry | None,
                     licences: LicenceRegistry | None, agents: Sequence[str]) -> dict[str, Any]:
    """Everything a batch's decisions used besides the lead fields; input_hash covers its sha256_hex."""
    return {
        "now": now,
        "rule_set_version": config.rule_set_version,
        "rules": config.model_dump(mode="json", include=_RULE_SECTIONS),
        "dnc": None if dnc is None else {"version": dnc.version, "federal_updated_at": dnc.federal_updated_at},
        "licences": None if licences is None else {"digest": licences.digest, "agents": list(agents)},
    }


def context_hash_of(now: datetime, config: ComplianceConfig, dnc: DncRegistry | None,
                    licences: LicenceRegistry | None, agents: Sequence[str]) -> str:
    """sha256_hex(decision_context(...)); the text around `now` is encoded once per rule set, DNC version
    and officer set (encoding the rules is most of a one-lead call's hashing)."""
    rules = config.model_dump(mode="json", include=_RULE_SECTIONS)
    key = _context_key(rules, config, dnc, licences, agents)
    parts = None if key is None else _CONTEXT_TEXT.get(key)
    if parts is None:
        context = decision_context(now, config, dnc, licences, agents)
        # canonical_json(context) written out: keys in sorted order, each value encoded on its own
        parts = (f'{{"dnc":{canonical_json(context["dnc"])},"licences":{canonical_json(context["licences"])},"now":',
                 f',"rule_set_version":{canonical_json(context["rule_set_version"])},'
                 f'"rules":{canonical_json(context["rules"])}}}')
        if key is not None:
            if len(_CONTEXT_TEXT) >= 32:  # a process sees a handful of rule sets and registries: stay bounded
                _CONTEXT_TEXT.clear()
            _CONTEXT_TEXT[key] = parts
    text = f"{parts[0]}{canonical_json(now)}{parts[1]}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _context_key(rules: dict[str, Any], config: ComplianceConfig, dnc: DncRegistry | None,
                 licences: LicenceRegistry | None, agents: Sequence[str]) -> tuple[Any, ...] | None:
    """A key that tells apart every context text but `now`; None (no caching) for values of unusual types,
    whose equality might not follow their text (1 == True, one instant in two time zones)."""
    version = None if dnc is None else dnc.version
    updated = None if dnc is None else dnc.federal_updated_at
    rule_set = config.rule_set_version
    if (type(rule_set) is not str or (version is not None and type(version) is not str)
            or (updated is not None and type(updated) is not datetime)
            or not all(type(a) is str for a in agents)):
        return None
    return (_encode(rules),  # JSON values only (mode="json"): the raw text tells rule sets apart exactly
            rule_set, dnc is None, version, None if updated is None else updated.isoformat(),
            None if licences is None else licences.digest, tuple(agents))


def _dnc_reasons(dnc: DncRegistry | None, phones: PhoneBatch, *, now: datetime,
                 config: ComplianceConfig) -> list[list[Reason]]:
    n = len(phones.results)
    reasons: list[list[Reason]] = [[] for _ in range(n)]
    rows = [i for i, phone in enumerate(phones.results) if phone.number is not None]  # numbers != 0
    if dnc is None:
        for i in rows:
            reasons[i].append(Reason.DNC_REGISTRY_MISSING)
        return reasons
    max_age = config.dnc.max_age_days
    stale = bool(max_age) and (dnc.federal_updated_at is None
                               or now - require_aware(dnc.federal_updated_at) > timedelta(days=max_age))
    if n <= SMALL_BATCH:  # the valid rows' numbers only, in Python: (federal[k], ...) answer for rows[k]
        numbers = [phones.results[i].number or 0 for i in rows]
        federal, state, internal, covered = (_spread(rows, flags, n) for flags in dnc.lookup_each(numbers))
    else:
        matches = dnc.lookup(phones.numbers)
        federal, state, internal = matches.federal.tolist(), matches.state.tolist(), matches.internal.tolist()
        covered = matches.covered.tolist()
    for i in rows:
        if federal[i]:
            reasons[i].append(Reason.DNC_FEDERAL)
        elif config.dnc.require_coverage and not covered[i]:
            reasons[i].append(Reason.DNC_NOT_COVERED)
        if state[i]:
            reasons[i].append(Reason.DNC_STATE)
        if internal[i]:
            reasons[i].append(Reason.DNC_INTERNAL)
        if stale:
            reasons[i].append(Reason.DNC_REGISTRY_STALE)
    return reasons


def _spread(rows: Sequence[int], values: Sequence[bool], n: int) -> list[bool]:
    """values[k] at position rows[k] of n, False elsewhere."""
    spread = [False] * n
    for i, value in zip(rows, values):
        spread[i] = value
    return spread


def check_leads(leads: pd.DataFrame, *, now: datetime, config: ComplianceConfig, dnc: DncRegistry | None,
                licences: LicenceRegistry | None, agent_ids: Sequence[str] | None = None) -> list[ComplianceResult]:
    """One result per input row, in input order. `agent_ids` limits licensing to these officers
    (default: every officer in `licences`); with `licences=None` licensing is not checked here."""
    now = require_aware(now)
    n = len(leads)
    if n <= SMALL_BATCH:
        columns, shares, quality_reasons = _read_small(leads, n, config)
    else:
        columns, shares, quality_reasons = _read_large(leads, n, config)
    absent: list[Any] = [None] * n
    records: list[dict[str, Any]] = [dict(zip(USED_FIELDS, row))
                                     for row in zip(*(columns.get(f, absent) for f in USED_FIELDS))]
    phones = normalise_phones(columns.get("phone", absent))
    dnc_reasons = _dnc_reasons(dnc, phones, now=now, config=config)
    states = [normalise_state(v) for v in columns.get("state", absent)]

    agents = tuple(agent_ids) if agent_ids is not None else (licences.agent_ids if licences else ())
    eligible = ([] if licences is None else
                licences.eligibility_rows([s for s, _ in states], agents, now.date()) if n <= SMALL_BATCH else
                licences.eligibility_mask([s for s, _ in states], agents, now.date()).tolist())
    context_hash = context_hash_of(now, config, dnc, licences, agents)

    results: list[ComplianceResult] = []
    for i, record in enumerate(records):
        reasons: list[Reason] = []
        phone = phones.results[i]
        if phone.reason is not None:
            reasons.append(phone.reason)
        consent = check_consent(record, now=now, config=config.consent)
        reasons.extend(consent.reasons)
        if flag(record.get("do_not_call")):
            reasons.append(Reason.CRM_DO_NOT_CALL)
        reasons.extend(dnc_reasons[i])
        reasons.extend(check_email(record))
        state, state_reason = states[i]
        eligible_agents: tuple[str, ...] = ()
        if state_reason is not None:
            reasons.append(state_reason)
        elif licences is not None:
            eligible_agents = tuple(a for a, ok in zip(agents, eligible[i]) if ok)
            if not eligible_agents:
                reasons.append(Reason.NO_LICENSED_AGENT)
        reasons.extend(quality_reasons[i])
        reasons = list(dict.fromkeys(reasons))
        channels = allowed_channels(reasons)
        lead_hash = lead_hash_of(record)  # the record holds exactly USED_FIELDS, None where absent
        results.append(ComplianceResult(
            row=i,
            lead_id=text(record.get("lead_id")) or text(record.get("crm_id")),
            compliant="call" in channels and not blocks_routing(reasons),
            allowed_channels=channels,
            reasons=tuple(reasons),
            rule_set_version=config.rule_set_version,
            input_hash=hashlib.sha256(f"{context_hash}:{lead_hash}".encode()).hexdigest(),
            lead_hash=lead_hash,
            checked_at=now,
            phone=phone.number,
            state=state,
            eligible_agents=eligible_agents,
            consent_age_days=consent.age_days,
            quality={g: shares[g][i] for g in FIELD_GROUPS},
        ))
    return results


_Inputs = tuple[dict[str, list[Any]], dict[str, list[float]], list[tuple[Reason, ...]]]


def _read_small(leads: pd.DataFrame, n: int, config: ComplianceConfig) -> _Inputs:
    """_read_large's answers for a few rows, read value by value (no numpy or pandas call per column)."""
    raw = object_columns(leads, USED_FIELDS)
    if raw is not None:  # one object block: the frame daemon.pipeline builds for a small batch
        columns = {name: boxed(items) for name, items in raw.items()}
        fills = {f: filled_items(raw[f]) for f in _QUALITY_FIELDS if f in raw}
    else:
        arrays = column_arrays(leads, USED_FIELDS)
        columns = {name: native_values(values) for name, values in arrays.items()}
        fills = {f: filled_list(arrays[f]) for f in _QUALITY_FIELDS if f in arrays}
    shares = lead_shares(fills, n)
    return columns, shares, share_reasons(shares, n, config.data_quality)


def _read_large(leads: pd.DataFrame, n: int, config: ComplianceConfig) -> _Inputs:
    """Each used column's values (as to_dict("records") gives them), per-lead quality shares and reasons."""
    # the used columns once each (no Series, no per-row dicts of unused columns)
    arrays = column_arrays(leads, USED_FIELDS)
    columns = {name: native_values(values) for name, values in arrays.items()}
    quality = assess_arrays(arrays, n, leads.index, config.data_quality)  # USED_FIELDS covers FIELD_GROUPS
    shares = {g: quality.shares[g].tolist() for g in FIELD_GROUPS}
    return columns, shares, quality.lead_reasons(config.data_quality)


def results_frame(results: Sequence[ComplianceResult]) -> pd.DataFrame:
    """The results as a DataFrame (one row per lead, input order) for write-back and the audit table."""
    return pd.DataFrame({
        "row": [r.row for r in results],
        "lead_id": [r.lead_id for r in results],
        "compliant": [r.compliant for r in results],
        "status": [r.status for r in results],
        "allowed_channels": [",".join(r.allowed_channels) for r in results],
        "can_call": ["call" in r.allowed_channels for r in results],
        "can_text": ["text" in r.allowed_channels for r in results],
        "can_email": ["email" in r.allowed_channels for r in results],
        "reasons": [r.reason_text for r in results],
        "rule_set_version": [r.rule_set_version for r in results],
        "input_hash": [r.input_hash for r in results],
        "lead_hash": [r.lead_hash for r in results],
        "checked_at": [r.checked_at for r in results],
        "n_eligible_agents": [len(r.eligible_agents) for r in results],
    })


__all__ = ["ComplianceResult", "SMALL_BATCH", "USED_FIELDS", "canonical_json", "check_leads", "context_hash_of",
           "decision_context", "lead_hash_of",
           "results_frame", "sha256_hex"]
