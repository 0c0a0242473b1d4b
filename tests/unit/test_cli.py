"""maildrop's command line, parsed getopt-style, and the exit-status guard."""

from __future__ import annotations

import pytest

from pymaildrop.cli import main, parse_args
from pymaildrop.errors import UsageError
from pymaildrop.exits import ExitCode


@pytest.mark.parametrize("argv,filter_path,args", [
    (["./filter", "alpha", "beta"], "./filter", ["alpha", "beta"]),
    (["./filter", "-A", "x"], "./filter", ["-A", "x"]),     # options stop at the filter
    (["--", "./filter", "-A"], "./filter", ["-A"]),
    (["-V", "3", "./filter"], "./filter", []),
], ids=["args", "options-after-filter", "double-dash", "separate-value"])
def test_filter_and_arguments(argv: list[str], filter_path: str, args: list[str]) -> None:
    inv = parse_args(argv)
    assert (inv.filter_path, inv.args, inv.delivery_mode) == (filter_path, args, False)


def test_options() -> None:
    inv = parse_args(["-A", "X-First: 1", "-AX-Second: 2", "-f", "s@x", "-V9", "-m", "-w", "90",
                      "-W", "/etc/quotawarnmsg", "-a", "./filter"])
    assert inv.headers == ["X-First: 1", "X-Second: 2"]
    assert (inv.sender, inv.verbose, inv.embedded) == ("s@x", 9, True)
    assert (inv.quota_warn_percent, inv.quota_warn_file) == (90, "/etc/quotawarnmsg")


def test_empty_sender_is_ignored() -> None:
    assert parse_args(["-f", "", "./filter"]).sender is None


def test_combined_flags() -> None:
    inv = parse_args(["-mV3", "./filter"])
    assert inv.embedded and inv.verbose == 3


def test_delivery_mode() -> None:
    inv = parse_args(["-d", "user@example.com", "lists", "rcpt"])
    assert (inv.delivery_mode, inv.user, inv.args) == (True, "user@example.com", ["lists", "rcpt"])
    assert parse_args([]).delivery_mode


@pytest.mark.parametrize("argv", [["-Q", "./filter"], ["-t", "sock"], ["-D", "1/1"],
                                  ["--nonsense"], ["-V", "x", "./f"], ["-f"]],
                         ids=["unknown", "dovecot-socket", "courier-D", "long", "V-nan", "f-alone"])
def test_bad_options(argv: list[str]) -> None:
    with pytest.raises(UsageError, match="Bad command line arguments"):
        parse_args(argv)


def test_bad_option_defers_with_75(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maildrop", "-Q", "./filter"]) == ExitCode.TEMPFAIL
    assert capsys.readouterr().err.startswith("maildrop: Bad command line arguments")


def test_help_exits_75_like_maildrop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pymaildrop", "-h"]) == ExitCode.TEMPFAIL
    assert "Usage: pymaildrop" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pymaildrop", "-v"]) == 0
    assert capsys.readouterr().out.startswith("pymaildrop ")


def test_an_internal_error_defers_instead_of_bouncing(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from pymaildrop import agent

    def boom(*args: object, **kwargs: object) -> int:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(agent, "run", boom)
    assert main(["maildrop", "./filter"], supervised=False) == ExitCode.TEMPFAIL
    err = capsys.readouterr().err
    assert err == "maildrop: internal error, delivery deferred: ZeroDivisionError: simulated bug\n"


def test_traceback_only_when_asked(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from pymaildrop import agent

    monkeypatch.setattr(agent, "run", lambda *a, **k: 1 / 0)
    assert main(["maildrop", "--traceback", "./filter"], supervised=False) == ExitCode.TEMPFAIL
    assert "Traceback (most recent call last)" in capsys.readouterr().err
