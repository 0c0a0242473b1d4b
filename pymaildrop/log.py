"""Diagnostics on standard error, and the filter's own log file.

Contract: Reporter writes one-line messages to stderr, prefixed with the
    program's name as maildrop does ("maildrop: ..."), and the VERBOSE trace.
    LogFile is the `logfile` statement's file: opened (created 0600) when the
    statement runs, appended to by `log` and by a record of each delivery in
    maildrop's layout (Date, From, Subj, File/!Err, padded to 78 columns).
Safety: the log file is created with O_NOFOLLOW and mode 0600 whatever the
    umask; every write appends whole records with one write() call.
Errors: a log file that cannot be created raises TempFail (maildrop: "Unable
    to create log file."); a failed append later is reported, not fatal.
See also: maildropfilter(7) "log, logfile"; limits.py.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from pymaildrop.errors import TempFail

_LINE_WIDTH = 78
_FIELD_WIDTH = _LINE_WIDTH - len("Subj: ")


class Reporter:
    """Messages for the person reading stderr (Postfix puts them in the DSN)."""

    def __init__(self, prog: str = "maildrop", stream: TextIO | None = None) -> None:
        self.prog = prog
        self.stream = stream if stream is not None else sys.stderr

    def error(self, text: str) -> None:
        """Write "prog: text" as one line."""
        self.raw(f"{self.prog}: {text}\n")

    def raw(self, text: str) -> None:
        """Write text as it is."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


class LogFile:
    """The file named by the filter's `logfile` statement."""

    def __init__(self, path: str) -> None:
        self.path = path
        # SECURITY: never follow a symlink planted where the log goes.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise TempFail(f"cannot create log file {path}: {exc.strerror or exc}") from exc
        try:
            if os.fstat(fd).st_size == 0:
                os.fchmod(fd, 0o600)
        except OSError:
            pass
        finally:
            os.close(fd)

    def append(self, data: bytes) -> None:
        """Append data in one write; report (not raise) a failure."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            Reporter().error(f"cannot write log file {self.path}: {exc.strerror or exc}")


def delivery_record(target: str, size: int, from_header: str | None,
                    subject: str | None, ok: bool, now: float | None = None) -> bytes:
    """Return the log record maildrop writes for one delivery."""
    when = time.ctime(time.time() if now is None else now)
    tag = "File: " if ok else "!Err: "
    size_text = f"({size})"
    width = _LINE_WIDTH - len(tag) - 1 - len(size_text)
    name = target[:width].ljust(width)
    text = (f"Date: {when}\n"
            f"From: {(from_header or '')[:_FIELD_WIDTH]}\n"
            f"Subj: {(subject or '')[:_FIELD_WIDTH]}\n"
            f"{tag}{name} {size_text}\n\n")
    return text.encode("utf-8", "surrogateescape")

