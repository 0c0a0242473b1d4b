"""The exit-code table: the only place that says what each exit status means.

Contract: ExitCode names the sysexits(3) values pymaildrop uses; TEMPORARY is
    the set Postfix defers on; status_of(code) gives the RFC 3463 status that
    Postfix reports for a code (global/sys_exits.c).
Safety: Postfix pipe(8) and local(8) bounce every status except 0, 75
    (EX_TEMPFAIL) and 71 (EX_OSERR).  Anything unexpected must therefore map
    to TEMPFAIL, never to 1 (a Python traceback) or 2 (a usage error).
Errors: none; this module is data.
See also: sysexits(3); Postfix src/global/sys_exits.c; errors.py.
"""

import enum
import os


class ExitCode(enum.IntEnum):
    """Exit statuses, with the values of <sysexits.h>."""

    OK = os.EX_OK
    USAGE = os.EX_USAGE
    DATAERR = os.EX_DATAERR
    NOINPUT = os.EX_NOINPUT
    NOUSER = os.EX_NOUSER
    NOHOST = os.EX_NOHOST
    UNAVAILABLE = os.EX_UNAVAILABLE
    SOFTWARE = os.EX_SOFTWARE
    OSERR = os.EX_OSERR
    OSFILE = os.EX_OSFILE
    CANTCREAT = os.EX_CANTCREAT
    IOERR = os.EX_IOERR
    TEMPFAIL = os.EX_TEMPFAIL
    PROTOCOL = os.EX_PROTOCOL
    NOPERM = os.EX_NOPERM
    CONFIG = os.EX_CONFIG


# Postfix defers these and bounces every other non-zero status.
TEMPORARY = frozenset({ExitCode.TEMPFAIL, ExitCode.OSERR})

# RFC 3463 status and text for each code, as Postfix's sys_exits.c reports them.
_STATUS = {
    ExitCode.USAGE: ("5.3.0", "command line usage error"),
    ExitCode.DATAERR: ("5.6.0", "data format error"),
    ExitCode.NOINPUT: ("5.3.0", "cannot open input"),
    ExitCode.NOUSER: ("5.1.1", "user unknown"),
    ExitCode.NOHOST: ("5.1.2", "host name unknown"),
    ExitCode.UNAVAILABLE: ("5.3.0", "service unavailable"),
    ExitCode.SOFTWARE: ("5.3.0", "internal software error"),
    ExitCode.OSERR: ("4.3.0", "system resource problem"),
    ExitCode.OSFILE: ("5.3.0", "critical OS file missing"),
    ExitCode.CANTCREAT: ("5.2.0", "can't create user output file"),
    ExitCode.IOERR: ("5.3.0", "input/output error"),
    ExitCode.TEMPFAIL: ("4.3.0", "temporary failure"),
    ExitCode.PROTOCOL: ("5.5.0", "remote error in protocol"),
    ExitCode.NOPERM: ("5.7.0", "permission denied"),
    ExitCode.CONFIG: ("5.3.5", "local configuration error"),
}


def is_temporary(code: int) -> bool:
    """Tell whether Postfix would defer (not bounce) a delivery ending in code."""
    return code in TEMPORARY


def status_of(code: int) -> tuple[str, str]:
    """Return the (RFC 3463 status, text) Postfix reports for an exit status."""
    if code == ExitCode.OK:
        return ("2.0.0", "delivered")
    try:
        return _STATUS[ExitCode(code)]
    except (ValueError, KeyError):
        return ("5.3.0", "unknown mail system error")
