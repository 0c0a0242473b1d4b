"""Dot-locks and kernel (fcntl) locks, for mbox delivery and the filter statements.

Contract: dotlock(path, opts) holds the lock file `path` (created by linking a
    "<pid>.<n>.<host>" temp file that holds "<pid>\\n<host>\\n"), refreshes it
    every LOCKREFRESH s and removes it on exit; it yields a DotLock whose
    note() writes one journal line into the lock file (mbox.py records the
    mailbox size there before appending).  flock(path) holds an fcntl write
    lock on `path`, creating it (mode 0600) if missing; lock_fd() locks an fd.
Safety: attempts sleep in between (LOCKSLEEP, never a busy loop) and give up
    after MAX_WAIT s; a dot-lock older than LOCKTIMEOUT is stale, and so is at
    once one whose holder is known dead on this host; before a stale lock is
    removed, on_stale(its content) may repair what the holder left half done.
    Only our own lock file (same inode) is refreshed or removed.
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
from collections.abc import Callable, Iterator

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

# Bytes of a lock file read: pid, host and one journal line.
_LOCK_BYTES = 4096

_counter = itertools.count()


# DOT-LOCKS

class DotLock:
    """A dot-lock we hold: its path, an fd open on it, and its journal line."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.header = os.fstat(fd).st_size

    def note(self, line: bytes) -> None:
        """Record one journal line in the lock file, durably, replacing any before."""
        os.ftruncate(self.fd, self.header)
        os.pwrite(self.fd, line, self.header)
        os.fsync(self.fd)

    def clear(self) -> None:
        """Forget the journal line (the work it described is complete)."""
        os.ftruncate(self.fd, self.header)


StaleHandler = Callable[[bytes], None]


@contextlib.contextmanager
def dotlock(path: str, opts: MailboxOptions,
            on_stale: StaleHandler | None = None) -> Iterator[DotLock]:
    """Hold the dot-lock file `path` for the duration of the block."""
    mine = _acquire(path, opts, on_stale)   # an fd open on our lock: its inode cannot be reused
    stop = threading.Event()
    refresher = _start_refresher(path, mine, opts.lockrefresh, stop)
    try:
        yield DotLock(path, mine)
    finally:
        stop.set()
        if refresher is not None:
            refresher.join()
        _release(path, mine)


def _acquire(path: str, opts: MailboxOptions, on_stale: StaleHandler | None) -> int:
    deadline = time.monotonic() + MAX_WAIT
    pause = max(float(opts.locksleep), MIN_SLEEP)
    while True:
        mine = _try_link(path, opts.hostname)
        if mine is not None:
            return mine
        holder, dead = _remove_if_stale(path, opts, on_stale)
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError(f"cannot lock {path}: held by another process{holder} "
                                f"for more than {MAX_WAIT:g} s", mailbox=path)
        if dead:
            continue          # its holder is gone: try again at once
        # COMPAT: also after removing a lock for its age, as maildrop: another
        # waiter may be removing it too.
        time.sleep(min(pause, left))


def _temp_name(path: str, hostname: str) -> str:
    host = hostname.replace("/", "_") or "localhost"
    return os.path.join(os.path.dirname(path), f"{os.getpid()}.{next(_counter)}.{host}")


def _try_link(path: str, hostname: str) -> int | None:
    """Make the lock by linking a temp file to `path`; None when it exists."""
    temp = _temp_name(path, hostname)
    fd = _write_temp(temp, hostname)
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


def _write_temp(temp: str, hostname: str) -> int:
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
        os.write(fd, f"{os.getpid()}\n{_one_line(hostname)}\n".encode("utf-8", "replace"))
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


def _remove_if_stale(path: str, opts: MailboxOptions, on_stale: StaleHandler | None
                     ) -> tuple[str, bool]:
    """Remove the lock if it is stale; return its holder (" (pid N)" or "") and
    whether it was removed because that holder is dead.

    Stale: older than LOCKTIMEOUT, or -- at once -- made on this host by a
    process that no longer exists.  on_stale(content) runs first and may
    raise to keep the lock (its holder's work could not be made safe).
    """
    try:
        st = os.lstat(path)
    except OSError:
        return "", False
    content = _read_lock(path)
    pid_text = content.split(b"\n", 1)[0].strip()
    holder = f" (pid {pid_text.decode('ascii')})" if pid_text.isdigit() else ""
    old = opts.locktimeout > 0 and time.time() - st.st_mtime > opts.locktimeout
    dead = not old and _holder_is_dead(content, opts.hostname)
    if not old and not dead:
        return holder, False
    if on_stale is not None:
        on_stale(content)
    # Narrow the race with a holder that re-creates it: re-check just before unlinking.
    with contextlib.suppress(OSError):
        again = os.lstat(path)
        if (again.st_ino, again.st_mtime_ns) == (st.st_ino, st.st_mtime_ns):
            os.unlink(path)
    return holder, dead


def _read_lock(path: str) -> bytes:
    # SECURITY: O_NONBLOCK|O_NOFOLLOW: a FIFO or symlink planted as the lock cannot hang us.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        return os.read(fd, _LOCK_BYTES)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _holder_is_dead(content: bytes, hostname: str) -> bool:
    """True when the lock says it was made here by a process that is gone."""
    lines = content.split(b"\n")
    if len(lines) < 2 or not lines[0].strip().isdigit():
        return False
    if lines[1].decode("utf-8", "replace") != _one_line(hostname):
        return False                  # another host (NFS): only LOCKTIMEOUT can tell
    try:
        os.kill(int(lines[0]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False                  # it exists, as another user
    return False


def _one_line(text: str) -> str:
    return text.replace("\n", "_").replace("\r", "_")


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
