"""maildrop's ownership and permission checks, each on its refusal path."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pymaildrop import privileges
from pymaildrop.errors import SecurityError
from pymaildrop.userdb import User


def test_home_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SecurityError, match="No such file"):
        privileges.check_home(str(tmp_path / "nope"))


@pytest.mark.parametrize("mode,fragment", [(0o1755, "sticky bit"), (0o757, "world-writable")],
                         ids=["sticky", "world-writable"])
def test_unsafe_home(tmp_path: Path, mode: int, fragment: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(mode)
    with pytest.raises(SecurityError, match=fragment):
        privileges.check_home(str(home))


def test_safe_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o750)
    assert stat.S_ISDIR(privileges.check_home(str(home)).st_mode)


def test_home_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(SecurityError, match="not a directory"):
        privileges.check_home(str(tmp_path / "f"))


def _stat(mode: int, uid: int) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, 0, 10, 0, 0, 0))


@pytest.mark.parametrize("mode,uid,fragment", [
    (stat.S_IFREG | 0o640, 1000, "group or world permissions"),
    (stat.S_IFREG | 0o604, 1000, "group or world permissions"),
    (stat.S_IFREG | 0o600, 0, "owned by uid 0"),
    (stat.S_IFDIR | 0o700, 1000, "not a regular file"),
], ids=["group", "world", "owner", "directory"])
def test_unsafe_user_filter(mode: int, uid: int, fragment: str) -> None:
    with pytest.raises(SecurityError, match=fragment):
        privileges.check_user_filter("f", _stat(mode, uid), 1000)


def test_private_user_filter_is_accepted() -> None:
    privileges.check_user_filter("f", _stat(stat.S_IFREG | 0o600, 1000), 1000)


def test_missing_user_filter_is_none(tmp_path: Path) -> None:
    assert privileges.open_user_filter(str(tmp_path / ".mailfilter"), os.getuid()) is None


def test_symlinked_user_filter(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("exit\n")
    (tmp_path / ".mailfilter").symlink_to(tmp_path / "real")
    with pytest.raises(SecurityError, match="symbolic link"):
        privileges.open_user_filter(str(tmp_path / ".mailfilter"), os.getuid())


def test_user_filter_text(tmp_path: Path) -> None:
    f = tmp_path / ".mailfilter"
    f.write_bytes(b"echo caf\xe9\n")
    f.chmod(0o600)
    assert privileges.open_user_filter(str(f), os.getuid()) == "echo caf\udce9\n"


@pytest.mark.parametrize("mode", [0o666, 0o664, 0o646], ids=["both", "group", "world"])
def test_writable_system_filter(tmp_path: Path, mode: int) -> None:
    f = tmp_path / "maildroprc"
    f.write_text("exit\n")
    f.chmod(mode)
    with pytest.raises(SecurityError, match="system filter"):
        privileges.open_system_filter(str(f))


def test_system_filter(tmp_path: Path) -> None:
    f = tmp_path / "maildroprc"
    f.write_text("exit\n")
    f.chmod(0o644)
    assert privileges.open_system_filter(str(f)) == "exit\n"
    assert privileges.open_system_filter(str(tmp_path / "none")) is None


def test_mailbox_path_checks(tmp_path: Path) -> None:
    base = tmp_path / "base"
    (base / "d").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    privileges.check_mailbox_path(str(base / "d" / "user/"), str(base))
    (base / "d" / "link").symlink_to(tmp_path / "out")
    with pytest.raises(SecurityError, match="symbolic link"):
        privileges.check_mailbox_path(str(base / "d" / "link/"), str(base))
    (base / "e").symlink_to(tmp_path / "out")
    with pytest.raises(SecurityError, match="outside"):
        privileges.check_mailbox_path(str(base / "e" / "user/"), str(base))
    privileges.check_mailbox_path(str(base / "d" / "link/"), "")      # no base: no check


def test_never_as_root() -> None:
    with pytest.raises(SecurityError, match="refusing to deliver as root"):
        privileges.drop_to(User("root", 0, 0, "/root"))


@pytest.mark.skipif(os.geteuid() == 0, reason="as root drop_to really changes the ids")
def test_not_root_and_not_the_user() -> None:
    with pytest.raises(SecurityError, match="run it as root, or as that user"):
        privileges.drop_to(User("other", os.getuid() + 1, os.getgid(), "/"))


def test_already_the_user_is_fine_when_not_root() -> None:
    if os.geteuid() == 0:
        pytest.skip("as root drop_to changes the ids of the test process")
    privileges.drop_to(User("me", os.getuid(), os.getgid(), "/"))
