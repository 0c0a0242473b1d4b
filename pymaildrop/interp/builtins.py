"""The filter language's functions: escape getaddr hasaddr length lookup
substr tolower toupper time gdbmopen gdbmfetch gdbmstore gdbmclose.

Contract: FUNCTIONS maps each name to f(ctx, args) -> str, where args are
    zero-argument callables (maildrop evaluates gdbmfetch's default only when
    it is needed) and ctx is the FunctionContext the interpreter provides.
    String functions count bytes, as maildrop does: length("été") is 5.
Safety: lookup() and gdbmopen() reach files only through the context's
    Effects; in embedded mode gdbmopen may only read.
Errors: TempFail for a lookup() file that cannot be read (maildrop: "Unable
    to open FILE."); other failures are values (gdbmopen returns -1).
See also: maildropfilter(7) "escape", "getaddr", ...; maildropgdbm(7).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pymaildrop.errors import TempFail
from pymaildrop.interp import gdbm, values
from pymaildrop.interp.patterns import PatternError, compile_pattern
from pymaildrop.message import Message

Arg = Callable[[], str]

# escape() puts a backslash before each of these (maildropfilter(7)).
_SPECIAL = frozenset("|!$()[]\\+*?.&;`'-~<>^{}\"")


class FunctionContext(Protocol):
    """What the functions need from the running interpreter."""

    effects: Any
    embedded: bool
    db: gdbm.Db | None

    @property
    def message(self) -> Message: ...

    def pattern_warning(self, text: str) -> None: ...

    def guard(self, label: str) -> AbstractContextManager[Any]: ...


def _escape(ctx: FunctionContext, args: list[Arg]) -> str:
    """escape(string) -- backslash before every special character."""
    return "".join("\\" + c if c in _SPECIAL else c for c in args[0]())


def _getaddr(ctx: FunctionContext, args: list[Arg]) -> str:
    """getaddr(string) -- the addresses in string, each followed by a newline."""
    from pymaildrop import addr

    return addr.getaddr(args[0]())


def _hasaddr(ctx: FunctionContext, args: list[Arg]) -> str:
    """hasaddr(address) -- 1 if address is in a To, Cc, Resent-To or Resent-Cc header."""
    from pymaildrop import addr

    return values.from_bool(addr.hasaddr(ctx.message, args[0]()))


def _length(ctx: FunctionContext, args: list[Arg]) -> str:
    """length(string) -- its length in bytes."""
    return str(values.byte_length(args[0]()))


def _lookup(ctx: FunctionContext, args: list[Arg]) -> str:
    """lookup(expr, file [, options]) -- 1 if a pattern line in file matches expr."""
    subject = args[0]()
    path = args[1]()
    options = args[2]() if len(args) > 2 else ""
    try:
        data = ctx.effects.read_file(path)
    except OSError as exc:
        raise TempFail(f"cannot open {path} for lookup(): {exc.strerror or exc}") from exc
    for raw in values.from_bytes(data).split("\n"):
        line = raw.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        try:
            regex = compile_pattern(line, "D" in options)
        except PatternError as exc:
            ctx.pattern_warning(f"{path}: {exc}")
            continue
        with ctx.guard(f"/{line}/ from {path}"):
            found = regex.search(subject)
        if found:
            return "1"
    return "0"


def _substr(ctx: FunctionContext, args: list[Arg]) -> str:
    """substr(string, start [, count]) -- bytes from start (0-based)."""
    text = args[0]()
    start = _int(args[1]())
    count = _int(args[2]()) if len(args) > 2 else None
    return values.byte_substr(text, start, count)


def _int(text: str) -> int:
    number = values.to_number(text)
    if number != number or number in (float("inf"), float("-inf")):
        return 0
    return int(number)


def _tolower(ctx: FunctionContext, args: list[Arg]) -> str:
    """tolower(string)"""
    return values.ascii_lower(args[0]())


def _toupper(ctx: FunctionContext, args: list[Arg]) -> str:
    """toupper(string)"""
    return values.ascii_upper(args[0]())


def _time(ctx: FunctionContext, args: list[Arg]) -> str:
    """time -- seconds since 1970."""
    return str(int(ctx.effects.now()))


def _gdbmopen(ctx: FunctionContext, args: list[Arg]) -> str:
    """gdbmopen(file [, mode]) -- 0 when opened, -1 when not."""
    path = args[0]()
    mode = args[1]() if len(args) > 1 else "R"
    if ctx.embedded and mode.upper()[:1] not in ("R", ""):
        return "-1"
    if ctx.db is not None:
        ctx.db.close()
        ctx.db = None
    try:
        ctx.db = ctx.effects.open_db(path, mode)
    except Exception:  # noqa: BLE001 - any failure to open is the value -1
        return "-1"
    return "0"


def _gdbmclose(ctx: FunctionContext, args: list[Arg]) -> str:
    """gdbmclose"""
    if ctx.db is not None:
        ctx.db.close()
        ctx.db = None
    return ""


def _gdbmfetch(ctx: FunctionContext, args: list[Arg]) -> str:
    """gdbmfetch(key [, options [, default]]) -- default evaluated only when needed."""
    key = args[0]()
    options = args[1]() if len(args) > 1 else ""
    if ctx.db is not None:
        for candidate in gdbm.lookup_keys(key, options):
            value = ctx.db.fetch(candidate)
            if value is not None:
                return value
    return args[2]() if len(args) > 2 else ""


def _gdbmstore(ctx: FunctionContext, args: list[Arg]) -> str:
    """gdbmstore(key, value) -- 0 when stored, -1 when not."""
    key, value = args[0](), args[1]()
    if ctx.db is None:
        return "-1"
    return "0" if ctx.db.store(key, value) else "-1"


FUNCTIONS: dict[str, Callable[[FunctionContext, list[Arg]], str]] = {
    "escape": _escape, "getaddr": _getaddr, "hasaddr": _hasaddr, "length": _length,
    "lookup": _lookup, "substr": _substr, "tolower": _tolower, "toupper": _toupper,
    "time": _time, "gdbmopen": _gdbmopen, "gdbmclose": _gdbmclose, "gdbmfetch": _gdbmfetch,
    "gdbmstore": _gdbmstore,
}
