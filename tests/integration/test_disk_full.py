"""A full disk or a file-size limit defers the message and leaves nothing behind.

Through the real command line: a maildir and an mbox on a small tmpfs that a
large message does not fit on (a real ENOSPC), and RLIMIT_FSIZE (EFBIG and
SIGXFSZ).  Each ends in exit 75, with the maildir's new/, cur/ and tmp/ empty
and the mbox exactly as it was.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BIG = b"Subject: big\n\n" + b"x" * 200 + b"\n" * 1 + b"".join(
    b"%07d padding padding padding padding padding padding padding\n" % i
    for i in range(40_000))
OLD_MBOX = b"From old@example.com Mon Jan  1 00:00:00 2001\nSubject: old\n\nkeep me\n\n"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    top = Path(tempfile.mkdtemp(prefix="pmd-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(top)], check=True)
    try:
        yield top
    finally:
        subprocess.run(["umount", "-l", str(top)], check=False)
        os.rmdir(top)


@pytest.fixture(autouse=True)
def _scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    global SCRATCH
    SCRATCH = tmp_path_factory.mktemp("filter")


SCRATCH = Path("/nonexistent")


def deliver(cwd: Path, target: str, message: bytes, fsize: int | None = None
            ) -> subprocess.CompletedProcess[bytes]:
    filt = SCRATCH / "filter"
    filt.write_text(f'to "{target}"\n')

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([str(Path(sys.executable).parent / "pymaildrop"), str(filt)],
                          input=message, capture_output=True, cwd=cwd, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd),
                               "TMPDIR": str(filt.parent)},
                          preexec_fn=limit)


def maildir_in(top: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (top / "Maildir" / sub).mkdir(parents=True)
    return top / "Maildir"


def assert_empty_maildir(box: Path) -> None:
    assert [p for sub in ("new", "cur", "tmp") for p in (box / sub).iterdir()] == []


def test_maildir_on_a_full_disk(small_disk: Path) -> None:
    assert len(BIG) > 1_500_000
    box = maildir_in(small_disk)
    proc = deliver(small_disk, "Maildir", BIG)
    assert proc.returncode == 75, proc.stderr
    assert b"No space left on device" in proc.stderr
    assert_empty_maildir(box)


def test_mbox_on_a_full_disk(small_disk: Path) -> None:
    box = small_disk / "inbox"
    box.write_bytes(OLD_MBOX)
    proc = deliver(small_disk, "inbox", BIG)
    assert proc.returncode == 75, proc.stderr
    assert box.read_bytes() == OLD_MBOX
    assert [p.name for p in small_disk.iterdir()] == ["inbox"]      # no lock left


def test_maildir_with_a_file_size_limit(tmp_path: Path) -> None:
    box = maildir_in(tmp_path)
    proc = deliver(tmp_path, "Maildir", BIG, fsize=500_000)
    assert proc.returncode == 75, proc.stderr
    assert_empty_maildir(box)


def test_mbox_with_a_file_size_limit(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    box.write_bytes(OLD_MBOX)
    proc = deliver(tmp_path, "inbox", BIG, fsize=500_000)
    assert proc.returncode == 75, proc.stderr
    assert box.read_bytes() == OLD_MBOX


def test_a_small_message_still_fits(small_disk: Path) -> None:
    box = maildir_in(small_disk)
    proc = deliver(small_disk, "Maildir", b"Subject: small\n\nhi\n")
    assert proc.returncode == 0, proc.stderr
    assert [p.read_bytes() for p in (box / "new").iterdir()] == [b"Subject: small\n\nhi\n"]
