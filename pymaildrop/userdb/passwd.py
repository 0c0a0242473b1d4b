"""passwd: the system's accounts, through the pwd module (NSS).

Contract: PasswdSource().lookup(key) takes a login name; "user+ext" is
    looked up as given, then as "user".  An address with "@" is never a
    login name here and is not looked up (None).  The User has the entry's
    uid, gid, home and shell, and mailbox "" (the agent's $HOME/Maildir/).
Safety: only names the system itself knows come back; the agent, not this
    module, decides whether a uid (root, a system account) may receive mail.
Errors: none of its own: an unknown name is None.  NSS cannot tell "no such
    user" from "directory service down", so neither can this source.
See also: getpwnam(3); maildrop(1) "-d"; virtual.py for hosted addresses.
"""

from __future__ import annotations

import pwd

from pymaildrop.userdb import User

SPEC = "passwd"


class PasswdSource:
    """The system password database."""

    spec = SPEC

    def __init__(self, delimiters: str = "+") -> None:
        self.delimiters = delimiters

    def lookup(self, key: str) -> User | None:
        """Return the account named key (or key without its extension), else None."""
        if not key or "@" in key or "\0" in key:
            return None
        for name in self._candidates(key):
            try:
                entry = pwd.getpwnam(name)
            except (KeyError, ValueError):
                continue
            return User(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid,
                        home=entry.pw_dir, shell=entry.pw_shell or "/bin/sh",
                        source=self.spec, detail=f"passwd entry {entry.pw_name}")
        return None

    def _candidates(self, key: str) -> list[str]:
        """The key, then the key cut at its first delimiter ("user+ext" -> "user")."""
        cuts = [i for i in (key.find(d) for d in self.delimiters) if i > 0]
        return [key, key[:min(cuts)]] if cuts else [key]
