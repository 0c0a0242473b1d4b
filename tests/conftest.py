"""Shared fixtures: messages, a recording Effects, and running the CLI."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pymaildrop.interp.effects import CommandContext
from pymaildrop.message import Message
from pymaildrop.proc import Result

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

SAMPLE = (
    b"Return-Path: <alice@example.com>\n"
    b"From: Alice Example <alice@example.com>\n"
    b"To: Bob Builder <bob@example.net>\n"
    b"Subject: Lunch on Friday\n"
    b"Date: Tue, 5 Mar 2024 09:15:00 +0000\n"
    b"Message-ID: <lunch-0305@example.com>\n"
    b"\n"
    b"Hi Bob,\n"
    b"\n"
    b"Are we still on for lunch on Friday?\n"
    b"\n"
    b"Alice\n"
)


@pytest.fixture
def sample() -> Message:
    return Message.from_bytes(SAMPLE)


@dataclass
class RecordingEffects:
    """Effects that record what the filter asked for instead of doing it.

    `transcript` lists ("mailbox", path), ("pipe", command), ("forward", argv),
    ("xfilter", command), ("backtick", command), ("system", command) in order.
    Command results come from `results` (command -> Result) or default to 0.
    """

    transcript: list[tuple[str, Any]] = field(default_factory=list)
    stdout: bytearray = field(default_factory=bytearray)
    stderr: list[str] = field(default_factory=list)
    log: bytearray = field(default_factory=bytearray)
    log_path: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)
    delivered: list[tuple[str, bytes]] = field(default_factory=list)
    fail_mailbox: dict[str, Exception] = field(default_factory=dict)
    clock: float = 1_700_000_000.0
    dbs: dict[str, dict[str, str]] = field(default_factory=dict)

    def _result(self, command: str) -> Result:
        return self.results.get(command, Result(0, None, self.outputs.get(command, b"")))

    def deliver_mailbox(self, path: str, message: Message, opts: Any) -> str:
        self.transcript.append(("mailbox", path))
        if path in self.fail_mailbox:
            raise self.fail_mailbox[path]
        self.delivered.append((path, message.raw_bytes()))
        return path

    def deliver_pipe(self, command: str, message: Message, ctx: CommandContext) -> Result:
        self.transcript.append(("pipe", command))
        self.delivered.append(("|" + command, message.raw_bytes()))
        return self._result(command)

    def forward(self, argv: list[str], message: Message, ctx: CommandContext) -> Result:
        self.transcript.append(("forward", tuple(argv)))
        return self._result(" ".join(argv))

    def filter_message(self, command: str, message: Message, ctx: CommandContext
                       ) -> tuple[Result, Message | None]:
        self.transcript.append(("xfilter", command))
        result = self._result(command)
        if result.status != 0:
            return result, None
        return result, Message.from_bytes(self.outputs.get(command, message.raw_bytes()))

    def backtick(self, command: str, message: Message, ctx: CommandContext) -> Result:
        self.transcript.append(("backtick", command))
        return self._result(command)

    def system(self, command: str, ctx: CommandContext) -> Result:
        self.transcript.append(("system", command))
        return self._result(command)

    def echo(self, data: bytes) -> None:
        self.stdout += data

    def warn(self, text: str) -> None:
        self.stderr.append(text)

    def error(self, text: str) -> None:
        self.stderr.append(text)

    def open_log(self, path: str) -> None:
        self.log_path = path

    def write_log(self, data: bytes) -> None:
        if self.log_path is not None:
            self.log += data

    def read_file(self, path: str) -> bytes:
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory", path)
        return self.files[path]

    @contextlib.contextmanager
    def dotlock(self, path: str, opts: Any) -> Iterator[None]:
        self.transcript.append(("dotlock", path))
        yield

    @contextlib.contextmanager
    def flock(self, path: str, opts: Any) -> Iterator[None]:
        self.transcript.append(("flock", path))
        yield

    def open_db(self, path: str, mode: str) -> Any:
        if mode.upper().startswith("R") and path not in self.dbs:
            raise FileNotFoundError(path)
        return _DictDb(self.dbs.setdefault(path, {}), not mode.upper().startswith("R"))

    def now(self) -> float:
        return self.clock


class _DictDb:
    def __init__(self, data: dict[str, str], writable: bool) -> None:
        self.data, self.writable = data, writable

    def fetch(self, key: str) -> str | None:
        return self.data.get(key)

    def store(self, key: str, value: str) -> bool:
        if not self.writable:
            return False
        self.data[key] = value
        return True

    def close(self) -> None:
        pass


@pytest.fixture
def effects() -> RecordingEffects:
    return RecordingEffects()


def run_cli(args: list[str], *, stdin: bytes = SAMPLE,
            cwd: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m pymaildrop ARGS` as a separate process."""
    full_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd or os.getcwd()),
                "TZ": "UTC", "LANG": "C.UTF-8"}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "pymaildrop", *args], input=stdin,
                          capture_output=True, cwd=cwd, env=full_env, timeout=timeout)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With PYMAILDROP_REQUIRE_E2E=1 (CI), a skipped end-to-end test is a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (os.environ.get("PYMAILDROP_REQUIRE_E2E") == "1" and report.skipped
            and not hasattr(report, "wasxfail") and item.get_closest_marker("e2e")):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = ("end-to-end test skipped, but PYMAILDROP_REQUIRE_E2E=1 demands it: "
                           f"{reason}")
