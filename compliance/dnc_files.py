"""Parse Do-Not-Call delivery files (federal full and change files, state lists, suppression lists).

The FTC delivers, per subscribed area code (or for the whole registry), a *full* file of every
registered number and *change* files of numbers added or deleted since the last download, as flat
text. Layouts vary between downloads and vendors, so the parser is tolerant but never guesses:

- one record per line; blank lines and lines starting with '#' are skipped; a first line without any
  phone number but with letters is a header and skipped;
- fields are separated by ',', ';', '|' or tabs; the number is a 10-digit field ("2015550123"), an
  11-digit field starting with 1, or an area-code field followed by a 7-digit field ("201,5550123");
- a change record also carries a flag: A/ADD/ADDED/I/INSERT/NEW/+ adds, D/DEL/DELETE/DELETED/R/REMOVE/-
  deletes; date or time fields (e.g. the change date) are ignored; any other field is an error;
- a file whose name contains "change", "chg" or "delta" is a change file, any other is a full file.
  A full file may not carry delete flags. A full file whose name holds exactly one 3-digit group
  ("201.txt", "dnc_201_full.txt") covers that area code and every number in it must belong to it;
  otherwise it covers the area codes it contains.
- XML downloads and compressed archives are refused: unpack them, or download the flat text format.

Any bad line stops the parse with DncFileError naming the file and line, so that a truncated or
corrupt download never replaces a good registry. Files of one number per line ("NNNNNNNNNN\\n" or
"NNN,NNNNNNN\\n", LF or CRLF) take a vectorised path; others are read line by line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np

from compliance.phones import normalise_phone
from config.errors import BadInputError

FileKind = Literal["full", "change"]

_CHANGE_NAME = re.compile(r"change|chg|delta", re.IGNORECASE)
_AREA_IN_NAME = re.compile(r"(?<!\d)(\d{3})(?!\d)")
_SEPARATORS = re.compile(r"[,;|\t]")
_DATE_LIKE = re.compile(r"^[\d/\-:. TZ]+$")
_ADD: Final[frozenset[str]] = frozenset({"a", "add", "added", "i", "ins", "insert", "new", "+"})
_DELETE: Final[frozenset[str]] = frozenset({"d", "del", "delete", "deleted", "r", "rem", "remove", "removed", "-"})
DATA_SUFFIXES: Final[frozenset[str]] = frozenset({".txt", ".csv", ".dat", ""})
REFUSED_SUFFIXES: Final[frozenset[str]] = frozenset({".zip", ".gz", ".xml", ".7z", ".bz2"})
AREA_CODES: Final[int] = 1000
_CHUNK_ROWS: Final[int] = 4_000_000
_POW10 = np.array([10 ** (9 - i) for i in range(10)], dtype=np.uint64)


class DncFileError(BadInputError):
    """A DNC file that cannot be used; names the file and line so an admin can fetch it again."""

    def __init__(self, file: str, line: int | None, message: str):
        self.file = file
        self.line = line
        self.detail = message
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ParsedFile:
    """One delivery file: numbers to add, numbers to delete (change files), area codes it covers."""

    name: str
    kind: FileKind
    adds: np.ndarray  # uint64, sorted, unique
    deletes: np.ndarray  # uint64, sorted, unique; empty for full files
    areas: np.ndarray  # int64 area codes this file covers (full files); empty for change files
    lines: int


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values. np.unique is ~15x slower on 10M uint64 in NumPy 2.4 (hash path), so sort + mask."""
    ordered = np.sort(values, kind="stable" if values.dtype.itemsize <= 2 else "quicksort")
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def file_kind(path: Path) -> FileKind:
    """A change file by name ("change", "chg", "delta"), else a full file."""
    return "change" if _CHANGE_NAME.search(path.name) else "full"


def declared_area(path: Path) -> int | None:
    """The area code a full file's name declares ("dnc_201.txt" -> 201), when it names exactly one."""
    groups = _AREA_IN_NAME.findall(path.stem)
    return int(groups[0]) if len(groups) == 1 else None


def parse_file(path: str | Path, kind: FileKind | None = None, *, federal: bool = True) -> ParsedFile:
    """Read one delivery file; raise DncFileError naming the file and line on the first problem.

    `federal=False` reads a state or internal list: formatted numbers ("(201) 555-0123") are also
    accepted, and the file grants no federal area-code coverage.
    """
    path = Path(path)
    kind = kind or file_kind(path)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise DncFileError(path.name, None, f"{suffix} files are not read: unpack it or download the flat text format")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DncFileError(path.name, None, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise DncFileError(path.name, None, "empty file (a failed or interrupted download?)")
    numbers = _parse_fixed_width(path, size) if kind == "full" else None
    if numbers is not None:
        adds, deletes, lines = numbers, np.empty(0, np.uint64), int(numbers.size)
    else:
        adds, deletes, lines = _parse_lines(path, kind, formatted_ok=not federal)
    if adds.size == 0 and deletes.size == 0:
        raise DncFileError(path.name, None, "no phone numbers in the file")
    adds = sorted_unique(adds)
    deletes = sorted_unique(deletes)
    areas = np.empty(0, np.int64)
    if kind == "full" and federal:
        areas = sorted_unique(adds // np.uint64(10_000_000)).astype(np.int64)
        declared = declared_area(path)
        if declared is not None:
            if areas.size and not (areas.size == 1 and areas[0] == declared):
                stray = int(next(a for a in areas if a != declared))
                raise DncFileError(path.name, _first_line_with_area(path, stray),
                                   f"holds numbers of area code {stray:03d}, but its name says {declared:03d}")
            areas = np.array([declared], np.int64)
    return ParsedFile(path.name, kind, adds, deletes, areas, lines)


def _parse_fixed_width(path: Path, size: int) -> np.ndarray | None:
    """Vectorised read of "NNNNNNNNNN" or "NNN,NNNNNNN" lines (LF or CRLF); None when the file is not that."""
    with path.open("rb") as fh:
        head = fh.read(16)
    for width, comma, crlf in ((11, False, False), (12, False, True), (12, True, False), (13, True, True)):
        if size % width or len(head) < width:
            continue
        row = head[:width]
        if row[-1:] != b"\n" or (crlf and row[-2:-1] != b"\r") or (comma and row[3:4] != b","):
            continue
        digit_cols = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10] if comma else list(range(10))
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        rows = raw.reshape(-1, width)
        out = np.empty(rows.shape[0], np.uint64)
        for start in range(0, rows.shape[0], _CHUNK_ROWS):
            block = rows[start:start + _CHUNK_ROWS]
            if np.any(block[:, width - 1] != 10) or (crlf and np.any(block[:, width - 2] != 13)) \
                    or (comma and np.any(block[:, 3] != 44)):
                return None  # not uniform: the line reader finds and names the bad line
            digits = block[:, digit_cols] - np.uint8(48)  # wraps below '0', so one test catches both sides
            if np.any(digits > 9):
                return None
            out[start:start + block.shape[0]] = digits.astype(np.uint64) @ _POW10
        del rows, raw
        return out
    return None


def parse_record(line: str) -> tuple[int, bool | None]:
    """One record -> (10-digit number, True add / False delete / None no flag); ValueError says why not."""
    fields = [f.strip().strip('"').strip() for f in _SEPARATORS.split(line)]
    number: int | None = None
    action: bool | None = None
    i = 0
    while i < len(fields):
        field = fields[i]
        low = field.lower()
        if field.isdigit() and len(field) in (10, 11) and number is None:
            if len(field) == 11 and field[0] != "1":
                raise ValueError(f"{field!r} has 11 digits and does not start with 1")
            number = int(field[-10:])
        elif field.isdigit() and len(field) == 3 and i + 1 < len(fields) and fields[i + 1].isdigit() \
                and len(fields[i + 1]) == 7 and number is None:
            number = int(field + fields[i + 1])
            i += 1
        elif low in _ADD or low in _DELETE:
            if action is not None:
                raise ValueError("more than one add/delete flag")
            action = low in _ADD
        elif field == "" or _DATE_LIKE.match(field):
            pass  # change dates and empty trailing fields carry nothing we need
        elif field.startswith("<"):
            raise ValueError("XML records are not read: download the flat text format")
        else:
            raise ValueError(f"unexpected field {field[:30]!r}")
        i += 1
    if number is None:
        raise ValueError(f"no 10-digit phone number in {line[:40]!r}")
    return number, action


def _parse_lines(path: Path, kind: FileKind, *, formatted_ok: bool) -> tuple[np.ndarray, np.ndarray, int]:
    # the last action on a number in one change file wins, hence a dict rather than two lists
    actions: dict[int, bool] = {}
    seen_data = False
    count = 0
    with path.open("rb") as fh:
        data = fh.read()
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark from a spreadsheet export
    ends_with_newline = data.endswith(b"\n")
    raw_lines = data.split(b"\n")
    if ends_with_newline:
        raw_lines.pop()
    last = len(raw_lines)
    for number_of_line, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise DncFileError(path.name, number_of_line, "not plain text (binary or corrupt data)") from None
        if not line or line.startswith("#"):
            continue
        try:
            number, action = parse_record(line)
        except ValueError as exc:
            phone = normalise_phone(line) if formatted_ok else None
            if phone is not None and phone.number is not None:
                number, action = phone.number, None
            elif not seen_data and any(ch.isalpha() for ch in line) and not re.search(r"\d{7}", line):
                seen_data = True  # a header row: allowed once, before any data
                continue
            else:
                truncated = number_of_line == last and not ends_with_newline
                message = f"truncated last line ({exc})" if truncated else str(exc)
                raise DncFileError(path.name, number_of_line, message) from None
        seen_data = True
        if kind == "full":
            if action is False:
                raise DncFileError(path.name, number_of_line,
                                   "delete flag in a full file (name change files *change*)")
            action = True
        elif action is None:
            raise DncFileError(path.name, number_of_line, "change record without an add/delete flag")
        actions[number] = action
        count += 1
    adds = np.fromiter((n for n, a in actions.items() if a), dtype=np.uint64)
    deletes = np.fromiter((n for n, a in actions.items() if not a), dtype=np.uint64)
    return adds, deletes, count


def _first_line_with_area(path: Path, area: int) -> int | None:
    prefix = f"{area:03d}"
    with path.open("rb") as fh:
        for number_of_line, raw in enumerate(fh, start=1):
            digits = re.sub(rb"\D", b"", raw).decode("ascii", "replace")
            if digits.startswith(prefix) or digits.startswith("1" + prefix):
                return number_of_line
    return None
