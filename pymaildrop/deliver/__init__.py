"""File-based delivery: a `to`/`cc` target is a maildir or an mbox file.

Contract: deliver_to_file(message, path, opts) writes the message's stored
    form to `path` and returns what was written (the new maildir file or the
    mbox path).  A directory must be a maildir (tmp/, new/, cur/); anything
    else, including a name that does not exist yet, is an mbox file.
Safety: the backends never leave a partial message visible (maildir: tmp/
    then link; mbox: truncated back on error), never follow a symlink at the
    file they create or append to, and fsync before returning success.
Errors: DeliveryError (QuotaExceeded for a full maildir), one line that names
    the path and the reason; every one of them means EX_TEMPFAIL.
See also: maildropfilter(7) "to"; maildir.py, mbox.py, locking.py, quota.py.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from pymaildrop import limits
from pymaildrop.errors import DeliveryError
from pymaildrop.message import Message

_HOSTNAME = os.uname().nodename

__all__ = ["MailboxOptions", "deliver_to_file", "describe_oserror", "write_all"]


class MailboxOptions(NamedTuple):
    """What the filter's variables say about how to write a mailbox."""

    umask: int = int(limits.UMASK, 8)        # UMASK: mode of new mailbox/message files
    flags: str = ""                          # FLAGS (maildir only): D F R S
    keywords: tuple[str, ...] = ()           # KEYWORDS (maildir only), split on commas
    quota: str = ""                          # MAILDIRQUOTA, e.g. "5000000S,200C"
    envelope_sender: str = "MAILER-DAEMON"   # for the mbox From_ line
    lockext: str = limits.LOCKEXT
    locksleep: int = limits.LOCKSLEEP
    locktimeout: int = limits.LOCKTIMEOUT
    lockrefresh: int = limits.LOCKREFRESH
    hostname: str = _HOSTNAME                # host part of maildir and dot-lock names
    warn_percent: int = 0                    # -w: warn when a maildir is this full (0: never)
    warn_file: str = ""                      # -W: the warning's text (default /etc/quotawarnmsg)


def warn(fmt: str, *args: object) -> None:
    """Report something the delivery survived (logging is imported only then)."""
    import logging

    logging.getLogger("pymaildrop.deliver").warning(fmt, *args)


def describe_oserror(exc: OSError) -> str:
    """Return the errno text of exc ("Permission denied"), never a traceback."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc)


def write_all(fd: int, data: bytes) -> None:
    """Write all of data to fd (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def deliver_to_file(message: Message, path: str, opts: MailboxOptions) -> str:
    """Deliver to a maildir (a directory) or an mbox file; return what was written."""
    from pymaildrop.deliver import maildir, mbox

    if message.is_empty:
        # COMPAT: maildrop writes nothing at all for an empty message.
        return path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if path.endswith("/"):
            raise DeliveryError(f"cannot deliver to {path}: no such maildir "
                                "(the name ends in '/', so it is not an mbox file)",
                                mailbox=path) from None
        return mbox.deliver(message, path, opts)
    except OSError as exc:
        raise DeliveryError(f"cannot deliver to {path}: {describe_oserror(exc)}",
                            mailbox=path) from exc
    if stat.S_ISDIR(st.st_mode):
        missing = maildir.missing_parts(path)
        if missing:
            raise DeliveryError(f"cannot deliver to {path}: a directory that is not a maildir "
                                f"(no {', '.join(m + '/' for m in missing)})", mailbox=path)
        return maildir.deliver(message, path, opts)
    return mbox.deliver(message, path, opts)
