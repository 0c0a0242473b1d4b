"""The database behind gdbmopen/gdbmfetch/gdbmstore/gdbmclose.

Contract: open_db(path, mode) -> Db, mode one of R W C N as maildropgdbm(7)
    says; Db.fetch(key) -> str | None, Db.store(key, value) -> bool,
    Db.close().  The file format is GDBM (dbm.gnu) when this Python has it, so
    databases made by maildrop and makedat keep working; otherwise the next
    dbm the standard library offers (documented in README).
Safety: opens only the named file; a read-only open can never write.
Errors: OSError / dbm.error on open propagate (gdbmopen turns them into -1).
See also: maildropgdbm(7); interp/builtins.py.
"""

from __future__ import annotations

from typing import Any

_FLAGS = {"R": "r", "W": "w", "C": "c", "N": "n"}


def _backend() -> Any:
    try:
        import dbm.gnu as gnu

        return gnu
    except ImportError:
        pass
    try:
        import dbm.ndbm as ndbm

        return ndbm
    except ImportError:
        import dbm.dumb as dumb

        return dumb


class Db:
    """One open database."""

    def __init__(self, path: str, mode: str) -> None:
        flag = _FLAGS.get(mode.upper()[:1] if mode else "R")
        if flag is None:
            raise ValueError(f"unknown gdbmopen mode {mode!r} (use R, W, C or N)")
        self.writable = flag != "r"
        self._db = _backend().open(path, flag, 0o600)

    def fetch(self, key: str) -> str | None:
        """Return the value stored under key, or None."""
        value = self._db.get(key.encode("utf-8", "surrogateescape"))
        return None if value is None else value.decode("utf-8", "surrogateescape")

    def store(self, key: str, value: str) -> bool:
        """Store value under key; False when the database is read-only."""
        if not self.writable:
            return False
        self._db[key.encode("utf-8", "surrogateescape")] = value.encode("utf-8", "surrogateescape")
        return True

    def close(self) -> None:
        """Close the database (and write it out)."""
        self._db.close()


def open_db(path: str, mode: str) -> Db:
    """Open the database at path."""
    return Db(path, mode)


def lookup_keys(key: str, options: str) -> list[str]:
    """Return the keys gdbmfetch tries, in order, for the D and I options."""
    keys = [key]
    opts = options.upper()
    if "D" in opts:
        domain = key
        if "@" in key:
            user, _, domain = key.rpartition("@")
            keys.append(user + "@")
            keys.append(domain)
        parts = domain.split(".")
        keys.extend(".".join(parts[i:]) for i in range(1, len(parts)))
    elif "I" in opts:
        parts = key.split(".")
        keys.extend(".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1))
    return list(dict.fromkeys(k for k in keys if k))
