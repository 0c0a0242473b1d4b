"""authdaemon:SOCKET against a fake authdaemond serving a temporary socket."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pymaildrop.config import Config
from pymaildrop.errors import TempFail
from pymaildrop.userdb import open_source
from pymaildrop.userdb.authdaemon import AuthdaemonSource, parse_reply

FAST = 0.3   # the client's timeout in these tests, seconds


class FakeAuthdaemond:
    """Accept connections on a UNIX socket; answer each request with `reply`.

    `chunks` > 1 sends the reply in pieces; `delay` waits before answering.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.reply = b"FAIL\n"
        self.delay = 0.0
        self.chunks = 1
        self.requests: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = conn.recv(1024)
                if not chunk:
                    break
                data += chunk
            self.requests.append(data)
            if self.delay and self.stopping.wait(self.delay):
                return
            step = max(1, len(self.reply) // self.chunks)
            for i in range(0, len(self.reply), step):
                conn.sendall(self.reply[i:i + step])
                time.sleep(0.01 if self.chunks > 1 else 0)
        except OSError:
            pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def sockdir() -> Iterator[str]:
    # A short path: UNIX socket names are limited to ~107 bytes.
    path = tempfile.mkdtemp(prefix="pmd-ad-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fake(sockdir: str) -> Iterator[FakeAuthdaemond]:
    server = FakeAuthdaemond(os.path.join(sockdir, "socket"))
    yield server
    server.close()


def source_for(fake: FakeAuthdaemond) -> AuthdaemonSource:
    return AuthdaemonSource(fake.path, timeout=FAST)


ROOT = pwd.getpwnam("root")
VIRTUAL = (b"UID=5000\nGID=5001\nHOME=/var/mail/u1\nADDRESS=u1@example.com\n"
           b"MAILDIR=Mail/inbox/\nQUOTA=1000S\nPASSWD=$1$x$y\nOPTIONS=disableimap=1\n.\n")


@pytest.mark.parametrize("reply,name,uid,gid,home,mailbox,quota", [
    (VIRTUAL, "u1@example.com", 5000, 5001, "/var/mail/u1", "/var/mail/u1/Mail/inbox/", "1000S"),
    (b"UID=7\nGID=8\nHOME=/h\nMAILDIR=/srv/Maildir/\n.\n", "key@example.com", 7, 8, "/h",
     "/srv/Maildir/", ""),
    (b"UID=7\nGID=8\nHOME=/h\nADDRESS=a@b\n.\n", "a@b", 7, 8, "/h", "", ""),
    (b"USERNAME=root\nGID=1\nHOME=/root\nADDRESS=root\nNAME=root\nPASSWD=*\n.\n", "root",
     ROOT.pw_uid, 1, "/root", "", ""),
    (b"USERNAME=root\nHOME=/root\nADDRESS=root\n.\n", "root", ROOT.pw_uid, ROOT.pw_gid,
     "/root", "", ""),
], ids=["virtual-relative-maildir", "absolute-maildir-no-address", "no-maildir",
        "system-account-without-uid", "system-account-without-gid"])
def test_found(fake: FakeAuthdaemond, reply: bytes, name: str, uid: int, gid: int,
               home: str, mailbox: str, quota: str) -> None:
    fake.reply = reply
    user = source_for(fake).lookup("key@example.com")
    assert user is not None
    assert (user.name, user.uid, user.gid, user.home) == (name, uid, gid, home)
    assert (user.mailbox, user.quota) == (mailbox, quota)
    assert user.source == f"authdaemon:{fake.path}"
    assert "$1$" not in repr(user)


def test_request_is_what_maildrop_sends(fake: FakeAuthdaemond) -> None:
    fake.reply = b"FAIL\n"
    assert source_for(fake).lookup("Some.One+ext@Example.COM") is None
    assert fake.requests == [b"PRE . login Some.One+ext@Example.COM\n"]


def test_reply_in_pieces(fake: FakeAuthdaemond) -> None:
    fake.reply, fake.chunks = VIRTUAL, 7
    user = source_for(fake).lookup("u1@example.com")
    assert user is not None and user.uid == 5000


@pytest.mark.parametrize("key", ["", "a\nPRE . login root", "a\rb", "a\0b"],
                         ids=["empty", "newline-injection", "carriage-return", "nul"])
def test_unsendable_keys_are_not_sent(fake: FakeAuthdaemond, key: str) -> None:
    assert source_for(fake).lookup(key) is None
    assert fake.requests == []


@pytest.mark.parametrize("reply,message", [
    (b"HELLO\n.\n", "malformed reply line 'HELLO'"),
    (b"UID=1\nGID=1\nHOME=/h\n", "closed before the end of the reply"),
    (b"", "closed before the end of the reply"),
    (b"UID=1\nHOME=/h\n.\n", "UID but no GID"),
    (b"UID=one\nGID=1\nHOME=/h\n.\n", "UID='one' in the reply is not a number"),
    (b"UID=1\nGID=1\n.\n", "has no HOME"),
    (b"GID=1\nHOME=/h\n.\n", "neither UID nor USERNAME"),
    (b"USERNAME=no-such-user-pmd\nHOME=/h\n.\n", "which this system does not know"),
    (b"UID=1\n" + b"X=" + b"y" * 70000 + b"\n.\n", "longer than"),
    (b".\n", "has no HOME"),
], ids=["garbage", "no-terminator", "empty-reply", "uid-without-gid", "uid-not-number",
        "no-home", "no-uid-no-username", "unknown-system-account", "too-long", "dot-only"])
def test_bad_replies_defer(fake: FakeAuthdaemond, reply: bytes, message: str) -> None:
    fake.reply = reply
    with pytest.raises(TempFail, match=message):
        source_for(fake).lookup("u1@example.com")


def test_slow_server_times_out(fake: FakeAuthdaemond) -> None:
    fake.reply, fake.delay = VIRTUAL, 5.0
    started = time.monotonic()
    with pytest.raises(TempFail, match=r"no answer within 0.3 seconds"):
        source_for(fake).lookup("u1@example.com")
    assert time.monotonic() - started < 2


def test_dripping_server_is_bounded_by_one_deadline(fake: FakeAuthdaemond) -> None:
    # Every piece arrives within the timeout, but the whole reply does not.
    fake.reply, fake.chunks = b"UID=1\nGID=1\nHOME=/h\n" + b"Z=1\n" * 100 + b".\n", 200
    started = time.monotonic()
    with pytest.raises(TempFail, match="no answer within"):
        source_for(fake).lookup("u1@example.com")
    assert time.monotonic() - started < 2


def test_connection_refused(sockdir: str) -> None:
    path = os.path.join(sockdir, "socket")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)          # the file exists, nobody listens: ECONNREFUSED
    try:
        with pytest.raises(TempFail, match="connection refused"):
            AuthdaemonSource(path, timeout=FAST).lookup("u1@example.com")
    finally:
        dead.close()


def unreachable_path(directory: str, kind: str) -> str:
    """A socket path that cannot be connected to, in one of several ways."""
    if kind == "missing":
        return os.path.join(directory, "missing")
    Path(directory, "file").write_text("not a socket")
    return os.path.join(directory, "file") if kind == "regular-file" else \
        os.path.join(directory, "file", "socket")


@pytest.mark.parametrize("kind,message", [
    ("missing", "the socket does not exist"),
    ("regular-file", "connection refused"),
    ("not-a-directory", "Not a directory"),
], ids=["missing", "regular-file", "not-a-directory"])
def test_unreachable_socket(sockdir: str, kind: str, message: str) -> None:
    path = unreachable_path(sockdir, kind)
    with pytest.raises(TempFail, match=message):
        AuthdaemonSource(path, timeout=FAST).lookup("u1@example.com")


def test_permission_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    # root passes every permission check, so the refusal is simulated.
    def refuse(self: socket.socket, address: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(TempFail, match="permission denied"):
        AuthdaemonSource("/run/courier/authdaemon/socket", timeout=FAST).lookup("u1@example.com")


@pytest.mark.parametrize("data,expected", [
    (b"FAIL\n", None),
    (b"A=1\nB=x=y\n.\n", {"A": "1", "B": "x=y"}),
    (b"A=1\nA=2\n.\n", {"A": "1"}),
    (b"A=1\nPASSWD=secret\nPASSWD2=s\n.\n", {"A": "1"}),
    (b"A=\n.\n", {"A": ""}),
], ids=["fail", "equals-in-value", "first-wins", "passwords-dropped", "empty-value"])
def test_parse_reply(data: bytes, expected: dict[str, str] | None) -> None:
    assert parse_reply(data, "t") == expected


def test_open_source_uses_the_configured_socket() -> None:
    source = open_source("authdaemon", Config(None, {"authdaemon_socket": "/x/socket"}))
    assert isinstance(source, AuthdaemonSource) and source.socket_path == "/x/socket"
    assert open_source("authdaemon:/y", Config(None, {})).spec == "authdaemon:/y"
