"""Every sample filter parses -- here, and (when it is installed) in real maildrop."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pymaildrop.lang import load_filter

ROOT = Path(__file__).resolve().parents[2]
FILTERS = sorted(ROOT.glob("samples/**/*.mailfilter"))


def test_there_are_samples() -> None:
    assert len(FILTERS) >= 5


@pytest.mark.parametrize("path", FILTERS, ids=lambda p: p.name)
def test_sample_parses(path: Path) -> None:
    assert load_filter(str(path)).body


@pytest.mark.e2e
@pytest.mark.parametrize("path", FILTERS, ids=lambda p: p.name)
def test_sample_parses_in_real_maildrop(path: Path, tmp_path: Path) -> None:
    maildrop = shutil.which("maildrop")
    if maildrop is None:
        pytest.skip("maildrop is not installed (apt-get install maildrop)")
    # "exit" first: maildrop parses the whole file, then stops before any action.
    filt = tmp_path / "filter"
    filt.write_bytes(b"exit\n" + path.read_bytes())
    os.chmod(filt, 0o600)
    proc = subprocess.run([maildrop, str(filt)], input=b"Subject: x\n\nbody\n",
                          capture_output=True, cwd=tmp_path, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
