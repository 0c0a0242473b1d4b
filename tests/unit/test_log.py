"""The logfile statement's file and maildrop's delivery records."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pymaildrop.errors import TempFail
from pymaildrop.log import LogFile, Reporter, delivery_record


def test_log_file_is_created_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        LogFile(str(tmp_path / "l.log"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "l.log").stat().st_mode) == 0o600


def test_existing_log_keeps_its_mode_and_content(tmp_path: Path) -> None:
    path = tmp_path / "l.log"
    path.write_text("first line\n")
    path.chmod(0o644)
    log = LogFile(str(path))
    log.append(b"second line\n")
    assert path.read_text() == "first line\nsecond line\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_log_in_a_missing_directory_defers(tmp_path: Path) -> None:
    with pytest.raises(TempFail, match="cannot create log file"):
        LogFile(str(tmp_path / "nodir" / "l.log"))


def test_symlinked_log_is_refused(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("")
    (tmp_path / "l.log").symlink_to(tmp_path / "target")
    with pytest.raises(TempFail):
        LogFile(str(tmp_path / "l.log"))


def test_delivery_record_layout() -> None:
    record = delivery_record("inbox.mbox", 260, "Alice <a@x>", "Lunch", True, now=0)
    lines = record.decode().split("\n")
    assert lines[0].startswith("Date: Thu Jan  1 ")
    assert lines[1:3] == ["From: Alice <a@x>", "Subj: Lunch"]
    assert lines[3] == "File: inbox.mbox" + " " * 56 + " (260)"
    assert len(lines[3]) == 78 and lines[4:] == ["", ""]


def test_delivery_record_truncates_and_marks_errors() -> None:
    record = delivery_record("x" * 100, 100924, "f" * 100, None, False, now=0).decode()
    lines = record.split("\n")
    assert lines[1] == "From: " + "f" * 72 and lines[2] == "Subj: "
    assert lines[3] == "!Err: " + "x" * 63 + " (100924)"


def test_reporter_prefix() -> None:
    import io

    out = io.StringIO()
    Reporter("maildrop", out).error("Unable to open mailbox.")
    assert out.getvalue() == "maildrop: Unable to open mailbox.\n"
