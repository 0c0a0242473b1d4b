"""The exit-code table agrees with sysexits.h and with how Postfix reads it."""

from __future__ import annotations

import os

import pytest

from pymaildrop import errors
from pymaildrop.exits import TEMPORARY, ExitCode, is_temporary, status_of


def test_codes_are_the_sysexits_values() -> None:
    for code in ExitCode:
        assert code.value == getattr(os, "EX_" + code.name)


def test_only_tempfail_and_oserr_are_temporary() -> None:
    assert TEMPORARY == {ExitCode.TEMPFAIL, ExitCode.OSERR}
    assert is_temporary(75) and is_temporary(71)
    assert not any(is_temporary(c) for c in (0, 1, 2, 64, 67, 77, 78, 255))


@pytest.mark.parametrize("code,status", [(75, "4.3.0"), (71, "4.3.0"), (67, "5.1.1"),
                                         (77, "5.7.0"), (78, "5.3.5"), (1, "5.3.0"),
                                         (0, "2.0.0")])
def test_postfix_status_text(code: int, status: str) -> None:
    assert status_of(code)[0] == status


@pytest.mark.parametrize("cls", [errors.TempFail, errors.DeliveryError, errors.QuotaExceeded,
                                 errors.UsageError, errors.ConfigError, errors.SecurityError,
                                 errors.Timeout, errors.FilterRuntimeError])
def test_every_error_but_unknown_user_defers(cls: type) -> None:
    assert cls("x").code == ExitCode.TEMPFAIL


def test_unknown_user_bounces() -> None:
    assert errors.UserUnknown("x").code == ExitCode.NOUSER


def test_syntax_error_defers() -> None:
    assert errors.FilterSyntaxError("f", 1, 1, "x").code == ExitCode.TEMPFAIL
