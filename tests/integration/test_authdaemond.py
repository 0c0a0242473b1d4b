"""authdaemon: and userdb: against the REAL Courier authdaemond (authuserdb + authpam).

authdaemond reads /etc/courier/authdaemonrc and /etc/courier/userdb.dat and
binds /run/courier/authdaemon/socket -- all compiled in.  So each instance runs
in a private mount namespace (unshare -m) where a temporary directory is bound
over /etc/courier and another over /run: the system's files and any running
authdaemond are never touched.  Needs root and the Debian packages
courier-authdaemon and courier-authlib-userdb, which are installed when
missing (with a temporary policy-rc.d, so that no system service starts).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pymaildrop.errors import TempFail
from pymaildrop.userdb import User
from pymaildrop.userdb.authdaemon import AuthdaemonSource
from pymaildrop.userdb.courier import CourierUserdb

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
AUTHDAEMOND = "/usr/lib/courier/courier-authlib/authdaemond"
NEEDED = [AUTHDAEMOND, "/usr/sbin/makeuserdb", "/usr/lib/courier-authlib/libauthuserdb.so.0"]
PACKAGES = ("courier-authdaemon", "courier-authlib-userdb")

USERDB = (
    "# private userdb for the authdaemond integration test\n"
    "virt@example.com\tuid=5000|gid=5000|home=/var/mail/vhosts/example.com/virt"
    "|mail=Maildir/|quota=100000S\n"
    "Mixed@Example.com\tuid=5001|gid=5001|home=/home/mixed|mail=/srv/mail/mixed/\n"
    "secret@example.com\tuid=5002|gid=5002|home=/home/secret|systempw=$1$abc$def\n"
    "space name@example.com\tuid=5003|gid=5003|home=/home/space\n"
    "nouid@example.com\tgid=5000|home=/home/nouid\n"
    "#commented@example.com\tuid=5004|gid=5004|home=/home/commented\n"
)

START = """set -e
mount --bind "$1" /etc/courier
mount --bind "$2" /run
mkdir -p /run/courier/authdaemon
makeuserdb
exec {authdaemond}
"""


def _requirements() -> str | None:
    if os.geteuid() != 0:
        return "needs root (mount namespaces, authdaemond)"
    _install_packages()
    missing = [path for path in NEEDED if not os.path.exists(path)]
    if missing or shutil.which("unshare") is None:
        return (f"missing {', '.join(missing) or 'unshare'}: apt-get install "
                "courier-authdaemon courier-authlib-userdb")
    return None


def _install_packages() -> None:
    """apt-get install the Courier packages when they are missing; start nothing."""
    if all(os.path.exists(path) for path in NEEDED) or shutil.which("apt-get") is None:
        return
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# pymaildrop tests: start no services\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=600, check=False,
                       capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        *PACKAGES], env=env, timeout=900, check=False, capture_output=True)
    finally:
        if ours:
            policy.unlink(missing_ok=True)


@dataclass
class Instance:
    proc: subprocess.Popen[bytes]
    socket: str
    directory: str

    def log(self) -> str:
        return Path(self.directory, "log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM authdaemond (it stops and reaps its children); SIGKILL the group if stuck."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            # Not reaped yet, so the process group id is still the one we started.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def start(modules: str = "authuserdb authpam") -> Instance:
    """Start a private authdaemond; wait until its socket answers."""
    directory = tempfile.mkdtemp(prefix="pmd-authd-", dir="/tmp")
    etc, run = Path(directory, "etc"), Path(directory, "run")
    etc.mkdir(mode=0o755)
    run.mkdir(mode=0o755)
    (etc / "authdaemonrc").write_text(f'authmodulelist="{modules}"\ndaemons=2\n'
                                      'DEBUG_LOGIN=0\nDEFAULTOPTIONS=""\n')
    userdb = etc / "userdb"
    userdb.write_text(USERDB)
    userdb.chmod(0o600)  # makeuserdb refuses group or world permissions
    with open(Path(directory, "log"), "wb") as log:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             START.format(authdaemond=AUTHDAEMOND), "start", str(etc), str(run)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    instance = Instance(proc, str(run / "courier" / "authdaemon" / "socket"), directory)
    _wait_for(instance)
    return instance


def _wait_for(instance: Instance) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if instance.proc.poll() is not None:
            log = instance.log()
            shutil.rmtree(instance.directory, ignore_errors=True)
            if "unshare" in log and "not permitted" in log:
                pytest.skip(f"no mount namespaces here: {log.strip()}")
            pytest.fail(f"authdaemond exited with {instance.proc.returncode}: {log}")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(instance.socket)
            return
        except OSError:
            time.sleep(0.05)
    instance.stop()
    pytest.fail(f"authdaemond did not open {instance.socket}: {instance.log()}")


@pytest.fixture(scope="module")
def daemon() -> Iterator[Instance]:
    reason = _requirements()
    if reason:
        pytest.skip(reason)
    before = _etc_courier()
    instance = start()
    try:
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(instance.directory, ignore_errors=True)
    assert _etc_courier() == before, "the system's /etc/courier was changed"


def _etc_courier() -> list[tuple[str, int]]:
    return sorted((p.name, p.stat().st_mtime_ns) for p in Path("/etc/courier").iterdir())


@pytest.fixture
def authdaemon(daemon: Instance) -> AuthdaemonSource:
    return AuthdaemonSource(daemon.socket)


@pytest.fixture
def userdb_file(daemon: Instance) -> CourierUserdb:
    """The same userdb text file, read directly."""
    return CourierUserdb(str(Path(daemon.directory, "etc", "userdb")))


def _essentials(user: User) -> tuple[str, int, int, str, str, str]:
    return (user.name, user.uid, user.gid, user.home, user.mailbox, user.quota)


@pytest.mark.parametrize("key,expected", [
    ("virt@example.com", ("virt@example.com", 5000, 5000, "/var/mail/vhosts/example.com/virt",
                          "/var/mail/vhosts/example.com/virt/Maildir/", "100000S")),
    ("Mixed@Example.com", ("Mixed@Example.com", 5001, 5001, "/home/mixed", "/srv/mail/mixed/",
                           "")),
    ("secret@example.com", ("secret@example.com", 5002, 5002, "/home/secret", "", "")),
    ("space name@example.com", ("space name@example.com", 5003, 5003, "/home/space", "", "")),
], ids=["relative-maildir", "mixed-case-absolute-maildir", "with-password", "space-in-name"])
def test_virtual_accounts(authdaemon: AuthdaemonSource, userdb_file: CourierUserdb,
                          key: str, expected: tuple[str, int, int, str, str, str]) -> None:
    user = authdaemon.lookup(key)
    assert user is not None and _essentials(user) == expected
    assert "$1$abc" not in repr(user)
    direct = userdb_file.lookup(key)  # our reader agrees with authuserdb
    assert direct is not None and _essentials(direct) == expected


@pytest.mark.parametrize("key", [
    "nobody@example.com", "mixed@example.com", "VIRT@example.com", "virt+ext@example.com",
    "#commented@example.com", "no-such-user-pmd",
], ids=["unknown", "case-differs", "upper-case", "extension", "commented-out",
        "unknown-system-name"])
def test_unknown(authdaemon: AuthdaemonSource, userdb_file: CourierUserdb, key: str) -> None:
    assert authdaemon.lookup(key) is None
    assert userdb_file.lookup(key) is None


def test_entry_without_uid(authdaemon: AuthdaemonSource, userdb_file: CourierUserdb) -> None:
    # authuserdb calls a broken entry unknown; reading the file, we defer instead.
    assert authdaemon.lookup("nouid@example.com") is None
    with pytest.raises(TempFail, match="has no uid"):
        userdb_file.lookup("nouid@example.com")


@pytest.mark.parametrize("name", ["daemon", "root"], ids=["daemon", "root"])
def test_system_account_via_authpam(authdaemon: AuthdaemonSource, name: str) -> None:
    entry = pwd.getpwnam(name)
    user = authdaemon.lookup(name)
    assert user is not None
    assert (user.name, user.uid, user.gid, user.home) == (name, entry.pw_uid, entry.pw_gid,
                                                          entry.pw_dir)
    assert user.detail == f"service login, system account {name}"


def test_lookup_command(daemon: Instance) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pymaildrop", "lookup", "--userdb", f"authdaemon:{daemon.socket}",
         "virt@example.com"], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert (result.returncode, result.stderr) == (0, "")
    assert f"source:   authdaemon:{daemon.socket} (service login)" in result.stdout
    assert "mailbox:  /var/mail/vhosts/example.com/virt/Maildir/" in result.stdout


def test_stopped_daemon_defers_never_bounces() -> None:
    reason = _requirements()
    if reason:
        pytest.skip(reason)
    instance = start("authuserdb")
    try:
        source = AuthdaemonSource(instance.socket)
        assert source.lookup("virt@example.com") is not None
        instance.stop()
        with pytest.raises(TempFail, match="connection refused|does not exist"):
            source.lookup("virt@example.com")
    finally:
        instance.stop()
        shutil.rmtree(instance.directory, ignore_errors=True)
