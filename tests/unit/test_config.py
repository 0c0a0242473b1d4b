"""The configuration file: main.cf syntax, defaults, expansion, ownership."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pymaildrop import config
from pymaildrop.errors import ConfigError


def test_syntax() -> None:
    values = config.parse("# comment\n\nuser_databases = virtual,\n   passwd\n"
                          "virtual_mailbox_base=/var/mail/vhosts\n")
    assert values == {"user_databases": "virtual, passwd",
                      "virtual_mailbox_base": "/var/mail/vhosts"}


@pytest.mark.parametrize("text", ["no equals sign", " = value", "bad name = x",
                                  "  continuation first"],
                         ids=["no-equals", "no-name", "space-in-name", "orphan-continuation"])
def test_syntax_errors_name_the_line(text: str) -> None:
    with pytest.raises(ConfigError, match=r"<config>:1: "):
        config.parse(text)


def test_defaults_and_expansion() -> None:
    cfg = config.Config("f", {"base": "/srv/mail", "virtual_mailbox_base": "${base}/vhosts",
                              "command_timeout": "$delivery_timeout"})
    assert cfg.get("virtual_mailbox_base") == "/srv/mail/vhosts"
    assert cfg.get("maildroprc") == "/etc/maildroprc"
    assert cfg.get_int("command_timeout") == 300
    assert cfg.get("unknown") == ""


def test_self_reference() -> None:
    with pytest.raises(ConfigError, match="refers to itself"):
        config.Config("f", {"a": "$b", "b": "$a"}).get("a")


def test_not_a_number() -> None:
    with pytest.raises(ConfigError, match="not a whole number"):
        config.Config("f", {"delivery_timeout": "soon"}).get_int("delivery_timeout")


def test_missing_default_file_is_empty(tmp_path: Path) -> None:
    assert config.load(str(tmp_path / "none")).values == {}
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(str(tmp_path / "none"), required=True)


def test_writable_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "pymaildrop.cf"
    f.write_text("maildroprc = /tmp/evil\n")
    f.chmod(0o666)
    with pytest.raises(ConfigError, match="writable by group or others"):
        config.load(str(f))
    f.chmod(0o644)
    assert config.load(str(f)).get("maildroprc") == "/tmp/evil"


def test_symlinked_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real.cf").write_text("")
    os.symlink(tmp_path / "real.cf", tmp_path / "link.cf")
    with pytest.raises(ConfigError, match="cannot open"):
        config.load(str(tmp_path / "link.cf"))


def test_split_list() -> None:
    assert config.split_list("a, b\tc ,,d") == ["a", "b", "c", "d"]
