"""Dot-locks and kernel (fcntl) locks, for mbox delivery and the filter statements.

Contract: dotlock(path, opts) holds the lock file `path` (created by linking a
    "<pid>.<n>.<host>" temp file that holds "<pid>\\n"), refreshes it every
    LOCKREFRESH s and removes it on exit; flock(path) holds an fcntl write lock
    on `path`, creating it (mode 0600) if missing; lock_fd() locks an open file.
Safety: attempts sleep in between (LOCKSLEEP, never a busy loop) and give up
    after MAX_WAIT s; a dot-lock older than LOCKTIMEOUT is stale and removed;
    only our own lock file (same inode) is refreshed or removed.
Errors: DeliveryError naming the lock and the reason (errno text, or how long
    another process held it).
See also: maildropfilter(7) "dotlock", "flock", LOCK*; mbox.py.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import stat
import threading
import time
from collections.abc import Iterator

from pymaildrop import limits
from pymaildrop.deliver import MailboxOptions, describe_oserror
from pymaildrop.errors import DeliveryError

# Longest total wait for any one lock (tests lower it).
MAX_WAIT: float = limits.MAX_LOCK_WAIT

# Shortest pause between dot-lock attempts, even with LOCKSLEEP=0.
MIN_SLEEP = 0.05

# Kernel-lock polling: first pause, doubled up to the last one.
KERNEL_POLL_FIRST = 0.01
KERNEL_POLL_LAST = 0.5

# COMPAT: maildrop creates its dot-lock temp file 0644 (less the process umask).
DOTLOCK_FILE_MODE = 0o644

# COMPAT: maildrop creates a missing `flock` file 0600, whatever UMASK says.
FLOCK_FILE_MODE = 0o600

# Bytes of a lock file read to name its holder's pid.
_PID_BYTES = 32

_counter = itertools.count()


# DOT-LOCKS

@contextlib.contextmanager
def dotlock(path: str, opts: MailboxOptions) -> Iterator[None]:
    """Hold the dot-lock file `path` for the duration of the block."""
    mine = _acquire(path, opts)       # an fd open on our lock: its inode cannot be reused
    stop = threading.Event()
    refresher = _start_refresher(path, mine, opts.lockrefresh, stop)
    try:
        yield
    finally:
        stop.set()
        if refresher is not None:
            refresher.join()
        _release(path, mine)


def _acquire(path: str, opts: MailboxOptions) -> int:
    deadline = time.monotonic() + MAX_WAIT
    pause = max(float(opts.locksleep), MIN_SLEEP)
    while True:
        mine = _try_link(path, opts.hostname)
        if mine is not None:
            return mine
        holder = _remove_if_stale(path, opts.locktimeout)
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError(f"cannot lock {path}: held by another process{holder} "
                                f"for more than {MAX_WAIT:g} s", mailbox=path)
        # Also after removing a stale lock: another waiter may be removing it too.
        time.sleep(min(pause, left))


def _temp_name(path: str, hostname: str) -> str:
    host = hostname.replace("/", "_") or "localhost"
    return os.path.join(os.path.dirname(path), f"{os.getpid()}.{next(_counter)}.{host}")


def _try_link(path: str, hostname: str) -> int | None:
    """Make the lock by linking a temp file to `path`; None when it exists."""
    temp = _temp_name(path, hostname)
    fd = _write_temp(temp)
    try:
        os.link(temp, path)
    except FileExistsError:
        if not _linked_anyway(temp):
            os.close(fd)
            return None
    except OSError as exc:
        os.close(fd)
        raise DeliveryError(f"cannot create the dot-lock {path}: {describe_oserror(exc)}",
                            mailbox=path) from exc
    finally:
        _unlink_quietly(temp)
    return fd


def _write_temp(temp: str) -> int:
    # SECURITY: O_EXCL|O_NOFOLLOW: never write through a file or link planted here.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            fd = os.open(temp, flags, DOTLOCK_FILE_MODE)
        except FileExistsError:        # left by a dead process that had our pid
            os.unlink(temp)
            fd = os.open(temp, flags, DOTLOCK_FILE_MODE)
    except OSError as exc:
        raise DeliveryError(f"cannot create a dot-lock at {temp}: {describe_oserror(exc)}",
                            mailbox=temp) from exc
    try:
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    except OSError as exc:
        os.close(fd)
        _unlink_quietly(temp)
        raise DeliveryError(f"cannot create a dot-lock at {temp}: {describe_oserror(exc)}",
                            mailbox=temp) from exc
    return fd


def _linked_anyway(temp: str) -> bool:
    # NFS may report a failed link() that did happen: then the temp has 2 links.
    try:
        return os.lstat(temp).st_nlink == 2
    except OSError:
        return False


def _remove_if_stale(path: str, timeout: int) -> str:
    """Remove the lock if it is older than timeout s; return " (pid N)" or ""."""
    try:
        st = os.lstat(path)
    except OSError:
        return ""
    holder = _holder(path)
    if timeout <= 0 or time.time() - st.st_mtime <= timeout:
        return holder
    # Narrow the race with a holder that re-creates it: re-check just before unlinking.
    with contextlib.suppress(OSError):
        again = os.lstat(path)
        if (again.st_ino, again.st_mtime_ns) == (st.st_ino, st.st_mtime_ns):
            os.unlink(path)
    return holder


def _holder(path: str) -> str:
    # SECURITY: O_NONBLOCK|O_NOFOLLOW: a FIFO or symlink planted as the lock cannot hang us.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        text = os.read(fd, _PID_BYTES).split(b"\n", 1)[0].strip()
    except OSError:
        return ""
    finally:
        os.close(fd)
    return f" (pid {text.decode('ascii')})" if text.isdigit() else ""


def _start_refresher(path: str, mine: int, every: int,
                     stop: threading.Event) -> threading.Thread | None:
    if every <= 0:
        return None

    def refresh() -> None:
        while not stop.wait(every):
            if _is_ours(path, mine):
                with contextlib.suppress(OSError):
                    os.utime(path)

    thread = threading.Thread(target=refresh, name=f"refresh {path}", daemon=True)
    thread.start()
    return thread


def _is_ours(path: str, mine: int) -> bool:
    try:
        st, own = os.lstat(path), os.fstat(mine)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _release(path: str, mine: int) -> None:
    # Someone may have judged our lock stale and made theirs: leave theirs alone.
    try:
        if _is_ours(path, mine):
            _unlink_quietly(path)
    finally:
        os.close(mine)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# KERNEL LOCKS

@contextlib.contextmanager
def flock(path: str) -> Iterator[None]:
    """Hold an fcntl write lock on `path` (created 0600 if missing) during the block."""
    fd = _open_lock_file(path)
    try:
        lock_fd(fd, path)
        yield
    finally:
        os.close(fd)            # closing releases the lock


def _open_lock_file(path: str) -> int:
    # SECURITY: O_NOFOLLOW: a planted symlink cannot make us create or lock another file;
    # O_NONBLOCK: a FIFO planted here cannot hang us.
    base = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        try:
            fd = os.open(path, base | os.O_CREAT | os.O_EXCL, FLOCK_FILE_MODE)
            os.fchmod(fd, FLOCK_FILE_MODE)
        except FileExistsError:
            fd = os.open(path, base)
    except OSError as exc:
        raise DeliveryError(f"cannot lock {path}: {describe_oserror(exc)}", mailbox=path) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DeliveryError(f"cannot lock {path}: not a regular file", mailbox=path)
    return fd


def lock_fd(fd: int, name: str) -> None:
    """Take an fcntl write lock on the whole open file fd; released when it is closed."""
    deadline = time.monotonic() + MAX_WAIT
    pause = KERNEL_POLL_FIRST
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise DeliveryError(f"cannot lock {name}: {describe_oserror(exc)}",
                                    mailbox=name) from exc
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError(f"cannot lock {name}: locked by another process "
                                f"for more than {MAX_WAIT:g} s", mailbox=name)
        time.sleep(min(pause, left))
        pause = min(pause * 2, KERNEL_POLL_LAST)
