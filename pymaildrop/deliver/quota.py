"""Maildir++ quotas: the `maildirsize` file of README.maildirquota.

Contract: check(maildir, size, spec) raises QuotaExceeded when one more
    message of `size` bytes would go over the quota (MAILDIRQUOTA wins over
    the file's first line) and says whether a maildirsize is kept; record()
    then appends the "%12d %12d" line.  A folder with a `maildirfolder` file
    counts against its parent maildir.  Compatible with deliverquota/Dovecot.
Safety: recalculation writes a new file in tmp/ and renames it into place, so
    readers see the old or the new file, never a half-written one.
Errors: QuotaExceeded (over quota); DeliveryError when maildirsize cannot be
    read or rewritten; a failed record() after delivery is only logged.
See also: maildirquota(7), deliverquota(8); maildir.py.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import time
from typing import NamedTuple

from pymaildrop.deliver import describe_oserror
from pymaildrop.errors import DeliveryError, QuotaExceeded


def _warn(fmt: str, *args: object) -> None:
    """Report through logging (imported only on this rare path)."""
    import logging

    logging.getLogger(__name__).warning(fmt, *args)

MAILDIRSIZE = "maildirsize"
FOLDER_MARKER = "maildirfolder"      # in a Maildir++ folder: quota lives in the parent
TRASH_FOLDER = ".Trash"              # not counted when recalculating

# README.maildirquota: recalculate a maildirsize this big (bytes) ...
RECALC_SIZE = 5120
# ... or one older than this (seconds) when it says "over quota".
STALE_AFTER = 15 * 60
# Rescans when the folders change while they are being counted.
RESCAN_ATTEMPTS = 3
# COMPAT: maildrop (re)creates maildirsize 0640, whatever UMASK says.
MAILDIRSIZE_MODE = 0o640

_LINE = "{:12d} {:12d}\n"            # Courier pads each line to 26 bytes (NFS appends)
_ITEM = re.compile(r"(\d+)([SC])")
_BAD_ITEM = re.compile(r"\d+(?![\dSC])")
_counter = itertools.count()


class Quota(NamedTuple):
    """A quota: bytes and messages; 0 means no limit of that kind."""

    bytes: int = 0
    messages: int = 0

    @property
    def unlimited(self) -> bool:
        return self.bytes == 0 and self.messages == 0

    def __str__(self) -> str:
        parts = [f"{self.bytes}S"] if self.bytes else []
        parts += [f"{self.messages}C"] if self.messages else []
        return ",".join(parts)


class Usage(NamedTuple):
    """Bytes and messages a maildir holds."""

    bytes: int = 0
    messages: int = 0

    def plus(self, size: int, count: int) -> Usage:
        return Usage(self.bytes + size, self.messages + count)


class SizeFile(NamedTuple):
    """What a maildirsize file says."""

    quota: Quota | None      # its first line; None when that is not a quota
    usage: Usage             # the sum of the other lines
    lines: int               # how many lines follow the quota line
    size: int                # bytes
    age: float               # seconds since it was last changed


# PARSING

def parse_quota(spec: str) -> Quota | None:
    """Parse "NNNS,NNC"; None when spec names no limit at all.

    COMPAT: like maildrop, each "<digits>S" or "<digits>C" counts wherever it
    stands and the last of a kind wins; other text is skipped (and logged).
    """
    if _BAD_ITEM.search(spec):
        _warn("quota string %r not parseable", spec)
    found = {kind: int(digits) for digits, kind in _ITEM.findall(spec)}
    if not found:
        return None
    return Quota(bytes=found.get("S", 0), messages=found.get("C", 0))


def parse_maildirsize(text: str) -> tuple[Quota | None, Usage, int]:
    """Return (quota, usage, number of usage lines) of a maildirsize's text."""
    header, _, rest = text.partition("\n")
    total, lines = Usage(), 0
    for line in rest.splitlines():
        fields = line.split()
        if len(fields) != 2:
            continue
        with contextlib.suppress(ValueError):
            total = total.plus(int(fields[0]), int(fields[1]))
            lines += 1
    return parse_quota(header), total, lines


def message_size(name: str, path: str) -> int | None:
    """Size of a message file for the quota: its S= attribute, else its size.

    None for a file that does not count: a dot file, or one flagged T (trashed).
    """
    if name.startswith("."):
        return None
    base, _, info = name.partition(":")
    if info.startswith("2,") and "T" in info[2:]:
        return None
    _, found, rest = base.partition(",S=")
    if found:
        # COMPAT: like Courier, the leading digits of S= (none: 0).
        digits = re.match(r"\d*", rest)
        return int(digits.group()) if digits and digits.group() else 0
    try:
        return os.lstat(path).st_size
    except OSError:
        return None


# READING AND RECALCULATING

def quota_root(maildir: str) -> str:
    """Return the maildir whose maildirsize counts for `maildir`."""
    if os.path.exists(os.path.join(maildir, FOLDER_MARKER)):
        return os.path.dirname(os.path.normpath(maildir)) or "."
    return maildir


def read_maildirsize(root: str) -> SizeFile | None:
    """Read root/maildirsize; None when there is none."""
    path = os.path.join(root, MAILDIRSIZE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DeliveryError(f"cannot read the quota file {path}: {describe_oserror(exc)}",
                            mailbox=root) from exc
    try:
        st = os.fstat(fd)
        data = os.read(fd, RECALC_SIZE)
    finally:
        os.close(fd)
    quota, usage, lines = parse_maildirsize(data.decode("ascii", "replace"))
    return SizeFile(quota, usage, lines, st.st_size, time.time() - st.st_mtime)


def folders(root: str) -> list[str]:
    """The directories whose messages count: new/ and cur/ of root and its folders."""
    dirs = [os.path.join(root, "new"), os.path.join(root, "cur")]
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".") and entry.name not in (".", "..", TRASH_FOLDER) \
                    and entry.is_dir():
                dirs += [os.path.join(entry.path, "new"), os.path.join(entry.path, "cur")]
    return [d for d in dirs if os.path.isdir(d)]


def scan_usage(root: str) -> Usage:
    """Count the messages of root and its folders, rescanning if they change meanwhile."""
    usage = Usage()
    for _ in range(RESCAN_ATTEMPTS):
        before = _stamps(root)
        usage = Usage()
        for folder in folders(root):
            usage = _count_folder(folder, usage)
        if _stamps(root) == before:
            break
    return usage


def _count_folder(folder: str, usage: Usage) -> Usage:
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            size = message_size(entry.name, entry.path)
            if size is not None:
                usage = usage.plus(size, 1)
    return usage


def _stamps(root: str) -> list[tuple[str, int]]:
    out = []
    for folder in [root] + folders(root):
        with contextlib.suppress(OSError):
            out.append((folder, os.stat(folder).st_mtime_ns))
    return out


def recalculate(root: str, quota: Quota) -> Usage:
    """Count the maildir afresh and replace its maildirsize; return the usage."""
    try:
        usage = scan_usage(root)
    except OSError as exc:
        raise DeliveryError(f"cannot count the messages in {root} for its quota: "
                            f"{describe_oserror(exc)}", mailbox=root) from exc
    content = f"{quota}\n" + _LINE.format(usage.bytes, usage.messages)
    _replace_file(root, content.encode("ascii"))
    return usage


def _replace_file(root: str, data: bytes) -> None:
    path = os.path.join(root, MAILDIRSIZE)
    temp = os.path.join(root, "tmp", _temp_name())
    try:
        # SECURITY: O_EXCL|O_NOFOLLOW in tmp/; mode set explicitly, not from the umask.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     MAILDIRSIZE_MODE)
        try:
            os.fchmod(fd, MAILDIRSIZE_MODE)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise DeliveryError(f"cannot rewrite the quota file {path}: {describe_oserror(exc)}",
                            mailbox=root) from exc


def _temp_name() -> str:
    host = os.uname().nodename.replace("/", r"\057").replace(":", r"\072")
    return f"{time.time_ns()}.{os.getpid()}_{next(_counter)}.maildirsize.{host}"


# CHECKING AND RECORDING

def exceeds(quota: Quota, usage: Usage, size: int, count: int = 1) -> bool:
    """Tell whether adding size bytes in count messages goes over quota."""
    too_big = quota.bytes > 0 and usage.bytes + size > quota.bytes
    too_many = quota.messages > 0 and usage.messages + count > quota.messages
    return too_big or too_many


def check(maildir: str, size: int, spec: str, count: int = 1) -> bool:
    """Raise QuotaExceeded if the message does not fit; True if record() is due after."""
    root = quota_root(maildir)
    given = parse_quota(spec) if spec else None
    if given is not None and given.unlimited:
        given = None
    current = read_maildirsize(root)
    if current is None:
        if given is None:
            return False                      # no quota anywhere: nothing to keep
        _verdict(maildir, given, recalculate(root, given), size, count)
        return True
    quota = given if given is not None else current.quota
    if quota is None or quota.unlimited:
        return True                           # COMPAT: maildrop still appends its line
    usage = _current_usage(root, quota, current, given, size, count)
    _verdict(maildir, quota, usage, size, count)
    return True


def _current_usage(root: str, quota: Quota, current: SizeFile, given: Quota | None,
                   size: int, count: int) -> Usage:
    if current.size >= RECALC_SIZE or (given is not None and given != current.quota):
        return recalculate(root, quota)
    over = exceeds(quota, current.usage, size, count)
    if over and (current.lines == 0 or current.age > STALE_AFTER):
        return recalculate(root, quota)       # maybe messages were deleted since
    return current.usage


def _verdict(maildir: str, quota: Quota, usage: Usage, size: int, count: int) -> None:
    if exceeds(quota, usage, size, count):
        raise QuotaExceeded(
            f"cannot deliver to {maildir}: maildir over quota ({usage.bytes} bytes in "
            f"{usage.messages} messages, plus {size} bytes, exceeds {quota})", mailbox=maildir)


def record(maildir: str, size: int, count: int = 1) -> None:
    """Append one "size count" line to the maildirsize that counts for maildir.

    The message is already delivered: a failure here is logged, not raised (a
    later recalculation corrects the count).
    """
    path = os.path.join(quota_root(maildir), MAILDIRSIZE)
    line = _LINE.format(size, count).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError as exc:
        _warn("cannot record a delivery in %s: %s", path, describe_oserror(exc))
        return
    try:
        os.write(fd, line)               # one write: an atomic append
    except OSError as exc:
        _warn("cannot record a delivery in %s: %s", path, describe_oserror(exc))
    finally:
        os.close(fd)
