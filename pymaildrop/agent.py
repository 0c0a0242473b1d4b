"""One delivery, start to end: the pipeline behind the command line.

Contract: run(invocation, stdin, environ) -> exit status.  Manual mode runs
    the filter named on the command line as the invoking user; delivery
    mode (-d USER) looks the user up, becomes them, changes to their home,
    runs the system filter and then $HOME/.mailfilter, and delivers to the
    default mailbox when the filters did not dispose of the message.
Safety: every filter is read, checked and parsed before anything runs or
    is delivered, so a broken filter defers the message with nothing
    written.  Privileges are dropped (privileges.py) before any file of the
    user's is opened.  A watchdog ends a runaway delivery with EX_TEMPFAIL.
Errors: raised, never printed here: cli.main turns them into output and an
    exit status.  UserUnknown (67) only when every user database answered.
See also: cli.py (argv), interp/ (the filter), deliver/ (the mailboxes),
    userdb/ (who), privileges.py (as whom).
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from pymaildrop import config as configuration
from pymaildrop import limits
from pymaildrop.errors import (
    ConfigError,
    QuotaExceeded,
    SecurityError,
    TempFail,
    UserUnknown,
)
from pymaildrop.interp.effects import RealEffects
from pymaildrop.interp.env import Account, envelope_sender, initial_variables
from pymaildrop.interp.interpreter import FilterState, Interpreter
from pymaildrop.lang import ast
from pymaildrop.log import Reporter
from pymaildrop.message import Message
from pymaildrop.userdb import User
from pymaildrop.watchdog import Watchdog

if TYPE_CHECKING:
    from pymaildrop.cli import Invocation
    from pymaildrop.supervisor import Board


class _Plan(NamedTuple):
    """Everything decided before the first filter statement runs."""

    programs: list[ast.Program]
    account: Account
    filter_name: str
    import_environment: bool
    delivery_mode: bool
    command_timeout: float


def run(inv: Invocation, stdin: BinaryIO, environ: Mapping[str, str],
        stdout: BinaryIO | None = None, board: Board | None = None) -> int:
    """Deliver the message on stdin as the invocation says; return the exit status."""
    cfg = configuration.load(inv.config_path, required=inv.config_path is not None) \
        if inv.delivery_mode else configuration.Config()
    bounce_over_quota = _quota_policy(cfg) == "bounce"
    total = cfg.get_int("delivery_timeout") if inv.delivery_mode else limits.DELIVERY_TIMEOUT
    budget = cfg.get_int("pattern_timeout") if inv.delivery_mode else limits.PATTERN_TIMEOUT
    with Watchdog(total, budget, board) as dog:
        plan = _plan_delivery(inv, cfg) if inv.delivery_mode else _plan_manual(inv)
        message = Message.read_from(stdin)
        if inv.headers:
            message = message.with_prefix([_header_line(h) for h in inv.headers])
        try:
            return _execute(inv, plan, message, environ, stdout, dog)
        except QuotaExceeded as exc:
            if bounce_over_quota:
                exc.bounce()
            raise


def _quota_policy(cfg: configuration.Config) -> str:
    policy = cfg.get("quota_overflow").strip().lower()
    if policy not in ("defer", "bounce"):
        raise ConfigError(f"{cfg.path}: quota_overflow = {policy!r}: use defer or bounce")
    return policy


def _execute(inv: Invocation, plan: _Plan, message: Message, environ: Mapping[str, str],
             stdout: BinaryIO | None, dog: Watchdog) -> int:
    account = plan.account
    # COMPAT: maildrop reads only the first physical line of Return-Path.
    sender = envelope_sender(inv.sender, message.header_first_line("Return-Path"), account.name)
    variables = initial_variables(
        environ=environ, import_environment=plan.import_environment, account=account,
        sender=sender, size=message.size, lines=message.lines, hostname=os.uname().nodename,
        filter_name=plan.filter_name, args=inv.args)
    if inv.verbose is not None and not plan.delivery_mode:
        variables["VERBOSE"] = str(inv.verbose)
    effects = RealEffects(reporter=Reporter(inv.prog), stdout=stdout)
    state = FilterState(variables=variables, message=message, environ=dict(environ),
                        envelope_sender=sender, embedded=inv.embedded,
                        delivery_mode=plan.delivery_mode, command_timeout=plan.command_timeout,
                        quota_warn_percent=inv.quota_warn_percent or 0,
                        quota_warn_file=inv.quota_warn_file or "", pattern_guard=dog.pattern)
    interp = Interpreter(state, effects)
    if interp.verbose >= 2:
        effects.warn(f"Message envelope sender={sender}")
    try:
        for program in plan.programs:
            status = interp.run(program)
            if status is not None:
                return status
        return interp.deliver_default()
    finally:
        interp.close()


# MANUAL MODE


def _plan_manual(inv: Invocation) -> _Plan:
    assert inv.filter_path is not None
    try:
        pw = pwd.getpwuid(os.getuid())
    except KeyError as exc:
        raise TempFail(f"uid {os.getuid()} has no password entry") from exc
    account = Account(name=pw.pw_name, home=pw.pw_dir, shell=pw.pw_shell or "/bin/sh")
    program = _load_manual_filter(inv.filter_path, inv.embedded)
    return _Plan([program], account, inv.filter_path, import_environment=not inv.embedded,
                 delivery_mode=False, command_timeout=limits.COMMAND_TIMEOUT)


def _load_manual_filter(path: str, embedded: bool) -> ast.Program:
    """Open, check and parse the filter named on the command line."""
    from pymaildrop.lang import decode_filter, parse_text

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise TempFail(f"cannot open filter file {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise TempFail(f"filter file {path} is not a regular file")
        text = decode_filter(f.read())
    program = parse_text(text, path)
    if embedded:
        from pymaildrop.lang.restrictions import check_embedded

        check_embedded(program, text)
    return program


# DELIVERY MODE


def _plan_delivery(inv: Invocation, cfg: configuration.Config) -> _Plan:
    from pymaildrop import privileges, userdb
    from pymaildrop.lang import parse_text

    # LOOK UP the recipient: an outage raises TempFail, only "nobody knows" is 67.
    key = inv.user or _login_name()
    specs = userdb.configured_specs(cfg, inv.userdb)
    user = userdb.lookup(key, cfg, inv.userdb)
    if user is None:
        raise UserUnknown(f"unknown user {key} (not in {', '.join(specs)})")
    _check_minimum_uid(user)
    # DROP PRIVILEGES for good, then check the home before opening anything in it.
    privileges.drop_to(user)
    default = _default_mailbox(user)
    privileges.check_mailbox_path(default, user.mailbox_base)
    privileges.check_mailbox_path(user.home, user.mailbox_base)
    _create_first_maildir(user, default)
    privileges.check_home(user.home)
    if default.endswith("/"):
        _create_maildir(default)
    try:
        os.chdir(user.home)
    except OSError as exc:
        raise SecurityError(f"cannot change to home directory {user.home}: "
                            f"{exc.strerror or exc}") from exc
    # READ AND PARSE every filter before anything runs.
    programs = []
    rc_path = cfg.get("maildroprc")
    rc_text = privileges.open_system_filter(rc_path) if rc_path else None
    if rc_text is not None:
        programs.append(parse_text(rc_text, rc_path))
    user_filter = os.path.join(user.home, ".mailfilter")
    user_text = privileges.open_user_filter(user_filter, user.uid)
    if user_text is not None:
        programs.append(parse_text(user_text, user_filter))
    home = user.home.rstrip("/") or "/"
    account = Account(name=user.name, home=home, shell=user.shell or "/bin/sh",
                      default_mailbox=default, quota=user.quota)
    return _Plan(programs, account, user_filter, import_environment=False,
                 delivery_mode=True, command_timeout=float(cfg.get_int("command_timeout")))


def _login_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError as exc:
        raise TempFail(f"uid {os.getuid()} has no password entry") from exc


def _check_minimum_uid(user: User) -> None:
    # SECURITY: virtual(8)'s virtual_minimum_uid: a table must not hand out system uids.
    if user.minimum_uid and user.uid < user.minimum_uid:
        raise SecurityError(f"{user.name}: uid {user.uid} is below the minimum uid "
                            f"{user.minimum_uid} (virtual_minimum_uid); delivery deferred")


def _default_mailbox(user: User) -> str:
    """The database's mailbox (relative to the home), else $HOME/Maildir/."""
    mailbox = user.mailbox or "Maildir/"
    if not mailbox.startswith(("/", "|", "!")):
        mailbox = os.path.join(user.home, mailbox)
    return mailbox


def _create_first_maildir(user: User, mailbox: str) -> None:
    """A virtual user's home may be their maildir: create it on first delivery."""
    home = os.path.normpath(user.home)
    if (not os.path.exists(home) and mailbox.endswith("/")
            and os.path.normpath(mailbox).startswith(home)):
        _create_maildir(mailbox)


def _create_maildir(path: str) -> None:
    """Make the default maildir, or the parts of it that are missing (as virtual(8))."""
    from pymaildrop.deliver import maildir

    if not maildir.is_maildir(path):
        maildir.create(path)


# SHARED


def _header_line(text: str) -> bytes:
    return text.rstrip("\r\n").encode("utf-8", "surrogateescape") + b"\n"
