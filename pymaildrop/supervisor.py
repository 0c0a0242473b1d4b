"""Run a delivery in a child process so that it always ends in a status we chose.

Contract: supervise(work, prog) forks; the child runs work(board) and exits
    with the status it returns; the parent waits and returns the same status
    -- or 75 (EX_TEMPFAIL) when the child dies by a signal, runs past its
    deadline plus GRACE, or spends longer than its pattern budget in one
    regular-expression search.  The child posts its deadline, its budget and
    the search it is in on a Board, a page of memory both processes share.
Safety: Python's re holds the interpreter lock while it backtracks, so no
    signal handler or thread of the delivering process can stop a runaway
    pattern; only another process can.  A killed child leaves nothing half
    written visible (maildir: tmp/ then new/; mbox: repaired by the next
    delivery).  TERM, HUP and INT sent to the parent are passed on.
Errors: none raised; every outcome is an exit status.
See also: watchdog.py (the child's side); maildrop(1) "WATCHDOG TIMER".
"""

from __future__ import annotations

import contextlib
import mmap
import os
import select
import signal
import struct
import time
from collections.abc import Callable, Iterator
from types import FrameType

from pymaildrop import limits
from pymaildrop.exits import ExitCode

_LAYOUT = struct.Struct("ddd")          # deadline, pattern budget, search start (monotonic)
_LABEL = 512                             # bytes for the pattern being searched
_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Board:
    """What the delivering child tells its supervisor (shared memory)."""

    def __init__(self) -> None:
        self._mem = mmap.mmap(-1, _LAYOUT.size + _LABEL)

    def set_limits(self, deadline: float, pattern_budget: float) -> None:
        """Post the delivery's deadline (time.monotonic()) and the per-search budget."""
        _, _, start = self._read()
        self._mem[:_LAYOUT.size] = _LAYOUT.pack(deadline, pattern_budget, start)

    @contextlib.contextmanager
    def searching(self, label: str) -> Iterator[None]:
        """Mark one regular-expression search as under way."""
        deadline, budget, _ = self._read()
        data = label.encode("utf-8", "replace")[:_LABEL]
        self._mem[_LAYOUT.size:] = data.ljust(_LABEL, b"\0")
        self._mem[:_LAYOUT.size] = _LAYOUT.pack(deadline, budget, time.monotonic())
        try:
            yield
        finally:
            deadline, budget, _ = self._read()
            self._mem[:_LAYOUT.size] = _LAYOUT.pack(deadline, budget, 0.0)

    def overdue(self, now: float) -> str | None:
        """Return why the child should be stopped now, or None."""
        deadline, budget, start = self._read()
        if start and budget > 0 and now - start > budget:
            label = self._mem[_LAYOUT.size:].rstrip(b"\0").decode("utf-8", "replace")
            return f"pattern {label} ran longer than {budget:g} s (pattern_timeout)"
        if deadline and now > deadline + limits.WATCHDOG_GRACE:
            return "delivery ran past its deadline and did not stop (delivery_timeout)"
        return None

    def _read(self) -> tuple[float, float, float]:
        values: tuple[float, float, float] = _LAYOUT.unpack(self._mem[:_LAYOUT.size])
        return values


def supervise(work: Callable[[Board], int], prog: str) -> int:
    """Run work(board) in a child process; return its exit status, or 75."""
    board = Board()
    board.set_limits(time.monotonic() + limits.DELIVERY_TIMEOUT, limits.PATTERN_TIMEOUT)
    try:
        pid = os.fork()
    except OSError as exc:
        _say(prog, f"cannot fork: {exc.strerror or exc}; delivery deferred")
        return ExitCode.TEMPFAIL
    if pid == 0:
        _child(work, board)
    return _parent(pid, board, prog)


def _child(work: Callable[[Board], int], board: Board) -> None:
    status: int = ExitCode.TEMPFAIL
    try:
        status = work(board)
    finally:
        with contextlib.suppress(Exception):
            import sys

            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _parent(pid: int, board: Board, prog: str) -> int:
    received: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    old = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        status = _wait(pid, board, prog)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return status


def _wait(pid: int, board: Board, prog: str) -> int:
    fd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        while not poller.poll(limits.WATCHDOG_POLL * 1000):
            reason = board.overdue(time.monotonic())
            if reason is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                _say(prog, f"{reason}; delivery deferred")
                return ExitCode.TEMPFAIL
    finally:
        os.close(fd)
    _, raw = os.waitpid(pid, 0)
    if os.WIFEXITED(raw):
        return os.WEXITSTATUS(raw)
    _say(prog, f"the delivery process died of signal {os.WTERMSIG(raw)}; delivery deferred")
    return ExitCode.TEMPFAIL


def _say(prog: str, text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"{prog}: {text}\n".encode("utf-8", "replace"))
