"""passwd: the system's accounts through the pwd module."""

from __future__ import annotations

import pwd

import pytest

from pymaildrop.config import Config
from pymaildrop.userdb import open_source
from pymaildrop.userdb.passwd import PasswdSource

ROOT = pwd.getpwnam("root")
DAEMON = pwd.getpwnam("daemon")


@pytest.mark.parametrize("key,entry", [
    ("root", ROOT),
    ("root+lists", ROOT),
    ("daemon", DAEMON),
    ("daemon+a+b", DAEMON),
], ids=["root", "extension-stripped", "system-account", "first-delimiter"])
def test_found(key: str, entry: pwd.struct_passwd) -> None:
    user = PasswdSource().lookup(key)
    assert user is not None
    assert (user.name, user.uid, user.gid) == (entry.pw_name, entry.pw_uid, entry.pw_gid)
    assert (user.home, user.shell, user.mailbox) == (entry.pw_dir, entry.pw_shell, "")
    assert (user.source, user.detail) == ("passwd", f"passwd entry {entry.pw_name}")


@pytest.mark.parametrize("key", [
    "root@example.com", "root+x@example.com", "no-such-user-pmd", "", "ro\0ot", "+root",
    "ROOT",
], ids=["address", "address-with-extension", "unknown", "empty", "nul",
        "leading-delimiter", "case-matters"])
def test_not_found(key: str) -> None:
    assert PasswdSource().lookup(key) is None


@pytest.mark.parametrize("delimiters,key,found", [
    ("-", "root-ext", True), ("-", "root+ext", False), ("", "root+ext", False),
    ("+-", "root-x+y", True),
], ids=["dash", "plus-not-a-delimiter", "no-delimiter", "several"])
def test_delimiters(delimiters: str, key: str, found: bool) -> None:
    assert (PasswdSource(delimiters).lookup(key) is not None) is found


def test_open_source() -> None:
    source = open_source("passwd", Config(None, {}))
    assert isinstance(source, PasswdSource) and source.spec == "passwd"
