"""daemon/signals.py: handlers called directly, real signals to this process, and a child process's exit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from daemon.signals import FORCED_EXIT_CODE, ShutdownController


class ExitRecorder:
    def __init__(self) -> None:
        self.codes: list[int] = []

    def __call__(self, code: int) -> None:
        self.codes.append(code)


@pytest.fixture
def exits() -> ExitRecorder:
    return ExitRecorder()


@pytest.fixture
def ctl(exits: ExitRecorder) -> Iterator[ShutdownController]:
    controller = ShutdownController(force_exit=exits)
    try:
        yield controller
    finally:
        controller.close()


def test_given_sigterm_then_stop_is_requested_and_wait_returns_true_at_once(ctl, exits) -> None:
    assert not ctl.stop_requested and ctl.stop_reason is None
    ctl.handle(signal.SIGTERM)
    assert ctl.stop_requested and ctl.stop_reason == "SIGTERM"
    started = time.monotonic()
    assert ctl.wait(5) is True
    assert time.monotonic() - started < 0.5
    ctl.handle(signal.SIGTERM)  # systemd repeating itself is not a reason to skip the flush
    assert exits.codes == []


def test_given_a_second_sigint_while_stopping_then_exit_is_forced_with_130(ctl, exits) -> None:
    ctl.handle(signal.SIGINT)
    assert ctl.stop_reason == "SIGINT" and exits.codes == []
    ctl.handle(signal.SIGINT)
    assert exits.codes == [FORCED_EXIT_CODE]


def test_given_sigterm_then_sigint_then_exit_is_forced(ctl, exits) -> None:
    ctl.handle(signal.SIGTERM)
    ctl.handle(signal.SIGINT)
    assert exits.codes == [130] and ctl.stop_reason == "SIGTERM"


def test_request_stop_keeps_the_first_reason(ctl) -> None:
    ctl.request_stop("--once finished")
    ctl.handle(signal.SIGTERM)
    ctl.request_stop("later")
    assert ctl.stop_reason == "--once finished" and ctl.wait(0)


def test_given_no_stop_then_wait_sleeps_the_whole_timeout_and_returns_false(ctl) -> None:
    started = time.monotonic()
    assert ctl.wait(0.15) is False
    assert time.monotonic() - started >= 0.14


def test_sighup_makes_one_pending_reload_however_many_arrive(ctl) -> None:
    assert ctl.take_reload() is False
    ctl.handle(signal.SIGHUP)
    ctl.handle(signal.SIGHUP)
    assert ctl.reload_pending()
    assert ctl.take_reload() is True
    assert ctl.take_reload() is False and not ctl.reload_pending()
    assert not ctl.stop_requested


def test_a_pending_reload_wakes_the_main_loop_wait_but_not_a_workers_wait(ctl) -> None:
    ctl.handle(signal.SIGHUP)
    started = time.monotonic()
    assert ctl.wait(5, reload=True) is False
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert ctl.wait(0.15) is False  # a worker waiting for stop only sleeps on
    assert time.monotonic() - started >= 0.14
    assert ctl.take_reload()
    started = time.monotonic()
    assert ctl.wait(0.15, reload=True) is False  # consumed: the main loop sleeps again
    assert time.monotonic() - started >= 0.14


def test_a_stop_wakes_waiters_in_other_threads(ctl) -> None:
    woke: list[float] = []

    def waiter() -> None:
        start = time.monotonic()
        assert ctl.wait(10)
        woke.append(time.monotonic() - start)

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    ctl.request_stop("test")
    for thread in threads:
        thread.join(5)
    assert len(woke) == 3 and max(woke) < 2


def test_given_installed_when_this_process_gets_sighup_then_a_reload_is_pending(ctl) -> None:
    before = signal.getsignal(signal.SIGHUP)
    ctl.install()
    assert signal.getsignal(signal.SIGHUP) == ctl.handle
    os.kill(os.getpid(), signal.SIGHUP)
    deadline = time.monotonic() + 2
    while not ctl.reload_pending() and time.monotonic() < deadline:
        time.sleep(0.01)  # the Python-level handler runs at the main thread's next bytecode
    assert ctl.take_reload() is True and not ctl.stop_requested
    ctl.restore()
    assert signal.getsignal(signal.SIGHUP) == before


def test_given_installed_when_sigterm_arrives_during_wait_then_wait_returns_promptly(ctl) -> None:
    ctl.install()
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    try:
        assert ctl.wait(5) is True
    finally:
        timer.join()
    assert time.monotonic() - started < 2 and ctl.stop_reason == "SIGTERM"


CHILD = textwrap.dedent("""
    import sys
    import time
    from daemon.signals import ShutdownController
    with ShutdownController() as shutdown:
        print("ready", flush=True)
        while not shutdown.wait(0.05, reload=True):
            if shutdown.take_reload():
                print("reloaded", flush=True)
        print("stopping", shutdown.stop_reason, flush=True)
        if "--slow-flush" in sys.argv:
            time.sleep(30)  # a flush that hangs: only a second Ctrl-C gets out
    print("clean exit", flush=True)
""")


def start_child(*args: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_a_child_daemon_reloads_on_sighup_and_exits_0_on_sigterm() -> None:
    child = start_child()
    assert child.stdout is not None
    child.send_signal(signal.SIGHUP)
    assert child.stdout.readline().strip() == "reloaded"
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=10)
    assert child.returncode == 0
    assert out.splitlines() == ["stopping SIGTERM", "clean exit"]


def test_a_child_stuck_in_its_flush_exits_130_on_a_second_ctrl_c() -> None:
    child = start_child("--slow-flush")
    assert child.stdout is not None
    child.send_signal(signal.SIGINT)
    assert child.stdout.readline().strip() == "stopping SIGINT"
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=10)
    assert child.returncode == FORCED_EXIT_CODE
    assert "clean exit" not in out
