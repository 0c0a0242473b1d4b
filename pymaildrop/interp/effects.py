"""The one interface through which a running filter touches the world.

Contract: Effects is what the interpreter asks for: deliveries (mailbox,
    pipe, forward), commands (xfilter, backtick, system), output (echo,
    diagnostics, log file), file reads (lookup, include), locks, databases
    and the clock.  RealEffects performs them; a dry run or a test passes a
    recording implementation instead, so the interpreter itself does no I/O.
Safety: every command runs through proc.run with an explicit environment;
    every mailbox write goes through deliver/ (O_EXCL, O_NOFOLLOW, fsync).
Errors: DeliveryError / TempFail from the backends pass through unchanged.
See also: interpreter.py, proc.py, deliver/, log.py.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, Protocol

from pymaildrop import limits
from pymaildrop.deliver import MailboxOptions
from pymaildrop.errors import TempFail
from pymaildrop.log import LogFile, Reporter
from pymaildrop.message import Message

if TYPE_CHECKING:
    from pymaildrop import proc


class CommandContext(NamedTuple):
    """What a command started by the filter gets."""

    env: Mapping[str, str]
    shell: str = "/bin/sh"
    timeout: float = limits.COMMAND_TIMEOUT
    cwd: str | None = None


class Effects(Protocol):
    """Everything the interpreter may do outside itself."""

    def deliver_mailbox(self, path: str, message: Message, opts: MailboxOptions) -> str: ...
    def deliver_pipe(self, command: str, message: Message, ctx: CommandContext
                     ) -> proc.Result: ...
    def forward(self, argv: list[str], message: Message, ctx: CommandContext
                ) -> proc.Result: ...
    def filter_message(self, command: str, message: Message, ctx: CommandContext
                       ) -> tuple[proc.Result, Message | None]: ...
    def backtick(self, command: str, message: Message, ctx: CommandContext) -> proc.Result: ...
    def system(self, command: str, ctx: CommandContext) -> proc.Result: ...
    def echo(self, data: bytes) -> None: ...
    def warn(self, text: str) -> None: ...
    def error(self, text: str) -> None: ...
    def open_log(self, path: str) -> None: ...
    def write_log(self, data: bytes) -> None: ...
    def read_file(self, path: str) -> bytes: ...
    def dotlock(self, path: str, opts: MailboxOptions) -> AbstractContextManager[Any]: ...
    def flock(self, path: str, opts: MailboxOptions) -> AbstractContextManager[Any]: ...
    def open_db(self, path: str, mode: str) -> Any: ...
    def now(self) -> float: ...


class RealEffects:
    """Effects that really happen."""

    def __init__(self, reporter: Reporter | None = None, stdout: BinaryIO | None = None,
                 spool_dir: str | None = None) -> None:
        self.reporter = reporter if reporter is not None else Reporter()
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.spool_dir = spool_dir
        self._log: LogFile | None = None

    # DELIVERIES

    def deliver_mailbox(self, path: str, message: Message, opts: MailboxOptions) -> str:
        from pymaildrop.deliver import deliver_to_file

        return deliver_to_file(message, path, opts)

    def deliver_pipe(self, command: str, message: Message, ctx: CommandContext) -> proc.Result:
        from pymaildrop import proc

        self.stdout.flush()
        return proc.run(proc.shell_argv(ctx.shell, command), ctx.env,
                        stdin=message.chunks(), timeout=ctx.timeout, cwd=ctx.cwd)

    def forward(self, argv: list[str], message: Message, ctx: CommandContext) -> proc.Result:
        from pymaildrop import proc

        self.stdout.flush()
        return proc.run(argv, ctx.env, stdin=message.chunks(), timeout=ctx.timeout, cwd=ctx.cwd)

    # COMMANDS

    def filter_message(self, command: str, message: Message, ctx: CommandContext
                       ) -> tuple[proc.Result, Message | None]:
        import tempfile

        from pymaildrop import proc

        self.stdout.flush()
        with tempfile.TemporaryFile(dir=self.spool_dir) as out:
            result = proc.run(proc.shell_argv(ctx.shell, command), ctx.env,
                              stdin=message.chunks(), output_to=out, timeout=ctx.timeout,
                              cwd=ctx.cwd)
            if result.status != 0:
                return result, None
            out.seek(0)
            return result, Message.read_from(out, spool_dir=self.spool_dir)

    def backtick(self, command: str, message: Message, ctx: CommandContext) -> proc.Result:
        from pymaildrop import proc

        self.stdout.flush()
        return proc.run(proc.shell_argv(ctx.shell, command), ctx.env, stdin=message.chunks(),
                        capture=True, max_output=limits.MAX_BACKTICK_OUTPUT,
                        timeout=ctx.timeout, cwd=ctx.cwd)

    def system(self, command: str, ctx: CommandContext) -> proc.Result:
        from pymaildrop import proc

        self.stdout.flush()
        return proc.run(proc.shell_argv(ctx.shell, command), ctx.env, stdin=None,
                        timeout=ctx.timeout, cwd=ctx.cwd)

    # OUTPUT

    def echo(self, data: bytes) -> None:
        self.stdout.write(data)
        self.stdout.flush()

    def warn(self, text: str) -> None:
        self.reporter.raw(text if text.endswith("\n") else text + "\n")

    def error(self, text: str) -> None:
        self.reporter.error(text)

    def open_log(self, path: str) -> None:
        self._log = LogFile(path)

    def write_log(self, data: bytes) -> None:
        if self._log is not None:
            self._log.append(data)

    # FILES, LOCKS, DATABASES, CLOCK

    def read_file(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def dotlock(self, path: str, opts: MailboxOptions) -> AbstractContextManager[Any]:
        from pymaildrop.deliver import locking

        return locking.dotlock(path, opts)

    def flock(self, path: str, opts: MailboxOptions) -> AbstractContextManager[Any]:
        from pymaildrop.deliver import locking

        return locking.flock(path)

    def open_db(self, path: str, mode: str) -> Any:
        from pymaildrop.interp.gdbm import open_db

        return open_db(path, mode)

    def now(self) -> float:
        return time.time()


def sendmail_argv(sendmail: str, addresses: str) -> list[str]:
    """Return the argv of a forward: SENDMAIL's words, -f "", then the addresses.

    COMPAT: maildrop runs "$SENDMAIL -f '' addresses" through the shell.  We
    split SENDMAIL into words and pass each address as its own argument, with
    no shell, so text taken from a message cannot inject shell syntax.
    """
    try:
        words = shlex.split(sendmail)
    except ValueError as exc:
        raise TempFail(f"SENDMAIL={sendmail!r} is not a valid command line: {exc}") from exc
    if not words:
        raise TempFail("SENDMAIL is empty: cannot forward")
    return words + ["-f", ""] + addresses.split()
