"""Loan officer licences: which officers may take a lead from a given state on a given date.

A licence is (agent_id, state, license_id and/or nmls_id, expires). It counts on every date up to and
including `expires`; an expired licence, a licence for an unknown state or one without any id or
expiry date does not count (rows with problems are reported in `problems`, never guessed at).

File shapes (YAML or CSV, chosen by the file suffix):
    # YAML: a list of rows, or {licenses: [...]}, or officers with their licences
    - {agent_id: lo-17, state: CA, license_id: CA-DBO-123, nmls_id: "123456", expires: 2027-12-31}
    agents:
      - agent_id: lo-17
        nmls_id: "123456"            # inherited by each licence below
        licenses: [{state: CA, license_id: CA-DBO-123, expires: 2027-12-31}]
    # CSV: a header row with agent_id,state,license_id,nmls_id,expires (licence_id, expiry,
    # expiration, expires_on are accepted spellings)
Routing calls `eligibility_mask(states, agent_ids, on)` as a hard rule.
"""
from __future__ import annotations

from functools import cached_property

import csv
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Iterable, Mapping, Sequence

import numpy as np
import yaml

from compliance.reasons import Reason
from compliance.values import TimestampError, text, timestamp
from config.canonical import US_STATES
from config.errors import ConfigError, Problem

_STATE_NAMES: Final[dict[str, str]] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM",
    "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
    "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR", "GUAM": "GU",
    "VIRGIN ISLANDS": "VI", "AMERICAN SAMOA": "AS", "NORTHERN MARIANA ISLANDS": "MP",
}
STATE_CODES: Final[tuple[str, ...]] = tuple(sorted(US_STATES))
_STATE_INDEX: Final[dict[str, int]] = {code: i for i, code in enumerate(STATE_CODES)}
_MAX_TABLES: Final[int] = 64  # cached state tables per registry (officer sets x days)
_ALIASES: Final[dict[str, str]] = {
    "licence_id": "license_id", "license_number": "license_id", "licence_number": "license_id",
    "license": "license_id", "nmls": "nmls_id", "expiry": "expires", "expiration": "expires",
    "expires_on": "expires", "expiration_date": "expires", "id": "agent_id", "agent": "agent_id",
}


def normalise_state(value: Any) -> tuple[str | None, Reason | None]:
    """A state field -> its two-letter code, or STATE_MISSING / STATE_UNKNOWN. Full names are accepted."""
    raw = text(value)
    if raw is None:
        return None, Reason.STATE_MISSING
    key = " ".join(raw.upper().replace(".", "").split())
    code = _STATE_NAMES.get(key, key)
    return (code, None) if code in US_STATES else (None, Reason.STATE_UNKNOWN)


@dataclass(frozen=True)
class Licence:
    """One state licence of one officer."""

    agent_id: str
    state: str
    expires: date
    license_id: str | None = None
    nmls_id: str | None = None

    def valid_on(self, day: date) -> bool:
        return day <= self.expires


class LicenceRegistry:
    """Licences by officer and state; rows that could not be used are kept in `problems`."""

    def __init__(self, licences: Iterable[Licence], problems: Iterable[Problem] = (), source: str = "licences"):
        self.licences: tuple[Licence, ...] = tuple(licences)
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        # state tables by (officers, day): the scoring API asks for the same one on every call, and
        # building it walks every licence; dropped when `licences` is replaced
        self._tables: dict[tuple[tuple[str, ...], date], np.ndarray] = {}
        self._tables_for: tuple[Licence, ...] = self.licences

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], source: str = "licences") -> "LicenceRegistry":
        """Rows of agent_id, state, license_id/nmls_id, expires; each bad row becomes a Problem."""
        licences: list[Licence] = []
        problems: list[Problem] = []
        for i, record in enumerate(records, start=1):
            licence, problem = _licence(record, f"row {i}")
            if licence is not None:
                licences.append(licence)
            else:
                problems.append(problem)  # type: ignore[arg-type]
        return cls(licences, problems, source)

    @classmethod
    def load(cls, path: str | Path, *, strict: bool = False) -> "LicenceRegistry":
        """Read a YAML or CSV licence file; ConfigError when unreadable, or (strict) when any row is bad."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(str(path), [Problem("", f"cannot read the licence file: {exc.strerror or exc}")]) from None
        if path.suffix.lower() == ".csv":
            rows = [{_key(k): v for k, v in row.items() if k is not None} for row in csv.DictReader(raw.splitlines())]
        elif path.suffix.lower() in (".yaml", ".yml"):
            try:
                rows = _yaml_rows(yaml.safe_load(raw))
            except yaml.YAMLError as exc:
                raise ConfigError(str(path), [Problem("", f"not valid YAML: {exc}")]) from None
            except ValueError as exc:
                raise ConfigError(str(path), [Problem("", str(exc))]) from None
        else:
            raise ConfigError(str(path), [Problem("", "a licence file must end in .yaml, .yml or .csv")])
        registry = cls.from_records(rows, source=str(path))
        if strict and registry.problems:
            raise ConfigError(str(path), list(registry.problems))
        return registry

    @property
    def agent_ids(self) -> tuple[str, ...]:
        return tuple(sorted({lic.agent_id for lic in self.licences}))

    @cached_property
    def digest(self) -> str:
        """sha256 of the licences, recorded with compliance decisions for the audit trail."""
        rows = sorted(json.dumps(asdict(lic), default=str, sort_keys=True) for lic in self.licences)
        return hashlib.sha256("\n".join(rows).encode()).hexdigest()

    def is_licensed(self, agent_id: str, state: str, on: date) -> bool:
        """True when `agent_id` holds a licence for `state` valid on `on`."""
        return any(lic.agent_id == agent_id and lic.state == state and lic.valid_on(on) for lic in self.licences)

    def agents_for(self, state: str, on: date) -> tuple[str, ...]:
        """Officers licensed in `state` on `on`, sorted."""
        return tuple(sorted({lic.agent_id for lic in self.licences if lic.state == state and lic.valid_on(on)}))

    def expiring(self, on: date, within_days: int) -> tuple[Licence, ...]:
        """Licences still valid on `on` that expire within `within_days` (for a renewal reminder)."""
        return tuple(lic for lic in self.licences if lic.valid_on(on) and (lic.expires - on).days <= within_days)

    def state_table(self, agent_ids: Sequence[str], on: date) -> np.ndarray:
        """bool (n_states, n_agents): licensed on `on`; rows follow STATE_CODES."""
        return self._cached_table(agent_ids, on).copy()

    def _cached_table(self, agent_ids: Sequence[str], on: date) -> np.ndarray:
        """state_table, built once per (officers, day) and read-only."""
        if self._tables_for is not self.licences or len(self._tables) >= _MAX_TABLES:
            self._tables, self._tables_for = {}, self.licences
        key = (tuple(agent_ids), on)
        table = self._tables.get(key)
        if table is None:
            table = self._build_table(agent_ids, on)
            table.flags.writeable = False
            self._tables[key] = table
        return table

    def _build_table(self, agent_ids: Sequence[str], on: date) -> np.ndarray:
        column = {a: j for j, a in enumerate(agent_ids)}
        table = np.zeros((len(STATE_CODES), len(agent_ids)), dtype=bool)
        for lic in self.licences:
            j = column.get(lic.agent_id)
            if j is not None and lic.valid_on(on):
                table[_STATE_INDEX[lic.state], j] = True
        return table

    def eligibility_mask(self, states: Sequence[Any], agent_ids: Sequence[str], on: date) -> np.ndarray:
        """bool (n_leads, n_agents): officer j may take lead i; a lead with a bad state gets an all-False row."""
        table = self._cached_table(agent_ids, on)
        rows = np.fromiter((_STATE_INDEX.get(normalise_state(s)[0] or "", -1) for s in states),
                           dtype=np.int64, count=len(states))
        mask = np.zeros((len(rows), len(agent_ids)), dtype=bool)
        known = rows >= 0
        mask[known] = table[rows[known]]
        return mask


    def eligibility_rows(self, states: Sequence[Any], agent_ids: Sequence[str], on: date) -> list[list[bool]]:
        """eligibility_mask(...).tolist(), built row by row: for a few leads numpy's per-call cost dominates."""
        table = self._cached_table(agent_ids, on)
        none = [False] * len(agent_ids)
        rows = []
        for state in states:
            row = _STATE_INDEX.get(normalise_state(state)[0] or "", -1)
            rows.append(table[row].tolist() if row >= 0 else none.copy())
        return rows


def _key(name: str) -> str:
    key = name.strip().lower().replace(" ", "_")
    return _ALIASES.get(key, key)


def _yaml_rows(data: Any) -> list[Mapping[str, Any]]:
    if data is None:
        return []
    if isinstance(data, Mapping):
        if "agents" in data:
            rows: list[Mapping[str, Any]] = []
            for agent in data["agents"] or []:
                if not isinstance(agent, Mapping):
                    raise ValueError("each entry under 'agents' must be a mapping")
                agent = {_key(str(k)): v for k, v in agent.items()}
                for lic in agent.get("licenses") or agent.get("licences") or []:
                    lic = {_key(str(k)): v for k, v in (lic.items() if isinstance(lic, Mapping) else [])}
                    rows.append({"agent_id": agent.get("agent_id"), "nmls_id": agent.get("nmls_id"), **lic})
            return rows
        data = data.get("licenses", data.get("licences"))
        if data is None:
            raise ValueError("expected a list of licences, or a 'licenses' or 'agents' key")
    if not isinstance(data, list):
        raise ValueError("expected a list of licences")
    return [{_key(str(k)): v for k, v in row.items()} if isinstance(row, Mapping) else {"_bad": row} for row in data]


def _licence(record: Mapping[str, Any], where: str) -> tuple[Licence | None, Problem | None]:
    if "_bad" in record:
        return None, Problem(where, "not a mapping of agent_id, state, license_id, expires")
    agent_id = text(record.get("agent_id"))
    if agent_id is None:
        return None, Problem(where, "agent_id is missing")
    state, reason = normalise_state(record.get("state"))
    if state is None:
        what = "missing" if reason is Reason.STATE_MISSING else f"{record.get('state')!r} is not a US state code"
        return None, Problem(where, f"state {what} (agent {agent_id})")
    license_id, nmls_id = text(record.get("license_id")), text(record.get("nmls_id"))
    if license_id is None and nmls_id is None:
        return None, Problem(where, f"agent {agent_id} in {state}: give license_id or nmls_id")
    raw_expiry = record.get("expires")
    try:
        expires_at = raw_expiry if isinstance(raw_expiry, date) else timestamp(raw_expiry)
    except TimestampError:
        return None, Problem(where, f"agent {agent_id} in {state}: expires {raw_expiry!r} is not a date")
    if expires_at is None:
        return None, Problem(where, f"agent {agent_id} in {state}: expires is missing (licences always expire)")
    expires = expires_at if type(expires_at) is date else expires_at.date()  # type: ignore[union-attr]
    return Licence(agent_id, state, expires, license_id, nmls_id), None
