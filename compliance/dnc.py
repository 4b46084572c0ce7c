"""The Do-Not-Call registry: compact, memory-mapped, looked up in batches, refreshed atomically.

Encoding (4 bytes a number): a ten-digit number is an area code (0..999) and a 7-digit local
number (< 2**24). Each list stores the local numbers as one uint32 array, sorted within area-code
buckets, and an int64 array of 1001 bucket offsets: area code `a` owns `local[offsets[a]:offsets[a+1]]`.
A batch lookup sorts the queries by area code (a radix sort of 16-bit keys) and runs one
`np.searchsorted` per area code present; a bucket of a few ten thousand numbers fits in the CPU cache.
Up to 16 numbers (the scoring API's one lead) are bisected one at a time instead: no array set-up.

Three lists are kept apart so each match has its own reason code: `federal` (the National Registry,
from the FTC's full and change files), `state` (state DNC lists) and `internal` (the company's own
suppression list, including numbers from CRM opt-out fields). `covered` marks the area codes for which
a federal full file was loaded: a number elsewhere cannot be cleared for calls (DNC_NOT_COVERED).

On disk (`registry_dir`):
    CURRENT                    the name of the live version, replaced atomically (os.replace)
    v000042/manifest.json      counts, coverage, applied files (name and sha256), timestamps
    v000042/<list>.local.npy   uint32, opened with np.load(mmap_mode="r")
    v000042/<list>.offsets.npy int64[1001]
A new version is written to a temporary folder, renamed into place, and only then does CURRENT
point at it; readers holding the old version's maps keep working. Older versions beyond
`keep_versions` are removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Iterable, Sequence

import numpy as np

from compliance.dnc_files import (AREA_CODES, DATA_SUFFIXES, REFUSED_SUFFIXES, DncFileError, ParsedFile, parse_file,
                                  sorted_unique)
from compliance.phones import normalise_phone
from compliance.reasons import Reason
from compliance.values import require_aware
from config.errors import LeadpilotError

LIST_NAMES: Final[tuple[str, ...]] = ("federal", "state", "internal")
FORMAT: Final[str] = "leadpilot-dnc/1"
_TEN_DIGITS: Final[np.uint64] = np.uint64(10_000_000_000)
_LOCAL: Final[np.uint64] = np.uint64(10_000_000)
_TEN_DIGITS_INT: Final[int] = 10_000_000_000
_LOCAL_INT: Final[int] = 10_000_000
# up to this many numbers a lookup bisects one number at a time: sorting and segmenting a batch costs
# ~15 numpy calls a list, more than a handful of bisections (the scoring API looks up one lead a call)
_SMALL_QUERY: Final[int] = 16
_VERSION = re.compile(r"^v(\d{6,})$")
_MAX_APPLIED_KEPT: Final[int] = 5000


class DncRegistryError(LeadpilotError):
    """The registry on disk is missing or damaged; run the DNC refresh job or restore the folder."""


class DncRefreshError(LeadpilotError):
    """A refresh was refused; the old registry stays live. Carries every alert."""

    def __init__(self, alerts: Sequence["DncAlert"]):
        self.alerts = list(alerts)
        super().__init__("DNC refresh refused, old registry kept:\n" + "\n".join(str(a) for a in alerts))


class NumberSet:
    """A set of ten-digit numbers in 4 bytes each (area-code buckets of sorted uint32 local numbers)."""

    __slots__ = ("local", "offsets")

    def __init__(self, local: np.ndarray, offsets: np.ndarray):
        if local.dtype != np.uint32 or offsets.dtype != np.int64 or offsets.shape != (AREA_CODES + 1,):
            raise DncRegistryError("DNC list arrays have the wrong type or shape")
        if int(offsets[0]) != 0 or int(offsets[-1]) != local.shape[0]:
            raise DncRegistryError("DNC list offsets do not match its numbers")
        self.local = local
        self.offsets = offsets

    @classmethod
    def empty(cls) -> "NumberSet":
        return cls(np.empty(0, np.uint32), np.zeros(AREA_CODES + 1, np.int64))

    @classmethod
    def from_numbers(cls, numbers: Iterable[int] | np.ndarray) -> "NumberSet":
        """Build from ten-digit integers (duplicates fine); ValueError for anything of more than 10 digits."""
        values = sorted_unique(np.asarray(numbers if isinstance(numbers, np.ndarray) else list(numbers),
                                          dtype=np.uint64))
        if values.size and values[-1] >= _TEN_DIGITS:
            raise ValueError(f"{int(values[-1])} has more than 10 digits")
        areas = (values // _LOCAL).astype(np.int64)
        offsets = np.searchsorted(areas, np.arange(AREA_CODES + 1), side="left").astype(np.int64)
        return cls((values % _LOCAL).astype(np.uint32), offsets)

    def __len__(self) -> int:
        return int(self.local.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.local.nbytes + self.offsets.nbytes)

    def areas(self) -> np.ndarray:
        """Area codes holding at least one number."""
        return np.flatnonzero(np.diff(self.offsets) > 0)

    def to_numbers(self) -> np.ndarray:
        """All numbers as sorted uint64 (for merging; a copy)."""
        areas = np.repeat(np.arange(AREA_CODES, dtype=np.uint64), np.diff(self.offsets))
        return areas * _LOCAL + self.local.astype(np.uint64)

    def contains(self, numbers: np.ndarray | Sequence[int]) -> np.ndarray:
        """A bool mask: which of `numbers` (ten-digit integers) are in the set."""
        query = np.asarray(numbers, dtype=np.uint64)
        if query.shape[0] <= _SMALL_QUERY:
            return self._contains_each(query)
        return self._contains_sorted(query)

    def _contains_each(self, query: np.ndarray) -> np.ndarray:
        """contains() one number at a time: a bisection in its bucket, no array set-up (the API's one lead)."""
        hit = np.zeros(query.shape[0], dtype=bool)
        if not query.size or not len(self):
            return hit
        hit[:] = self.contains_each(query.tolist())
        return hit

    def contains_each(self, numbers: Sequence[int]) -> list[bool]:
        """contains() for a few non-negative Python ints, as a list: a bisection in each one's bucket."""
        if not len(self):
            return [False] * len(numbers)
        local = self.local.view(np.ndarray)  # a memmap's own indexing costs a Python call a probe
        offsets = self.offsets
        hits = []
        for number in numbers:
            hit = False
            if number < _TEN_DIGITS_INT:
                area, key = divmod(number, _LOCAL_INT)
                lo, hi = int(offsets[area]), int(offsets[area + 1])
                if lo < hi:
                    pos = bisect_left(local, key, lo, hi)
                    hit = pos < hi and int(local[pos]) == key
            hits.append(hit)
        return hits

    def _contains_sorted(self, query: np.ndarray) -> np.ndarray:
        """contains() for a batch: queries sorted by area code, one searchsorted per area code present."""
        hit = np.zeros(query.shape[0], dtype=bool)
        if not query.size or not len(self):
            return hit
        in_range = query < _TEN_DIGITS
        area = np.where(in_range, query // _LOCAL, 0).astype(np.uint16)
        local = (query % _LOCAL).astype(np.uint32)
        order = np.argsort(area, kind="stable")  # radix sort for 16-bit keys
        sorted_area = area[order]
        # one segment of queries per area code present in the batch
        starts = np.concatenate(([0], np.flatnonzero(sorted_area[1:] != sorted_area[:-1]) + 1))
        stops = np.append(starts[1:], sorted_area.size)
        for q0, q1 in zip(starts.tolist(), stops.tolist()):
            a = int(sorted_area[q0])
            lo, hi = int(self.offsets[a]), int(self.offsets[a + 1])
            if lo == hi:
                continue
            bucket = self.local[lo:hi]
            idx = order[q0:q1]
            keys = local[idx]
            pos = np.searchsorted(bucket, keys)
            pos[pos == bucket.shape[0]] = bucket.shape[0] - 1
            hit[idx] = bucket[pos] == keys
        hit &= in_range
        return hit


@dataclass(frozen=True)
class DncMatches:
    """Per queried number: on the federal, a state, or the internal list; area code covered by federal data."""

    federal: np.ndarray
    state: np.ndarray
    internal: np.ndarray
    covered: np.ndarray

    @property
    def any(self) -> np.ndarray:
        return self.federal | self.state | self.internal


@dataclass(eq=False)
class DncRegistry:
    """The three DNC lists plus federal area-code coverage; open() maps a stored version read-only."""

    federal: NumberSet
    state: NumberSet
    internal: NumberSet
    covered: np.ndarray  # bool[1000]
    version: str = "memory"
    federal_updated_at: datetime | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_numbers(cls, federal: Iterable[int] | np.ndarray = (), state: Iterable[int] | np.ndarray = (),
                     internal: Iterable[int] | np.ndarray = (), *, covered_areas: Iterable[int] | None = None,
                     federal_updated_at: datetime | None = None, version: str = "memory") -> "DncRegistry":
        """An in-memory registry; coverage defaults to the area codes present in `federal`."""
        fed = NumberSet.from_numbers(federal)
        covered = np.zeros(AREA_CODES, dtype=bool)
        covered[fed.areas() if covered_areas is None else np.fromiter(covered_areas, dtype=np.int64)] = True
        return cls(fed, NumberSet.from_numbers(state), NumberSet.from_numbers(internal), covered, version,
                   federal_updated_at)

    @classmethod
    def open(cls, registry_dir: str | Path) -> "DncRegistry":
        """Map the live version under `registry_dir` read-only; DncRegistryError when none is usable."""
        root = Path(registry_dir)
        version = current_version(root)
        if version is None:
            raise DncRegistryError(f"no DNC registry in {root}: run the DNC refresh job (dnc_refresh) first")
        return _load_version(root / version)

    def lookup(self, numbers: np.ndarray | Sequence[int]) -> DncMatches:
        """Batch lookup of ten-digit integers in all three lists."""
        query = np.asarray(numbers, dtype=np.uint64)
        area = np.minimum(query // _LOCAL, np.uint64(AREA_CODES - 1)).astype(np.int64)
        return DncMatches(self.federal.contains(query), self.state.contains(query),
                          self.internal.contains(query), self.covered[area] & (query < _TEN_DIGITS))

    def lookup_each(self, numbers: Sequence[int]) -> tuple[list[bool], list[bool], list[bool], list[bool]]:
        """lookup() for a few non-negative Python ints, as lists (federal, state, internal, covered), without
        numpy's per-call cost (the scoring API's one lead)."""
        covered = [number < _TEN_DIGITS_INT and bool(self.covered[min(number // _LOCAL_INT, AREA_CODES - 1)])
                   for number in numbers]
        return (self.federal.contains_each(numbers), self.state.contains_each(numbers),
                self.internal.contains_each(numbers), covered)

    def contains(self, numbers: np.ndarray | Sequence[int]) -> np.ndarray:
        """True where a number is on any list."""
        return self.lookup(numbers).any

    @property
    def counts(self) -> dict[str, int]:
        return {"federal": len(self.federal), "state": len(self.state), "internal": len(self.internal)}

    @property
    def nbytes(self) -> int:
        return self.federal.nbytes + self.state.nbytes + self.internal.nbytes + int(self.covered.nbytes)


# ---------------------------------------------------------------- storage


def current_version(registry_dir: str | Path) -> str | None:
    """The live version's folder name, or None when the registry was never built."""
    pointer = Path(registry_dir) / "CURRENT"
    try:
        name = pointer.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DncRegistryError(f"cannot read {pointer}: {exc}") from None
    if not _VERSION.match(name):
        raise DncRegistryError(f"{pointer} names {name[:40]!r}, not a registry version")
    return name


def _load_version(folder: Path) -> DncRegistry:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise DncRegistryError(f"{folder}: unknown registry format {manifest.get('format')!r}")
        lists = {}
        for name in LIST_NAMES:
            local = np.load(folder / f"{name}.local.npy", mmap_mode="r", allow_pickle=False)
            offsets = np.load(folder / f"{name}.offsets.npy", allow_pickle=False)
            lists[name] = NumberSet(local, offsets)
            if len(lists[name]) != manifest["counts"][name]:
                raise DncRegistryError(f"{folder}: {name} list holds {len(lists[name])} numbers, "
                                       f"manifest says {manifest['counts'][name]}")
    except (OSError, ValueError, KeyError) as exc:
        raise DncRegistryError(f"DNC registry version {folder} is damaged ({exc}); run the refresh job") from None
    covered = np.zeros(AREA_CODES, dtype=bool)
    covered[np.asarray(manifest.get("covered_area_codes", []), dtype=np.int64)] = True
    updated = manifest.get("federal_updated_at")
    return DncRegistry(lists["federal"], lists["state"], lists["internal"], covered, folder.name,
                       datetime.fromisoformat(updated) if updated else None, manifest)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_version(root: Path, lists: dict[str, NumberSet], manifest: dict[str, Any], keep_versions: int) -> str:
    root.mkdir(parents=True, exist_ok=True)
    existing = [int(m.group(1)) for p in root.iterdir() if (m := _VERSION.match(p.name))]
    name = f"v{(max(existing) + 1) if existing else 1:06d}"
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for list_name, numbers in lists.items():
        for suffix, array in (("local", numbers.local), ("offsets", numbers.offsets)):
            target = tmp / f"{list_name}.{suffix}.npy"
            with target.open("wb") as fh:
                np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
    manifest = {**manifest, "version": name}
    with (tmp / "manifest.json").open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(tmp)
    os.rename(tmp, root / name)
    pointer_tmp = root / f".CURRENT.{os.getpid()}"
    with pointer_tmp.open("w", encoding="ascii") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / "CURRENT")
    _fsync_dir(root)
    versions = sorted((p for p in root.iterdir() if _VERSION.match(p.name)), key=lambda p: p.name)
    for old in versions[:-max(keep_versions, 1)]:
        # readers that still map an old version keep their open files; Linux frees them on close
        shutil.rmtree(old, ignore_errors=True)
    return name


def save(registry: DncRegistry, registry_dir: str | Path, *, now: datetime, keep_versions: int = 3) -> str:
    """Store an in-memory registry as the live version (tests, first install); returns the version name."""
    now = require_aware(now)
    manifest = _manifest(registry, now=now, applied=[])
    return _write_version(Path(registry_dir), _lists(registry), manifest, keep_versions)


def _lists(registry: DncRegistry) -> dict[str, NumberSet]:
    return {"federal": registry.federal, "state": registry.state, "internal": registry.internal}


def _manifest(registry: DncRegistry, *, now: datetime, applied: list[dict[str, Any]],
              sources_digest: str = "") -> dict[str, Any]:
    updated = registry.federal_updated_at or now
    return {
        "format": FORMAT,
        "built_at": now.isoformat(),
        "federal_updated_at": updated.isoformat(),
        "counts": registry.counts,
        "bytes": registry.nbytes,
        "covered_area_codes": np.flatnonzero(registry.covered).tolist(),
        "applied": applied[-_MAX_APPLIED_KEPT:],
        "sources_digest": sources_digest,
    }


# ---------------------------------------------------------------- refresh


@dataclass(frozen=True)
class DncAlert:
    """Why a refresh was refused: the file and line (when known) and what is wrong."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.message}" if self.line is not None else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: `ok` with the live `version`, or the `alerts` that kept the old one."""

    ok: bool
    changed: bool
    version: str | None
    previous_version: str | None
    counts: dict[str, int]
    applied: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    internal_invalid: int = 0
    alerts: tuple[DncAlert, ...] = ()

    def raise_for_alerts(self) -> None:
        """Raise DncRefreshError when the refresh was refused."""
        if not self.ok:
            raise DncRefreshError(self.alerts)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _drop_files(drop_dir: Path) -> tuple[list[Path], list[Path], list[DncAlert]]:
    """(full files, change files) sorted by name, files ignored, alerts for refused files."""
    if not drop_dir.exists():
        return [], [], []
    files = sorted(p for p in drop_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    data, ignored, alerts = [], [], []
    for path in files:
        suffix = path.suffix.lower()
        if suffix in REFUSED_SUFFIXES:
            alerts.append(DncAlert(path.name, None, f"{suffix} files are not read: unpack it or download flat text"))
        elif suffix in DATA_SUFFIXES:
            data.append(path)
        else:
            ignored.append(path)  # README, .part downloads in progress, ...
    return data, ignored, alerts


def refresh(drop_dir: str | Path, registry_dir: str | Path, *, now: datetime,
            state_lists: Sequence[str | Path] = (), internal_files: Sequence[str | Path] = (),
            internal_numbers: Iterable[Any] = (), min_numbers: int = 0, max_shrink: float = 0.2,
            keep_versions: int = 3) -> RefreshResult:
    """Validate the delivery files in `drop_dir` and the state/internal lists, then swap in a new version.

    Federal full files replace the area codes they cover, then change files add and delete, in name
    order, on top of the live version. Files already applied (same name and sha256) are skipped, so
    running the job again is harmless. State and internal lists are rebuilt from `state_lists`,
    `internal_files` and `internal_numbers` (raw CRM opt-out phones; invalid ones are counted, not
    stored). Refused, with the old registry kept: any unreadable, empty, truncated or corrupt file; a
    federal list smaller than `min_numbers`; a federal list that shrank by more than `max_shrink`
    (a share) against the live one.
    """
    now = require_aware(now)
    root, drop = Path(registry_dir), Path(drop_dir)
    alerts: list[DncAlert] = []
    previous_name = current_version(root)
    previous = _load_version(root / previous_name) if previous_name else None
    prior_counts = previous.counts if previous else {n: 0 for n in LIST_NAMES}

    data_files, ignored, drop_alerts = _drop_files(drop)
    alerts.extend(drop_alerts)
    already = {(a["name"], a["sha256"]) for a in (previous.manifest.get("applied", []) if previous else [])}
    fresh: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for path in data_files:
        digest = _sha256(path)
        if (path.name, digest) in already:
            skipped.append(path.name)
        else:
            fresh.append((path, digest))

    parsed: list[tuple[ParsedFile, str]] = []
    for path, digest in fresh:
        try:
            parsed.append((parse_file(path), digest))
        except DncFileError as exc:
            alerts.append(DncAlert(exc.file, exc.line, exc.detail))

    state_parts, internal_parts = [], []
    for target, paths in ((state_parts, state_lists), (internal_parts, internal_files)):
        for path in paths:
            try:
                target.append(parse_file(Path(path), kind="full", federal=False).adds)
            except DncFileError as exc:
                alerts.append(DncAlert(exc.file, exc.line, exc.detail))
    internal_invalid = 0
    opt_outs: list[int] = []
    for value in internal_numbers:
        phone = normalise_phone(value)
        if phone.number is None:
            internal_invalid += int(phone.reason is Reason.PHONE_INVALID)
        else:
            opt_outs.append(phone.number)
    internal_parts.append(np.asarray(opt_outs, dtype=np.uint64))

    if alerts:
        return RefreshResult(False, False, previous_name, previous_name, prior_counts, skipped=tuple(skipped),
                             ignored=tuple(p.name for p in ignored), internal_invalid=internal_invalid,
                             alerts=tuple(alerts))

    federal = previous.federal.to_numbers() if previous else np.empty(0, np.uint64)
    covered = previous.covered.copy() if previous else np.zeros(AREA_CODES, dtype=bool)
    fulls = [(p, d) for p, d in parsed if p.kind == "full"]
    changes = [(p, d) for p, d in parsed if p.kind == "change"]
    if fulls:
        # one merge for all full files (not one per file: the real registry has ~250M numbers); when two
        # files cover the same area code, the later name (newer download) wins
        claimed = np.zeros(AREA_CODES, dtype=bool)
        pieces: list[np.ndarray] = []
        for part, _ in reversed(fulls):
            part_areas = (part.adds // _LOCAL).astype(np.int64)
            pieces.append(part.adds[~claimed[part_areas]])
            claimed[part.areas] = True
        keep = ~claimed[(federal // _LOCAL).astype(np.int64)]
        federal = sorted_unique(np.concatenate([federal[keep], *pieces]))
        covered |= claimed
    for part, _ in changes:
        federal = sorted_unique(np.concatenate([federal[~_member(federal, part.deletes)], part.adds]))
    federal_set = NumberSet.from_numbers(federal)

    if len(federal_set) < min_numbers:
        alerts.append(DncAlert("federal registry", None, f"would hold {len(federal_set)} numbers, fewer than "
                                                         f"compliance.dnc.min_numbers={min_numbers}"))
    if previous and len(previous.federal) and len(federal_set) < (1.0 - max_shrink) * len(previous.federal):
        alerts.append(DncAlert("federal registry", None,
                               f"would shrink from {len(previous.federal)} to {len(federal_set)} numbers "
                               f"(more than max_shrink={max_shrink:.0%}); check the drop for missing files"))
    if alerts:
        return RefreshResult(False, False, previous_name, previous_name, prior_counts, skipped=tuple(skipped),
                             ignored=tuple(p.name for p in ignored), internal_invalid=internal_invalid,
                             alerts=tuple(alerts))

    state_set = NumberSet.from_numbers(np.concatenate(state_parts) if state_parts else np.empty(0, np.uint64))
    internal_set = NumberSet.from_numbers(np.concatenate(internal_parts))
    sources_digest = _digest_arrays(state_set, internal_set)
    if previous and not parsed and previous.manifest.get("sources_digest") == sources_digest:
        return RefreshResult(True, False, previous_name, previous_name, prior_counts, skipped=tuple(skipped),
                             ignored=tuple(p.name for p in ignored), internal_invalid=internal_invalid)

    federal_updated = now if parsed else (previous.federal_updated_at if previous else now)
    registry = DncRegistry(federal_set, state_set, internal_set, covered, federal_updated_at=federal_updated)
    applied = list(previous.manifest.get("applied", [])) if previous else []
    applied += [{"name": p.name, "sha256": d, "kind": p.kind, "adds": int(p.adds.size),
                 "deletes": int(p.deletes.size), "applied_at": now.isoformat()} for p, d in fulls + changes]
    manifest = _manifest(registry, now=now, applied=applied, sources_digest=sources_digest)
    name = _write_version(root, _lists(registry), manifest, keep_versions)
    return RefreshResult(True, True, name, previous_name, registry.counts,
                         applied=tuple(p.name for p, _ in fulls + changes), skipped=tuple(skipped),
                         ignored=tuple(p.name for p in ignored), internal_invalid=internal_invalid)


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """bool per value: present in `sorted_set` (sorted, unique)."""
    if not sorted_set.size:
        return np.zeros(values.shape[0], dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[pos] == values


def _digest_arrays(*sets: NumberSet) -> str:
    digest = hashlib.sha256()
    for numbers in sets:
        digest.update(np.ascontiguousarray(numbers.local).tobytes())
        digest.update(np.ascontiguousarray(numbers.offsets).tobytes())
    return digest.hexdigest()
