"""Unit tests of deliver/mbox.py: separator, From-quoting, modes, locks, refusals.

Expected outcomes were observed with Courier maildrop 2.9.3.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pymaildrop.deliver import MailboxOptions, locking, mbox
from pymaildrop.errors import DeliveryError
from pymaildrop.message import Message
from tests.conftest import SAMPLE

MSG = b"From: Alice <alice@example.com>\nSubject: Lunch\n\nHi Bob,\n"
OPTS = MailboxOptions(envelope_sender="alice@example.com", hostname="mailhost.test")
SEPARATOR = re.compile(rb"^From (\S+) (Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                       rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       rb"[ \d]\d \d\d:\d\d:\d\d \d{4}\n")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def split_separator(data: bytes) -> tuple[bytes, bytes]:
    first, rest = data.split(b"\n", 1)
    return first + b"\n", rest


@pytest.fixture()
def tz() -> Iterator[None]:
    yield
    time.tzset()                 # after monkeypatch has put TZ back


# THE SEPARATOR

@pytest.mark.parametrize("zone, expected", [
    ("UTC", b"From a@b Thu Jan  1 00:00:00 1970\n"),
    ("EST5", b"From a@b Wed Dec 31 19:00:00 1969\n"),
    ("JST-9", b"From a@b Thu Jan  1 09:00:00 1970\n"),
], ids=["utc", "est", "jst"])
def test_from_line_uses_local_time(monkeypatch: pytest.MonkeyPatch, tz: None, zone: str,
                                   expected: bytes) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    assert mbox.from_line("a@b", when=0) == expected


@pytest.mark.parametrize("sender, shown", [
    ("alice@example.com", b"alice@example.com"),
    ("", b"MAILER-DAEMON"),
    ("a b@c", b"a b@c"),
    ("evil\nFrom x", b"evilFrom x"),
], ids=["address", "empty", "space-kept", "newline-removed"])
def test_from_line_sender(sender: str, shown: bytes) -> None:
    line = mbox.from_line(sender, when=0)
    assert line == b"From " + shown + b" " + time.ctime(0).encode() + b"\n"


# FROM-QUOTING

@pytest.mark.parametrize("line, quoted", [
    (b"From here on\n", b">From here on\n"),
    (b">From one\n", b">>From one\n"),
    (b">>>From three\n", b">>>>From three\n"),
    (b"From \n", b">From \n"),
    (b"From x\r\n", b">From x\r\n"),
    (b"From: header-like\n", b"From: header-like\n"),
    (b"Fromage\n", b"Fromage\n"),
    (b" From indented\n", b" From indented\n"),
    (b"FROM upper\n", b"FROM upper\n"),
    (b">From:\n", b">From:\n"),
    (b"From\n", b"From\n"),
], ids=["from", "quoted-once", "quoted-thrice", "from-space-only", "crlf", "from-colon",
        "fromage", "leading-space", "upper-case", "quoted-colon", "bare-from"])
def test_quote_line(line: bytes, quoted: bytes) -> None:
    assert mbox.quote_line(line) == quoted


def test_quoting_applies_to_header_body_and_first_line(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    msg = b"From bogus line\nSubject: x\n\n>From a\nFrom b\nFrom: c\n"
    mbox.deliver(Message.from_bytes(msg), str(box), OPTS)
    _, rest = split_separator(box.read_bytes())
    assert rest == b">From bogus line\nSubject: x\n\n>>From a\n>From b\nFrom: c\n\n"


def test_quoting_across_write_blocks(tmp_path: Path) -> None:
    lines = [b"From line %d\n" % i if i % 3 == 0 else b"x" * 50 + b"\n" for i in range(5000)]
    msg = b"Subject: big\n\n" + b"".join(lines)
    assert len(msg) > 2 * mbox.WRITE_BUFFER
    box = tmp_path / "inbox"
    mbox.deliver(Message.from_bytes(msg), str(box), OPTS)
    _, rest = split_separator(box.read_bytes())
    assert rest == b"Subject: big\n\n" + b"".join(mbox.quote_line(x) for x in lines) + b"\n"


# CONTENT

def test_new_mailbox_content(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    assert mbox.deliver(Message.from_bytes(MSG), str(box), OPTS) == str(box)
    sep, rest = split_separator(box.read_bytes())
    assert SEPARATOR.match(sep) and sep.startswith(b"From alice@example.com ")
    assert rest == MSG + b"\n"


@pytest.mark.parametrize("msg, stored", [
    (b"X\n", b"X\n\n"),
    (b"Subject: x\n\nno newline", b"Subject: x\n\nno newline\n\n"),
    (b"Subject: (no text)\n\n", b"Subject: (no text)\n\n\n"),
], ids=["one-line", "no-final-newline", "no-body"])
def test_one_blank_line_after_each_message(tmp_path: Path, msg: bytes, stored: bytes) -> None:
    box = tmp_path / "inbox"
    mbox.deliver(Message.from_bytes(msg), str(box), OPTS)
    assert split_separator(box.read_bytes())[1] == stored


@pytest.mark.parametrize("old", [
    b"From old@example.com Mon Jan  1 10:00:00 2001\nSubject: older\n\nold body\n\n",
    b"not terminated",
    b"",
], ids=["previous-message", "no-final-newline", "empty-file"])
def test_append_keeps_old_content_verbatim(tmp_path: Path, old: bytes) -> None:
    box = tmp_path / "inbox"
    box.write_bytes(old)
    mbox.deliver(Message.from_bytes(MSG), str(box), OPTS)
    data = box.read_bytes()
    assert data.startswith(old)
    # COMPAT: no newline is inserted after a file that does not end in one.
    assert SEPARATOR.match(data[len(old):])


# MODES

@pytest.mark.parametrize("umask, expected", [(0o077, 0o600), (0o027, 0o640), (0o022, 0o644),
                                             (0o000, 0o666)],
                         ids=["077", "027", "022", "000"])
def test_new_mailbox_mode(tmp_path: Path, umask: int, expected: int) -> None:
    box = tmp_path / "inbox"
    old = os.umask(0o077 if umask != 0o077 else 0o000)      # the process umask does not matter
    try:
        mbox.deliver(Message.from_bytes(MSG), str(box), MailboxOptions(umask=umask))
    finally:
        os.umask(old)
    assert mode_of(box) == expected


@pytest.mark.parametrize("existing", [0o600, 0o644, 0o660], ids=["600", "644", "660"])
def test_existing_mailbox_keeps_its_mode(tmp_path: Path, existing: int) -> None:
    box = tmp_path / "inbox"
    box.write_bytes(b"")
    box.chmod(existing)
    mbox.deliver(Message.from_bytes(MSG), str(box), MailboxOptions(umask=0o000))
    assert mode_of(box) == existing


# LOCKS

@pytest.mark.parametrize("lockext", [".lock", ".lck"], ids=["default", "lck"])
def test_dot_lock_is_gone_afterwards(tmp_path: Path, lockext: str) -> None:
    box = tmp_path / "inbox"
    mbox.deliver(Message.from_bytes(MSG), str(box), MailboxOptions(lockext=lockext))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox"]


def test_dot_lock_is_held_while_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = tmp_path / "inbox"
    seen: list[bool] = []
    real = mbox.write_all

    def spy(fd: int, data: bytes) -> None:
        seen.append((tmp_path / "inbox.lock").exists())
        real(fd, data)

    monkeypatch.setattr(mbox, "write_all", spy)
    mbox.deliver(Message.from_bytes(MSG), str(box), OPTS)
    assert seen and all(seen)


def test_empty_lockext_uses_no_dot_lock(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    mbox.deliver(Message.from_bytes(MSG), str(box), MailboxOptions(lockext=""))
    assert box.read_bytes().endswith(MSG + b"\n")


def test_stale_dot_lock_is_removed(tmp_path: Path) -> None:
    box = tmp_path / "inbox.mbox"
    lock = tmp_path / "inbox.mbox.lck"
    lock.write_text("99999\n")
    past = time.time() - 10
    os.utime(lock, (past, past))
    opts = MailboxOptions(lockext=".lck", locksleep=0, locktimeout=1)
    mbox.deliver(Message.from_bytes(MSG), str(box), opts)
    assert not lock.exists()
    assert box.read_bytes().endswith(MSG + b"\n")


def test_fresh_foreign_dot_lock_makes_delivery_fail(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.2)
    box = tmp_path / "inbox"
    (tmp_path / "inbox.lock").write_text("4242\n")
    with pytest.raises(DeliveryError, match=r"cannot lock .*inbox\.lock: .*\(pid 4242\)"):
        mbox.deliver(Message.from_bytes(MSG), str(box), MailboxOptions(locksleep=0))
    assert not box.exists()
    assert (tmp_path / "inbox.lock").read_text() == "4242\n"


# REFUSALS

def test_symlinked_mailbox_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    (tmp_path / "inbox").symlink_to("victim")
    with pytest.raises(DeliveryError, match="symbolic link"):
        mbox.deliver(Message.from_bytes(MSG), str(tmp_path / "inbox"), OPTS)
    assert victim.read_bytes() == b"precious\n"


def test_dangling_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "inbox").symlink_to("nowhere")
    with pytest.raises(DeliveryError, match="symbolic link"):
        mbox.deliver(Message.from_bytes(MSG), str(tmp_path / "inbox"), OPTS)
    assert not (tmp_path / "nowhere").exists()


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "inbox")
    with pytest.raises(DeliveryError, match="not a regular file"):
        mbox.deliver(Message.from_bytes(MSG), str(tmp_path / "inbox"), OPTS)


def test_hard_linked_mailbox_is_refused(tmp_path: Path) -> None:
    (tmp_path / "other").write_bytes(b"x\n")
    os.link(tmp_path / "other", tmp_path / "inbox")
    with pytest.raises(DeliveryError, match="2 hard links"):
        mbox.deliver(Message.from_bytes(MSG), str(tmp_path / "inbox"), OPTS)
    assert (tmp_path / "other").read_bytes() == b"x\n"


def test_missing_directory_names_the_lock_and_reason(tmp_path: Path) -> None:
    target = tmp_path / "no" / "inbox"
    with pytest.raises(DeliveryError, match=r"dot-lock at .*/no/\d+\.\d+\.mailhost\.test: "
                                            r"No such file or directory"):
        mbox.deliver(Message.from_bytes(MSG), str(target), OPTS)


def test_fsync_before_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = tmp_path / "inbox"
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    mbox.deliver(Message.from_bytes(MSG), str(box), OPTS)
    assert str(box.resolve()) in synced


# A DELIVERY KILLED IN THE MIDDLE IS REPAIRED BY THE NEXT ONE

def _die_mid_append(box: Path, partial: bytes, opts: MailboxOptions) -> None:
    """In a child: take the locks, journal, write part of a message, and die."""
    pid = os.fork()
    if pid == 0:
        try:
            with locking.dotlock(str(box) + opts.lockext, opts) as lock:
                fd = os.open(box, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                st = os.fstat(fd)
                start = os.lseek(fd, 0, os.SEEK_END)
                lock.note(f"append {st.st_dev} {st.st_ino} {start}\n".encode())
                os.write(fd, partial)
                os.kill(os.getpid(), 9)          # no clean-up of any kind
        finally:
            os._exit(1)
    os.waitpid(pid, 0)


@pytest.mark.parametrize("before", [b"",
                                    b"From a@b Mon Jan  1 00:00:00 2001\nSubject: old\n\nx\n\n"],
                         ids=["empty-mailbox", "existing-mail"])
def test_fragment_of_a_killed_delivery_is_cut_off(tmp_path: Path, before: bytes) -> None:
    box = tmp_path / "inbox"
    box.write_bytes(before)
    opts = MailboxOptions(locktimeout=600, locksleep=1)
    _die_mid_append(box, b"From x@y Sat Nov 21 10:00:00 2026\nSubject: half", opts)
    assert (tmp_path / "inbox.lock").exists()
    started = time.monotonic()
    mbox.deliver(Message.from_bytes(SAMPLE), str(box), opts)
    assert time.monotonic() - started < 5      # dead holder on this host: no LOCKTIMEOUT wait
    text = box.read_bytes()
    assert text.startswith(before)
    assert text[len(before):].startswith(b"From MAILER-DAEMON ")
    assert b"Subject: half" not in text
    assert not (tmp_path / "inbox.lock").exists()


def test_fragment_followed_by_other_mail_is_left(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    opts = MailboxOptions(locktimeout=600, locksleep=1)
    _die_mid_append(box, b"From x@y Sat Nov 21 10:00:00 2026\nSubject: half", opts)
    with open(box, "ab") as f:          # another program that ignores dot-locks
        f.write(b"\nFrom z@w Sat Nov 21 10:00:01 2026\nSubject: theirs\n\nbody\n\n")
    mbox.deliver(Message.from_bytes(SAMPLE), str(box), opts)
    text = box.read_bytes()
    assert b"Subject: theirs" in text and b"Subject: half" in text      # nothing lost
    assert text.count(b"Subject: Lunch on Friday") == 1


def test_journal_for_another_file_is_ignored(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    box.write_bytes(b"From a@b Mon Jan  1 00:00:00 2001\n\nkeep\n\n")
    mbox.repair(str(box), b"123\nhost\nappend 1 2 0\n")                   # wrong dev/ino
    assert box.read_bytes() == b"From a@b Mon Jan  1 00:00:00 2001\n\nkeep\n\n"


def test_lock_of_another_host_waits_for_locktimeout(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.3)
    box = tmp_path / "inbox"
    (tmp_path / "inbox.lock").write_text("999999\nsome.other.host\n")
    with pytest.raises(DeliveryError, match="held by another process"):
        mbox.deliver(Message.from_bytes(SAMPLE), str(box), MailboxOptions(locksleep=0))
