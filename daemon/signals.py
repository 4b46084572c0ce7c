"""Signals of a service: SIGTERM/SIGINT stop taking work, SIGHUP asks for a config reload.

The handlers only set plain attributes and write a byte to a pipe. They take no lock: Python
runs a handler in the main thread between two bytecodes, possibly while that thread holds a lock
(a `threading.Event`'s own, or logging's), so `Event.set()` or logging there could deadlock.
Waiters select() on the pipe instead, from any thread.

    with ShutdownController() as shutdown:       # installs the handlers; restores them after
        while not shutdown.wait(1.0, reload=True):
            if shutdown.take_reload():
                ...  # re-read the configuration
            ...      # the main loop's turn
"""
from __future__ import annotations

import os
import select
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

# 128 + SIGINT: what a shell reports for a process ended by Ctrl-C
FORCED_EXIT_CODE = 130
_HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()  # close-on-exec by default (PEP 446)
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    return read, write


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"\0")
    except BlockingIOError:
        pass  # the pipe is full, so it is readable already: every waiter wakes anyway


class ShutdownController:
    """Turns SIGTERM/SIGINT into a stop request and SIGHUP into a pending reload, for the main loop to act on.

    A second SIGINT (Ctrl-C again) while stopping exits at once with code 130 through `force_exit`
    (os._exit: no cleanup; the store is crash-safe). A second SIGTERM is ignored: systemd escalates
    to SIGKILL itself after TimeoutStopSec.
    """

    def __init__(self, *, force_exit: Callable[[int], Any] = os._exit) -> None:
        self._force_exit = force_exit
        self._stop_reason: str | None = None
        # reloads: the handler only increments _hups, take_reload only moves _hups_taken, so no
        # SIGHUP is lost between reading and clearing a flag
        self._hups = 0
        self._hups_taken = 0
        self._stop_r, self._stop_w = _pipe()    # written once on stop, never drained: stays readable
        self._wake_r, self._wake_w = _pipe()    # written on SIGHUP, drained by take_reload
        self._previous: dict[int, Any] = {}

    # --- installing ---------------------------------------------------------------------------

    def install(self) -> ShutdownController:
        """Install the handlers (main thread only: Python's rule) and keep the previous ones."""
        for signum in _HANDLED:
            self._previous.setdefault(signum, signal.getsignal(signum))
            signal.signal(signum, self.handle)
        return self

    def restore(self) -> None:
        """Put back the handlers that were installed before `install()`."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def close(self) -> None:
        """Restore the handlers and close the pipes."""
        self.restore()
        for fd in (self._stop_r, self._stop_w, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._stop_r = self._stop_w = self._wake_r = self._wake_w = -1

    def __enter__(self) -> ShutdownController:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the handler ----------------------------------------------------------------------------

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler (also callable directly in tests): sets flags and pokes a pipe, nothing else."""
        if signum == signal.SIGHUP:
            self._hups += 1
            _poke(self._wake_w)
            return
        if signum == signal.SIGINT and self._stop_reason is not None:
            self._forced()
            return
        if self._stop_reason is None:
            self._stop_reason = signal.Signals(signum).name
            _poke(self._stop_w)

    def _forced(self) -> None:
        # os.write, not logging: logging takes locks the interrupted code may hold
        try:
            os.write(2, b"leadpilot: interrupted again while stopping; exiting now\n")
        except OSError:
            pass  # no stderr (closed or full): exiting matters more than the message
        self._force_exit(FORCED_EXIT_CODE)  # os._exit does not return; a test's recorder does

    # --- what the daemon uses -------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        """True once a stop was asked for (signal or `request_stop`); it never turns False again."""
        return self._stop_reason is not None

    @property
    def stop_reason(self) -> str | None:
        """SIGTERM, SIGINT, or the reason given to `request_stop`; None while running."""
        return self._stop_reason

    def request_stop(self, reason: str) -> None:
        """Ask the daemon to stop from code (a fatal error, `--once` done); the first reason is kept."""
        if self._stop_reason is None:
            self._stop_reason = reason
            _poke(self._stop_w)

    def reload_pending(self) -> bool:
        """True when a SIGHUP came that `take_reload()` has not consumed yet."""
        return self._hups != self._hups_taken

    def take_reload(self) -> bool:
        """True (once) when a SIGHUP arrived since the last call; several SIGHUPs make one reload."""
        # drain first: a SIGHUP arriving after the drain leaves its byte, so no wake-up is lost
        _drain(self._wake_r)
        seen = self._hups
        pending = seen != self._hups_taken
        self._hups_taken = seen
        return pending

    def wait(self, timeout: float | None = None, *, reload: bool = False) -> bool:
        """Sleep until a stop is requested or `timeout` seconds pass; return `stop_requested`.

        `reload=True` (the main loop) also wakes on a pending SIGHUP. Callable from any thread.
        """
        if self.stop_requested:
            return True
        fds = [self._stop_r, self._wake_r] if reload else [self._stop_r]
        if reload and self.reload_pending():
            return False
        select.select(fds, [], [], timeout)
        return self.stop_requested


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass  # empty: nothing more to drain
