"""daemon/leases.py on SQLite and PostgreSQL: one holder at a time, expiry, renewal, and real contention."""
from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from daemon.leases import LeaseManager, default_holder
from daemon.store import Lease, session_scope

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    """Frozen time that tests move by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def managers(engine, clock, *holders: str) -> list[LeaseManager]:
    return [LeaseManager(engine, holder, clock=clock) for holder in holders]


def rows(engine) -> list[tuple[str, str]]:
    with session_scope(engine, readonly=True) as session:
        return [(lease.name, lease.holder) for lease in session.exec(sa.select(Lease)).scalars()]  # type: ignore[call-overload]


def test_given_two_instances_when_both_acquire_then_exactly_one_holds_it(engine) -> None:
    clock = FakeClock()
    a, b = managers(engine, clock, "host-a:1:aa", "host-b:2:bb")
    assert a.acquire("poll:hubspot", 60) is True
    assert b.acquire("poll:hubspot", 60) is False
    info = b.current("poll:hubspot")
    assert info is not None and info.holder == "host-a:1:aa" and info.expires_at == T0 + timedelta(seconds=60)
    assert rows(engine) == [("poll:hubspot", "host-a:1:aa")]


def test_given_a_lease_when_it_expires_then_another_instance_takes_it_over(engine) -> None:
    clock = FakeClock()
    a, b = managers(engine, clock, "a", "b")
    assert a.acquire("job:kpi", 30)
    clock.advance(29.9)
    assert not b.acquire("job:kpi", 30), "not expired yet"
    clock.advance(0.1)
    assert b.acquire("job:kpi", 30), "expired exactly at expires_at"
    assert not a.renew("job:kpi", 30), "the old holder cannot renew what it lost"
    assert not a.release("job:kpi"), "nor release it"
    info = a.current("job:kpi")
    assert info is not None and info.holder == "b" and info.acquired_at == clock.now


def test_renew_extends_only_for_the_holder(engine) -> None:
    clock = FakeClock()
    a, b = managers(engine, clock, "a", "b")
    assert a.acquire("poll:sf", 30)
    clock.advance(20)
    assert not b.renew("poll:sf", 30)
    assert a.renew("poll:sf", 30)
    info = a.current("poll:sf")
    assert info is not None and info.expires_at == T0 + timedelta(seconds=50) and info.acquired_at == T0
    assert not a.renew("never-taken", 30)


def test_reacquiring_own_lease_extends_it_and_keeps_when_it_was_first_taken(engine) -> None:
    clock = FakeClock()
    (a,) = managers(engine, clock, "a")
    assert a.acquire("poll:sf", 30)
    clock.advance(10)
    assert a.acquire("poll:sf", 30)
    info = a.current("poll:sf")
    assert info is not None and info.acquired_at == T0 and info.expires_at == T0 + timedelta(seconds=40)


def test_release_frees_the_lease_at_once_and_a_non_holder_cannot_release(engine) -> None:
    clock = FakeClock()
    a, b = managers(engine, clock, "a", "b")
    assert a.acquire("poll:sf", 300)
    assert not b.release("poll:sf")
    assert rows(engine) == [("poll:sf", "a")]
    assert a.release("poll:sf")
    assert a.current("poll:sf") is None
    assert b.acquire("poll:sf", 300)


def test_release_all_drops_only_this_holders_leases(engine) -> None:
    clock = FakeClock()
    a, b = managers(engine, clock, "a", "b")
    assert a.acquire("x", 60) and a.acquire("y", 60) and b.acquire("z", 60)
    assert a.release_all() == 2
    assert rows(engine) == [("z", "b")]


def test_hold_yields_whether_taken_and_releases_even_when_the_block_raises(engine) -> None:
    clock = FakeClock()
    a, b = managers(engine, clock, "a", "b")
    with pytest.raises(RuntimeError, match="job failed"):
        with a.hold("job:retrain", 600) as held:
            assert held and held.acquired
            with b.hold("job:retrain", 600) as other:
                assert not other
            raise RuntimeError("job failed")
    assert rows(engine) == []
    with b.hold("job:retrain", 600) as held:
        assert held
    assert rows(engine) == []


def test_hold_with_renew_every_keeps_a_long_job_lease_alive(engine) -> None:
    mgr = LeaseManager(engine, "a")
    with mgr.hold("job:retrain", 0.5, renew_every=0.1) as held:
        first = mgr.current("job:retrain")
        time.sleep(0.8)  # longer than the TTL: only renewal keeps it
        later = mgr.current("job:retrain")
        assert held and not held.lost
        assert first is not None and later is not None and later.expires_at > first.expires_at
        assert LeaseManager(engine, "b").acquire("job:retrain", 5) is False
    assert mgr.current("job:retrain") is None


def test_hold_marks_the_lease_lost_when_another_instance_took_it_and_does_not_release_theirs(engine) -> None:
    mgr = LeaseManager(engine, "slow")
    # an instance whose clock says the lease expired long ago takes it over
    thief = LeaseManager(engine, "thief", clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    with mgr.hold("job:retrain", 5, renew_every=0.05) as held:
        assert thief.acquire("job:retrain", 3600)
        deadline = time.monotonic() + 5
        while not held.lost and time.monotonic() < deadline:
            time.sleep(0.02)
        assert held.lost
    assert rows(engine) == [("job:retrain", "thief")]


@pytest.mark.parametrize("ttl", [0, -1, float("nan")])
def test_given_a_ttl_that_is_not_positive_then_value_error(engine, ttl) -> None:
    with pytest.raises(ValueError, match="TTL must be positive"):
        LeaseManager(engine, "a").acquire("x", ttl)
    assert rows(engine) == []


def test_given_a_naive_clock_then_value_error(engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        LeaseManager(engine, "a", clock=lambda: datetime(2026, 1, 1)).acquire("x", 10)


def test_hold_refuses_a_renewal_period_not_below_the_ttl_and_leaves_nothing_held(engine) -> None:
    mgr = LeaseManager(engine, "a")
    with pytest.raises(ValueError, match="renew_every"):
        with mgr.hold("x", 10, renew_every=10):
            pass
    assert rows(engine) == []


def test_default_holder_is_host_pid_random_and_unique() -> None:
    first, second = default_holder(), default_holder()
    host, pid, token = first.split(":")
    assert host and pid.isdigit() and int(pid) > 0 and len(token) == 8
    assert first != second


THREADS = 8


def test_given_8_threads_x_50_attempts_then_never_two_holders_at_once(engine) -> None:
    lock = threading.Lock()
    holding: set[str] = set()
    overlaps: list[set[str]] = []
    wins: dict[str, int] = {}

    losses = [0] * THREADS
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        mgr = LeaseManager(engine, f"worker-{index}")
        start.wait()
        for _ in range(50):
            if not mgr.acquire("poll:shared", 30):
                losses[index] += 1
            else:
                with lock:
                    holding.add(mgr.holder)
                    if len(holding) > 1:
                        overlaps.append(set(holding))
                    wins[mgr.holder] = wins.get(mgr.holder, 0) + 1
                time.sleep(0.0005)  # "work" while holding, so others contend for real
                with lock:
                    holding.discard(mgr.holder)
                assert mgr.release("poll:shared")
            time.sleep(0.0005)  # between polls: gives the others a chance at the free lease

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))  # re-raises a worker's failure
    assert overlaps == []
    # real contention happened: several winners, and many attempts found the lease taken
    assert len(wins) >= 2 and sum(losses) > 0, (wins, losses)
    assert sum(wins.values()) + sum(losses) == THREADS * 50


def test_given_an_expired_lease_when_8_threads_take_it_at_the_same_instant_then_exactly_one_wins(engine) -> None:
    barrier = threading.Barrier(THREADS)
    past = LeaseManager(engine, "crashed", clock=lambda: datetime.now(UTC) - timedelta(hours=1))

    def attempt(index: int, name: str) -> bool:
        mgr = LeaseManager(engine, f"worker-{index}")
        barrier.wait()
        return mgr.acquire(name, 30)

    with ThreadPoolExecutor(THREADS) as pool:
        for round_ in range(8):
            name = f"job:{round_}"
            if round_ % 2:  # odd rounds: take over an expired row; even rounds: race to insert a new one
                assert past.acquire(name, 60)
            results = list(pool.map(attempt, range(THREADS), [name] * THREADS))
            assert sum(results) == 1, (name, results)
            winner = f"worker-{results.index(True)}"
            assert LeaseManager(engine, "probe").current(name).holder == winner  # type: ignore[union-attr]


def test_given_a_killed_holder_on_this_host_then_its_lease_is_taken_at_once(engine: Engine) -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:deadbeef"
    assert LeaseManager(engine, holder=dead).acquire("job:poll:crm", 600)
    restarted = LeaseManager(engine)
    assert restarted.acquire("job:poll:crm", 600)
    current = restarted.current("job:poll:crm")
    assert current is not None and current.holder == restarted.holder


def test_given_a_live_holder_or_another_host_then_the_lease_waits_for_expiry(engine: Engine) -> None:
    alive = f"{socket.gethostname()}:1:cafe"  # pid 1 always runs
    elsewhere = "some-other-host:12345:beef"
    assert LeaseManager(engine, holder=alive).acquire("a", 600)
    assert LeaseManager(engine, holder=elsewhere).acquire("b", 600)
    newcomer = LeaseManager(engine)
    assert not newcomer.acquire("a", 600)
    assert not newcomer.acquire("b", 600)
