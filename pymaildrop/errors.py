"""The exceptions pymaildrop raises, each carrying the exit status it means.

Contract: every failure that should end a delivery is a MaildropError whose
    `code` is an ExitCode; `str(err)` is one line fit for Postfix's DSN text.
    `trappable` says whether the filter's `exception { }` block may catch it.
Safety: all of them default to EX_TEMPFAIL: a deferred message is retried,
    a bounced one is lost to its recipient.  Only an unknown user bounces.
Errors: n/a.
See also: exits.py (the table); maildropfilter(7) "exception".
"""

from __future__ import annotations

from pymaildrop.exits import ExitCode


class MaildropError(Exception):
    """Base class: a failure that ends delivery with `code`.

    `dsn`, when set, is an RFC 3463 status printed first on the output line:
    Postfix then uses it instead of the exit status (pipe(8), local(8)).
    """

    code: ExitCode = ExitCode.TEMPFAIL
    trappable = True
    dsn: str | None = None

    def __init__(self, message: str, *, code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class TempFail(MaildropError):
    """A failure that must be retried later (EX_TEMPFAIL)."""


class UsageError(MaildropError):
    """A bad command line.  Deferred, as maildrop does, so a typo in
    master.cf holds mail instead of bouncing it."""

    trappable = False


class UserUnknown(MaildropError):
    """The recipient is not in any user database (EX_NOUSER: a bounce)."""

    code = ExitCode.NOUSER
    trappable = False


class ConfigError(MaildropError):
    """A problem in pymaildrop's own configuration; deferred."""

    trappable = False


class SecurityError(MaildropError):
    """A permission, ownership or credential check refused to go on."""

    trappable = False


class Timeout(MaildropError):
    """The delivery watchdog expired."""

    trappable = False


class FilterSyntaxError(MaildropError):
    """A filter file that does not parse; reported with file, line and column."""

    def __init__(self, path: str, line: int, column: int, message: str,
                 source_line: str | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.detail = message
        self.source_line = source_line
        super().__init__(f"{path}:{line}:{column}: {message}")

    def render(self) -> str:
        """Return the message with the source line and a caret under the column."""
        out = [self.message]
        if self.source_line is not None:
            text = self.source_line.rstrip("\r\n").expandtabs(8)
            col = len(self.source_line[: max(self.column - 1, 0)].expandtabs(8))
            out.append("    " + text)
            out.append("    " + " " * col + "^")
        return "\n".join(out)


class FilterRuntimeError(MaildropError):
    """An error raised while the filter runs, located in the filter text."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 code: ExitCode | None = None) -> None:
        where = f"{path}({line}): " if path is not None and line is not None else ""
        super().__init__(where + message, code=code)
        self.path = path
        self.line = line


class DeliveryError(MaildropError):
    """A mailbox, pipe or forward that could not take the message."""

    def __init__(self, message: str, *, mailbox: str | None = None,
                 code: ExitCode | None = None) -> None:
        super().__init__(message, code=code)
        self.mailbox = mailbox


class QuotaExceeded(DeliveryError):
    """The maildir is over its Maildir++ quota: 4.2.2 (deferred) unless bounced."""

    dsn = "4.2.2"

    def bounce(self) -> None:
        """Make this a permanent failure: 5.2.2, EX_CANTCREAT (quota_overflow = bounce)."""
        self.dsn = "5.2.2"
        self.code = ExitCode.CANTCREAT
