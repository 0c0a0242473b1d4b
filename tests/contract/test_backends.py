"""The contract every file backend keeps, run over maildir and mbox alike.

A delivery either lands whole, byte for byte, or leaves the mailbox exactly as
it was: under a full disk, a file-size limit, a lock held by another process,
a planted symlink, a read-only folder, and many concurrent writers.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pymaildrop.deliver import MailboxOptions, locking, maildir, mbox
from pymaildrop.errors import DeliveryError, MaildropError
from pymaildrop.message import Message

OPTS = MailboxOptions(hostname="mailhost.test", locksleep=0,
                      envelope_sender="sender@example.com")
OLD_MBOX = b"From old@example.com Mon Jan  1 10:00:00 2001\nSubject: old\n\nold body\n\n"
SEPARATOR = re.compile(rb"^From sender@example\.com [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d "
                       rb"\d\d:\d\d:\d\d \d{4}\n", re.M)

MESSAGES = {
    "simple": b"From: a@example.com\nSubject: hi\n\nHello.\n",
    "no-final-newline": b"Subject: x\n\nno newline",
    "from-lines": b"From bogus\nSubject: q\n\nFrom here\n>From there\nFrom: not quoted\n",
    "eight-bit": b"Subject: =?utf-8?q?x?=\n\n" + bytes(range(1, 256)).replace(b"\n", b"") + b"\n",
    "crlf": b"Subject: crlf\r\n\r\nline\r\n",
    "header-only": b"Subject: (no text)\n\n",
    "large": b"Subject: big\n\n" + b"".join(b"line %06d of a long body\n" % i
                                            for i in range(20000)),
}


def expected_mbox_entry(raw: bytes) -> bytes:
    """What an mbox holds for raw after its separator line."""
    stored = raw if raw.endswith(b"\n") else raw + b"\n"
    return b"".join(mbox.quote_line(x) for x in stored.splitlines(keepends=True)) + b"\n"


class Maildir:
    name = "maildir"
    needs_lock = False

    def make(self, root: Path) -> Path:
        target = root / "Maildir"
        for sub in ("tmp", "new", "cur"):
            (target / sub).mkdir(parents=True)
        return target

    def deliver(self, msg: Message, target: Path, opts: MailboxOptions = OPTS) -> str:
        return maildir.deliver(msg, str(target), opts)

    def state(self, target: Path) -> dict[str, bytes]:
        out = {}
        for sub in ("tmp", "new", "cur"):
            for p in sorted((target / sub).iterdir()):
                out[f"{sub}/{p.name}"] = p.read_bytes()
        return out

    def delivered(self, target: Path) -> list[bytes]:
        return sorted(p.read_bytes() for p in (target / "new").iterdir())

    def expected(self, raw: bytes) -> bytes:
        return raw if raw.endswith(b"\n") else raw + b"\n"

    def write_target(self, target: Path) -> Path:
        return target / "tmp"                 # where the bytes go first

    def plant_symlink(self, target: Path, victim: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
        # Every name the delivery tries in tmp/ is already a symlink to the victim.
        fixed = maildir._Name(1700000000, 1, os.getpid(), 1, "mailhost.test")
        monkeypatch.setattr(maildir, "_new_name", lambda host: fixed)
        for size in {len(m) for m in MESSAGES.values()}:
            (target / "tmp" / fixed.temp(f",S={size}")).symlink_to(victim)

    def read_only_dir(self, target: Path) -> Path:
        return target / "tmp"


class Mbox:
    name = "mbox"
    needs_lock = True

    def make(self, root: Path) -> Path:
        target = root / "inbox"
        target.write_bytes(OLD_MBOX)
        return target

    def deliver(self, msg: Message, target: Path, opts: MailboxOptions = OPTS) -> str:
        return mbox.deliver(msg, str(target), opts)

    def state(self, target: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(target.parent.iterdir())}

    def delivered(self, target: Path) -> list[bytes]:
        data = target.read_bytes()
        assert data.startswith(OLD_MBOX)
        parts = SEPARATOR.split(data[len(OLD_MBOX):])
        assert parts[0] == b""
        return sorted(parts[1:])

    def expected(self, raw: bytes) -> bytes:
        return expected_mbox_entry(raw)

    def write_target(self, target: Path) -> Path:
        return target

    def plant_symlink(self, target: Path, victim: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
        target.unlink()
        target.symlink_to(victim)

    def read_only_dir(self, target: Path) -> Path:
        target.unlink()                        # a new mailbox in a folder we cannot write
        return target.parent


Backend = Maildir | Mbox


@pytest.fixture(params=[Maildir(), Mbox()], ids=lambda b: b.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    b: Backend = request.param
    return b


@pytest.fixture()
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 0.3)


def run_in_child(action: Callable[[], object], *, uid: int | None = None,
                 fsize: int | None = None) -> tuple[int, str]:
    """Run action in a forked child (as uid, under RLIMIT_FSIZE); return (status, error)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        status, text = 0, ""
        try:
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            action()
        except MaildropError as exc:
            status, text = int(exc.code), str(exc)
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            status, text = 99, repr(exc)
        os.write(w, text.encode())
        os._exit(status)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), text


# DELIVERS THE EXACT BYTES

@pytest.mark.parametrize("raw", MESSAGES.values(), ids=MESSAGES.keys())
def test_delivers_the_exact_bytes(tmp_path: Path, backend: Backend, raw: bytes) -> None:
    target = backend.make(tmp_path)
    backend.deliver(Message.from_bytes(raw), target)
    assert backend.delivered(target) == [backend.expected(raw)]


def test_delivers_a_spooled_message(tmp_path: Path, backend: Backend) -> None:
    raw = MESSAGES["large"]
    with open(tmp_path / "in", "wb+") as f:
        f.write(raw)
        f.seek(0)
        msg = Message.read_from(f, spool_dir=str(tmp_path), memory_limit=1024)
    target = backend.make(tmp_path)
    try:
        backend.deliver(msg, target)
    finally:
        msg.close()
    assert backend.delivered(target) == [backend.expected(raw)]


def test_nothing_left_in_tmp_or_lock_files(tmp_path: Path, backend: Backend) -> None:
    target = backend.make(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    backend.deliver(Message.from_bytes(MESSAGES["simple"]), target)
    assert {p.name for p in tmp_path.iterdir()} == before
    if isinstance(backend, Maildir):
        assert backend.state(target).keys() <= {k for k in backend.state(target)
                                                if k.startswith("new/")}


# A FULL DISK

@pytest.mark.parametrize("budget", [0, 10, 70_000], ids=["at-once", "after-10-bytes",
                                                          "after-70000-bytes"])
def test_disk_full_leaves_the_mailbox_unchanged(tmp_path: Path, backend: Backend,
                                                monkeypatch: pytest.MonkeyPatch,
                                                budget: int) -> None:
    target = backend.make(tmp_path)
    before = backend.state(target)
    watched = str(backend.write_target(target).resolve())
    real_write = os.write
    left = [budget]

    def disk_full(fd: int, data: bytes) -> int:
        if not os.readlink(f"/proc/self/fd/{fd}").startswith(watched):
            return real_write(fd, data)
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(DeliveryError, match="No space left on device") as info:
        backend.deliver(Message.from_bytes(MESSAGES["large"]), target)
    assert info.value.code == 75
    monkeypatch.undo()
    assert backend.state(target) == before


# A FILE-SIZE LIMIT (RLIMIT_FSIZE, in a child process)

def test_file_size_limit_leaves_the_mailbox_unchanged(tmp_path: Path, backend: Backend) -> None:
    target = backend.make(tmp_path)
    before = backend.state(target)
    limit = len(OLD_MBOX) + 100
    status, text = run_in_child(
        lambda: backend.deliver(Message.from_bytes(MESSAGES["large"]), target), fsize=limit)
    assert status == 75, text
    assert "File too large" in text
    assert backend.state(target) == before


# A LOCK HELD BY ANOTHER PROCESS

def hold_locks(target: Path, seconds: float) -> tuple[int, int]:
    """Fork a child holding the dot-lock and an fcntl lock on target; wait until it does."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            with locking.dotlock(str(target) + ".lock", OPTS):
                fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600) \
                    if not target.is_dir() else os.open(target, os.O_RDONLY)
                if not target.is_dir():
                    fcntl.lockf(fd, fcntl.LOCK_EX)
                os.write(w, b"x")
                time.sleep(seconds)
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    return pid, r


def test_lock_held_by_another_process(tmp_path: Path, backend: Backend,
                                      short_waits: None) -> None:
    target = backend.make(tmp_path)
    pid, fd = hold_locks(target, seconds=30)
    before = backend.state(target)
    try:
        if backend.needs_lock:
            with pytest.raises(DeliveryError, match="cannot lock"):
                backend.deliver(Message.from_bytes(MESSAGES["simple"]), target)
            assert backend.state(target) == before
        else:                                   # a maildir needs no lock at all
            backend.deliver(Message.from_bytes(MESSAGES["simple"]), target)
            assert backend.delivered(target) == [backend.expected(MESSAGES["simple"])]
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def test_waits_for_a_lock_to_be_released(tmp_path: Path, backend: Backend,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "MAX_WAIT", 10)
    target = backend.make(tmp_path)
    pid, fd = hold_locks(target, seconds=0.3)
    try:
        backend.deliver(Message.from_bytes(MESSAGES["simple"]), target)
    finally:
        os.waitpid(pid, 0)
        os.close(fd)
    assert backend.delivered(target) == [backend.expected(MESSAGES["simple"])]


# A PLANTED SYMLINK

def test_symlinked_target_is_refused(tmp_path: Path, backend: Backend,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = backend.make(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    backend.plant_symlink(target, victim, monkeypatch)
    with pytest.raises(DeliveryError):
        backend.deliver(Message.from_bytes(MESSAGES["simple"]), target)
    assert victim.read_bytes() == b"precious\n"
    if isinstance(backend, Maildir):
        assert backend.delivered(target) == []


# A READ-ONLY FOLDER

@pytest.fixture()
def shared_tmp() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="pymaildrop-contract-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_read_only_folder_fails_cleanly(shared_tmp: Path, backend: Backend) -> None:
    target = backend.make(shared_tmp)
    locked = backend.read_only_dir(target)
    uid = None
    if os.geteuid() == 0:                      # root ignores modes: act as nobody
        uid = pwd.getpwnam("nobody").pw_uid
        for p in [shared_tmp, *shared_tmp.rglob("*")]:
            os.chown(p, uid, -1)
    before = backend.state(target) if target.exists() else {}
    locked.chmod(0o555)
    try:
        status, text = run_in_child(
            lambda: backend.deliver(Message.from_bytes(MESSAGES["simple"]), target), uid=uid)
    finally:
        locked.chmod(0o755)
    assert status == 75, text
    assert "Permission denied" in text and str(target) in text
    assert (backend.state(target) if target.exists() else {}) == before


# CONCURRENT WRITERS

@pytest.mark.parametrize("writers", [20], ids=lambda n: f"{n}-writers")
def test_concurrent_appends_never_interleave(tmp_path: Path, writers: int) -> None:
    backend = Mbox()
    target = backend.make(tmp_path)
    bodies = [b"Subject: writer %d\n\n" % i + (b"writer %02d says hello\n" % i) * 8000
              for i in range(writers)]
    assert all(len(b) > 2 * mbox.WRITE_BUFFER for b in bodies)
    _run_many(lambda i: backend.deliver(Message.from_bytes(bodies[i]), target), writers)
    assert backend.delivered(target) == sorted(backend.expected(b) for b in bodies)


@pytest.mark.parametrize("writers", [50], ids=lambda n: f"{n}-writers")
def test_concurrent_maildir_deliveries_all_land(tmp_path: Path, writers: int) -> None:
    backend = Maildir()
    target = backend.make(tmp_path)
    bodies = [b"Subject: writer %d\n\nbody %d\n" % (i, i) for i in range(writers)]
    _run_many(lambda i: backend.deliver(Message.from_bytes(bodies[i]), target), writers)
    assert backend.delivered(target) == sorted(bodies)
    assert len(set(os.listdir(target / "new"))) == writers
    assert os.listdir(target / "tmp") == []


def _run_many(action: Callable[[int], object], count: int) -> None:
    pids = []
    for i in range(count):
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                action(i)
            except BaseException:  # noqa: BLE001 - any failure is a non-zero status
                status = 1
            os._exit(status)
        pids.append(pid)
    statuses = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
    assert statuses == [0] * count
