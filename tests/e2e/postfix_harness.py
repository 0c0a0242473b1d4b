"""Helpers behind the end-to-end fixtures: processes, polling, Postfix, mailboxes.

Contract: plain classes and functions, no pytest fixtures (conftest.py wires
    them up).  run() runs a command and raises with its output; wait_for()
    polls a condition with a deadline; MountNamespace keeps a private mount
    namespace alive and runs commands inside it; PostfixInstance drives one
    private Postfix (render, start, reload, inject, watch the queue and the
    maillog, stop); Maildir reads what a delivery stored; Samples renders the
    files of samples/postfix/ with this machine's paths.
Safety: nothing here touches /etc/postfix, port 25 or a system daemon; the
    namespace only bind-mounts private directories over /etc/courier,
    /run/courier, /var/mail and /etc/maildroprc, for the processes started
    inside it (the private Postfix and authdaemond).
Errors: every wait ends within its timeout with an AssertionError that
    carries the tail of the maillog, so a failing scenario says what Postfix
    did.
See also: conftest.py; /work/shared/research/postfix-notes.md.
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# How long a scenario waits for Postfix and the agent, and how often it looks.
DELIVERY_TIMEOUT = 60.0
POLL_INTERVAL = 0.1

SMTP_CLIENT_NAME = "client.e2e.test"


# ---------------------------------------------------------------- processes


def run(argv: Sequence[str], *, check: bool = True, input: str | None = None,
        timeout: float = 120, env: Mapping[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output, raise with that output on failure."""
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                          timeout=timeout, env=None if env is None else dict(env))
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}\n"
                           f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def wait_for(condition: Callable[[], T | None], *, what: str,
             timeout: float = DELIVERY_TIMEOUT,
             diagnostics: Callable[[], str] = lambda: "") -> T:
    """Poll condition() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n"
                                 f"{diagnostics()}")
        time.sleep(POLL_INTERVAL)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """Return True while process pid exists (and is not a zombie we own)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# ---------------------------------------------------------- mount namespace


class MountNamespace:
    """A private mount namespace held open by a small process.

    binds maps a system path to the private file or directory mounted over
    it.  Only processes started with run() (and their children, such as the
    Postfix master and its delivery agents) see the private versions.
    """

    def __init__(self, binds: Mapping[str, Path]) -> None:
        self.binds = dict(binds)
        self._holder: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Create the namespace and bind-mount the private paths."""
        lines = ["set -e"]
        for target, source in self.binds.items():
            lines.append(f"mount --bind '{source}' '{target}'")
        # The holder lives until we close its stdin (or the test run dies).
        lines += ["echo ready", "exec cat >/dev/null"]
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--",
             "/bin/sh", "-c", "\n".join(lines)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self._holder.stdout is not None
        if self._holder.stdout.readline().strip() != "ready":
            _, err = self._holder.communicate(timeout=10)
            raise RuntimeError(f"cannot set up the private mount namespace: {err}")

    @property
    def pid(self) -> int:
        assert self._holder is not None, "namespace not started"
        return self._holder.pid

    def run(self, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace (see run())."""
        return run(["nsenter", f"--target={self.pid}", "--mount", "--", *argv],
                   **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Let the holder exit; the namespace goes when its last process does."""
        if self._holder is None:
            return
        assert self._holder.stdin is not None
        self._holder.stdin.close()
        try:
            self._holder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._holder.kill()
            self._holder.wait(timeout=10)
        for stream in (self._holder.stdout, self._holder.stderr):
            if stream is not None:
                stream.close()
        self._holder = None


# ------------------------------------------------------------------ samples


class Samples:
    """The files of samples/postfix/, rendered for this machine.

    `common` substitutions (paths, ids) are applied wherever they occur;
    the `required` ones given to render() must occur in that sample, so a
    sample edited out from under the tests fails loudly instead of silently
    rendering a different configuration.
    """

    def __init__(self, directory: Path, common: Sequence[tuple[str, str]]) -> None:
        self.directory = directory
        self.common = list(common)

    def text(self, name: str) -> str:
        """Return a sample exactly as shipped."""
        return (self.directory / name).read_text()

    def render(self, name: str, required: Mapping[str, str] | None = None) -> str:
        """Return a sample with the substitutions applied."""
        text = self.text(name)
        for old, new in (required or {}).items():
            assert old in text, f"samples/postfix/{name} no longer contains {old!r}"
            text = text.replace(old, new)
        for old, new in self.common:
            text = text.replace(old, new)
        return text


def master_entry(master_cf: str, service: str) -> str:
    """Return one service entry (with its continuation lines) from master.cf text."""
    entry: list[str] = []
    for line in master_cf.splitlines():
        if entry and line[:1] in (" ", "\t"):
            entry.append(line)
        elif entry:
            break
        elif line.split(None, 1)[:1] == [service]:
            entry.append(line)
    assert entry, f"no service {service!r} in master.cf text"
    return "\n".join(entry) + "\n"


# ------------------------------------------------------------------ messages


@dataclass(frozen=True)
class Message:
    """A test message: its Message-ID and its bytes (LF line ends)."""

    msgid: str
    sender: str
    recipient: str
    raw: bytes


def compose(sender: str, recipient: str, subject: str, body: str = "") -> Message:
    """Build a small message with a unique Message-ID."""
    msgid = f"<{uuid.uuid4().hex}@e2e.test>"
    body = body or f"Test body for {subject}.\nSecond line.\n"
    raw = (f"From: {sender}\n"
           f"To: {recipient}\n"
           f"Subject: {subject}\n"
           f"Date: Thu, 21 Nov 2024 10:00:00 +0000\n"
           f"Message-ID: {msgid}\n"
           f"\n{body}").encode()
    return Message(msgid, sender, recipient, raw)


@dataclass(frozen=True)
class LogDelivery:
    """One delivery attempt as the maillog reports it."""

    qid: str
    to: str
    relay: str
    dsn: str
    status: str
    text: str
    line: str


_DELIVERY = re.compile(
    r"\]: (?P<qid>[0-9A-F]+): to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)? "
    r"relay=(?P<relay>[^,]+), .*?dsn=(?P<dsn>[0-9.]+), "
    r"status=(?P<status>\w+) \((?P<text>.*)\)$")


# ------------------------------------------------------------------ Postfix


class PostfixInstance:
    """One private Postfix: its directories, port, namespace and maillog."""

    def __init__(self, base: Path, namespace: MountNamespace, port: int) -> None:
        self.base = base
        self.confdir = base / "postfix-etc"
        self.queuedir = base / "postfix-spool"
        self.datadir = base / "postfix-data"
        self.maillog = base / "maillog"
        self.ns = namespace
        self.port = port

    # ---- lifecycle

    def postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `postfix -c CONFDIR ARGS` inside the namespace."""
        return self.ns.run(["postfix", "-c", str(self.confdir), *args], check=check)

    def start(self) -> None:
        """Start master and wait until smtpd answers on the port."""
        self.postfix("start")
        wait_for(self._smtp_ready, what=f"smtpd on 127.0.0.1:{self.port}",
                 timeout=30, diagnostics=self.log_tail)

    def stop(self) -> None:
        """Stop master and wait until it is gone."""
        pid = self.master_pid()
        self.postfix("stop", check=False)
        if pid:
            wait_for(lambda: not pid_alive(pid), what="the Postfix master to exit",
                     timeout=30, diagnostics=self.log_tail)

    def reload(self) -> None:
        """Make master re-read main.cf/master.cf; wait until it has."""
        before = self.log().count(" reload -- version ")
        self.postfix("reload")
        wait_for(lambda: self.log().count(" reload -- version ") > before,
                 what="postfix reload", timeout=30, diagnostics=self.log_tail)

    def master_pid(self) -> int | None:
        """Return the master's pid from its pid file, if it is running."""
        try:
            pid = int((self.queuedir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def _smtp_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    # ---- tables

    def postmap(self, table: Path) -> None:
        """Build TABLE.db with this instance's configuration."""
        run(["postmap", "-c", str(self.confdir), f"hash:{table}"])

    # ---- mail in

    def send(self, message: Message, recipients: Iterable[str] | None = None) -> None:
        """Inject a message over SMTP (the envelope is the message's unless given)."""
        rcpts = list(recipients) if recipients is not None else [message.recipient]
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=SMTP_CLIENT_NAME,
                          timeout=30) as smtp:
            # Bytes go out as given: send CRLF, or smtplib adds a line of its own.
            refused = smtp.sendmail(message.sender, rcpts,
                                    message.raw.replace(b"\n", b"\r\n"))
        assert not refused, f"recipients refused: {refused}"

    def sendmail(self, message: Message) -> None:
        """Inject a message the local way: `sendmail -C CONFDIR` (postdrop, pickup)."""
        run(["sendmail", "-C", str(self.confdir), "-f", message.sender, "--",
             message.recipient], input=message.raw.decode())

    def rcpt_reply(self, sender: str, recipient: str) -> tuple[int, str]:
        """Return the server's reply to RCPT TO (the transaction is reset)."""
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=SMTP_CLIENT_NAME,
                          timeout=30) as smtp:
            smtp.ehlo()
            code, _ = smtp.mail(sender)
            assert code == 250, f"MAIL FROM refused: {code}"
            code, text = smtp.rcpt(recipient)
            smtp.rset()
        return code, text.decode(errors="replace")

    # ---- queue

    def queue(self) -> list[dict[str, object]]:
        """Return the queue as `postqueue -j` lists it (one dict per message)."""
        out = run(["postqueue", "-c", str(self.confdir), "-j"]).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def queued(self, qid: str) -> dict[str, object] | None:
        """Return the queue entry of one message, None when it is not queued."""
        return next((m for m in self.queue() if m.get("queue_id") == qid), None)

    def flush(self) -> None:
        """Ask the queue manager to retry every deferred message now."""
        run(["postqueue", "-c", str(self.confdir), "-f"])

    def purge(self) -> None:
        """Delete every queued message."""
        run(["postsuper", "-c", str(self.confdir), "-d", "ALL"], check=False)

    # ---- maillog

    def log(self) -> str:
        """Return the whole maillog."""
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the maillog, for assertion messages."""
        tail = self.log().splitlines()[-lines:]
        return "---- maillog (tail) ----\n" + "\n".join(tail)

    def queue_id(self, message: Message) -> str:
        """Wait until cleanup has logged the message; return its queue ID."""
        pattern = re.compile(r"\]: ([0-9A-F]+): message-id=" + re.escape(message.msgid))

        def find() -> str | None:
            m = pattern.search(self.log())
            return m.group(1) if m else None

        return wait_for(find, what=f"queue ID of {message.msgid}", diagnostics=self.log_tail)

    def deliveries(self, qid: str) -> list[LogDelivery]:
        """Return every delivery attempt logged for a queue ID, oldest first."""
        found = []
        for line in self.log().splitlines():
            m = _DELIVERY.search(line)
            if m and m["qid"] == qid:
                found.append(LogDelivery(m["qid"], m["to"], m["relay"], m["dsn"],
                                         m["status"], m["text"], line))
        return found

    def attempt(self, qid: str, number: int = 1) -> LogDelivery:
        """Wait for the number-th delivery attempt of qid to be logged; return it.

        Waiting for any outcome, not for the one a test hopes for, makes a
        wrong outcome fail at once, with the maillog, instead of at the timeout.
        """

        def find() -> LogDelivery | None:
            attempts = self.deliveries(qid)
            return attempts[number - 1] if len(attempts) >= number else None

        return wait_for(find, what=f"delivery attempt {number} of {qid}",
                        diagnostics=self.log_tail)

    def bounce_of(self, qid: str) -> str:
        """Wait until bounce(8) has sent a non-delivery notice for qid; return its ID."""
        pattern = re.compile(re.escape(qid) + r": sender non-delivery notification: ([0-9A-F]+)")

        def find() -> str | None:
            m = pattern.search(self.log())
            return m.group(1) if m else None

        return wait_for(find, what=f"the bounce of {qid}", diagnostics=self.log_tail)

    def wait_gone(self, qid: str) -> None:
        """Wait until a message has left the queue."""
        wait_for(lambda: self.queued(qid) is None, what=f"{qid} to leave the queue",
                 diagnostics=self.log_tail)


# ---------------------------------------------------------------- mailboxes


class Maildir:
    """A Maildir (or Maildir++ folder) the agent delivers into."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        """Return every message file in new/ and cur/."""
        return sorted(p for sub in ("new", "cur") if (self.path / sub).is_dir()
                      for p in (self.path / sub).iterdir() if p.is_file())

    def paths_with_id(self, message: Message) -> list[Path]:
        """Return the files that hold a copy of one message."""
        needle = f"\nMessage-ID: {message.msgid}\n".encode()
        return [p for p in self.files() if needle in p.read_bytes()]

    def with_id(self, message: Message) -> list[bytes]:
        """Return the stored copies of one message."""
        return [p.read_bytes() for p in self.paths_with_id(message)]
