"""A virtual-mail site for the delivery-mode tests, and its fixture."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLE

NOBODY = pwd.getpwnam("nobody")


class Site:
    """A virtual-mail site under a temporary, world-traversable directory."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.base = top / "vhosts"
        self.base.mkdir()
        os.chown(self.base, NOBODY.pw_uid, NOBODY.pw_gid)
        self.config = top / "pymaildrop.cf"
        self.vmailbox = top / "vmailbox"
        self.maildroprc = top / "maildroprc"
        self.write_tables({"user1@example.com": "example.com/user1/",
                           "@catchall.example": "catchall/"})
        self.write_config()

    def write_tables(self, entries: dict[str, str]) -> None:
        self.vmailbox.write_text("".join(f"{k} {v}\n" for k, v in entries.items()))

    def write_config(self, **extra: str) -> None:
        params = {
            "user_databases": "virtual",
            "virtual_mailbox_base": str(self.base),
            "virtual_mailbox_maps": f"texthash:{self.vmailbox}",
            "virtual_uid_maps": f"static:{NOBODY.pw_uid}",
            "virtual_gid_maps": f"static:{NOBODY.pw_gid}",
            "maildroprc": str(self.maildroprc),
        }
        params.update(extra)
        self.config.write_text("".join(f"{k} = {v}\n" for k, v in params.items()))

    def home(self, address: str = "user1@example.com") -> Path:
        local, _, domain = address.partition("@")
        return self.base / domain / local

    def make_home(self, address: str = "user1@example.com") -> Path:
        home = self.home(address)
        home.mkdir(parents=True, exist_ok=True)
        for d in (home, home.parent):
            os.chown(d, NOBODY.pw_uid, NOBODY.pw_gid)
            os.chmod(d, 0o755)
        return home

    def user_filter(self, text: str, mode: int = 0o600, address: str = "user1@example.com",
                    owner: int | None = None) -> Path:
        home = self.make_home(address)
        path = home / ".mailfilter"
        path.write_text(text)
        os.chmod(path, mode)
        os.chown(path, NOBODY.pw_uid if owner is None else owner, NOBODY.pw_gid)
        return path

    def run(self, *args: str, stdin: bytes = SAMPLE, as_nobody: bool = False,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        command = [str(Path(sys.executable).parent / "pymaildrop"), "--config",
                   str(self.config), *args]
        full_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        full_env.update(env or {})
        kwargs: dict[str, object] = {}
        if as_nobody:
            kwargs = {"user": NOBODY.pw_uid, "group": NOBODY.pw_gid, "extra_groups": []}
        return subprocess.run(command, input=stdin, capture_output=True, env=full_env,
                              cwd=self.top, timeout=60, **kwargs)  # type: ignore[arg-type]

    def delivered(self, maildir: Path) -> list[bytes]:
        """The messages in a maildir's new/ and cur/ (none if it does not exist)."""
        return [p.read_bytes() for sub in ("new", "cur") if (maildir / sub).is_dir()
                for p in sorted((maildir / sub).iterdir())]


@pytest.fixture
def site() -> Iterator[Site]:
    """A fresh site under /tmp (world-traversable, so the user nobody can use it)."""
    if os.geteuid() != 0:
        pytest.skip("delivery mode tests need root (they switch to the user nobody)")
    top = Path(tempfile.mkdtemp(prefix="pmd-dmode-", dir="/tmp"))
    os.chmod(top, 0o755)
    try:
        yield Site(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)
