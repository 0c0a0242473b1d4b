"""Unit tests of deliver/locking.py: dot-locks and fcntl locks.

Lock naming and content follow what Courier maildrop 2.9.3 does (seen with
strace): a "<pid>.<n>.<host>" temp file holding "<pid>\\n", linked to the lock.
pymaildrop adds a second line, its host name, so that a lock left by a dead
process of this host can be broken at once (and mbox.py adds a journal line).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from pymaildrop.deliver import MailboxOptions, locking
from pymaildrop.errors import DeliveryError

OPTS = MailboxOptions(hostname="mailhost.test", locksleep=0)


def in_child(hold: Callable[[], AbstractContextManager[None]],
             then_wait: float) -> tuple[int, int]:
    """Fork a child that takes a lock, signals through a pipe, waits, then lets go."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                          # the child
        os.close(r)
        try:
            with hold():
                os.write(w, b"x")
                time.sleep(then_wait)
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    return pid, r


def reap(pid: int, fd: int) -> None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    os.close(fd)


def fcntl_lock_free(path: Path) -> bool:
    """Ask from another process whether path can be fcntl-locked now."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fd = os.open(path, os.O_WRONLY)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


# DOT-LOCKS

def test_dotlock_creates_exactly_the_file_and_removes_it(tmp_path: Path) -> None:
    lock = tmp_path / "work.lock"
    with locking.dotlock(str(lock), OPTS):
        assert sorted(p.name for p in tmp_path.iterdir()) == ["work.lock"]
        assert lock.read_text() == f"{os.getpid()}\n{OPTS.hostname}\n"
    assert list(tmp_path.iterdir()) == []


def test_dotlock_temp_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    linked: list[tuple[str, str]] = []
    real = os.link

    def spy(src: str, dst: str) -> None:
        linked.append((src, dst))
        real(src, dst)

    monkeypatch.setattr(os, "link", spy)
    sub = tmp_path / "d"
    sub.mkdir()
    with locking.dotlock(str(sub / "x.lock"), MailboxOptions(hostname="a/b")):
        pass
    (src, dst), = linked
    assert dst == str(sub / "x.lock")
    assert os.path.dirname(src) == str(sub)
    assert re.fullmatch(rf"{os.getpid()}\.\d+\.a_b", os.path.basename(src))


def test_dotlock_counter_differs_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources: list[str] = []
    real = os.link
    monkeypatch.setattr(os, "link", lambda s, d: (sources.append(s), real(s, d))[1])
    for _ in range(2):
        with locking.dotlock(str(tmp_path / "x.lock"), OPTS):
            pass
    assert len(set(sources)) == 2


def test_dotlock_in_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match=rf"cannot create a dot-lock at .*/NoDir/"
                                            rf"{os.getpid()}\.\d+\.mailhost\.test: "
                                            "No such file or directory") as info:
        with locking.dotlock(str(tmp_path / "NoDir" / ".lock"), OPTS):
            pass
    assert info.value.code == 75


def test_dotlock_waits_and_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.3)
    lock = tmp_path / "x.lock"
    lock.write_text("4242\n")
    start = time.monotonic()
    with pytest.raises(DeliveryError, match=r"held by another process \(pid 4242\) for more "
                                            r"than 0\.3 s"):
        with locking.dotlock(str(lock), OPTS):
            pass
    assert 0.3 <= time.monotonic() - start < 2
    assert lock.read_text() == "4242\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.lock"]


def test_dotlock_sleeps_between_attempts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.5)
    pauses: list[float] = []
    real = time.sleep

    def spy(seconds: float) -> None:
        pauses.append(seconds)
        real(seconds)

    monkeypatch.setattr(time, "sleep", spy)
    (tmp_path / "x.lock").write_text("1\n")
    with pytest.raises(DeliveryError):
        with locking.dotlock(str(tmp_path / "x.lock"), MailboxOptions(locksleep=0)):
            pass
    assert 3 <= len(pauses) <= 15                                  # no busy loop
    assert all(p >= locking.MIN_SLEEP for p in pauses[:-1])


@pytest.mark.parametrize("age, timeout, removed", [
    (10, 1, True),
    (10, 60, False),
    (120, 60, True),
    (10_000, 0, False),
], ids=["older-than-timeout", "younger-than-timeout", "default-timeout", "timeout-0-never"])
def test_stale_dotlock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, age: int, timeout: int,
                       removed: bool) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.2)
    lock = tmp_path / "x.lock"
    lock.write_text("99999\n")
    past = time.time() - age
    os.utime(lock, (past, past))
    opts = MailboxOptions(locksleep=0, locktimeout=timeout)
    if removed:
        with locking.dotlock(str(lock), opts):
            assert lock.read_text() == f"{os.getpid()}\n{opts.hostname}\n"
        assert not lock.exists()
    else:
        with pytest.raises(DeliveryError), locking.dotlock(str(lock), opts):
            pass
        assert lock.read_text() == "99999\n"


def test_dotlock_released_by_another_process(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 5)
    lock = tmp_path / "x.lock"
    pid, fd = in_child(lambda: locking.dotlock(str(lock), OPTS), then_wait=0.3)
    try:
        start = time.monotonic()
        with locking.dotlock(str(lock), OPTS):
            assert lock.read_text() == f"{os.getpid()}\n{OPTS.hostname}\n"
        assert time.monotonic() - start >= 0.2
    finally:
        reap(pid, fd)


def test_dotlock_not_ours_is_left_alone(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with locking.dotlock(str(lock), OPTS):
        lock.unlink()                      # judged stale by someone else ...
        lock.write_text("777\n")           # ... who made their own
    assert lock.read_text() == "777\n"


def test_dotlock_is_refreshed(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with locking.dotlock(str(lock), MailboxOptions(lockrefresh=1)):
        past = time.time() - 1000
        os.utime(lock, (past, past))
        time.sleep(1.3)
        assert time.time() - lock.stat().st_mtime < 5
    assert not lock.exists()


def test_dotlock_link_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), dst)

    monkeypatch.setattr(os, "link", refuse)
    with pytest.raises(DeliveryError, match="cannot create the dot-lock .*: Permission denied"):
        with locking.dotlock(str(tmp_path / "x.lock"), OPTS):
            pass
    assert list(tmp_path.iterdir()) == []


# KERNEL LOCKS

@pytest.mark.parametrize("process_umask", [0o000, 0o022, 0o077], ids=["000", "022", "077"])
def test_flock_creates_missing_file_0600(tmp_path: Path, process_umask: int) -> None:
    path = tmp_path / "shared.lck"
    old = os.umask(process_umask)
    try:
        with locking.flock(str(path)):
            assert not fcntl_lock_free(path)
    finally:
        os.umask(old)
    assert path.read_bytes() == b""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fcntl_lock_free(path)


def test_flock_keeps_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "state.txt"
    path.write_text("keep me\n")
    path.chmod(0o644)
    with locking.flock(str(path)):
        pass
    assert path.read_text() == "keep me\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_flock_refuses_odd_files(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x"
    if kind == "symlink":
        path.symlink_to("target")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    with pytest.raises(DeliveryError, match=r"cannot lock .*/x: "), locking.flock(str(path)):
        pass
    assert not (tmp_path / "target").exists()


def test_flock_waits_for_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 5)
    path = tmp_path / "shared.lck"

    @contextmanager
    def hold() -> Iterator[None]:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
        os.close(fd)

    pid, fd = in_child(hold, then_wait=0.3)
    try:
        start = time.monotonic()
        with locking.flock(str(path)):
            pass
        assert time.monotonic() - start >= 0.2
    finally:
        reap(pid, fd)


def test_lock_fd_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.3)
    path = tmp_path / "box"
    path.write_text("")

    @contextmanager
    def hold() -> Iterator[None]:
        fcntl.lockf(os.open(path, os.O_WRONLY), fcntl.LOCK_EX)
        yield

    pid, fd = in_child(hold, then_wait=10)
    try:
        box = os.open(path, os.O_WRONLY)
        try:
            with pytest.raises(DeliveryError, match="locked by another process for more than"):
                locking.lock_fd(box, str(path))
        finally:
            os.close(box)
    finally:
        reap(pid, fd)


def test_fifo_planted_as_dotlock_does_not_hang(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.2)
    os.mkfifo(tmp_path / "x.lock")
    with pytest.raises(DeliveryError, match=r"held by another process for more than"):
        with locking.dotlock(str(tmp_path / "x.lock"), OPTS):
            pass
