"""`pymaildrop lookup ADDRESS`: which source answers, and the exit statuses."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pymaildrop import cli, tools
from pymaildrop.userdb import courier, tables

DATA = Path(__file__).resolve().parent.parent / "data" / "userdb"


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    """Private copies of the fixtures and a pymaildrop.cf that uses the virtual tables."""
    tables.clear_cache()
    courier.clear_cache()
    shutil.copytree(DATA / "virtual", tmp_path / "virtual")
    shutil.copy(DATA / "courier", tmp_path / "userdb")
    (tmp_path / "userdb").chmod(0o600)
    write_config(tmp_path, "user_databases = virtual, passwd\n"
                           "virtual_mailbox_base = /var/mail/vhosts\n"
                           f"virtual_mailbox_maps = texthash:{tmp_path}/virtual/vmailbox\n"
                           "virtual_uid_maps = static:5000\n"
                           "virtual_gid_maps = static:5000\n")
    return tmp_path


def write_config(directory: Path, text: str) -> Path:
    path = directory / "pymaildrop.cf"
    path.write_text(text)
    path.chmod(0o600)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = tools.main(["lookup", *args], "pymaildrop")
    out, err = capsys.readouterr()
    return status, out, err


def test_virtual_output(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--config", f"{setup}/pymaildrop.cf",
                           "user1+lists@example.com")
    assert (status, err) == (0, "")
    assert out == (
        "address:  user1+lists@example.com\n"
        f"source:   virtual:{setup}/pymaildrop.cf (texthash:{setup}/virtual/vmailbox, "
        "key user1@example.com)\n"
        "name:     user1@example.com\n"
        "uid:      5000\n"
        "gid:      5000\n"
        "home:     /var/mail/vhosts/example.com/user1/\n"
        "mailbox:  /var/mail/vhosts/example.com/user1/\n"
        "quota:    (none)\n")


@pytest.mark.parametrize("userdb,address,lines", [
    (["passwd"], "root", ["source:   passwd (passwd entry root)", "uid:      0",
                          "mailbox:  /root/Maildir/ (default)"]),
    (["userdb:{dir}/userdb"], "user1@example.com",
     ["source:   userdb:{dir}/userdb ({dir}/userdb:3)",
      "mailbox:  /var/mail/vhosts/example.com/user1/Maildir/",
      "quota:    100000000S,10000C"]),
    (["userdb:{dir}/userdb", "passwd"], "daemon", ["source:   passwd (passwd entry daemon)"]),
], ids=["passwd", "courier-userdb", "second-source-answers"])
def test_found(setup: Path, capsys: pytest.CaptureFixture[str], userdb: list[str],
               address: str, lines: list[str]) -> None:
    args = [arg for spec in userdb for arg in ("--userdb", spec.format(dir=setup))]
    status, out, err = run(capsys, *args, address)
    assert (status, err) == (0, "")
    for line in lines:
        assert line.format(dir=setup) in out.splitlines()


def test_uid_below_minimum_is_shown_as_refused(setup: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(setup, f"virtual_mailbox_base = /srv\n"
                              f"virtual_mailbox_maps = hash:{setup}/virtual/vmailbox\n"
                              f"virtual_uid_maps = hash:{setup}/virtual/vuid\n"
                              "virtual_gid_maps = static:50\n")
    status, out, _ = run(capsys, "--config", str(cfg), "--userdb", "virtual", "lowuid@example.com")
    assert status == 0
    assert "refused:  uid 50 is below the minimum 100: a delivery would be deferred" in out


def test_not_found_lists_the_sources(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--config", f"{setup}/pymaildrop.cf", "nobody@example.org")
    assert (status, out) == (67, "")
    assert err == f"nobody@example.org: not found in virtual:{setup}/pymaildrop.cf, passwd\n"


def test_default_sources_without_the_socket(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, f"authdaemon_socket = {tmp_path}/no-socket\n")
    status, _, err = run(capsys, "--config", str(cfg), "no-such-user-pmd")
    assert (status, err) == (67, "no-such-user-pmd: not found in passwd\n")


@pytest.fixture
def authdaemond() -> Iterator[str]:
    """A one-answer fake authdaemond; yields its socket path."""
    directory = tempfile.mkdtemp(prefix="pmd-tools-", dir="/tmp")
    path = os.path.join(directory, "socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"UID=5000\nGID=5000\nHOME=/var/mail/a\nADDRESS=a@example.com\n"
                         b"MAILDIR=Maildir/\nQUOTA=10S\n.\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield path
    thread.join(2)
    server.close()
    shutil.rmtree(directory, ignore_errors=True)


def test_authdaemon(authdaemond: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--userdb", f"authdaemon:{authdaemond}", "a@example.com")
    assert (status, err) == (0, "")
    assert f"source:   authdaemon:{authdaemond} (service login)" in out
    assert "mailbox:  /var/mail/a/Maildir/" in out and "quota:    10S" in out


@pytest.mark.parametrize("args,message", [
    (["--userdb", "authdaemon:/nonexistent/socket", "a@example.com"],
     "a@example.com: authdaemon:/nonexistent/socket: the socket does not exist"),
    (["--userdb", "userdb:/nonexistent/userdb", "a@example.com"], "cannot read"),
    (["--userdb", "ldap:whatever", "a@example.com"], "unknown user database type 'ldap'"),
    (["--config", "/nonexistent/pymaildrop.cf", "a@example.com"], "does not exist"),
    (["--userdb", "virtual", "a@example.com"], "virtual_mailbox_maps is empty"),
], ids=["socket-missing", "userdb-missing", "unknown-type", "config-missing",
        "virtual-unconfigured"])
def test_unreachable_is_75(capsys: pytest.CaptureFixture[str], args: list[str],
                           message: str) -> None:
    status, out, err = run(capsys, *args)
    assert (status, out) == (75, "")
    assert message in err


@pytest.mark.parametrize("argv,status,stream,text", [
    (["lookup", "--bogus", "x"], 75, "err", "No such option"),
    (["lookup"], 75, "err", "Missing argument"),
    (["lookup", "a", "b"], 75, "err", "unexpected extra argument"),
    (["lookup", "--help"], 0, "out", "Usage: pymaildrop lookup [OPTIONS] ADDRESS"),
    (["nonsense"], 75, "err", "No such command"),
    ([], 75, "err", "Usage"),
], ids=["bad-option", "no-address", "two-addresses", "help", "unknown-subcommand",
        "nothing"])
def test_usage(capsys: pytest.CaptureFixture[str], argv: list[str], status: int,
               stream: str, text: str) -> None:
    assert tools.main(argv, "pymaildrop") == status
    out, err = capsys.readouterr()
    assert text in (out if stream == "out" else err)


def test_internal_error_is_75(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    def broken(spec: str, config: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("pymaildrop.userdb.open_source", broken)
    status, _, err = run(capsys, "--userdb", "passwd", "root")
    assert status == 75 and "internal error: RuntimeError: boom" in err


@pytest.mark.parametrize("address,status", [("root", 0), ("no-such-user-pmd", 67)],
                         ids=["found", "not-found"])
def test_cli_dispatch(capsys: pytest.CaptureFixture[str], address: str, status: int) -> None:
    assert cli.main(["pymaildrop", "lookup", "--userdb", "passwd", address]) == status
