"""The command line: maildrop's options in, an exit status out.

Contract: main(argv) -> int runs pymaildrop; entry() is the console script
    (and `python -m pymaildrop`).  `pymaildrop [options] FILTERFILE [arg...]`
    and `pymaildrop [options] -d USER [arg...]` take maildrop(1)'s options
    (-A -a -d -f -m -V -w -W -h -v, "--"), parsed by hand the way getopt
    does (options stop at the first non-option), because a delivery must not
    pay for importing a CLI framework.  Tool subcommands
    (`pymaildrop lookup ...`) go to tools.py, which uses click.
Safety: this is where every exit status is decided and the last line of
    defence: every exception becomes EX_TEMPFAIL with one line on stderr
    (the traceback only with -V or --traceback), because Postfix bounces
    every status but 75 and 71 -- a bug must defer mail, never bounce it.
    Signals that end the process (TERM, HUP, INT, ALRM) end it with 75.
Errors: a bad option is EX_TEMPFAIL, as maildrop's "Bad command line
    arguments" is, so a typo in master.cf defers mail instead of bouncing it.
See also: maildrop(1) "OPTIONS"; agent.py; exits.py.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from pymaildrop import __version__, limits
from pymaildrop.errors import FilterSyntaxError, MaildropError, Timeout, UsageError
from pymaildrop.exits import ExitCode

if TYPE_CHECKING:
    from pymaildrop.supervisor import Board

SUBCOMMANDS = frozenset({"lookup"})

_WITH_VALUE = frozenset("AdfVMwW")
_FLAGS = frozenset("amhv")

USAGE = """\
Usage: {prog} [options] [-d user] [arg] [arg] ...
       {prog} [options] [filterfile [arg] [arg] ...]
Options: -A 'Header: value'  add a header     -f sender   set the envelope sender
         -V level            debug output     -m          embedded mode
         -w percent, -W file quota warnings   -v          version
         --config FILE       configuration (default /etc/pymaildrop/pymaildrop.cf)
         --userdb TYPE:NAME  user database for this delivery (repeatable)
Tools:   {prog} lookup ADDRESS   (see README)
"""


class Invocation:
    """What the command line asked for (filled in by cli.parse_args)."""

    def __init__(self, prog: str = "maildrop") -> None:
        self.prog = prog
        self.filter_path: str | None = None
        self.args: list[str] = []
        self.headers: list[str] = []
        self.sender: str | None = None
        self.verbose: int | None = None
        self.embedded = False
        self.user: str | None = None
        self.delivery_mode = False
        self.config_path: str | None = None
        self.userdb: list[str] = []
        self.quota_warn_percent: int | None = None
        self.quota_warn_file: str | None = None
        self.traceback = False
        self.show_help = False
        self.show_version = False

    def __repr__(self) -> str:
        return f"Invocation({vars(self)!r})"


def main(argv: Sequence[str] | None = None, *, supervised: bool = True) -> int:
    """Run pymaildrop; return the exit status (never raise).

    A delivery runs in a child process watched by a supervisor (supervisor.py);
    supervised=False runs it in this process (for tests and embedding).
    """
    argv = list(sys.argv if argv is None else argv)
    prog = os.path.basename(argv[0]) if argv else "pymaildrop"
    traceback_wanted = "--traceback" in argv
    _install_signal_handlers()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), limits.MAX_RECURSION))
    if len(argv) > 1 and argv[1] in SUBCOMMANDS:
        return _guard(prog, traceback_wanted, lambda: _tool(argv[1:], prog))
    parsed: list[Invocation] = []
    status = _guard(prog, traceback_wanted, lambda: _prepare(argv[1:], prog, parsed))
    if not parsed:
        return status                 # help, version, or a bad command line
    inv = parsed[0]
    traceback_wanted = traceback_wanted or inv.traceback

    def deliver(board: Board | None) -> int:
        from pymaildrop import agent

        return _guard(prog, traceback_wanted,
                      lambda: agent.run(inv, sys.stdin.buffer, os.environ, board=board))

    if not supervised:
        return deliver(None)
    from pymaildrop.supervisor import supervise

    return supervise(deliver, prog)


def entry(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run main(argv) and leave at once with its status.

    The process skips the interpreter's teardown (os._exit), which would
    free every module one by one for a few milliseconds; nothing but
    standard output and standard error can hold data by then (files are
    closed where they are used, the spool file is unlinked when made), and
    they are flushed first.
    """
    status = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def _tool(args: list[str], prog: str) -> int:
    from pymaildrop import tools

    return tools.main(args, prog)


def _prepare(args: list[str], prog: str, parsed: list[Invocation]) -> int:
    """Parse the command line; answer -h and -v; otherwise hand the Invocation back."""
    inv = parse_args(args, prog)
    if inv.show_help:
        sys.stdout.write(USAGE.format(prog=prog))
        return ExitCode.TEMPFAIL
    if inv.show_version:
        sys.stdout.write(f"pymaildrop {__version__} (compatible with maildrop 2.9)\n")
        return ExitCode.OK
    parsed.append(inv)
    return ExitCode.OK


def _guard(prog: str, traceback_wanted: bool, work: Callable[[], int]) -> int:
    """Run work(); turn every exception into one line on stderr and an exit status."""
    try:
        return work()
    except FilterSyntaxError as exc:
        _report(prog, exc.render())
        return exc.code
    except MaildropError as exc:
        where = getattr(exc, "where", None)
        status = f"{exc.dsn} " if exc.dsn else ""
        _report(prog, f"{status}{prog}: {where + ': ' if where else ''}{exc.message}")
        return exc.code
    except KeyboardInterrupt:
        _report(prog, f"{prog}: interrupted; delivery deferred")
        return ExitCode.TEMPFAIL
    except BaseException as exc:  # noqa: BLE001 - the last line of defence
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return ExitCode.OK
        if traceback_wanted:
            import traceback

            traceback.print_exc()
        _report(prog, f"{prog}: internal error, delivery deferred: "
                      f"{type(exc).__name__}: {exc}")
        return ExitCode.TEMPFAIL


def _report(prog: str, text: str) -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    try:
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def parse_args(args: Sequence[str], prog: str = "maildrop") -> Invocation:
    """Parse maildrop's options and arguments into an Invocation."""
    inv = Invocation(prog=prog)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if arg.startswith("--"):
            i = _long_option(args, i, inv)
        elif arg.startswith("-") and arg != "-":
            i = _short_options(args, i, inv)
        else:
            break
        if inv.show_help or inv.show_version:
            return inv
    rest = list(args[i:])
    if inv.delivery_mode:
        inv.args = rest
    elif rest:
        inv.filter_path, inv.args = rest[0], rest[1:]
    else:
        inv.delivery_mode = True
    return inv


_LONG_WITH_VALUE = ("--config", "--userdb")


def _long_option(args: Sequence[str], i: int, inv: Invocation) -> int:
    """Parse one long option (pymaildrop's own); return the next index."""
    name, eq, value = args[i].partition("=")
    if name in _LONG_WITH_VALUE:
        if not eq:
            if i + 1 >= len(args):
                raise UsageError(f"Bad command line arguments: {name} needs a value")
            i += 1
            value = args[i]
        if name == "--config":
            inv.config_path = value
        else:
            inv.userdb.append(value)
    elif eq:
        raise UsageError(f"Bad command line arguments: {name} takes no value")
    elif name == "--help":
        inv.show_help = True
    elif name == "--version":
        inv.show_version = True
    elif name == "--traceback":
        inv.traceback = True
    else:
        raise UsageError(f"Bad command line arguments: unknown option {name}; -h for help.")
    return i + 1


def _short_options(args: Sequence[str], i: int, inv: Invocation) -> int:
    """Parse one argument of short options (getopt style); return the next index."""
    arg = args[i]
    j = 1
    while j < len(arg):
        opt = arg[j]
        if opt in _FLAGS:
            _set_flag(opt, inv)
            j += 1
            continue
        if opt not in _WITH_VALUE:
            raise UsageError(f"Bad command line arguments: unknown option -{opt}; -h for help.")
        value = arg[j + 1:]
        if not value:
            if i + 1 < len(args):
                i += 1
                value = args[i]
            elif opt != "d":
                raise UsageError(f"Bad command line arguments: -{opt} needs a value; "
                                 "-h for help.")
        _set_value(opt, value, inv)
        break
    return i + 1


def _set_flag(opt: str, inv: Invocation) -> None:
    if opt == "m":
        inv.embedded = True
    elif opt == "h":
        inv.show_help = True
    elif opt == "v":
        inv.show_version = True
    # -a (authlib is mandatory) needs no action: pymaildrop never bounces on a
    # user database that cannot be reached.


def _set_value(opt: str, value: str, inv: Invocation) -> None:
    if opt == "A":
        inv.headers.append(value)
    elif opt == "f":
        inv.sender = value or None
    elif opt == "V":
        inv.verbose = _number(value, "-V")
    elif opt == "d":
        inv.delivery_mode = True
        inv.user = value or None
    elif opt == "M":
        raise UsageError("-M (special embedded mode) is not supported; use -m FILTERFILE")
    elif opt == "w":
        inv.quota_warn_percent = _number(value, "-w")
    elif opt == "W":
        inv.quota_warn_file = value


def _number(value: str, opt: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"Bad command line arguments: {opt} needs a number, "
                         f"not {value!r}") from None


def _install_signal_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGXFSZ):
        try:
            signal.signal(sig, _on_signal)
        except (OSError, ValueError):
            pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if signum == signal.SIGXFSZ:
        return  # the write that crossed the limit fails with EFBIG and is handled there
    raise Timeout(f"stopped by {name}; delivery deferred")
