"""Tool subcommands: `pymaildrop lookup [--config F] [--userdb SPEC...] ADDRESS`.

Contract: main(argv, prog) -> int, argv starting with the subcommand name.
    `lookup` asks the user databases a delivery would ask, in the same order,
    and prints (like `postmap -q`) which source answered and the uid, gid,
    home, mailbox and quota a delivery would use.  Exit 0 when found, 67
    (EX_NOUSER) when no source knows the address, 75 (EX_TEMPFAIL) when a
    source cannot be reached, the configuration is bad, or the usage is.
Safety: read-only; it never changes user or writes a file.  click is
    imported here only, so a delivery never pays for it, and none of click's
    own exit codes (1, 2) can leak: every outcome is one of 0, 67, 75.
Errors: every exception ends as a one-line message on stderr and a status;
    main never raises.
See also: userdb/__init__.py (the order of sources); postmap(1) "-q".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from pymaildrop.exits import ExitCode
from pymaildrop.userdb import Source, User


def main(argv: Sequence[str], prog: str = "pymaildrop") -> int:
    """Run a tool subcommand; return its exit status (never raise)."""
    try:
        import click

        try:
            result = _cli().main(list(argv), prog_name=prog, standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            return ExitCode.TEMPFAIL
        except (click.Abort, EOFError, KeyboardInterrupt):
            _error(f"{prog}: interrupted")
            return ExitCode.TEMPFAIL
        if isinstance(result, int) and result in (ExitCode.OK, ExitCode.NOUSER):
            return result
        return ExitCode.TEMPFAIL
    except BaseException as exc:  # noqa: BLE001 - a tool must answer with a status
        _error(f"{prog}: internal error: {type(exc).__name__}: {exc}")
        return ExitCode.TEMPFAIL


def _cli() -> Any:
    """Build the click group (click is imported only when a tool runs)."""
    import click

    @click.group(help="pymaildrop's tools.")
    def cli() -> None:
        pass

    @cli.command(help="Show which user database knows ADDRESS and what a delivery "
                      "to it would use.")
    @click.option("--config", "config_path", metavar="FILE",
                  help="configuration file (default /etc/pymaildrop/pymaildrop.cf)")
    @click.option("--userdb", "userdb", multiple=True, metavar="SPEC",
                  help="ask this source instead of the configured ones (repeatable)")
    @click.argument("address")
    def lookup(config_path: str | None, userdb: tuple[str, ...], address: str) -> int:
        return run_lookup(address, config_path, list(userdb))

    return cli


def run_lookup(address: str, config_path: str | None, override: list[str]) -> int:
    """Look address up as a delivery would; print the answer; return the status."""
    from pymaildrop import config as configuration
    from pymaildrop import userdb
    from pymaildrop.errors import MaildropError

    tried: list[str] = []
    try:
        config = configuration.load(config_path, required=config_path is not None)
        for spec in userdb.configured_specs(config, override):
            source = userdb.open_source(spec, config)
            tried.append(source.spec)
            user = source.lookup(address)
            if user is not None:
                sys.stdout.write(render(address, user, source))
                return ExitCode.OK
    except MaildropError as exc:
        _error(f"{address}: {exc.message}")
        return ExitCode.TEMPFAIL
    _error(f"{address}: not found in {', '.join(tried) or 'no user database'}")
    return ExitCode.NOUSER


def render(address: str, user: User, source: Source) -> str:
    """Format a User the way `pymaildrop lookup` prints it."""
    where = user.source or source.spec
    mailbox = user.mailbox or os.path.join(user.home, "Maildir/") + " (default)"
    rows = [
        ("address", address),
        ("source", f"{where} ({user.detail})" if user.detail else where),
        ("name", user.name),
        ("uid", str(user.uid)),
        ("gid", str(user.gid)),
        ("home", user.home),
        ("mailbox", mailbox),
        ("quota", user.quota or "(none)"),
    ]
    minimum = getattr(source, "minimum_uid", None)
    if isinstance(minimum, int) and user.uid < minimum:
        rows.append(("refused", f"uid {user.uid} is below the minimum {minimum}: "
                                "a delivery would be deferred"))
    return "".join(f"{label + ':':<10}{value}\n" for label, value in rows)


def _error(text: str) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
