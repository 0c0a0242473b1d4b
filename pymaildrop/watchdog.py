"""The delivering process's side of the watchdog.

Contract: `with Watchdog(total, pattern_budget, board) as dog:` arms it for
    one delivery: past `total` seconds SIGALRM raises Timeout, so that
    finally blocks run and temporary files go; dog.pattern(label) is put
    around every regular-expression search and, with a supervisor's Board,
    tells the supervising process which search is running since when.
Safety: the soft timeout cannot interrupt C code (Python's re holds the
    interpreter lock while it backtracks); the supervisor (supervisor.py),
    a separate process, ends such a delivery with 75 using what is posted
    on the Board.  Without a supervisor (tests, embedding) only the soft
    timeout applies.
Errors: Timeout.
See also: supervisor.py; maildrop(1) "WATCHDOG TIMER"; limits.py.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from contextlib import AbstractContextManager
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from pymaildrop.errors import Timeout

if TYPE_CHECKING:
    from pymaildrop.supervisor import Board


class Watchdog:
    """A delivery's time limits, as the delivering process enforces them."""

    def __init__(self, total: float, pattern_budget: float, board: Board | None = None) -> None:
        self.total = total
        self.pattern_budget = pattern_budget
        self.board = board
        self._old_handler: Any = None

    def __enter__(self) -> Watchdog:
        if self.board is not None:
            deadline = time.monotonic() + self.total if self.total > 0 else 0.0
            self.board.set_limits(deadline, self.pattern_budget)
        if self.total > 0 and threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.total)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._old_handler is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler)

    def pattern(self, label: str) -> AbstractContextManager[Any]:
        """Run one search under the pattern budget (watched by the supervisor)."""
        if self.board is None:
            return contextlib.nullcontext()
        return self.board.searching(label)

    def _expire(self, signum: int, frame: FrameType | None) -> None:
        raise Timeout(f"delivery took longer than {self.total:g} s and was stopped "
                      "(delivery_timeout); nothing partial was delivered")
