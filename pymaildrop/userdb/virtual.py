"""virtual[:FILE]: recipients described by Postfix virtual(8)-style tables.

Contract: from_config(file, config) takes virtual_* and recipient_delimiter
    from FILE (main.cf syntax) or our config.  lookup("user+ext@domain")
    tries user+ext@domain, user@domain, @domain (a bare name: name, then
    name without extension) in the mailbox maps, then the uid, gid and home
    maps; mailbox = base + "/" + value, a trailing "/" meaning Maildir.  A
    uid below minimum_uid comes back with a note in `detail`: the agent
    must refuse it.  Home (no home map): the maildir, or the mbox's directory.
Safety: paths stay inside virtual_mailbox_base ("..", NUL, escapes refused);
    a relative mailbox with no base is refused; minimum_uid is at least 1.
Errors: TempFail for unreadable tables, a mailbox without uid or gid, bad
    numbers or unsafe paths (misconfiguration defers); ConfigError for a bad
    spec.  An address in no mailbox map is None (unknown user).
See also: virtual(8) and postconf(5) "virtual_*"; tables.py; agent.py.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from pymaildrop.config import Config, load
from pymaildrop.errors import ConfigError, TempFail
from pymaildrop.userdb import User
from pymaildrop.userdb.tables import Table, find, open_table, split_specs

# COMPAT: Postfix never splits these local parts at the recipient delimiter.
_RESERVED = frozenset({"postmaster", "mailer-daemon", "double-bounce"})


class VirtualSource(NamedTuple):
    """Postfix virtual(8)-style user database."""

    spec: str
    base: str
    mailbox_maps: list[Table]
    uid_maps: list[Table]
    gid_maps: list[Table]
    home_maps: list[Table]
    minimum_uid: int
    delimiters: str

    @classmethod
    def from_config(cls, file: str | None, config: Config) -> VirtualSource:
        """Read the virtual_* parameters from FILE (main.cf syntax) or config."""
        params = load(file, required=True) if file else config
        where = file or config.path or "the configuration"
        mailbox_maps = _tables(params, "virtual_mailbox_maps", where, required=True)
        base = params.get("virtual_mailbox_base").strip()
        # SECURITY: a relative base would depend on the current directory.
        if base and not base.startswith("/"):
            raise ConfigError(f"{where}: virtual_mailbox_base = {base!r} is not absolute")
        named = file or config.path
        return cls(
            spec=f"virtual:{named}" if named else "virtual",
            base=base,
            mailbox_maps=mailbox_maps,
            uid_maps=_tables(params, "virtual_uid_maps", where, required=True),
            gid_maps=_tables(params, "virtual_gid_maps", where, required=True),
            home_maps=_tables(params, "virtual_home_maps", where, required=False),
            # SECURITY: Postfix's minimum is 1 as well; uid 0 is never a virtual user.
            minimum_uid=max(1, params.get_int("virtual_minimum_uid")),
            delimiters=params.get("recipient_delimiter"),
        )

    def lookup(self, key: str) -> User | None:
        """Return the user for an address or name, None if no mailbox map has it."""
        if not key or "\0" in key:
            return None
        keys = search_keys(key, self.delimiters)
        found = find(self.mailbox_maps, keys)
        if found is None:
            return None
        value, table, matched = found
        mailbox = self.inside_base(value, f"{table.spec} key {matched}")
        uid = self._number(self.uid_maps, keys, "virtual_uid_maps", key)
        gid = self._number(self.gid_maps, keys, "virtual_gid_maps", key)
        detail = f"{table.spec}, key {matched}"
        if uid < self.minimum_uid:
            detail += f"; uid {uid} is below virtual_minimum_uid {self.minimum_uid}"
        return User(name=recipient(key, self.delimiters), uid=uid, gid=gid,
                    home=self._home(keys, mailbox), mailbox=mailbox,
                    source=self.spec, detail=detail, minimum_uid=self.minimum_uid,
                    mailbox_base=self.base)

    def inside_base(self, value: str, what: str) -> str:
        """Join a table value to virtual_mailbox_base, refusing every escape."""
        # SECURITY: a table must not be able to point delivery outside the base.
        if "\0" in value:
            raise TempFail(f"{self.spec}: {what}: the path contains a NUL byte")
        if ".." in value.split("/"):
            raise TempFail(f"{self.spec}: {what}: the path {value!r} contains '..'")
        if not self.base:
            if not value.startswith("/"):
                raise TempFail(f"{self.spec}: {what}: relative path {value!r} but "
                               "virtual_mailbox_base is empty")
            return value
        # COMPAT: Postfix prepends the base unconditionally, even to "/abs".
        path = self.base.rstrip("/") + "/" + value.lstrip("/")
        root = os.path.normpath(self.base)
        if os.path.commonpath([root, os.path.normpath(path)]) != root:
            raise TempFail(f"{self.spec}: {what}: {path!r} is outside "
                           f"virtual_mailbox_base {self.base}")
        return path

    def _number(self, tables: list[Table], keys: list[str], param: str, key: str) -> int:
        found = find(tables, keys)
        if found is None:
            raise TempFail(f"{self.spec}: {key} has a mailbox but no entry in {param}")
        value, table, matched = found
        if not (value.isascii() and value.isdigit()):
            raise TempFail(f"{self.spec}: {table.spec} key {matched}: {value!r} is not "
                           "a user or group number")
        return int(value)

    def _home(self, keys: list[str], mailbox: str) -> str:
        found = find(self.home_maps, keys)
        if found is not None:
            value, table, matched = found
            return self.inside_base(value, f"{table.spec} key {matched}")
        # Our extension's default: the maildir itself, or the mbox file's directory.
        if mailbox.endswith("/"):
            return mailbox
        return os.path.dirname(mailbox) or "/"


def search_keys(key: str, delimiters: str) -> list[str]:
    """Return the lookup keys for an address, most specific first."""
    key = key.lower()  # COMPAT: Postfix table lookups are case-insensitive
    keys = [key, recipient(key, delimiters)]
    domain = key.rpartition("@")[2] if "@" in key else ""
    if domain:
        keys.append("@" + domain)
    return list(dict.fromkeys(keys))


def recipient(key: str, delimiters: str) -> str:
    """Return the address without its extension, lower-cased (the user's name)."""
    local, at, domain = key.lower().rpartition("@")
    if not at:
        return strip_extension(domain, delimiters)
    return strip_extension(local, delimiters) + "@" + domain


def strip_extension(local: str, delimiters: str) -> str:
    """Cut a local part at its first recipient delimiter (user+ext -> user)."""
    if not delimiters or local in _RESERVED:
        return local
    # COMPAT: owner-list and list-request are not split when "-" is a delimiter.
    if "-" in delimiters and (local.startswith("owner-") or local.endswith("-request")):
        return local
    cut = min((i for i in (local.find(d) for d in delimiters) if i > 0), default=-1)
    return local[:cut] if cut > 0 else local


def _tables(params: Config, name: str, where: str, *, required: bool) -> list[Table]:
    specs = split_specs(params.get(name))
    if required and not specs:
        raise ConfigError(f"{where}: {name} is empty; the virtual user database needs it")
    return [open_table(spec) for spec in specs]
