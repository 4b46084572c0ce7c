"""daemon/notify.py: the sd_notify datagrams, checked on a real AF_UNIX socket (no systemd needed)."""
from __future__ import annotations

import logging
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.notify import Notifier


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A datagram socket bound to a file, as systemd binds $NOTIFY_SOCKET (short path: AF_UNIX allows 108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="lpn"))
    path = str(folder / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    try:
        yield path, sock
    finally:
        sock.close()
        os.unlink(path)
        folder.rmdir()


def received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_given_notify_socket_when_ready_with_status_then_one_datagram_has_both_lines(listener) -> None:
    path, sock = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("polling 2 connectors") is True
    assert received(sock) == ["READY=1", "STATUS=polling 2 connectors"]


def test_given_notify_socket_when_each_state_is_sent_then_systemd_gets_its_exact_keys(listener) -> None:
    path, sock = listener
    notifier = Notifier(path)
    assert notifier.watchdog() and received(sock) == ["WATCHDOG=1"]
    assert notifier.status("last cycle:\n 12 leads") and received(sock) == ["STATUS=last cycle: 12 leads"]
    assert notifier.stopping() and received(sock) == ["STOPPING=1"]
    assert notifier.ready() and received(sock) == ["READY=1"]
    assert notifier.extend_timeout(90) and received(sock) == ["EXTEND_TIMEOUT_USEC=90000000"]


def test_when_reloading_then_monotonic_usec_is_the_current_monotonic_clock(listener) -> None:
    path, sock = listener
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier(path).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = received(sock)
    assert first == "RELOADING=1"
    key, _, value = second.partition("=")
    assert key == "MONOTONIC_USEC" and before <= int(value) <= after


def test_given_abstract_socket_address_with_at_sign_then_datagram_reaches_it() -> None:
    name = f"leadpilot-test-{secrets.token_hex(6)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2)
        assert Notifier.from_env({"NOTIFY_SOCKET": f"@{name}"}).ready()
        assert received(sock) == ["READY=1"]


def test_given_no_notify_socket_then_every_call_is_a_silent_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert [notifier.ready(), notifier.watchdog(), notifier.status("x"), notifier.stopping(),
            notifier.reloading()] == [False] * 5
    assert notifier.watchdog_interval() is None and notifier.watchdog_timeout() is None


def test_given_unset_true_then_children_do_not_inherit_the_variables(listener) -> None:
    path, _ = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid()), "HOME": "/x"}
    notifier = Notifier.from_env(env, unset=True)
    assert notifier.enabled and notifier.watchdog_interval() == 30.0
    assert env == {"HOME": "/x"}


@pytest.mark.parametrize(("env", "interval"), [
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "self"}, 30.0),
    ({"WATCHDOG_USEC": "20000000"}, 10.0),                       # no WATCHDOG_PID: meant for us
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),   # inherited from a parent: not ours
    ({"WATCHDOG_USEC": "sixty"}, None),
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_PID": "self"}, None),
])
def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process(env, interval) -> None:
    env = {k: (str(os.getpid()) if v == "self" else v) for k, v in env.items()}
    notifier = Notifier.from_env(env)
    assert notifier.watchdog_interval() == interval
    if interval is not None:
        assert notifier.watchdog_timeout() == interval * 2


def test_given_socket_gone_then_send_returns_false_and_warns_once(listener, caplog) -> None:
    path, sock = listener
    notifier = Notifier(path + "-missing")
    with caplog.at_level(logging.WARNING, logger="daemon.notify"):
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    warnings = [r for r in caplog.records if "cannot notify systemd" in r.getMessage()]
    assert len(warnings) == 1


def test_given_relative_or_vsock_address_then_disabled_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="daemon.notify"):
        assert not Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled
    assert "only absolute paths" in caplog.text
