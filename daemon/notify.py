"""systemd's notify protocol (sd_notify) without systemd libraries: READY, WATCHDOG, STATUS, STOPPING.

A service with `Type=notify` gets the socket's address in $NOTIFY_SOCKET: a file path, or an
abstract socket written with a leading '@'. Each message is one datagram of newline-separated
`KEY=value` lines. Without $NOTIFY_SOCKET (a terminal, a test, cron) every call is a no-op.
The unit says `NotifyAccess=main`: send from the main process (any thread), never a child.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping, MutableMapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"
_ENV_KEYS = (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID)


def _socket_address(raw: str) -> str | bytes | None:
    """The address to send to: a path, or bytes starting with NUL for an abstract socket."""
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    # vsock:CID:PORT (VMs) and relative paths are not used by a service on a host
    log.warning("ignoring NOTIFY_SOCKET=%r: only absolute paths and '@' abstract sockets are supported", raw)
    return None


def _watchdog_usec(env: Mapping[str, str], pid: int) -> int | None:
    """$WATCHDOG_USEC when the watchdog is meant for process `pid`, else None."""
    raw = env.get(WATCHDOG_USEC)
    if not raw:
        return None
    owner = env.get(WATCHDOG_PID)
    if owner:
        # systemd sets WATCHDOG_PID for the main process; a child that inherited it must not ping
        if not owner.isdigit() or int(owner) != pid:
            return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a whole number of microseconds", raw)
        return None
    return usec if usec > 0 else None


class Notifier:
    """Sends service state to systemd's notify socket; every method is a no-op when there is none.

    Sending never raises: a failure (socket gone, permission) is logged once as a warning and
    the method returns False, because a lost notification must not stop the daemon.
    """

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self._raw = address
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec
        self._warned = False

    @classmethod
    def from_env(cls, environ: MutableMapping[str, str] | None = None, *, unset: bool = False) -> Notifier:
        """A Notifier for $NOTIFY_SOCKET / $WATCHDOG_USEC / $WATCHDOG_PID (os.environ by default).

        `unset=True` removes the three variables afterwards, so child processes never inherit them.
        """
        env = os.environ if environ is None else environ
        notifier = cls(env.get(NOTIFY_SOCKET) or None, watchdog_usec=_watchdog_usec(env, os.getpid()))
        if unset:
            for key in _ENV_KEYS:
                env.pop(key, None)
        return notifier

    @property
    def enabled(self) -> bool:
        """True when there is a socket to notify."""
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` lines as one datagram; True when sent, False when disabled or failed."""
        if self._address is None:
            return False
        message = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self._address)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s (%s); service state updates are lost",
                            self._raw, exc.strerror or exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """READY=1: start-up (or a reload) finished; optionally with a STATUS line."""
        lines = ["READY=1"]
        if status is not None:
            lines.append(_status_line(status))
        return self.notify(*lines)

    def watchdog(self) -> bool:
        """WATCHDOG=1: the main loop is alive. Send every `watchdog_interval()` seconds."""
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """STATUS=text, shown by `systemctl status` (one line; newlines become spaces)."""
        return self.notify(_status_line(text))

    def stopping(self) -> bool:
        """STOPPING=1: shutdown began."""
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        """RELOADING=1 with MONOTONIC_USEC (as systemd requires); send `ready()` once the reload is done."""
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def extend_timeout(self, seconds: float) -> bool:
        """EXTEND_TIMEOUT_USEC: ask for `seconds` more before a slow start or stop step is judged hung."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(1, round(seconds * 1_000_000))}")

    def watchdog_timeout(self) -> float | None:
        """systemd's watchdog timeout in seconds (WatchdogSec), or None when no watchdog watches us."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 1_000_000

    def watchdog_interval(self) -> float | None:
        """How often to send `watchdog()`: half the timeout, as sd_watchdog_enabled(3) advises; None if off."""
        timeout = self.watchdog_timeout()
        return None if timeout is None else timeout / 2


def _status_line(text: str) -> str:
    return "STATUS=" + " ".join(text.split())
