"""User databases: who a delivery is for, where their mail goes, as whom.

Contract: a source is named "TYPE:NAME" and opened with open_source(spec,
    config); lookup(key) returns a User or None (not found) and raises
    TempFail when the source cannot be reached.  Sources are tried in the
    configured order by lookup(); the first that knows the key answers.
      authdaemon:SOCKET   Courier authlib's authdaemond socket protocol
      userdb:PATH         Courier userdb text file, or a directory of them
      virtual[:FILE]      Postfix virtual(8)-style tables (virtual_* params
                          from FILE in main.cf syntax, else from our config)
      passwd              the system's accounts
Safety: "not found" and "cannot answer" are different outcomes: an outage
    (socket refused, file unreadable) raises TempFail, so mail is deferred,
    never bounced as an unknown user.
Errors: TempFail (unreachable), ConfigError (a bad spec).
See also: README "User databases"; agent.py (delivery mode -d).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from pymaildrop.config import Config, split_list
from pymaildrop.errors import ConfigError


class User(NamedTuple):
    """A recipient as a user database describes them."""

    name: str                 # the account / address the database knows them by
    uid: int
    gid: int
    home: str
    mailbox: str = ""         # default delivery target ("" = $HOME/Maildir/)
    quota: str = ""           # Maildir++ quota, e.g. "100000000S,10000C"
    shell: str = "/bin/sh"
    source: str = ""          # the spec of the database that answered
    detail: str = ""          # which table or line answered (for `pymaildrop lookup`)
    minimum_uid: int = 0      # the agent refuses (defers) a uid below this
    mailbox_base: str = ""    # mailboxes must stay inside this directory ("" = no base)


class Source(Protocol):
    """One user database."""

    @property
    def spec(self) -> str: ...

    def lookup(self, key: str) -> User | None:
        """Return the user for key, None if unknown; raise TempFail if unreachable."""


def open_source(spec: str, config: Config) -> Source:
    """Open the user database named by spec ("TYPE:NAME")."""
    kind, _, name = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "authdaemon":
        from pymaildrop.userdb.authdaemon import AuthdaemonSource

        return AuthdaemonSource(name or config.get("authdaemon_socket"))
    if kind == "userdb":
        from pymaildrop.userdb.courier import CourierUserdb

        if not name:
            raise ConfigError("userdb needs a file or directory: userdb:/etc/courier/userdb")
        return CourierUserdb(name)
    if kind == "virtual":
        from pymaildrop.userdb.virtual import VirtualSource

        return VirtualSource.from_config(name or None, config)
    if kind == "passwd":
        from pymaildrop.userdb.passwd import PasswdSource

        return PasswdSource(config.get("recipient_delimiter") or "+")
    raise ConfigError(f"unknown user database type {kind!r} in {spec!r} "
                      "(use authdaemon:, userdb:, virtual: or passwd)")


def configured_specs(config: Config, override: Sequence[str] = ()) -> list[str]:
    """Return the sources to try, in order.

    --userdb on the command line wins; then user_databases from the
    configuration; else maildrop's own order: the authdaemon socket when it
    exists, then the system passwd.
    """
    if override:
        return list(override)
    listed = split_list(config.get("user_databases"))
    if listed:
        return listed
    import os

    specs = []
    socket_path = config.get("authdaemon_socket")
    if socket_path and os.path.exists(socket_path):
        specs.append("authdaemon:" + socket_path)
    specs.append("passwd")
    return specs


def lookup(key: str, config: Config, override: Sequence[str] = ()) -> User | None:
    """Find key in the configured sources; None means no source knows it."""
    for spec in configured_specs(config, override):
        user = open_source(spec, config).lookup(key)
        if user is not None:
            return user
    return None
