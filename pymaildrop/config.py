"""pymaildrop's configuration file: Postfix main.cf syntax, our parameters.

Contract: load(path) -> Config.  The file holds `name = value` lines; '#'
    starts a comment line; a line that starts with white space continues
    the one before; $name and ${name} expand other parameters, as in
    Postfix's main.cf.  A missing file at the default path is an empty
    configuration (all defaults); a missing file named with --config is an
    error.  Config.get(name) returns the expanded value or the default.
Safety: the file is read by the delivery agent before it drops privileges,
    so it must be owned by root (or by the invoking user) and not writable
    by group or others; anything else is refused (EX_TEMPFAIL).
Errors: ConfigError for an unreadable, unsafe or malformed file.
See also: postconf(5) for the syntax; README "Configuration" for every
    parameter; userdb/ for the sources named in user_databases.
"""

from __future__ import annotations

import os
import re
import stat

from pymaildrop.errors import ConfigError

DEFAULT_PATH = "/etc/pymaildrop/pymaildrop.cf"

DEFAULTS: dict[str, str] = {
    # User databases tried in order, each "TYPE:NAME" (see userdb/__init__.py).
    # Empty means maildrop's behaviour: the authdaemon socket when it exists, then passwd.
    "user_databases": "",
    "authdaemon_socket": "/run/courier/authdaemon/socket",
    # Postfix virtual(8)-style tables for the "virtual" user database.
    "virtual_mailbox_base": "",
    "virtual_mailbox_maps": "",
    "virtual_uid_maps": "",
    "virtual_gid_maps": "",
    "virtual_home_maps": "",
    "virtual_minimum_uid": "100",
    "recipient_delimiter": "+",
    # The system filter read before $HOME/.mailfilter in delivery mode.
    "maildroprc": "/etc/maildroprc",
    # Timeouts in seconds (limits.py has the defaults).
    "delivery_timeout": "300",
    "command_timeout": "300",
    "pattern_timeout": "30",
    # Over quota: "defer" (maildrop, EX_TEMPFAIL) or "bounce" (5.2.2).
    "quota_overflow": "defer",
}

_NAME = re.compile(r"[A-Za-z0-9_]+\Z")
_REF = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


class Config:
    """Parameters from the configuration file, with defaults."""

    def __init__(self, path: str | None = None, values: dict[str, str] | None = None) -> None:
        self.path = path
        self.values: dict[str, str] = values if values is not None else {}

    def get(self, name: str) -> str:
        """Return the expanded value of a parameter (or its default)."""
        return self._expand(name, set())

    def get_int(self, name: str) -> int:
        """Return a parameter as an integer."""
        value = self.get(name)
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{self.path or 'configuration'}: {name} = {value!r} "
                              "is not a whole number") from None

    def _expand(self, name: str, seen: set[str]) -> str:
        if name in seen:
            raise ConfigError(f"{self.path}: ${name} refers to itself")
        raw = self.values.get(name, DEFAULTS.get(name, ""))
        inner = seen | {name}
        return _REF.sub(lambda m: self._expand(m.group(1) or m.group(2), inner), raw)


def load(path: str | None, *, required: bool = False) -> Config:
    """Read a configuration file; a missing default file means all defaults."""
    path = path or DEFAULT_PATH
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"configuration file {path} does not exist") from None
        return Config(None, {})
    except OSError as exc:
        raise ConfigError(f"cannot open configuration file {path}: "
                          f"{exc.strerror or exc}") from exc
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
        _check_owner(path, os.fstat(f.fileno()))
        return Config(path, parse(f.read(), path))


def _check_owner(path: str, st: os.stat_result) -> None:
    # SECURITY: root reads this before dropping privileges; only root (or the
    # user running us) may be able to change it.
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"configuration file {path} is not a regular file")
    if st.st_uid not in (0, os.geteuid()):
        raise ConfigError(f"configuration file {path} is owned by uid {st.st_uid}, "
                          "not by root")
    if st.st_mode & 0o022:
        raise ConfigError(f"configuration file {path} is writable by group or others "
                          f"(mode {stat.S_IMODE(st.st_mode):04o})")


def parse(text: str, path: str = "<config>") -> dict[str, str]:
    """Parse main.cf-style text into {name: raw value}."""
    values: dict[str, str] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            if current is None:
                raise ConfigError(f"{path}:{number}: continuation line without a parameter")
            values[current] = (values[current] + " " + line.strip()).strip()
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ConfigError(f"{path}:{number}: expected 'name = value', got {line.strip()!r}")
        values[name] = value.strip()
        current = name
    return values


def split_list(value: str) -> list[str]:
    """Split a list parameter on commas and white space."""
    return [item for item in re.split(r"[\s,]+", value) if item]
