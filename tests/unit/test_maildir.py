"""Unit tests of deliver/maildir.py and the deliver_to_file dispatcher.

Expected outcomes were observed with Courier maildrop 2.9.3 (see the report
in the module docstrings): names, modes, FLAGS, KEYWORDS.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import pytest

from pymaildrop.deliver import MailboxOptions, deliver_to_file, maildir
from pymaildrop.errors import DeliveryError
from pymaildrop.message import Message

MSG = (b"Return-Path: <alice@example.com>\nFrom: Alice <alice@example.com>\n"
       b"Subject: Lunch\n\nHi Bob,\n\nAre we still on?\n")
HOST = "mailhost.test"
OPTS = MailboxOptions(hostname=HOST)
NAME = re.compile(r"^(\d+)\.M(\d+)P(\d+)V[0-9A-F]{16}I[0-9A-F]{16}_(\d+)\.mailhost\.test,S=(\d+)$")


def make_maildir(root: Path, name: str = "Maildir", mode: int = 0o755) -> Path:
    md = root / name
    for sub in ("tmp", "new", "cur"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    md.chmod(mode)
    return md


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def mode_of(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# NAMES AND CONTENT

def test_file_lands_in_new_with_unique_name_and_size(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    out = maildir.deliver(Message.from_bytes(MSG), str(md), OPTS)
    assert files(md / "new") == [os.path.basename(out)]
    m = NAME.match(os.path.basename(out))
    assert m, out
    assert int(m.group(3)) == os.getpid()
    assert int(m.group(5)) == len(MSG)
    assert Path(out).read_bytes() == MSG
    assert files(md / "tmp") == [] and files(md / "cur") == []


def test_size_is_the_received_size_even_when_a_newline_is_added(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    body = b"Subject: x\n\nno final newline"
    out = maildir.deliver(Message.from_bytes(body), str(md), OPTS)
    assert out.endswith(f",S={len(body)}")          # COMPAT: S= is the size as received
    assert Path(out).read_bytes() == body + b"\n"


def test_two_deliveries_make_two_files(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    a = maildir.deliver(Message.from_bytes(MSG), str(md), OPTS)
    b = maildir.deliver(Message.from_bytes(MSG), str(md), OPTS)
    assert a != b
    assert len(files(md / "new")) == 2


@pytest.mark.parametrize("hostname, escaped", [
    ("mailhost.test", "mailhost.test"),
    ("a/b", r"a\057b"),
    ("a:b", r"a\072b"),
    ("a,S=5", r"a\054S=5"),
    ("", "localhost"),
], ids=["plain", "slash", "colon", "comma", "empty"])
def test_hostname_is_escaped_in_names(tmp_path: Path, hostname: str, escaped: str) -> None:
    md = make_maildir(tmp_path)
    out = maildir.deliver(Message.from_bytes(MSG), str(md), MailboxOptions(hostname=hostname))
    assert os.path.basename(out).endswith(f".{escaped},S={len(MSG)}")


# MODES

@pytest.mark.parametrize("umask, process_umask, expected", [
    (0o077, 0o022, 0o600),
    (0o022, 0o077, 0o644),
    (0o027, 0o000, 0o640),
    (0o000, 0o022, 0o666),
], ids=["default-077", "umask-022-despite-process-077", "027", "000"])
def test_file_mode_is_0666_less_umask(tmp_path: Path, umask: int, process_umask: int,
                                      expected: int) -> None:
    md = make_maildir(tmp_path)
    old = os.umask(process_umask)
    try:
        out = maildir.deliver(Message.from_bytes(MSG), str(md),
                              MailboxOptions(umask=umask, hostname=HOST))
    finally:
        os.umask(old)
    assert mode_of(out) == expected


# FLAGS

@pytest.mark.parametrize("flags, suffix", [
    ("SRF", ":2,SRF"),        # COMPAT: kept in the given order, not sorted
    ("FSR", ":2,FSR"),
    ("S", ":2,S"),
    ("D", ":2,D"),
    ("SSF", ":2,SSF"),        # COMPAT: not de-duplicated either
], ids=["SRF", "FSR", "S", "D", "duplicates-kept"])
def test_flags_put_the_file_in_cur(tmp_path: Path, flags: str, suffix: str) -> None:
    md = make_maildir(tmp_path)
    out = maildir.deliver(Message.from_bytes(MSG), str(md),
                          MailboxOptions(flags=flags, hostname=HOST))
    assert os.path.dirname(out) == str(md / "cur")
    assert out.endswith(f",S={len(MSG)}{suffix}")
    assert files(md / "new") == [] and files(md / "tmp") == []


def test_empty_flags_go_to_new(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    out = maildir.deliver(Message.from_bytes(MSG), str(md), MailboxOptions(flags="", hostname=HOST))
    assert os.path.dirname(out) == str(md / "new")


@pytest.mark.parametrize("flags", ["fsr", "T", "P", "S R", "ST", "a"],
                         ids=["lower-case", "trashed", "passed", "space", "S-and-T", "letter-a"])
def test_invalid_flags_are_refused_before_writing(tmp_path: Path, flags: str) -> None:
    md = make_maildir(tmp_path)
    with pytest.raises(DeliveryError, match="only the letters D, F, R and S") as info:
        maildir.deliver(Message.from_bytes(MSG), str(md), MailboxOptions(flags=flags))
    assert str(md) in str(info.value)
    assert files(md / "new") == files(md / "cur") == files(md / "tmp") == []


# KEYWORDS

@pytest.mark.parametrize("keywords, content", [
    (("work", "followup"), "followup\nwork\n"),
    (("b", "a", "b"), "a\nb\n"),
    ((" a ", " b "), " a \n b \n"),
    (("a", "", "b"), "a\nb\n"),
    (("UPPER", "lower"), "UPPER\nlower\n"),
    (("with space",), "with space\n"),
    (("x\ny",), "xy\n"),
], ids=["sorted", "unique", "spaces-kept", "empty-dropped", "byte-order", "inner-space",
        "newline-removed"])
def test_keywords_file(tmp_path: Path, keywords: tuple[str, ...], content: str) -> None:
    md = make_maildir(tmp_path)
    out = maildir.deliver(Message.from_bytes(MSG), str(md),
                          MailboxOptions(keywords=keywords, hostname=HOST))
    kw = md / maildir.KEYWORDS_DIR / os.path.basename(out)
    assert kw.read_text() == content
    assert mode_of(kw) == 0o640
    assert files(md / "tmp") == []


@pytest.mark.parametrize("keywords", [(), ("",), ("", "")], ids=["none", "empty", "two-empty"])
def test_no_keywords_no_keywords_dir(tmp_path: Path, keywords: tuple[str, ...]) -> None:
    md = make_maildir(tmp_path)
    maildir.deliver(Message.from_bytes(MSG), str(md), MailboxOptions(keywords=keywords))
    assert not (md / maildir.KEYWORDS_DIR).exists()


@pytest.mark.parametrize("maildir_mode", [0o755, 0o700, 0o750], ids=["755", "700", "750"])
def test_keywords_dir_takes_the_maildirs_mode(tmp_path: Path, maildir_mode: int) -> None:
    md = make_maildir(tmp_path, mode=maildir_mode)
    maildir.deliver(Message.from_bytes(MSG), str(md), MailboxOptions(keywords=("a",)))
    assert mode_of(md / maildir.KEYWORDS_DIR) == maildir_mode


def test_keywords_file_is_named_without_the_flags(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    out = maildir.deliver(Message.from_bytes(MSG), str(md),
                          MailboxOptions(flags="S", keywords=("a",), hostname=HOST))
    base = os.path.basename(out)
    assert base.endswith(":2,S")
    assert files(md / maildir.KEYWORDS_DIR) == [base[: -len(":2,S")]]


# FAILURES AND DURABILITY

def test_failed_publish_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md = make_maildir(tmp_path)

    def broken_link(src: str, dst: str) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO), dst)

    monkeypatch.setattr(os, "link", broken_link)
    with pytest.raises(DeliveryError, match="Input/output error"):
        maildir.deliver(Message.from_bytes(MSG), str(md), MailboxOptions(keywords=("a",)))
    assert files(md / "tmp") == files(md / "new") == files(md / maildir.KEYWORDS_DIR) == []


def test_rename_is_used_where_links_are_not_supported(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    md = make_maildir(tmp_path)

    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), dst)

    monkeypatch.setattr(os, "link", no_links)
    out = maildir.deliver(Message.from_bytes(MSG), str(md), OPTS)
    assert Path(out).read_bytes() == MSG
    assert files(md / "tmp") == []


def test_file_and_directory_are_fsynced_before_return(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    md = make_maildir(tmp_path)
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    maildir.deliver(Message.from_bytes(MSG), str(md), OPTS)
    assert any("/tmp/" in p and p.endswith(f",S={len(MSG)}") for p in synced)
    assert str((md / "new").resolve()) in synced


def test_directory_fsync_failure_takes_the_message_back(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    md = make_maildir(tmp_path)

    def broken(path: str) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO), path)

    monkeypatch.setattr(maildir, "fsync_dir", broken)
    with pytest.raises(DeliveryError):
        maildir.deliver(Message.from_bytes(MSG), str(md), OPTS)
    assert files(md / "new") == files(md / "tmp") == []


# WHAT IS A MAILDIR

@pytest.mark.parametrize("subdirs, missing", [
    (("tmp", "new", "cur"), []),
    (("new", "cur"), ["tmp"]),
    (("tmp", "cur"), ["new"]),
    (("tmp", "new"), ["cur"]),
    ((), ["tmp", "new", "cur"]),
], ids=["complete", "no-tmp", "no-new", "no-cur", "plain-dir"])
def test_missing_parts(tmp_path: Path, subdirs: tuple[str, ...], missing: list[str]) -> None:
    d = tmp_path / "d"
    d.mkdir()
    for sub in subdirs:
        (d / sub).mkdir()
    assert maildir.missing_parts(str(d)) == missing
    assert maildir.is_maildir(str(d)) == (not missing)


def test_tmp_as_a_file_is_not_a_maildir(tmp_path: Path) -> None:
    d = make_maildir(tmp_path)
    (d / "tmp").rmdir()
    (d / "tmp").write_text("")
    assert not maildir.is_maildir(str(d))


# THE DISPATCHER

@pytest.mark.parametrize("target", ["Maildir", "Maildir/"], ids=["plain", "trailing-slash"])
def test_dispatch_directory_to_maildir(tmp_path: Path, target: str) -> None:
    md = make_maildir(tmp_path)
    out = deliver_to_file(Message.from_bytes(MSG), str(tmp_path / target), OPTS)
    assert files(md / "new") == [os.path.basename(out)]


def test_dispatch_maildir_plus_plus_folder(tmp_path: Path) -> None:
    make_maildir(tmp_path)
    folder = make_maildir(tmp_path, "Maildir/.Lists.Garden")
    out = deliver_to_file(Message.from_bytes(MSG), str(folder) + "/", OPTS)
    assert files(folder / "new") == [os.path.basename(out)]


def test_dispatch_follows_a_symlinked_maildir(tmp_path: Path) -> None:
    real = make_maildir(tmp_path, "real")
    (tmp_path / "Maildir").symlink_to("real")
    deliver_to_file(Message.from_bytes(MSG), str(tmp_path / "Maildir"), OPTS)
    assert len(files(real / "new")) == 1


def test_dispatch_missing_name_becomes_mbox(tmp_path: Path) -> None:
    target = tmp_path / "Maildir"
    out = deliver_to_file(Message.from_bytes(MSG), str(target), OPTS)
    assert out == str(target) and target.is_file()
    assert target.read_bytes().startswith(b"From MAILER-DAEMON ")


@pytest.mark.parametrize("subdirs, reason", [
    ((), "a directory that is not a maildir (no tmp/, new/, cur/)"),
    (("new", "cur"), "a directory that is not a maildir (no tmp/)"),
], ids=["plain-dir", "missing-tmp"])
def test_dispatch_refuses_a_directory_that_is_not_a_maildir(tmp_path: Path,
                                                             subdirs: tuple[str, ...],
                                                             reason: str) -> None:
    d = tmp_path / "plain-dir"
    d.mkdir()
    for sub in subdirs:
        (d / sub).mkdir()
    with pytest.raises(DeliveryError) as info:
        deliver_to_file(Message.from_bytes(MSG), str(d), OPTS)
    assert str(info.value) == f"cannot deliver to {d}: {reason}"
    assert info.value.code == 75


def test_dispatch_missing_name_with_slash_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="no such maildir"):
        deliver_to_file(Message.from_bytes(MSG), str(tmp_path / "NoMaildir") + "/", OPTS)
    assert list(tmp_path.iterdir()) == []


def test_dispatch_file_with_slash_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(DeliveryError, match="Not a directory"):
        deliver_to_file(Message.from_bytes(MSG), str(tmp_path / "f") + "/", OPTS)


def test_dispatch_empty_message_writes_nothing(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    deliver_to_file(Message.from_bytes(b""), str(md), OPTS)
    deliver_to_file(Message.from_bytes(b""), str(tmp_path / "mbox"), OPTS)
    assert files(md / "new") == [] and not (tmp_path / "mbox").exists()
