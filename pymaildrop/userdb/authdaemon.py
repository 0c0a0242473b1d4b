"""authdaemon:SOCKET: ask Courier authlib's authdaemond, as maildrop -d does.

Contract: one connection per lookup: send "PRE . login KEY\\n", read KEY=value
    lines up to a line "." (found) or the line "FAIL" (unknown: None).  The
    key is sent as given (no case folding, no extension stripping).  A
    system account comes back as USERNAME= without UID=, and is completed
    from getpwnam(USERNAME).  A relative MAILDIR is under HOME.
Safety: the whole exchange is bounded in time (TIMEOUT) and size (MAX_REPLY),
    so a wedged daemon defers mail instead of holding a delivery slot.  A
    key with a newline or NUL, which could inject a second request, is
    never sent (None).  PASSWD= and other secrets in the reply are dropped.
Errors: TempFail for a missing socket, a refused or timed-out connection,
    and any reply that is not FAIL or well-formed KEY=value lines with "."
    (including a reply without HOME, or naming an account we do not have).
See also: authlib(7), authdaemonrc; courier.py reads userdb files directly.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import time

from pymaildrop import limits
from pymaildrop.errors import TempFail
from pymaildrop.userdb import User

# COMPAT: the service name maildrop 2.9 sends (captured from `maildrop -d`).
SERVICE = "login"

# Seconds for connecting, sending and reading the whole reply, together.
TIMEOUT = limits.AUTHDAEMON_TIMEOUT

# A reply larger than this is not authdaemond's.
MAX_REPLY = 64 * 1024

_KEY = re.compile(r"[A-Za-z0-9_]+")


class AuthdaemonSource:
    """A Courier authdaemond socket."""

    def __init__(self, socket_path: str, timeout: float = TIMEOUT,
                 service: str = SERVICE) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.service = service
        self.spec = "authdaemon:" + socket_path

    def lookup(self, key: str) -> User | None:
        """Return the account authdaemond knows as key, None on FAIL."""
        # SECURITY: a newline would end our request and start another one.
        if not key or any(c in key for c in "\r\n\0"):
            return None
        fields = parse_reply(self._ask(f"PRE . {self.service} {key}\n"), self.spec)
        return None if fields is None else self._user(key, fields)

    def _ask(self, request: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                sock.sendall(request.encode("utf-8", errors="surrogateescape"))
                return self._read(sock, deadline)
        except TimeoutError:
            raise TempFail(f"{self.spec}: no answer within {self.timeout:g} seconds") from None
        except FileNotFoundError:
            raise TempFail(f"{self.spec}: the socket does not exist "
                           "(is authdaemond running?)") from None
        except PermissionError:
            # SECURITY: Debian keeps the socket in a courier:courier 0750 directory.
            raise TempFail(f"{self.spec}: permission denied (the delivery user must be "
                           "able to reach the socket's directory)") from None
        except ConnectionRefusedError:
            raise TempFail(f"{self.spec}: connection refused "
                           "(is authdaemond running?)") from None
        except OSError as exc:
            raise TempFail(f"{self.spec}: {exc.strerror or exc}") from exc

    def _read(self, sock: socket.socket, deadline: float) -> bytes:
        data = b""
        while not reply_complete(data):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                raise TempFail(f"{self.spec}: the connection closed before the end "
                               f"of the reply ({len(data)} bytes)")
            data += chunk
            if len(data) > MAX_REPLY:
                raise TempFail(f"{self.spec}: reply longer than {MAX_REPLY} bytes")
        return data

    def _user(self, key: str, fields: dict[str, str]) -> User:
        home = fields.get("HOME", "")
        if not home:
            raise TempFail(f"{self.spec}: the reply for {key} has no HOME")
        uid, gid, shell, detail = self._ids(key, fields)
        maildir = fields.get("MAILDIR", "")
        # COMPAT: maildrop changes to HOME before delivering, so MAILDIR=Maildir/
        # means $HOME/Maildir/.
        mailbox = os.path.join(home, maildir) if maildir else ""
        return User(name=fields.get("ADDRESS") or key, uid=uid, gid=gid, home=home,
                    mailbox=mailbox, quota=fields.get("QUOTA", ""), shell=shell,
                    source=self.spec, detail=detail)

    def _ids(self, key: str, fields: dict[str, str]) -> tuple[int, int, str, str]:
        """Return (uid, gid, shell, detail) from the reply, or from passwd."""
        if "UID" in fields:
            if "GID" not in fields:
                raise TempFail(f"{self.spec}: the reply for {key} has UID but no GID")
            return (_number(fields, "UID", self.spec), _number(fields, "GID", self.spec),
                    "/bin/sh", f"service {self.service}")
        username = fields.get("USERNAME", "")
        if not username:
            raise TempFail(f"{self.spec}: the reply for {key} has neither UID nor USERNAME")
        try:
            entry = pwd.getpwnam(username)
        except (KeyError, ValueError):
            raise TempFail(f"{self.spec}: the reply for {key} names system account "
                           f"{username!r}, which this system does not know") from None
        gid = _number(fields, "GID", self.spec) if "GID" in fields else entry.pw_gid
        return (entry.pw_uid, gid, entry.pw_shell or "/bin/sh",
                f"service {self.service}, system account {username}")


def reply_complete(data: bytes) -> bool:
    """Whether data holds a whole reply: a FAIL line, or lines up to "."."""
    return data.startswith(b"FAIL\n") or data == b".\n" or b"\n.\n" in data


def parse_reply(data: bytes, spec: str) -> dict[str, str] | None:
    """Parse a complete reply: None for FAIL, else {KEY: value}."""
    if data.startswith(b"FAIL\n"):
        return None
    lines = data.decode("utf-8", errors="surrogateescape").split("\n")
    if "." not in lines:
        raise TempFail(f"{spec}: the reply does not end with a line '.'")
    fields: dict[str, str] = {}
    for line in lines[:lines.index(".")]:
        name, sep, value = line.partition("=")
        if not sep or not _KEY.fullmatch(name):
            raise TempFail(f"{spec}: malformed reply line {line[:60]!r}")
        fields.setdefault(name, value)
    # SECURITY: a password hash is never kept, shown or logged.
    fields.pop("PASSWD", None)
    fields.pop("PASSWD2", None)
    return fields


def _number(fields: dict[str, str], name: str, spec: str) -> int:
    value = fields[name]
    if not (value.isascii() and value.isdigit()):
        raise TempFail(f"{spec}: {name}={value!r} in the reply is not a number")
    return int(value)
