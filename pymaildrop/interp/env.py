"""The variables a filter starts with.

Contract: initial_variables(...) -> dict, built the way maildrop builds them:
    the environment first (all of it in manual mode; only the locale, LANG,
    LANGUAGE and LC_*, in delivery and embedded modes), then the variables
    that are always reset (HOME, DEFAULT, SHELL, PATH, LOCK*, MAILDIRQUOTA,
    SENDMAIL, LOGNAME) and those describing the message (FROM, SIZE, LINES,
    HOSTNAME, MAILFILTER, UMASK), then $1, $2, ... from the command line.
    envelope_sender() decides FROM: -f, else Return-Path, else MAILER-DAEMON.
Safety: delivery mode imports no environment but the locale, so nothing the
    MTA's caller set can steer the filter (maildropfilter(7) "Environment").
Errors: none.
See also: maildropfilter(7) "Predefined variables".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pymaildrop import limits


class Account(NamedTuple):
    """Who the filter runs for."""

    name: str
    home: str
    shell: str = "/bin/sh"
    default_mailbox: str | None = None
    quota: str = ""


def is_locale_variable(name: str) -> bool:
    """True for the locale variables imported even in delivery mode."""
    return name in ("LANG", "LANGUAGE") or name.startswith("LC_")


def initial_variables(*, environ: Mapping[str, str], import_environment: bool,
                      account: Account, sender: str, size: int, lines: int, hostname: str,
                      filter_name: str, args: Sequence[str]) -> dict[str, str]:
    """Return the variables a filter starts with."""
    if import_environment:
        variables = dict(environ)
    else:
        variables = {k: v for k, v in environ.items() if is_locale_variable(k)}
    default = account.default_mailbox or f"{limits.MAILSPOOL}/{account.name}"
    variables.update({
        "HOME": account.home,
        "DEFAULT": default,
        "SHELL": account.shell or "/bin/sh",
        "PATH": limits.PATH,
        "LOCKEXT": limits.LOCKEXT,
        "LOCKSLEEP": str(limits.LOCKSLEEP),
        "LOCKTIMEOUT": str(limits.LOCKTIMEOUT),
        "LOCKREFRESH": str(limits.LOCKREFRESH),
        "MAILDIRQUOTA": account.quota,
        "SENDMAIL": limits.SENDMAIL,
        "LOGNAME": account.name,
        "FROM": sender,
        "HOSTNAME": hostname,
        "SIZE": str(size),
        "LINES": str(lines),
        "MAILFILTER": filter_name,
        "UMASK": limits.UMASK,
    })
    for i, arg in enumerate(args, 1):
        variables[str(i)] = arg
    return variables


def envelope_sender(option: str | None, return_path: str | None, user: str) -> str:
    """Return the envelope sender: -f, else the Return-Path address, else MAILER-DAEMON.

    COMPAT: an empty -f is ignored; a "Return-Path: <>" (a bounce) gives the
    recipient's own name, as maildrop 2.9 does.
    """
    if option:
        return option
    if return_path is not None:
        from pymaildrop import addr

        # COMPAT: maildrop's C strings end at a NUL (and an mbox From_ line must not hold one).
        address = addr.envelope_from_return_path(return_path.split("\0", 1)[0])
        return address if address else user
    return "MAILER-DAEMON"
