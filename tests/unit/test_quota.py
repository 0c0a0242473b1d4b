"""Unit tests of deliver/quota.py: Maildir++ quotas and the maildirsize file.

Every row of the scenario table was run through Courier maildrop 2.9.3 first;
the expected file contents and modes are what maildrop left behind.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pymaildrop.deliver import MailboxOptions, maildir, quota
from pymaildrop.deliver.quota import Quota, Usage
from pymaildrop.errors import DeliveryError, QuotaExceeded
from pymaildrop.message import Message

SIZE = 260                          # the message delivered in the scenarios


def line(size: int, count: int) -> str:
    return f"{size:12d} {count:12d}\n"          # printf("%12d %12d\n")


def make_maildir(path: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def put(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# PARSING

@pytest.mark.parametrize("spec, expected", [
    ("10000S", Quota(10000, 0)),
    ("100000S,2C", Quota(100000, 2)),
    ("2C", Quota(0, 2)),
    ("10C,10000S", Quota(10000, 10)),
    ("100S 2C", Quota(100, 2)),
    ("junk,100S", Quota(100, 0)),
    ("100S,junk", Quota(100, 0)),
    ("5000S,100S", Quota(100, 0)),
    ("100S,100S,5000S", Quota(5000, 0)),
    ("+100S", Quota(100, 0)),
    ("-5S", Quota(5, 0)),
    ("100X,100S", Quota(100, 0)),
    ("0S", Quota(0, 0)),
    ("", None),
    ("garbage", None),
    ("100s", None),
    ("100", None),
    ("100 S", None),
], ids=lambda v: repr(v) if isinstance(v, str) else None)
def test_parse_quota(spec: str, expected: Quota | None) -> None:
    assert quota.parse_quota(spec) == expected


@pytest.mark.parametrize("spec, warned", [
    ("100s", True), ("100", True), ("100X,100S", True), ("100 S", True),
    ("junk,100S", False), ("100S,2C", False), ("garbage", False),
])
def test_unparseable_quota_is_logged(caplog: pytest.LogCaptureFixture, spec: str,
                                     warned: bool) -> None:
    with caplog.at_level(logging.WARNING, logger=quota.__name__):
        quota.parse_quota(spec)
    assert ("not parseable" in caplog.text) == warned


@pytest.mark.parametrize("q, text", [
    (Quota(100, 2), "100S,2C"), (Quota(100, 0), "100S"), (Quota(0, 2), "2C"), (Quota(), ""),
])
def test_quota_canonical_text(q: Quota, text: str) -> None:
    assert str(q) == text


@pytest.mark.parametrize("text, expected", [
    ("10000S\n", (Quota(10000), Usage(0, 0), 0)),
    ("10000S\n" + line(34, 2) + line(260, 1), (Quota(10000), Usage(294, 3), 2)),
    ("1000S\n100 1\n-50 -1\n", (Quota(1000), Usage(50, 0), 2)),          # Dovecot style
    ("1000S\nbogus\n1 2 3\n7 x\n5 1\n", (Quota(1000), Usage(5, 1), 1)),
    ("", (None, Usage(0, 0), 0)),
    ("garbage\n" + line(1, 1), (None, Usage(1, 1), 1)),
    ("10S\n" + line(3, 1)[:-1], (Quota(10), Usage(3, 1), 1)),             # torn last line
], ids=["quota-only", "courier-lines", "dovecot-negative", "bad-lines-skipped", "empty",
        "bad-quota", "no-final-newline"])
def test_parse_maildirsize(text: str, expected: tuple[Quota | None, Usage, int]) -> None:
    assert quota.parse_maildirsize(text) == expected


@pytest.mark.parametrize("name, size", [
    ("1.2.h,S=1000", 1000),
    ("1.2.h,S=1000:2,S", 1000),
    ("1.2.h,W=50,S=1000000", 1000000),
    ("1.2.h,S=12x", 12),
    ("1.2.h,S=abc", 0),
    ("1.2.h", 3),                       # no S=: the file's size
    ("1.2.h,S=7:2,T", None),
    ("1.2.h,S=7:2,ST", None),
    ("1.2.h,S=7:1,T", 7),
    ("1.2.h,S=7:2,t", 7),
    (".hidden,S=9", None),
], ids=lambda v: v if isinstance(v, str) else None)
def test_message_size(tmp_path: Path, name: str, size: int | None) -> None:
    (tmp_path / name).write_text("abc")
    assert quota.message_size(name, str(tmp_path / name)) == size


# RECALCULATION

def test_scan_counts_folders_but_not_trash_tmp_or_trashed(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    put(md / "new/1.2.h,S=1000")
    put(md / "cur/1.3.h", "abc\n")                     # 4 bytes, no S=
    put(md / ".Sub/cur/5.6.h,S=20:2,S")
    put(md / ".Trash.Sub/cur/1.1.h,S=1")
    put(md / "..bad/cur/1.1.h,S=100000")
    put(md / ".Trash/cur/5.5.h,S=7000")                # not counted: Trash
    put(md / "tmp/7.7.h,S=5")                          # not counted: tmp/
    put(md / "cur/.hidden,S=9")                        # not counted: dot file
    put(md / "notdot/cur/1.1.h,S=10000")               # not counted: not a folder
    put(md / ".X/cur/1.1.h,S=1000:2,T")                # not counted: trashed
    assert quota.scan_usage(str(md)) == Usage(1000 + 4 + 20 + 1 + 100000, 5)


def test_recalculate_replaces_the_file(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    put(md / "cur/1.1.h,S=1:2,S")
    (md / "maildirsize").write_text("junk\n" + line(999, 9))
    assert quota.recalculate(str(md), Quota(5000)) == Usage(1, 1)
    assert (md / "maildirsize").read_text() == "5000S\n" + line(1, 1)
    assert mode_of(md / "maildirsize") == 0o640
    assert sorted(os.listdir(md / "tmp")) == []


def test_recalculate_failure_is_a_delivery_error(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    (md / "tmp").rmdir()
    with pytest.raises(DeliveryError, match="cannot rewrite the quota file"):
        quota.recalculate(str(md), Quota(5000))


# CHECK + RECORD: SCENARIOS OBSERVED WITH MAILDROP

@dataclass
class Case:
    file: str | None                 # maildirsize before (None: no file)
    spec: str = ""                   # MAILDIRQUOTA
    age: float = 0                   # seconds since maildirsize changed
    messages: int = 0                # 17-byte messages already in cur/
    over: bool = False               # expected: QuotaExceeded
    after: str | None = None         # expected maildirsize after check + record
    mode: int | None = None          # expected mode of maildirsize (None: as made, 0644)


BIG = "100000S\n" + line(10, 1) * 197        # 5130 bytes: recalculated
SMALL = "100000S\n" + line(10, 1) * 196      # 5104 bytes: kept

CASES = {
    "within-quota-appends": Case("10000S\n", after="10000S\n" + line(SIZE, 1)),
    "count-quota-exceeded": Case("100000S,2C\n" + line(34, 2), messages=2, over=True,
                                 after="100000S,2C\n" + line(34, 2)),
    "variable-exceeded-creates-file": Case(None, "50S", over=True,
                                           after="50S\n" + line(0, 0), mode=0o640),
    "variable-within-creates-file": Case(None, "5000S", after="5000S\n" + line(0, 0)
                                         + line(SIZE, 1), mode=0o640),
    "variable-wins-over-file": Case("10000S\n", "50S", over=True, after="50S\n" + line(0, 0),
                                    mode=0o640),
    "variable-raises-file-quota": Case("50S\n", "10000S", after="10000S\n" + line(0, 0)
                                       + line(SIZE, 1), mode=0o640),
    "same-quota-other-order": Case("10000S,10C\n", "10C,10000S",
                                   after="10000S,10C\n" + line(SIZE, 1)),
    "unparseable-variable-ignored": Case("10000S\n", "garbage", after="10000S\n"
                                         + line(SIZE, 1)),
    "exactly-full-is-fine": Case("260S\n", after="260S\n" + line(SIZE, 1)),
    "one-byte-over-quota-only-line": Case("259S\n", over=True, after="259S\n" + line(0, 0),
                                          mode=0o640),
    "over-with-fresh-lines-kept": Case("259S\n" + line(100, 1), over=True,
                                       after="259S\n" + line(100, 1)),
    "over-old-file-recalculated": Case("259S\n" + line(100, 1), age=16 * 60, over=True,
                                       after="259S\n" + line(0, 0), mode=0o640),
    "over-14-minutes-kept": Case("259S\n" + line(100, 1), age=14 * 60, over=True,
                                 after="259S\n" + line(100, 1)),
    "old-but-within-kept": Case("1000S\n" + line(100, 1), age=16 * 60,
                                after="1000S\n" + line(100, 1) + line(SIZE, 1)),
    "sum-to-exact-quota": Case("1000S\n" + line(740, 1), after="1000S\n" + line(740, 1)
                               + line(SIZE, 1)),
    "sum-one-over": Case("1000S\n" + line(741, 1), over=True, after="1000S\n" + line(741, 1)),
    "big-file-recalculated": Case(BIG, after="100000S\n" + line(0, 0) + line(SIZE, 1),
                                  mode=0o640),
    "small-file-kept": Case(SMALL, after=SMALL + line(SIZE, 1)),
    "dovecot-lines": Case("1000S\n100 1\n-50 -1\n", after="1000S\n100 1\n-50 -1\n"
                          + line(SIZE, 1)),
    "garbage-quota-still-appends": Case("garbage\n", after="garbage\n" + line(SIZE, 1)),
    "empty-file-still-appends": Case("", after=line(SIZE, 1)),
    "zero-quota-file": Case("0S\n", after="0S\n" + line(SIZE, 1)),
    "zero-quota-variable-no-file": Case(None, "0S", after=None),
    "no-quota-no-file": Case(None, "", after=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_check_and_record(tmp_path: Path, case: Case) -> None:
    md = make_maildir(tmp_path / "Maildir")
    size_file = md / "maildirsize"
    for n in range(case.messages):
        put(md / f"cur/100000000{n}.1.host,S=17:2,S", "Subject: x\n\nbody\n")
    if case.file is not None:
        size_file.write_text(case.file)
        size_file.chmod(0o644)
        past = time.time() - case.age
        os.utime(size_file, (past, past))
    if case.over:
        with pytest.raises(QuotaExceeded, match=rf"cannot deliver to {md}: maildir over quota"):
            quota.check(str(md), SIZE, case.spec)
    elif quota.check(str(md), SIZE, case.spec):
        quota.record(str(md), SIZE)
    if case.after is None:
        assert not size_file.exists()
    else:
        assert size_file.read_text() == case.after
        assert mode_of(size_file) == (case.mode or 0o644)


@pytest.mark.parametrize("marker, expect_parent", [(True, True), (False, False)],
                         ids=["maildirfolder-uses-parent", "plain-subdir-is-its-own"])
def test_folder_counts_against_parent(tmp_path: Path, marker: bool, expect_parent: bool) -> None:
    md = make_maildir(tmp_path / "Maildir")
    sub = make_maildir(md / ".Sub")
    if marker:
        (sub / "maildirfolder").write_text("")
    (md / "maildirsize").write_text("10000S\n")
    assert quota.quota_root(str(sub) + "/") == (str(md) if expect_parent else str(sub) + "/")
    assert quota.check(str(sub), SIZE, "") == expect_parent
    if expect_parent:
        quota.record(str(sub), SIZE)
        assert (md / "maildirsize").read_text() == "10000S\n" + line(SIZE, 1)


def test_folder_over_parent_quota(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    sub = make_maildir(md / ".Sub")
    (sub / "maildirfolder").write_text("")
    (md / "maildirsize").write_text("259S\n")
    with pytest.raises(QuotaExceeded):
        quota.check(str(sub), SIZE, "")


def test_folder_with_variable_creates_parent_file(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    sub = make_maildir(md / ".Sub")
    (sub / "maildirfolder").write_text("")
    assert quota.check(str(sub), SIZE, "1000S")
    assert (md / "maildirsize").read_text() == "1000S\n" + line(0, 0)
    assert not (sub / "maildirsize").exists()


def test_relative_folder_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md = make_maildir(tmp_path / "Maildir")
    (make_maildir(md / ".Sub") / "maildirfolder").write_text("")
    monkeypatch.chdir(md)
    assert quota.quota_root(".Sub") == "."


def test_record_is_one_padded_line(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    (md / "maildirsize").write_text("10S\n")
    quota.record(str(md), 1234567, 2)
    assert (md / "maildirsize").read_text() == "10S\n" + "     1234567            2\n"
    assert len(line(1234567, 2)) == 26


def test_record_without_file_creates_nothing(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    quota.record(str(md), 10)
    assert not (md / "maildirsize").exists()


def test_record_failure_is_only_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    md = make_maildir(tmp_path / "Maildir")
    (md / "maildirsize").mkdir()
    with caplog.at_level(logging.WARNING, logger=quota.__name__):
        quota.record(str(md), 10)
    assert "cannot record a delivery" in caplog.text


def test_unreadable_maildirsize_is_a_delivery_error(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    (md / "maildirsize").symlink_to("elsewhere")
    with pytest.raises(DeliveryError, match="cannot read the quota file"):
        quota.check(str(md), SIZE, "100S")


# THROUGH THE MAILDIR BACKEND

def test_over_quota_delivers_nothing(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    with pytest.raises(QuotaExceeded) as info:
        maildir.deliver(Message.from_bytes(b"x" * 100 + b"\n"), str(md),
                        MailboxOptions(quota="50S"))
    assert info.value.code == 75
    assert os.listdir(md / "new") == os.listdir(md / "tmp") == []


def test_delivery_records_message_size(tmp_path: Path) -> None:
    md = make_maildir(tmp_path / "Maildir")
    body = b"Subject: x\n\nno newline"
    maildir.deliver(Message.from_bytes(body), str(md), MailboxOptions(quota="5000S"))
    assert (md / "maildirsize").read_text() == "5000S\n" + line(0, 0) + line(len(body), 1)


def test_failed_delivery_records_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md = make_maildir(tmp_path / "Maildir")
    (md / "maildirsize").write_text("5000S\n")

    def broken(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error", dst)

    monkeypatch.setattr(os, "link", broken)
    with pytest.raises(DeliveryError):
        maildir.deliver(Message.from_bytes(b"x\n"), str(md), MailboxOptions())
    assert (md / "maildirsize").read_text() == "5000S\n"
