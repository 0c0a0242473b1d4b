"""Quota warnings: maildrop's -w PERCENT and -W FILE.

Contract: maybe_warn(maildir, opts) puts a warning message into the quota
    root maildir when a delivery left it at least opts.warn_percent full
    (bytes or messages, whichever is fuller), at most once a day: the
    `quotawarn` file in the maildir records when the last warning went out.
    The warning is the -W file (default /etc/quotawarnmsg) with Date: and
    Message-Id: headers put in front; without that file there is no warning.
Safety: runs after the message was delivered and never fails it: any error
    here is reported and ignored.  The warning is not counted against the
    quota, so it cannot itself push the mailbox over.
Errors: none raised; failures are logged.
See also: maildrop(1) "-w", "-W"; quota.py.
"""

from __future__ import annotations

import os
import time

from pymaildrop.deliver import MailboxOptions, quota
from pymaildrop.message import Message

DEFAULT_TEMPLATE = "/etc/quotawarnmsg"
MARKER = "quotawarn"
REPEAT_AFTER = 24 * 60 * 60
FILE_MODE = 0o640


def maybe_warn(maildir: str, opts: MailboxOptions, now: float | None = None) -> bool:
    """Warn if the maildir is full enough and no warning went out today; say if one did."""
    try:
        return _maybe_warn(maildir, opts, time.time() if now is None else now)
    except Exception as exc:  # noqa: BLE001 - the delivery itself already succeeded
        quota._warn("cannot place a quota warning in %s: %s", maildir, exc)  # noqa: SLF001
        return False


def _maybe_warn(maildir: str, opts: MailboxOptions, now: float) -> bool:
    root = quota.quota_root(maildir)
    if fullness(root, opts.quota) < opts.warn_percent:
        return False
    marker = os.path.join(root, MARKER)
    try:
        if now - os.stat(marker).st_mtime < REPEAT_AFTER:
            return False
    except FileNotFoundError:
        pass
    text = _template(opts.warn_file or DEFAULT_TEMPLATE)
    if text is None:
        return False
    from pymaildrop.deliver import maildir as maildirs

    warning = Message.from_bytes(_headers(now, opts.hostname) + text)
    maildirs.deliver(warning, root, opts._replace(umask=0o777 & ~FILE_MODE, flags="",
                                                  keywords=(), quota=""), counted=False)
    _touch(marker, now)
    return True


def fullness(root: str, spec: str) -> float:
    """How full the quota root is, in percent (0 when it has no quota)."""
    size_file = quota.read_maildirsize(root)
    limit = quota.parse_quota(spec) if spec else None
    if limit is None and size_file is not None:
        limit = size_file.quota
    if limit is None or limit.unlimited:
        return 0.0
    usage = size_file.usage if size_file is not None else quota.scan_usage(root)
    percents = [100.0 * usage.bytes / limit.bytes] if limit.bytes else []
    percents += [100.0 * usage.messages / limit.messages] if limit.messages else []
    return max(percents)


def _template(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _headers(now: float, hostname: str) -> bytes:
    from email.utils import formatdate

    return (f"Date: {formatdate(now, localtime=True)}\n"
            f"Message-Id: <{int(now)}.overquota@{hostname}>\n").encode()


def _touch(marker: str, now: float) -> None:
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.write(fd, b"\0")
    finally:
        os.close(fd)
    os.utime(marker, (now, now))
