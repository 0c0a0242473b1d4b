"""Regression tests for hostile input that once broke a delivery.

Each case was found by the property tests (tests/property/) or the hostile
input suite (tests/e2e/test_hostile_input.py) and is pinned here as a fast
CLI-level check: the outcome must be a clean exit (0 or 75 with a message),
never a traceback or a Python warning on stderr.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def _filter(tmp_path: Path, text: str) -> str:
    path = tmp_path / "filter"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_hundreds_of_nested_ifs_run(tmp_path: Path) -> None:
    # maildrop 2.9.3 itself dies of SIGSEGV at about a thousand levels.
    text = "if (1)\n{\n" * 1000 + 'echo "deep"\n' + "}\n" * 1000 + "exit\n"
    result = run_cli([_filter(tmp_path, text)], cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"deep\n", b"")


def test_a_too_deeply_nested_filter_is_a_syntax_error_not_a_crash(tmp_path: Path) -> None:
    text = "if (1)\n{\n" * 20_000 + "x=1\n" + "}\n" * 20_000
    result = run_cli([_filter(tmp_path, text)], cwd=tmp_path)
    assert result.returncode == 75
    assert b"nests too deeply" in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_sum_of_a_thousand_terms_evaluates(tmp_path: Path) -> None:
    text = "x=" + "+".join(["1"] * 1000) + '\necho "$x"\nexit\n'
    result = run_cli([_filter(tmp_path, text)], cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"1000\n", b"")


def test_a_bracket_inside_a_class_matches_itself_without_a_warning(tmp_path: Path) -> None:
    text = 'if (/[[a]x/:b)\n{\n  echo "hit"\n}\nexit\n'
    message = b"From: a@example.com\n\nbody [x here\n"
    result = run_cli([_filter(tmp_path, text)], cwd=tmp_path, stdin=message)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hit\n", b"")


def test_a_nul_in_return_path_does_not_crash(tmp_path: Path) -> None:
    text = 'echo "from=$FROM"\nexit\n'
    message = b"Return-Path: <a@exa\x00mple.com>\nFrom: a@example.com\n\nbody\n"
    result = run_cli([_filter(tmp_path, text)], cwd=tmp_path, stdin=message)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    assert result.stdout == b"from=a@exa\n"


def test_a_header_over_a_mebibyte_is_delivered(tmp_path: Path) -> None:
    folded = b"X-Long: start\n" + b"\tcontinued line of a very long header\n" * 40_000
    message = b"From: a@example.com\n" + folded + b"Subject: late\n\nbody\n"
    assert len(message) > 1 << 20
    text = f'if (/^Subject: late/)\n{{\n  to "{tmp_path}/Maildir/"\n}}\n'
    for sub in ("tmp", "new", "cur"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    result = run_cli([_filter(tmp_path, text)], cwd=tmp_path, stdin=message)
    assert result.returncode == 0, result.stderr
    delivered = list((tmp_path / "Maildir" / "new").iterdir())
    assert len(delivered) == 1 and delivered[0].read_bytes().endswith(b"\nbody\n")
