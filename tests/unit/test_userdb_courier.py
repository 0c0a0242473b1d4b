"""userdb:PATH: Courier userdb text files (one file or a directory of them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pymaildrop.config import Config
from pymaildrop.errors import ConfigError, TempFail
from pymaildrop.userdb import courier, open_source
from pymaildrop.userdb.courier import CourierUserdb, parse

DATA = Path(__file__).resolve().parent.parent / "data" / "userdb"


@pytest.fixture
def udir(tmp_path: Path) -> Path:
    """Private copies of the fixtures, owned by us and 0600/0700 like Courier's."""
    courier.clear_cache()
    shutil.copy(DATA / "courier", tmp_path / "userdb")
    shutil.copytree(DATA / "courier.d", tmp_path / "userdb.d")
    for path in [tmp_path / "userdb", *(tmp_path / "userdb.d").rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return tmp_path


@pytest.mark.parametrize("key,uid,gid,home,mailbox,quota,shell", [
    ("user1@example.com", 5000, 5000, "/var/mail/vhosts/example.com/user1",
     "/var/mail/vhosts/example.com/user1/Maildir/", "100000000S,10000C", "/bin/false"),
    ("absolute@example.com", 5001, 5002, "/home/abs", "/srv/mail/abs/", "", "/bin/sh"),
    ("Mixed@Example.com", 5003, 5003, "/home/mixed", "", "", "/bin/sh"),
    ("nomail@example.com", 5004, 5000, "/home/nomail", "", "", "/bin/sh"),
    ("space name@example.com", 5005, 5005, "/home/space", "", "", "/bin/sh"),
], ids=["relative-mail-under-home", "absolute-mail", "mixed-case-key", "fields-any-order",
        "space-in-name"])
def test_found(udir: Path, key: str, uid: int, gid: int, home: str, mailbox: str,
               quota: str, shell: str) -> None:
    user = CourierUserdb(str(udir / "userdb")).lookup(key)
    assert user is not None
    assert (user.name, user.uid, user.gid, user.home) == (key, uid, gid, home)
    assert (user.mailbox, user.quota, user.shell) == (mailbox, quota, shell)
    assert user.source == f"userdb:{udir}/userdb"
    assert user.detail.startswith(f"{udir}/userdb:")


@pytest.mark.parametrize("key", [
    "USER1@example.com", "mixed@example.com", "user1+ext@example.com", "#commented@example.com",
    "no tab here uid=1|gid=1|home=/x", "no", "nobody@example.com", "", "a\tb", "user1\n",
], ids=["case-differs", "lower-case-of-mixed", "extension-not-stripped", "comment-line",
        "line-without-tab", "prefix-of-a-line", "unknown", "empty", "tab", "newline"])
def test_not_found(udir: Path, key: str) -> None:
    assert CourierUserdb(str(udir / "userdb")).lookup(key) is None


@pytest.mark.parametrize("key,message", [
    ("nouid@example.com", "has no uid"),
    ("nohome@example.com", "has no home"),
    ("baduid@example.com", "uid='x' is not a number"),
    ("twice@example.com", "is defined again at .*userdb:14"),
], ids=["no-uid", "no-home", "bad-uid", "defined-twice"])
def test_broken_entry_defers(udir: Path, key: str, message: str) -> None:
    with pytest.raises(TempFail, match=message):
        CourierUserdb(str(udir / "userdb")).lookup(key)


@pytest.mark.parametrize("key,found", [
    ("alpha@example.org", "a-first:1"),
    ("beta@example.org", "b-second:1"),
    ("gamma@example.org", "sub/nested:1"),
    ("hidden@example.org", None),
], ids=["first-file", "second-file", "subdirectory", "dot-file-skipped"])
def test_directory(udir: Path, key: str, found: str | None) -> None:
    user = CourierUserdb(str(udir / "userdb.d")).lookup(key)
    if found is None:
        assert user is None
    else:
        assert user is not None and user.detail == f"{udir}/userdb.d/{found}"


def test_directory_mail_relative_to_home(udir: Path) -> None:
    user = CourierUserdb(str(udir / "userdb.d")).lookup("beta@example.org")
    assert user is not None and user.mailbox == "/home/beta/mbox"


def test_duplicate_across_files_defers(udir: Path) -> None:
    (udir / "userdb.d" / "c-third").write_text("alpha@example.org\tuid=1|gid=1|home=/x\n")
    (udir / "userdb.d" / "c-third").chmod(0o600)
    with pytest.raises(TempFail, match="defined again at .*c-third:1"):
        CourierUserdb(str(udir / "userdb.d")).lookup("alpha@example.org")


@pytest.mark.parametrize("target,mode,message", [
    ("userdb", 0o666, "writable by group or others"),
    ("userdb", 0o620, "writable by group or others"),
    ("userdb.d", 0o777, "writable by group or others"),
    ("userdb.d/sub/nested", 0o602, "writable by group or others"),
], ids=["world-writable-file", "group-writable-file", "writable-directory",
        "writable-nested-file"])
def test_unsafe_files_are_refused(udir: Path, target: str, mode: int, message: str) -> None:
    (udir / target).chmod(mode)
    source = CourierUserdb(str(udir / target.split("/")[0]))
    with pytest.raises(TempFail, match=message):
        source.lookup("alpha@example.org")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file away")
def test_file_owned_by_someone_else_is_refused(udir: Path) -> None:
    os.chown(udir / "userdb", 12345, 12345)
    with pytest.raises(TempFail, match="owned by uid 12345"):
        CourierUserdb(str(udir / "userdb")).lookup("user1@example.com")


def test_missing_file_defers(udir: Path) -> None:
    with pytest.raises(TempFail, match="cannot read .*missing: No such file"):
        CourierUserdb(str(udir / "missing")).lookup("user1@example.com")


def test_fifo_is_refused(udir: Path) -> None:
    os.mkfifo(udir / "fifo", 0o600)
    with pytest.raises(TempFail, match="not a regular file"):
        CourierUserdb(str(udir / "fifo")).lookup("x")


def test_symlink_loop_is_bounded(udir: Path) -> None:
    (udir / "userdb.d" / "loop").symlink_to(udir / "userdb.d")
    with pytest.raises(TempFail, match="nested deeper"):
        CourierUserdb(str(udir / "userdb.d")).lookup("alpha@example.org")


def test_cache_follows_changes(udir: Path) -> None:
    path = udir / "userdb.d" / "a-first"
    source = CourierUserdb(str(udir / "userdb.d"))
    assert source.lookup("alpha@example.org") is not None
    first = courier._cache[str(udir / "userdb.d")]
    assert source.lookup("beta@example.org") is not None
    assert courier._cache[str(udir / "userdb.d")] is first
    path.write_text("alpha2@example.org\tuid=6000|gid=6000|home=/home/alpha\n")
    assert source.lookup("alpha@example.org") is None
    assert source.lookup("alpha2@example.org") is not None


@pytest.mark.parametrize("text,key,fields", [
    ("a\tuid=1|gid=2|home=/h\n", "a", {"uid": "1", "gid": "2", "home": "/h"}),
    ("a\tuid=1|junk|=x|home=/h\r\n", "a", {"uid": "1", "home": "/h"}),
    ("a\tmail=x=y|uid=1|uid=2\n", "a", {"mail": "x=y", "uid": "1"}),
    ("  a\tuid=1\n", "  a", {"uid": "1"}),
], ids=["plain", "junk-fields-and-crlf", "first-field-wins", "leading-space-kept"])
def test_parse(text: str, key: str, fields: dict[str, str]) -> None:
    assert parse(text, "t")[key].fields == fields


@pytest.mark.parametrize("text", ["\n", "# a\tuid=1\n", "\tuid=1\n", "a uid=1\n"],
                         ids=["blank", "comment", "empty-name", "no-tab"])
def test_parse_ignores(text: str) -> None:
    assert parse(text, "t") == {}


def test_open_source_needs_a_path() -> None:
    with pytest.raises(ConfigError, match="userdb needs a file"):
        open_source("userdb:", Config(None, {}))
    assert isinstance(open_source("userdb:/etc/courier/userdb", Config(None, {})),
                      CourierUserdb)
