"""Postfix lookup tables, read from the text files that postmap(1) compiles.

Contract: open_table("TYPE:NAME") -> Table; Table.get(key) returns the value
    or None.  static:VALUE always answers VALUE; hash:, btree:, texthash:,
    lmdb:, cdb:, dbm: and sdbm: read the text SOURCE file NAME (never NAME.db):
    "key<white space>value" lines, '#' comment lines, blank lines ignored, a
    line starting with white space continues the one before; keys are
    case-insensitive.  proxy:TYPE:NAME is read as TYPE:NAME.  Parsed files
    are cached per process by (path, mtime, size, inode).
Safety: a table decides which uid mail is written as, so a file that is not
    regular, not owned by root (or by us) or writable by group or others is
    refused.  Keys and values are bounded by the file, never evaluated.
Errors: TempFail when a file cannot be read or is unsafe; ConfigError for a
    table type we cannot read (regexp:, mysql:, ...).
See also: postmap(1), DATABASE_README, virtual.py (the only user).
"""

from __future__ import annotations

import os
import stat
import threading
from typing import NamedTuple

from pymaildrop.errors import ConfigError, TempFail

# Table types whose text source file we read in place of the compiled database.
TEXT_TYPES = frozenset({"hash", "btree", "texthash", "lmdb", "cdb", "dbm", "sdbm"})

# A source file larger than this is refused rather than read into memory.
MAX_TABLE_BYTES = 64 * 1024 * 1024

_CacheKey = tuple[int, int, int, int]  # (st_dev, st_ino, st_mtime_ns, st_size)
_cache: dict[str, tuple[_CacheKey, dict[str, str]]] = {}
_cache_lock = threading.Lock()


class Table(NamedTuple):
    """One lookup table: a static value or a text file."""

    spec: str
    kind: str
    name: str

    def get(self, key: str) -> str | None:
        """Return the value for key (matched case-insensitively), None if absent."""
        if self.kind == "static":
            return self.name
        return _load(self.name, self.spec).get(key.lower())


def open_table(spec: str) -> Table:
    """Parse a "TYPE:NAME" table spec."""
    kind, sep, name = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "proxy":
        return open_table(name)
    if kind == "static" and sep:
        # COMPAT: Postfix 3 allows static:{ value with spaces }.
        if name.startswith("{") and name.endswith("}"):
            name = name[1:-1].strip()
        return Table(spec, kind, name)
    if kind in TEXT_TYPES and name:
        return Table(spec, kind, name)
    raise ConfigError(f"lookup table {spec!r}: only static:, hash:, btree:, texthash:, "
                      "lmdb:, cdb:, dbm: and proxy: tables (read from their text source "
                      "files) are supported")


def find(tables: list[Table], keys: list[str]) -> tuple[str, Table, str] | None:
    """Try each key in every table, in order; return (value, table, key) or None.

    COMPAT: Postfix's maps_find tries one key in all tables before the next key.
    """
    for key in keys:
        for table in tables:
            value = table.get(key)
            if value is not None:
                return value, table, key
    return None


def parse(text: str) -> dict[str, str]:
    """Parse postmap source text into {lower-case key: value}."""
    table: dict[str, str] = {}
    for line in _logical_lines(text):
        key, _, value = line.replace("\t", " ").partition(" ")
        value = value.strip()
        if not value:
            continue  # COMPAT: postmap warns "expected format: key whitespace value"
        # COMPAT: postmap keeps the first of duplicate keys (and warns).
        table.setdefault(key.lower(), value)
    return table


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0] in " \t" and lines:
            lines[-1] += " " + stripped
        else:
            lines.append(stripped)
    return lines


def _load(path: str, spec: str) -> dict[str, str]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise TempFail(f"lookup table {spec}: cannot read {path}: {exc.strerror or exc}") from exc
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == _stat_key(st):
        return cached[1]
    key, table = _read(path, spec)
    with _cache_lock:
        _cache[path] = (key, table)
    return table


def _stat_key(st: os.stat_result) -> _CacheKey:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _read(path: str, spec: str) -> tuple[_CacheKey, dict[str, str]]:
    st, data = read_checked(path, f"lookup table {spec}")
    return _stat_key(st), parse(data.decode("utf-8", errors="surrogateescape"))


def read_checked(path: str, what: str) -> tuple[os.stat_result, bytes]:
    """Read a whole database file after check_file() accepted what was opened."""
    try:
        # O_NONBLOCK: a FIFO put in the file's place must not hang the open.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise TempFail(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        check_file(st, path, what)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_TABLE_BYTES:
                raise TempFail(f"{what}: {path} is larger than {MAX_TABLE_BYTES} bytes")
    except OSError as exc:
        raise TempFail(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return st, b"".join(chunks)


def split_specs(value: str) -> list[str]:
    """Split a list of table specs on commas and white space, keeping {...} whole."""
    specs: list[str] = []
    current, depth = "", 0
    for char in value:
        if depth == 0 and (char.isspace() or char == ","):
            if current:
                specs.append(current)
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    if current:
        specs.append(current)
    return specs


def check_file(st: os.stat_result, path: str, what: str) -> None:
    """Refuse a database file that someone other than root (or us) could change."""
    # SECURITY: these files map addresses to uids and paths; whoever can write
    # one can have mail delivered as any uid the table may name.
    if not stat.S_ISREG(st.st_mode):
        raise TempFail(f"{what}: {path} is not a regular file")
    if st.st_uid not in (0, os.geteuid()):
        raise TempFail(f"{what}: {path} is owned by uid {st.st_uid}, not by root")
    if st.st_mode & 0o022:
        raise TempFail(f"{what}: {path} is writable by group or others "
                       f"(mode {stat.S_IMODE(st.st_mode):04o})")


def clear_cache() -> None:
    """Forget every parsed file (tests; a long-running server never needs to)."""
    with _cache_lock:
        _cache.clear()
