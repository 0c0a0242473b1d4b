"""Mbox delivery: append "From sender date", the From-quoted message and a blank line.

Contract: deliver(message, path, opts) appends to the mailbox file at path
    (created with mode 0666 & ~UMASK; an existing file keeps its mode) under a
    dot-lock (path + LOCKEXT) and an fcntl lock, and returns path.  Every line
    matching ^>*From gets one more ">"; the message is followed by one "\\n".
Safety: O_NOFOLLOW (a symlinked mailbox is refused), regular files with one
    link only; on any error the file is truncated back to its old size, so a
    message is never half there; fsync before success.  A delivery killed in
    the middle cannot truncate, so before appending it writes the old size
    into its dot-lock; whoever later breaks that stale lock cuts the fragment
    off again (repair()) -- unless something else was appended after it.
Errors: DeliveryError naming the mailbox and the reason (locks included).
See also: mbox(5), maildropfilter(7) "to"; locking.py.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator

from pymaildrop.deliver import MailboxOptions, describe_oserror, locking, warn, write_all
from pymaildrop.errors import DeliveryError
from pymaildrop.message import Message

# Bytes gathered before each write().
WRITE_BUFFER = 64 * 1024
# The From_ line's sender when there is none.
NO_SENDER = "MAILER-DAEMON"
# A new mailbox's mode before UMASK is applied.
_FILE_MODE = 0o666
_PERMISSION_BITS = 0o7777
_FROM = b"From "
# The journal line in a dot-lock: "append <dev> <ino> <size before the append>".
_JOURNAL = "append"
_SCAN = 1 << 16
# Clearer words for what O_NOFOLLOW and O_NONBLOCK refuse.
_REFUSALS = {errno.ELOOP: "it is a symbolic link (refused)",
             errno.ENXIO: "not a regular file"}


def deliver(message: Message, path: str, opts: MailboxOptions) -> str:
    """Append message to the mbox file at path; return path."""
    try:
        with _dotlocked(path, opts) as lock:
            fd = _open_mailbox(path, opts)
            try:
                locking.lock_fd(fd, path)
                _append(fd, message, path, opts, lock)
            finally:
                os.close(fd)              # also releases the fcntl lock
    except DeliveryError as exc:     # say which mailbox, whatever step failed
        raise DeliveryError(f"cannot deliver to {path}: {exc.message}", mailbox=path,
                            code=exc.code) from exc
    except OSError as exc:
        raise DeliveryError(f"cannot deliver to {path}: {describe_oserror(exc)}",
                            mailbox=path) from exc
    return path


def _dotlocked(path: str, opts: MailboxOptions
               ) -> contextlib.AbstractContextManager[locking.DotLock | None]:
    if not opts.lockext:              # LOCKEXT="" would make the lock the mailbox itself
        return contextlib.nullcontext()
    return locking.dotlock(path + opts.lockext, opts,
                           on_stale=lambda content: repair(path, content))


def _open_mailbox(path: str, opts: MailboxOptions) -> int:
    # SECURITY: O_NOFOLLOW refuses a symlink planted at the mailbox (maildrop follows
    # it); O_NONBLOCK keeps a FIFO planted there from hanging the delivery.
    base = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    mode = _FILE_MODE & ~opts.umask & _PERMISSION_BITS
    try:
        try:
            fd = os.open(path, base | os.O_CREAT | os.O_EXCL, mode)
            # SECURITY: exactly 0666 & ~UMASK, whatever the process umask is.
            os.fchmod(fd, mode)
        except FileExistsError:
            fd = os.open(path, base)      # COMPAT: an existing mailbox keeps its mode
    except OSError as exc:
        reason = _REFUSALS.get(exc.errno or 0) or describe_oserror(exc)
        raise DeliveryError(reason, mailbox=path) from exc
    try:
        _check_file(fd, path)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_file(fd: int, path: str) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise DeliveryError("not a regular file", mailbox=path)
    if st.st_nlink != 1:
        # SECURITY: a hard link may point a world-writable spool at another file.
        raise DeliveryError(f"it has {st.st_nlink} hard links (refused)", mailbox=path)


def _append(fd: int, message: Message, path: str, opts: MailboxOptions,
            lock: locking.DotLock | None) -> None:
    start = os.lseek(fd, 0, os.SEEK_END)
    if lock is not None:
        # JOURNAL: if we are killed from here on, the next delivery can undo us.
        st = os.fstat(fd)
        lock.note(f"{_JOURNAL} {st.st_dev} {st.st_ino} {start}\n".encode("ascii"))
    try:
        # COMPAT: no newline is added when the file does not end in one.
        write_all(fd, from_line(opts.envelope_sender))
        for block in quoted_blocks(message):
            write_all(fd, block)
        # MAKE DURABLE
        os.fsync(fd)
        if lock is not None:
            lock.clear()
    except BaseException as exc:
        # CLEAN UP: the mailbox goes back to its old size.
        undone = _truncate(fd, start)
        if isinstance(exc, OSError):
            state = "the mailbox is unchanged" if undone else "COULD NOT TRUNCATE IT BACK"
            raise DeliveryError(f"{describe_oserror(exc)} ({state})", mailbox=path) from exc
        raise


def repair(path: str, lock_content: bytes) -> None:
    """Cut off the fragment a killed delivery left, as its stale lock's journal says.

    Only when the file is the same one (device and inode), larger than the
    recorded size, and what follows that size is one message fragment -- a
    From_ line and no other separator: if another program appended after it
    since, cutting would lose that mail, so the fragment is left and reported.
    """
    journal = _journal(lock_content)
    if journal is None:
        return
    dev, ino, start = journal
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (dev, ino) or not stat.S_ISREG(st.st_mode):
            return
        locking.lock_fd(fd, path)
        end = os.fstat(fd).st_size
        if end <= start:
            return
        if not _one_fragment(fd, start, end):
            warn("mbox %s: a killed delivery left bytes %d-%d, and more mail follows them; "
                 "left in place", path, start, end)
            return
        # REPAIR: back to the size before the killed delivery began.
        os.ftruncate(fd, start)
        os.fsync(fd)
        warn("mbox %s: removed %d bytes a killed delivery had half written", path, end - start)
    finally:
        os.close(fd)


def _journal(content: bytes) -> tuple[int, int, int] | None:
    for line in content.split(b"\n")[2:]:
        words = line.split()
        if len(words) == 4 and words[0] == _JOURNAL.encode() and all(
                w.isdigit() for w in words[1:]):
            return int(words[1]), int(words[2]), int(words[3])
    return None


def _one_fragment(fd: int, start: int, end: int) -> bool:
    """True when bytes start..end are a From_ line and one (partial) message."""
    if os.pread(fd, len(_FROM), start) != _FROM:
        return False
    separator = b"\n" + _FROM
    pos, tail = start, b""
    while pos < end:
        chunk = os.pread(fd, min(_SCAN, end - pos), pos)
        if not chunk:
            break
        # Our own lines are ">From"-quoted: "\nFrom " can only be another message's
        # separator.  (The fragment's own From_ line is at its very start, with no
        # newline before it, so it does not count.)
        window = tail + chunk
        if separator in window:
            return False
        tail, pos = window[-len(separator) + 1:], pos + len(chunk)
    return True


def _truncate(fd: int, size: int) -> bool:
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        return False
    return True


def from_line(sender: str, when: float | None = None) -> bytes:
    """Return the separator line "From <sender> <ctime>\\n" (local time)."""
    # SECURITY: a line break in the sender would forge a message boundary.
    clean = sender.replace("\r", "").replace("\n", "") or NO_SENDER
    stamp = time.ctime(time.time() if when is None else when)
    return f"From {clean} {stamp}\n".encode("utf-8", "surrogateescape")


def quote_line(line: bytes) -> bytes:
    """Add one ">" to a line that reads ">>From ..." (any number of ">", even none)."""
    return b">" + line if line.lstrip(b">").startswith(_FROM) else line


def quoted_blocks(message: Message) -> Iterator[bytes]:
    """Yield the From-quoted message and its blank trailing line, in large blocks."""
    buf = bytearray()
    for line in message.raw_lines():
        buf += quote_line(line)
        if len(buf) >= WRITE_BUFFER:
            yield bytes(buf)
            buf.clear()
    buf += b"\n"
    yield bytes(buf)
