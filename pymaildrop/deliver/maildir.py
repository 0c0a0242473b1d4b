"""Maildir delivery: write in tmp/, make it durable, then link it into new/ or cur/.

Contract: deliver(message, path, opts) stores message.chunks() as
    "<time>.M<usec>P<pid>V<dev>I<ino>_<n>.<host>,S=<message.size>" in new/, or
    in cur/ with ":2,FLAGS" when FLAGS is set; KEYWORDS go to a Courier
    courierimapkeywords/ file; the Maildir++ quota is checked and recorded.
    Returns the new file's path.
Safety: the file is created O_EXCL|O_NOFOLLOW with mode 0666 & ~UMASK, fsynced,
    linked (never renamed over anything) into place, and the directory fsynced;
    on any error the tmp/ file and the keywords file are removed.
Errors: DeliveryError naming the maildir and the reason; QuotaExceeded.
See also: maildir(5), https://cr.yp.to/proto/maildir.html; quota.py.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import time
from typing import NamedTuple

from pymaildrop.deliver import MailboxOptions, describe_oserror, quota, write_all
from pymaildrop.errors import DeliveryError
from pymaildrop.message import Message

SUBDIRS = ("tmp", "new", "cur")
FLAG_LETTERS = "DFRS"                 # draft, flagged, replied, seen
KEYWORDS_DIR = "courierimapkeywords"
# COMPAT: maildrop writes keyword files 0640, whatever UMASK says.
KEYWORD_FILE_MODE = 0o640
# New names tried in tmp/ before giving up (each differs in time and counter).
UNIQUE_NAME_ATTEMPTS = 5
# courierimapkeywords/ is made private first, then given the maildir's mode.
_PRIVATE_DIR_MODE = 0o700
# The mode bits of a file: what fchmod and chmod set.
_PERMISSION_BITS = 0o7777
# A message file's mode before UMASK is applied.
_FILE_MODE = 0o666
# link() fails with these where hard links are not supported: fall back to rename().
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})

_counter = itertools.count()


class _Name(NamedTuple):
    """The unique parts of a message file name."""

    seconds: int
    micros: int
    pid: int
    serial: int
    host: str

    def temp(self, suffix: str) -> str:
        return f"{self.seconds}.M{self.micros}P{self.pid}_{self.serial}.{self.host}{suffix}"

    def final(self, dev: int, ino: int, suffix: str) -> str:
        return (f"{self.seconds}.M{self.micros}P{self.pid}V{dev:016X}I{ino:016X}"
                f"_{self.serial}.{self.host}{suffix}")


def missing_parts(path: str) -> list[str]:
    """Return which of tmp, new, cur are not directories in path."""
    return [sub for sub in SUBDIRS if not os.path.isdir(os.path.join(path, sub))]


def is_maildir(path: str) -> bool:
    """Tell whether path is a directory with tmp/, new/ and cur/ in it."""
    return os.path.isdir(path) and not missing_parts(path)


def create(path: str) -> None:
    """Make a missing maildir (and its missing parents), private to the caller.

    Postfix virtual(8) creates a recipient's maildir on first delivery; so do
    we, for the default mailbox only, with the identity the delivery runs as.
    """
    # SECURITY: mode 0700 whatever the umask; created as the delivering user.
    old = os.umask(0o077)
    try:
        os.makedirs(path, _PRIVATE_DIR_MODE, exist_ok=True)
        for sub in SUBDIRS:
            try:
                os.mkdir(os.path.join(path, sub), _PRIVATE_DIR_MODE)
            except FileExistsError:
                pass
        fsync_dir(path)
        fsync_dir(os.path.dirname(os.path.normpath(path)) or ".")
    except OSError as exc:
        raise DeliveryError(f"cannot create maildir {path}: {describe_oserror(exc)}",
                            mailbox=path) from exc
    finally:
        os.umask(old)


def escape_host(hostname: str) -> str:
    """Escape the host name as the Maildir spec says ("/" and ":"; also ",")."""
    return (hostname.replace("/", r"\057").replace(":", r"\072").replace(",", r"\054")
            or "localhost")


def _new_name(hostname: str) -> _Name:
    now = time.time_ns()
    return _Name(now // 1_000_000_000, now // 1000 % 1_000_000, os.getpid(),
                 next(_counter), escape_host(hostname))


# DELIVERY

def deliver(message: Message, path: str, opts: MailboxOptions, *, counted: bool = True) -> str:
    """Deliver message into the maildir at path; return the new file's path.

    counted=False skips the quota (pymaildrop's own quota warnings).
    """
    if not is_maildir(path):
        raise DeliveryError(f"cannot deliver to {path}: not a maildir "
                            f"(no {', '.join(m + '/' for m in missing_parts(path))})",
                            mailbox=path)
    flags = _checked_flags(path, opts.flags)
    keywords = keyword_lines(opts.keywords)
    keeps_quota = quota.check(path, message.size, opts.quota) if counted else False
    name, temp, fd = _create_in_tmp(path, message.size, opts)
    keyword_file: str | None = None
    try:
        st = _write_durably(fd, message)
        final = name.final(st.st_dev, st.st_ino, f",S={message.size}")
        if keywords:
            keyword_file = _save_keywords(path, final, keywords, opts)
        target = _publish(temp, path, final, flags)
    except BaseException as exc:
        # CLEAN UP: nothing of a failed delivery stays behind.
        for leftover in (temp, keyword_file):
            if leftover is not None:
                _unlink_quietly(leftover)
        if isinstance(exc, OSError):
            raise DeliveryError(f"cannot deliver to {path}: {describe_oserror(exc)} "
                                f"({exc.filename or temp})", mailbox=path) from exc
        raise
    if keeps_quota:
        quota.record(path, message.size)
        if opts.warn_percent:
            from pymaildrop.deliver import quotawarn

            quotawarn.maybe_warn(path, opts)
    return target


def _checked_flags(path: str, flags: str) -> str:
    bad = sorted({c for c in flags if c not in FLAG_LETTERS})
    if bad:
        # COMPAT: maildrop refuses such FLAGS too; it keeps good ones as given (no sorting).
        raise DeliveryError(f"cannot deliver to {path}: FLAGS={flags!r} has "
                            f"{''.join(bad)!r}; only the letters D, F, R and S are allowed",
                            mailbox=path)
    return flags


def keyword_lines(keywords: tuple[str, ...]) -> list[str]:
    """Return the keywords as Courier stores them: unique, sorted, none empty."""
    # SECURITY: a line break would smuggle in another keyword line.
    cleaned = {k.replace("\r", "").replace("\n", "") for k in keywords}
    return sorted(cleaned - {""})


def _create_in_tmp(path: str, size: int, opts: MailboxOptions) -> tuple[_Name, str, int]:
    mode = _FILE_MODE & ~opts.umask & _PERMISSION_BITS
    last: OSError | None = None
    for _ in range(UNIQUE_NAME_ATTEMPTS):
        name = _new_name(opts.hostname)
        temp = os.path.join(path, "tmp", name.temp(f",S={size}"))
        # CREATE IN tmp/
        try:
            fd = _create_exclusive(temp, mode)
        except FileExistsError as exc:
            last = exc
            continue
        except OSError as exc:
            raise DeliveryError(f"cannot deliver to {path}: cannot create {temp}: "
                                f"{describe_oserror(exc)}", mailbox=path) from exc
        return name, temp, fd
    raise DeliveryError(f"cannot deliver to {path}: no unique name free in tmp/ "
                        f"({describe_oserror(last) if last else 'unknown'})", mailbox=path)


def _create_exclusive(path: str, mode: int) -> int:
    # SECURITY: O_EXCL|O_NOFOLLOW never opens an existing file or a planted symlink;
    # fchmod gives exactly 0666 & ~UMASK whatever the process umask is.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 mode)
    try:
        os.fchmod(fd, mode)
    except OSError:
        os.close(fd)
        _unlink_quietly(path)
        raise
    return fd


def _write_durably(fd: int, message: Message) -> os.stat_result:
    try:
        for chunk in message.chunks():
            write_all(fd, chunk)
        # MAKE DURABLE
        os.fsync(fd)
        return os.fstat(fd)
    finally:
        os.close(fd)


def _save_keywords(path: str, final: str, keywords: list[str], opts: MailboxOptions) -> str:
    """Write the Courier keywords file for message `final`; return its path."""
    temp = os.path.join(path, "tmp", _new_name(opts.hostname).temp(""))
    target = os.path.join(path, KEYWORDS_DIR, final)
    fd = _create_exclusive(temp, KEYWORD_FILE_MODE)
    try:
        try:
            write_all(fd, "".join(k + "\n" for k in keywords).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        _make_keywords_dir(path)
        os.rename(temp, target)
    except BaseException:
        _unlink_quietly(temp)
        raise
    return target


def _make_keywords_dir(path: str) -> None:
    folder = os.path.join(path, KEYWORDS_DIR)
    try:
        os.mkdir(folder, _PRIVATE_DIR_MODE)
    except FileExistsError:
        return
    # COMPAT: Courier gives courierimapkeywords/ the maildir's own mode.
    os.chmod(folder, os.stat(path).st_mode & _PERMISSION_BITS)


def _publish(temp: str, path: str, final: str, flags: str) -> str:
    """Link the finished tmp/ file into new/ (or cur/ with flags); return its path."""
    if flags:
        target = os.path.join(path, "cur", f"{final}:2,{flags}")
    else:
        target = os.path.join(path, "new", final)
    # PUBLISH TO new/ (never over an existing file: link fails if the name is taken)
    try:
        os.link(temp, target)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        _rename_no_replace(temp, target)
    _unlink_quietly(temp)
    try:
        fsync_dir(os.path.dirname(target))
    except OSError:
        _unlink_quietly(target)       # not durable: take it back, let the MTA retry
        raise
    return target


def _rename_no_replace(temp: str, target: str) -> None:
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    os.rename(temp, target)


def fsync_dir(path: str) -> None:
    """Flush a directory's entries to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
