"""The variables a filter starts with, and the envelope sender."""

from __future__ import annotations

import pytest

from pymaildrop.interp.env import Account, envelope_sender, initial_variables

ACCOUNT = Account(name="tester", home="/home/tester", shell="/bin/sh")


def variables(import_environment: bool, environ: dict[str, str]) -> dict[str, str]:
    return initial_variables(environ=environ, import_environment=import_environment,
                             account=ACCOUNT, sender="s@x", size=260, lines=12,
                             hostname="mailhost.test", filter_name="./filter",
                             args=["alpha", "beta"])


def test_manual_mode_imports_the_environment_but_resets_some() -> None:
    v = variables(True, {"FOO": "bar", "HOME": "/nowhere", "UMASK": "000", "FLAGS": "S"})
    assert v["FOO"] == "bar" and v["FLAGS"] == "S"
    assert (v["HOME"], v["UMASK"], v["DEFAULT"]) == ("/home/tester", "077", "/var/mail/tester")
    assert (v["1"], v["2"]) == ("alpha", "beta")
    assert (v["SIZE"], v["LINES"], v["FROM"]) == ("260", "12", "s@x")
    assert v["SENDMAIL"] == "/usr/sbin/sendmail -oi" and v["PATH"] == "/bin:/usr/bin:/usr/local/bin"
    assert v["MAILDIRQUOTA"] == "" and "EXITCODE" not in v


def test_delivery_mode_imports_only_the_locale() -> None:
    v = variables(False, {"FOO": "bar", "LANG": "C.UTF-8", "LC_ALL": "C", "LANGUAGE": "en"})
    assert "FOO" not in v
    assert (v["LANG"], v["LC_ALL"], v["LANGUAGE"]) == ("C.UTF-8", "C", "en")


def test_account_default_mailbox_and_quota() -> None:
    v = initial_variables(environ={}, import_environment=False,
                          account=Account("u@x", "/h", default_mailbox="/h/Maildir/",
                                          quota="100S"),
                          sender="s", size=0, lines=0, hostname="h", filter_name="f", args=[])
    assert (v["DEFAULT"], v["MAILDIRQUOTA"], v["LOGNAME"]) == ("/h/Maildir/", "100S", "u@x")


@pytest.mark.parametrize("option,return_path,expected", [
    ("f@x", "<r@x>", "f@x"),
    (None, "<r@x>", "r@x"),
    (None, "bare@x", "bare@x"),
    (None, "<>", "tester"),            # a bounce: maildrop uses the recipient's name
    (None, None, "MAILER-DAEMON"),
    ("", None, "MAILER-DAEMON"),       # an empty -f is ignored
], ids=["option", "return-path", "bare", "empty", "none", "empty-option"])
def test_envelope_sender(option: str | None, return_path: str | None, expected: str) -> None:
    assert envelope_sender(option, return_path, "tester") == expected
