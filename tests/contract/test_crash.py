"""SIGKILL at many points of a large delivery: nothing half-written is ever seen.

A 20 MB message is delivered by the real command line into a maildir and
into an mbox, and the process is killed (SIGKILL, no clean-up possible) at
evenly spread moments of the delivery.  Afterwards:
  - the maildir's new/ and cur/ hold only complete copies of the message;
  - the mbox, after the next (normal) delivery has repaired it, holds only
    complete messages: the fragment a killed delivery left is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KILLS = 12
BIG = (b"Return-Path: <big@example.com>\nFrom: big@example.com\nSubject: large\n\n"
       + b"".join(b"line %07d of a large message, to be delivered whole or not at all\n" % i
                  for i in range(300_000)))
SMALL = b"Return-Path: <small@example.com>\nFrom: small@example.com\nSubject: small\n\nhi\n"


def _start(tmp: Path, target: str, message: bytes) -> subprocess.Popen[bytes]:
    (tmp / "filter").write_text(f'to "{target}"\n')
    (tmp / "message").write_bytes(message)
    stdin = open(tmp / "message", "rb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([str(Path(sys.executable).parent / "pymaildrop"), "./filter"],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp)},
                            start_new_session=True)
    stdin.close()
    return proc


def _deliver(tmp: Path, target: str, message: bytes) -> None:
    proc = _start(tmp, target, message)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def _duration(tmp: Path, target: str) -> float:
    start = time.monotonic()
    _deliver(tmp, target, BIG)
    return time.monotonic() - start


def _kill_after(tmp: Path, target: str, delay: float) -> None:
    proc = _start(tmp, target, BIG)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    return tmp_path / "Maildir"


def test_sigkill_never_leaves_a_partial_maildir_message(tmp_path: Path, maildir: Path) -> None:
    total = _duration(tmp_path, "Maildir")
    for i in range(KILLS):
        _kill_after(tmp_path, "Maildir", total * i / KILLS)
    visible = [p for sub in ("new", "cur") for p in (maildir / sub).iterdir()]
    assert len(visible) >= 1                          # at least the timed delivery
    for path in visible:
        assert path.read_bytes() == BIG, f"{path.name} is not a complete message"


def test_sigkill_fragments_in_an_mbox_are_repaired(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    total = _duration(tmp_path, "inbox")
    for i in range(KILLS):
        _kill_after(tmp_path, "inbox", total * (i + 0.5) / KILLS)
        _deliver(tmp_path, "inbox", SMALL)            # repairs what the kill left
    messages = _split_mbox(box.read_bytes())
    bodies = {BIG: 0, SMALL: 0}
    for msg in messages:
        assert msg in bodies, f"a message of {len(msg)} bytes is not whole: {msg[:80]!r}"
        bodies[msg] += 1
    assert bodies[SMALL] == KILLS and bodies[BIG] >= 1
    assert not (tmp_path / "inbox.lock").exists()


def _split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, without their From_ lines and trailing blank line."""
    assert data.startswith(b"From ")
    parts = (b"\n" + data).split(b"\nFrom ")[1:]
    out = []
    for i, part in enumerate(parts):
        if i < len(parts) - 1:
            part += b"\n"             # the split took the blank line's newline
        _, _, rest = part.partition(b"\n")
        assert rest.endswith(b"\n\n"), f"message not ended by a blank line: {rest[-40:]!r}"
        out.append(rest[:-1])
    return out
