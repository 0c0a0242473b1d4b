"""The watchdog and the supervisor: a delivery always ends in a status we chose."""

from __future__ import annotations

import faulthandler
import os
import re
import signal
import time

import pytest

from pymaildrop import limits
from pymaildrop.errors import Timeout
from pymaildrop.supervisor import Board, supervise
from pymaildrop.watchdog import Watchdog


def test_soft_timeout_raises_in_python_code() -> None:
    start = time.monotonic()
    with pytest.raises(Timeout, match="longer than 0.5 s"), Watchdog(0.5, 0):
        while True:
            time.sleep(0.01)
    assert time.monotonic() - start < 3


def test_nothing_happens_within_the_time() -> None:
    with Watchdog(5, 5) as dog, dog.pattern("/x/"):
        time.sleep(0.1)


def test_the_childs_status_is_the_status(capfd: pytest.CaptureFixture[str]) -> None:
    assert supervise(lambda board: 42, "maildrop") == 42
    assert supervise(lambda board: 0, "maildrop") == 0


def test_an_exception_in_the_child_is_75() -> None:
    def boom(board: Board) -> int:
        raise RuntimeError("never escapes")

    assert supervise(boom, "maildrop") == 75


def test_a_stuck_regular_expression_is_stopped(capfd: pytest.CaptureFixture[str]) -> None:
    # Python's re holds the interpreter lock: only another process can stop it.
    def work(board: Board) -> int:
        with Watchdog(300, 1, board) as dog, dog.pattern("/^(a+)+$/"):
            re.search(r"^(a+)+$", "a" * 40 + "b")
        return 0

    start = time.monotonic()
    assert supervise(work, "maildrop") == 75
    assert time.monotonic() - start < 10
    assert capfd.readouterr().err == ("maildrop: pattern /^(a+)+$/ ran longer than 1 s "
                                      "(pattern_timeout); delivery deferred\n")


def test_a_delivery_that_ignores_its_deadline_is_stopped(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(limits, "WATCHDOG_GRACE", 1)

    def work(board: Board) -> int:
        with Watchdog(1, 0, board):
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])   # deaf to it
            time.sleep(30)
        return 0

    assert supervise(work, "maildrop") == 75
    assert "did not stop (delivery_timeout)" in capfd.readouterr().err


def test_a_child_killed_by_a_signal_is_75(capfd: pytest.CaptureFixture[str]) -> None:
    def work(board: Board) -> int:
        faulthandler.disable()          # pytest's dump would only be noise here
        os.kill(os.getpid(), signal.SIGSEGV)
        return 0

    assert supervise(work, "maildrop") == 75
    assert "died of signal 11" in capfd.readouterr().err


def test_term_is_passed_on_to_the_child() -> None:
    def work(board: Board) -> int:
        signal.signal(signal.SIGTERM, lambda *a: os._exit(75))
        os.kill(os.getppid(), signal.SIGTERM)
        time.sleep(30)
        return 0

    start = time.monotonic()
    assert supervise(work, "maildrop") == 75
    assert time.monotonic() - start < 10
