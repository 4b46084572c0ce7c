"""Database leases: several daemons on one database never run the same poll or job at once.

A lease is a row in `leases` (name, holder, expires_at). Taking one is a single
`INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE <expired or already mine> RETURNING holder`,
atomic on PostgreSQL and SQLite alike: of any number of instances racing, exactly one gets a row back.

Expiry compares the instances' own clocks (injected, UTC), so hosts must keep time with NTP and
a TTL must be far above their skew (seconds); renew a long job's lease (`hold(..., renew_every=)`)
rather than giving it a TTL longer than the job.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from daemon.store import Lease, StoreError, utcnow
from daemon.store.engine import READONLY_OPTION, explain

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_TABLE: sa.Table = Lease.__table__  # type: ignore[attr-defined]


def default_holder() -> str:
    """`hostname:pid:random`: unique per process, and readable in `leadpilot status`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_dead_here(holder: str) -> bool:
    """True when `holder` names a process of this host (`hostname:pid:random`) that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it runs, as another user
    return False


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds a lease and until when."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass
class HeldLease:
    """What `LeaseManager.hold` yields: truthy when the lease was taken.

    `lost` turns True when a background renewal found the lease taken by another instance
    (this one overran its TTL): a long job should check it between steps and stop.
    """

    name: str
    acquired: bool
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __bool__(self) -> bool:
        return self.acquired


class LeaseManager:
    """Takes, renews and releases named leases for one holder (one daemon instance)."""

    def __init__(self, engine: Engine, holder: str | None = None, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.holder = holder or default_holder()
        self.clock = clock
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise StoreError(f"leases need PostgreSQL or SQLite, not {dialect}")
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    @contextmanager
    def _tx(self, *, readonly: bool = False) -> Iterator[Connection]:
        """One transaction (BEGIN IMMEDIATE on SQLite unless readonly); unreachable database -> StoreError."""
        bind = self.engine.execution_options(**{READONLY_OPTION: True}) if readonly else self.engine
        try:
            with bind.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(explain(self.engine, exc)) from exc

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the lease clock must return aware (UTC) datetimes")
        return now

    def acquire(self, name: str, ttl_seconds: float) -> bool:
        """Take `name` for `ttl_seconds` if it is free, expired, already ours (then it is extended), or held
        by a process of this host that no longer runs (killed: its restart need not wait for the expiry)."""
        if self._take_from_dead_local_holder(name, ttl_seconds):
            return True
        expires = _expiry(now := self._now(), ttl_seconds)
        stmt = self._insert(_TABLE).values(name=name, holder=self.holder, acquired_at=now, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_TABLE.c.name],
            set_={
                "holder": stmt.excluded.holder,
                # re-acquiring our own lease keeps when we first took it
                "acquired_at": sa.case((_TABLE.c.holder == stmt.excluded.holder, _TABLE.c.acquired_at),
                                       else_=stmt.excluded.acquired_at),
                "expires_at": stmt.excluded.expires_at,
            },
            where=sa.or_(_TABLE.c.expires_at <= now, _TABLE.c.holder == self.holder),
        ).returning(_TABLE.c.holder)
        with self._tx() as conn:
            got = conn.execute(stmt).scalar_one_or_none()
        return got == self.holder

    def _take_from_dead_local_holder(self, name: str, ttl_seconds: float) -> bool:
        current = self.current(name)
        if current is None or current.holder == self.holder or not holder_is_dead_here(current.holder):
            return False
        now = self._now()
        # compare-and-swap on the dead holder's name: of two restarted instances only one wins
        stmt = (sa.update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == current.holder)
                .values(holder=self.holder, acquired_at=now, expires_at=_expiry(now, ttl_seconds)))
        with self._tx() as conn:
            taken = conn.execute(stmt).rowcount == 1
        if taken:
            log.warning("lease %s taken over from %s, a process of this host that no longer runs", name, current.holder)
        return taken

    def renew(self, name: str, ttl_seconds: float) -> bool:
        """Extend our lease to now + `ttl_seconds`; False when another instance holds it or it is gone.

        A lease of ours that expired but was not taken by anyone is renewed: no one else ran meanwhile.
        """
        expires = _expiry(self._now(), ttl_seconds)
        stmt = (sa.update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == self.holder)
                .values(expires_at=expires))
        with self._tx() as conn:
            return conn.execute(stmt).rowcount == 1

    def release(self, name: str) -> bool:
        """Give `name` up at once so another instance need not wait for expiry; False if it was not ours."""
        stmt = sa.delete(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == self.holder)
        with self._tx() as conn:
            return conn.execute(stmt).rowcount == 1

    def release_all(self) -> int:
        """Release every lease this holder has (on a clean shutdown); returns how many."""
        stmt = sa.delete(_TABLE).where(_TABLE.c.holder == self.holder)
        with self._tx() as conn:
            return int(conn.execute(stmt).rowcount)

    def current(self, name: str) -> LeaseInfo | None:
        """Who holds `name` now, or None when it is free or expired."""
        stmt = sa.select(_TABLE).where(_TABLE.c.name == name, _TABLE.c.expires_at > self._now())
        with self._tx(readonly=True) as conn:
            row = conn.execute(stmt).mappings().one_or_none()
        return None if row is None else LeaseInfo(row["name"], row["holder"], row["acquired_at"], row["expires_at"])

    @contextmanager
    def hold(self, name: str, ttl_seconds: float, *, renew_every: float | None = None) -> Iterator[HeldLease]:
        """Take `name` for the block if possible and release it after; yields a HeldLease (truthy if taken).

        `renew_every` (seconds, below the TTL) renews it from a background thread while the block runs.
        """
        held = HeldLease(name, self.acquire(name, ttl_seconds))
        if not held:
            yield held
            return
        renewer: threading.Thread | None = None
        if renew_every is not None:
            if not 0 < renew_every < ttl_seconds:
                self.release(name)
                raise ValueError(f"renew_every ({renew_every}) must be between 0 and the TTL ({ttl_seconds})")
            renewer = threading.Thread(target=self._keep, args=(held, ttl_seconds, renew_every),
                                       name=f"lease-{name}", daemon=True)
            renewer.start()
        try:
            yield held
        finally:
            held._stop.set()
            if renewer is not None:
                renewer.join()
            if not held.lost:
                self.release(name)

    def _keep(self, held: HeldLease, ttl_seconds: float, every: float) -> None:
        while not held._stop.wait(every):
            try:
                renewed = self.renew(held.name, ttl_seconds)
            except StoreError as exc:
                # the database may come back before the lease expires: keep trying
                log.warning("could not renew lease %s: %s", held.name, exc)
                continue
            if not renewed:
                held.lost = True
                log.error("lease %s was taken by another instance while %s held it (the job overran "
                          "its TTL); stop the work it protects", held.name, self.holder)
                return


def _expiry(now: datetime, ttl_seconds: float) -> datetime:
    if not ttl_seconds > 0:
        raise ValueError(f"a lease TTL must be positive, got {ttl_seconds!r}")
    return now + timedelta(seconds=ttl_seconds)
