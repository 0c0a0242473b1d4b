"""Run the external commands a filter asks for: |pipes, xfilter, `backticks`,
system, and the SENDMAIL of a forward.

Contract: run(argv, env, stdin=..., capture=..., timeout=...) -> Result with
    the exit status (or the signal that killed it) and, when captured, the
    output.  The command gets exactly the environment given, umask 007 (as
    maildrop's children get), the current directory, and its own process
    group; a shell command is argv [basename(SHELL), "-c", command].
Safety: the environment is built by the caller from filter variables; names
    that are not valid shell identifiers and values with NUL are dropped.  On
    timeout the whole process group is killed, so nothing keeps writing after
    the delivery is given up.  Input is fed from a thread so a command that
    writes before it reads cannot deadlock with us.
Errors: OSError starting the command, and timeouts, become TempFail.
See also: maildropfilter(7) "to", "xfilter", "system", "Command substitution".
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping
from typing import BinaryIO, NamedTuple

from pymaildrop import limits
from pymaildrop.errors import TempFail

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Result(NamedTuple):
    """How a command ended."""

    status: int | None          # exit status, or None when a signal killed it
    signal: int | None          # the signal that killed it
    output: bytes = b""         # captured standard output
    input_complete: bool = True  # False when it exited before reading all its input

    @property
    def code(self) -> int:
        """The exit status, or 128 + signal number, as a shell reports it."""
        if self.status is not None:
            return self.status
        return 128 + (self.signal or 0)


def shell_argv(shell: str, command: str) -> list[str]:
    """Return the argv that runs command through shell, as maildrop does."""
    shell = shell or "/bin/sh"
    return [shell, "-c", command]


def build_env(variables: Mapping[str, str]) -> dict[str, str]:
    """Return the environment for a command: every variable with a valid name."""
    # SECURITY: only names a shell accepts, and no NUL bytes (Postfix local/command.c).
    return {k: v for k, v in variables.items()
            if _ENV_NAME.match(k) and "\0" not in v}


def run(argv: list[str], env: Mapping[str, str], *, stdin: BinaryIO | Iterable[bytes] | None,
        capture: bool = False, timeout: float = limits.COMMAND_TIMEOUT,
        max_output: int | None = None, output_to: BinaryIO | None = None,
        cwd: str | None = None) -> Result:
    """Run a command to completion; feed it stdin; return how it ended.

    stdin is None (the command reads /dev/null), a binary stream or an iterable
    of byte chunks.  With capture the standard output is returned (up to
    max_output bytes); with output_to it is written there as it arrives;
    otherwise it is inherited.
    """
    exe = argv[0]
    display = [os.path.basename(exe)] + argv[1:]
    try:
        proc = subprocess.Popen(
            display, executable=exe, env=dict(env), cwd=cwd,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE if (capture or output_to is not None) else None,
            start_new_session=True, umask=limits.COMMAND_UMASK, close_fds=True)
    except OSError as exc:
        raise TempFail(f"cannot run {exe}: {exc.strerror or exc}") from exc
    killed = threading.Event()

    def on_timeout() -> None:
        killed.set()
        _kill_group(proc)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    feeder = _Feeder(proc, stdin) if stdin is not None else None
    try:
        output = _collect(proc, output_to, max_output)
        proc.wait()
    finally:
        timer.cancel()
        if feeder is not None:
            feeder.join()
        if proc.stdout is not None:
            proc.stdout.close()
    if killed.is_set():
        raise TempFail(f"command timed out after {timeout:g} s and was killed: "
                       f"{' '.join(argv)[:200]}")
    status, sig = _decode_status(proc.returncode)
    complete = feeder.complete if feeder is not None else True
    return Result(status, sig, output, complete)


def _collect(proc: subprocess.Popen[bytes], output_to: BinaryIO | None,
             max_output: int | None) -> bytes:
    """Read the command's output to its end (the timer kills it if it hangs)."""
    if proc.stdout is None:
        return b""
    chunks: list[bytes] = []
    taken = 0
    while True:
        chunk = proc.stdout.read(65536)
        if not chunk:
            break
        if output_to is not None:
            output_to.write(chunk)
        elif max_output is None or taken < max_output:
            chunks.append(chunk)
            taken += len(chunk)
    data = b"".join(chunks)
    return data if max_output is None else data[:max_output]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _decode_status(returncode: int) -> tuple[int | None, int | None]:
    if returncode < 0:
        return None, -returncode
    return returncode, None


class _Feeder(threading.Thread):
    """Write a command's input from a thread; note whether it took all of it."""

    def __init__(self, proc: subprocess.Popen[bytes], data: BinaryIO | Iterable[bytes]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.data = data
        self.complete = True
        self.start()

    def run(self) -> None:
        pipe = self.proc.stdin
        assert pipe is not None
        try:
            for chunk in _chunks(self.data):
                pipe.write(chunk)
            pipe.flush()
        except BrokenPipeError:
            self.complete = False
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self.complete = False
        finally:
            try:
                pipe.close()
            except OSError:
                pass


def _chunks(data: BinaryIO | Iterable[bytes]) -> Iterable[bytes]:
    if hasattr(data, "read"):
        reader: BinaryIO = data  # type: ignore[assignment]
        while True:
            chunk = reader.read(65536)
            if not chunk:
                return
            yield chunk
    else:
        yield from data
