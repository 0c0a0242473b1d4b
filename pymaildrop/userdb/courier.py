"""userdb:PATH: Courier userdb text files, read directly (no makeuserdb).

Contract: PATH is a file or a directory whose files are all read (sub-
    directories too, names starting with "." skipped, in sorted order).
    Lines are "address<TAB>field=value|field=value..."; blank lines, lines
    starting with "#" and lines without a TAB are ignored.  The address is
    matched exactly, case and all, as authuserdb does.  uid, gid and home
    are required; mail (relative = under home), quota and shell are optional.
Safety: files and directories must be owned by root (or by us) and not be
    writable by group or others: the file decides which uid mail runs as.
Errors: TempFail when a file cannot be read or is unsafe, and when the entry
    for the key is broken (no uid/gid/home, a bad number, defined twice):
    authuserdb would answer "not found" and bounce; we defer instead.
See also: makeuserdb(8), userdb(8); authdaemon.py for the socket route.
"""

from __future__ import annotations

import os
import stat
import threading
from typing import NamedTuple

from pymaildrop.errors import TempFail
from pymaildrop.userdb import User
from pymaildrop.userdb.tables import check_file, read_checked

_REQUIRED = ("uid", "gid", "home")

# Sub-directories deeper than this (or a symlink loop) are refused.
MAX_DEPTH = 8


class Entry(NamedTuple):
    """One account line: its fields and where it was found."""

    fields: dict[str, str]
    where: str            # "file:line"
    duplicate: str = ""   # "file:line" of a second definition, if any


_Snapshot = tuple[tuple[str, int, int, int, int], ...]
_cache: dict[str, tuple[_Snapshot, dict[str, Entry]]] = {}
_cache_lock = threading.Lock()


class CourierUserdb:
    """A Courier userdb text file or directory."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.spec = "userdb:" + path

    def lookup(self, key: str) -> User | None:
        """Return the account for key (exact match), None if no line names it."""
        if not key or any(c in key for c in "\t\n\0"):
            return None
        entry = self._entries().get(key)
        return None if entry is None else self._user(key, entry)

    def _user(self, key: str, entry: Entry) -> User:
        where = f"{self.spec} ({entry.where})"
        if entry.duplicate:
            # COMPAT: makeuserdb refuses a database that defines an address twice.
            raise TempFail(f"{where}: {key} is defined again at {entry.duplicate}")
        missing = [name for name in _REQUIRED if not entry.fields.get(name)]
        if missing:
            raise TempFail(f"{where}: the entry for {key} has no {', '.join(missing)}")
        home = entry.fields["home"]
        mail = entry.fields.get("mail", "")
        # COMPAT: maildrop changes to the home directory, so a relative mail is under it.
        mailbox = os.path.join(home, mail) if mail else ""
        return User(name=key, uid=_number(entry, "uid", where), gid=_number(entry, "gid", where),
                    home=home, mailbox=mailbox, quota=entry.fields.get("quota", ""),
                    shell=entry.fields.get("shell") or "/bin/sh",
                    source=self.spec, detail=entry.where)

    def _entries(self) -> dict[str, Entry]:
        files = _files(self.path, self.spec)
        snapshot = tuple((path, *_stat_key(st)) for path, st in files)
        with _cache_lock:
            cached = _cache.get(self.path)
        if cached is not None and cached[0] == snapshot:
            return cached[1]
        entries: dict[str, Entry] = {}
        for path, _ in files:
            _parse_into(entries, _read(path, self.spec), path)
        with _cache_lock:
            _cache[self.path] = (snapshot, entries)
        return entries


def parse(text: str, name: str) -> dict[str, Entry]:
    """Parse userdb text into {address: Entry} (name is used in `where`)."""
    entries: dict[str, Entry] = {}
    _parse_into(entries, text, name)
    return entries


def _parse_into(entries: dict[str, Entry], text: str, name: str) -> None:
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        # COMPAT: makeuserdb skips empty lines, "#" lines and lines without a TAB.
        if not line or line.startswith("#") or "\t" not in line:
            continue
        address, _, rest = line.partition("\t")
        if not address:
            continue
        where = f"{name}:{number}"
        if address in entries:
            if not entries[address].duplicate:
                entries[address] = Entry(entries[address].fields, entries[address].where, where)
            continue
        entries[address] = Entry(_fields(rest), where)


def _fields(rest: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in rest.split("|"):
        field, sep, value = item.partition("=")
        if sep and field:
            fields.setdefault(field, value)
    return fields


def _number(entry: Entry, field: str, where: str) -> int:
    value = entry.fields[field]
    if not (value.isascii() and value.isdigit()):
        # SECURITY: authuserdb's atol() would read "x" as 0, i.e. root.
        raise TempFail(f"{where}: {field}={value!r} is not a number")
    return int(value)


def _files(path: str, spec: str, depth: int = 0) -> list[tuple[str, os.stat_result]]:
    """Return every userdb file under path (or path itself), checked, sorted."""
    if depth > MAX_DEPTH:
        raise TempFail(f"{spec}: {path} is nested deeper than {MAX_DEPTH} directories")
    st = _stat(path, spec)
    if not stat.S_ISDIR(st.st_mode):
        check_file(st, path, spec)
        return [(path, st)]
    _check_dir(st, path, spec)
    found: list[tuple[str, os.stat_result]] = []
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise TempFail(f"{spec}: cannot read {path}: {exc.strerror or exc}") from exc
    for name in names:
        # COMPAT: makeuserdb skips dot files (the userdb command's .lock.* and .tmp.*).
        if not name.startswith("."):
            found.extend(_files(os.path.join(path, name), spec, depth + 1))
    return found


def _check_dir(st: os.stat_result, path: str, spec: str) -> None:
    # SECURITY: whoever can add a file to the directory can add accounts.
    if st.st_uid not in (0, os.geteuid()):
        raise TempFail(f"{spec}: {path} is owned by uid {st.st_uid}, not by root")
    if st.st_mode & 0o022:
        raise TempFail(f"{spec}: {path} is writable by group or others "
                       f"(mode {stat.S_IMODE(st.st_mode):04o})")


def _stat(path: str, spec: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise TempFail(f"{spec}: cannot read {path}: {exc.strerror or exc}") from exc


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _read(path: str, spec: str) -> str:
    return read_checked(path, spec)[1].decode("utf-8", errors="surrogateescape")


def clear_cache() -> None:
    """Forget every parsed file (tests; a long-running server never needs to)."""
    with _cache_lock:
        _cache.clear()
