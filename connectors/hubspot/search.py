"""Incremental reads through HubSpot's search API: a watermark on the modified time, ties broken by id.

The search API sorts by one property only and pages through at most 10,000 results per query.
A watermark (T, L) means: every record modified before T, and those modified at T with an id <= L,
have been delivered. Reads sort by modified time; when a query must stop (the caller's limit or
the result cap) inside a group of records sharing one timestamp, that group is finished by a
second kind of query, `modified == T and id > L` sorted by id, restarted from the last id seen
whenever it reaches the cap, so any number of records sharing a timestamp are read exactly once.
With an overlap, a read that reaches the end hands back a watermark `overlap` before the newest
record (T - overlap, no id): the next pass reads those seconds again, catching records the search
index added late.
The HTTP call itself is a `PageFn`, so this logic is tested apart from the client.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Watermark

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
# The lowest id bound: every HubSpot id is a positive integer.
_BEFORE_FIRST_ID = "0"

Filter = dict[str, Any]


def to_ms(stamp: datetime) -> int:
    """Epoch milliseconds of an aware datetime (exact, no float rounding)."""
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _ONE_MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class Hit:
    """One search result: id, modified time (epoch ms) and its property values."""

    id: str
    modified_ms: int
    properties: dict[str, str | None]


@dataclass(frozen=True)
class SearchQuery:
    """One search request: OR of AND-groups of filters, one ascending sort, `after` paging."""

    filter_groups: list[list[Filter]]
    sort_property: str
    after: str | None
    limit: int


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    next_after: str | None
    total: int


PageFn = Callable[[SearchQuery], SearchPage]


@dataclass
class SearchRead:
    """What one incremental read returned; `complete` is False when it stopped at the caller's limit."""

    hits: list[Hit]
    watermark: Watermark
    complete: bool
    queries: int = 0


@dataclass
class IncrementalSearch:
    """Reads records changed since a watermark, oldest first, through a `PageFn`."""

    page: PageFn
    modified_property: str
    page_size: int = 200
    cap: int = 10_000
    id_property: str = "hs_object_id"
    extra_filters: Sequence[Filter] = field(default_factory=tuple)
    overlap_ms: int = 0  # a read that reaches the end steps back this far, for records the index adds late

    def read(self, since: Watermark, limit: int) -> SearchRead:
        """At most `limit` records at/after `since` (ties by id), and the watermark just past the last one."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        ts = to_ms(since.modified_at) if since.modified_at is not None else None
        last_id = since.last_id
        out: list[Hit] = []
        queries = [0]

        def fetch(query: SearchQuery) -> SearchPage:
            queries[0] += 1
            return self.page(query)

        while len(out) < limit:
            wanted = limit - len(out)
            taken, exhausted = self._range(fetch, ts, last_id, wanted)
            if exhausted:
                out.extend(taken)
                if taken:
                    ts, last_id = _after_all(taken)
                    if self.overlap_ms:
                        # HubSpot's search index trails its writes by seconds: the next pass re-reads the last
                        # `overlap` (duplicates are the daemon's to drop, by crm_id and modified time)
                        start = to_ms(since.modified_at) if since.modified_at is not None else ts - self.overlap_ms
                        ts, last_id = max(start, ts - self.overlap_ms), None
                return SearchRead(out, _mark(ts, last_id), True, queries[0])
            # Stopped early (the limit or the cap). A record beyond `wanted` shows where the next timestamp
            # starts; otherwise the last group may go on past what we saw and waits for the next query.
            keep = taken[:wanted]
            boundary = taken[wanted] if len(taken) > wanted else None
            if boundary is None or boundary.modified_ms == keep[-1].modified_ms:
                keep = [h for h in keep if h.modified_ms < keep[-1].modified_ms]
            if keep:
                out.extend(keep)
                ts, last_id = _after_all(keep)
                if len(taken) >= wanted:
                    return SearchRead(out, _mark(ts, last_id), False, queries[0])
                continue  # stopped by the cap: query again from the new watermark
            # every record seen shares one timestamp: read that group in id order, past the cap if need be
            newest = taken[0].modified_ms
            lower = last_id if (ts == newest and last_id is not None) else _BEFORE_FIRST_ID
            before = len(out)
            ts, (last_id, exhausted) = newest, self._tie_group(fetch, newest, lower, wanted, out)
            if len(out) == before:
                # the id-ordered query saw none of the group the time-ordered one returned (an index still
                # catching up): deliver what was seen rather than ask again forever
                out.extend(taken[:wanted])
                last_id = str(max(int(h.id) for h in taken[:wanted]))
            if not exhausted:
                return SearchRead(out, _mark(ts, last_id), False, queries[0])
        return SearchRead(out, _mark(ts, last_id), False, queries[0])

    # ---- the two kinds of query ------------------------------------------------------------------
    def _range(self, fetch: PageFn, ts: int | None, last_id: str | None, wanted: int) -> tuple[list[Hit], bool]:
        """Records after the watermark sorted by modified time, `wanted` and one more if the page allows;
        `exhausted` is True when no record follows the ones returned."""
        extra = list(self.extra_filters)
        if ts is None:
            groups = [extra] if extra else []
        elif last_id is None:
            groups = [[_f(self.modified_property, "GTE", ts), *extra]]
        else:
            groups = [[_f(self.modified_property, "EQ", ts), _f(self.id_property, "GT", last_id), *extra],
                      [_f(self.modified_property, "GT", ts), *extra]]
        taken: list[Hit] = []
        after: str | None = None
        while True:
            size = min(self.page_size, wanted + 1 - len(taken), self.cap - len(taken))
            page = fetch(SearchQuery(groups, self.modified_property, after, size))
            taken.extend(page.hits)
            if not page.hits or (page.next_after is None and len(taken) >= page.total):
                return taken, len(taken) <= wanted  # the one record past `wanted` is only a peek
            if len(taken) >= wanted or page.next_after is None or len(taken) >= self.cap:
                return taken, False
            after = page.next_after

    def _tie_group(self, fetch: PageFn, ts: int, lower: str, wanted: int, out: list[Hit]) -> tuple[str, bool]:
        """Records modified exactly at `ts` with id > `lower`, by id; restarts past the cap. (last id, exhausted)."""
        last = lower
        appended = 0
        while True:
            groups = [[_f(self.modified_property, "EQ", ts), _f(self.id_property, "GT", last), *self.extra_filters]]
            after: str | None = None
            consumed = 0
            while True:
                size = min(self.page_size, wanted - appended, self.cap - consumed)
                page = fetch(SearchQuery(groups, self.id_property, after, size))
                for hit in page.hits:
                    out.append(hit)
                    last = hit.id
                consumed += len(page.hits)
                appended += len(page.hits)
                exhausted = page.next_after is None and consumed >= page.total
                if exhausted or not page.hits:
                    return last, True
                if appended >= wanted:
                    return last, False
                if page.next_after is None or consumed >= self.cap:
                    break  # the cap: query again from the last id seen
                after = page.next_after


def _f(name: str, operator: str, value: int | str) -> Filter:
    return {"propertyName": name, "operator": operator, "value": str(value)}


def _after_all(hits: list[Hit]) -> tuple[int, str]:
    """The watermark just past `hits`, whose newest timestamp group is known to be complete."""
    newest = hits[-1].modified_ms
    return newest, str(max(int(h.id) for h in hits if h.modified_ms == newest))


def _mark(ts: int | None, last_id: str | None) -> Watermark:
    return Watermark(from_ms(ts) if ts is not None else None, last_id)
