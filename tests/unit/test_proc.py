"""Running commands: environment, umask, input, output, status, timeouts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pymaildrop import proc
from pymaildrop.errors import TempFail

ENV = {"PATH": "/usr/bin:/bin"}


def sh(command: str, **kwargs: object) -> proc.Result:
    return proc.run(proc.shell_argv("/bin/sh", command), ENV, **kwargs)  # type: ignore[arg-type]


def test_status_and_output() -> None:
    r = sh("echo hi; exit 3", stdin=None, capture=True)
    assert (r.status, r.signal, r.output, r.code) == (3, None, b"hi\n", 3)


def test_input_is_fed() -> None:
    r = sh("tr a-z A-Z", stdin=[b"abc\n", b"def\n"], capture=True)
    assert r.output == b"ABC\nDEF\n" and r.input_complete


def test_large_input_and_output_do_not_deadlock() -> None:
    data = b"x" * 5_000_000
    r = sh("cat", stdin=[data], capture=True)
    assert r.output == data


def test_command_that_does_not_read_its_input() -> None:
    r = sh("exit 0", stdin=[b"y" * 1_000_000], capture=True)
    assert r.status == 0 and not r.input_complete


def test_killed_by_signal() -> None:
    r = sh("kill -9 $$", stdin=None)
    assert r.status is None and r.signal == 9 and r.code == 137


def test_dollar_zero_is_the_shell_name() -> None:
    assert sh("echo $0", stdin=None, capture=True).output == b"sh\n"


def test_umask_is_007() -> None:
    assert sh("umask", stdin=None, capture=True).output == b"0007\n"


def test_environment_is_exactly_what_is_given() -> None:
    r = proc.run(["/usr/bin/env"], {"A": "1", "PATH": "/bin"}, stdin=None, capture=True)
    assert sorted(r.output.decode().split()) == ["A=1", "PATH=/bin"]


def test_build_env_drops_invalid_names_and_nul() -> None:
    env = proc.build_env({"GOOD_1": "v", "1": "arg", "A B": "x", "C.D": "y", "NUL": "a\0b",
                          "_ok": "z"})
    assert env == {"GOOD_1": "v", "_ok": "z"}


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    start = time.monotonic()
    with pytest.raises(TempFail, match="timed out after 1 s"):
        sh(f"(sleep 3; touch {marker}) & sleep 30", stdin=None, timeout=1)
    assert time.monotonic() - start < 10
    time.sleep(3.5)
    assert not marker.exists()          # the background child was killed too


def test_output_to_a_file(tmp_path: Path) -> None:
    with open(tmp_path / "out", "w+b") as f:
        r = sh("printf abc", stdin=None, output_to=f)
        f.seek(0)
        assert r.status == 0 and f.read() == b"abc"


def test_missing_program_defers() -> None:
    with pytest.raises(TempFail, match="cannot run /no/such/program"):
        proc.run(["/no/such/program"], ENV, stdin=None)


def test_sendmail_is_not_run_through_a_shell(tmp_path: Path) -> None:
    from pymaildrop.interp.effects import sendmail_argv

    argv = sendmail_argv(f"{tmp_path}/sm -oi", "a@b;touch$IFS/tmp/pwned c@d")
    assert argv == [f"{tmp_path}/sm", "-oi", "-f", "", "a@b;touch$IFS/tmp/pwned", "c@d"]
    assert os.path.basename(argv[0]) == "sm"
