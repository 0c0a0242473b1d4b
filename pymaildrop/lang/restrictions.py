"""What embedded mode (-m) forbids, checked before the filter runs.

Contract: check_embedded(program, text) raises FilterSyntaxError at the first
    statement or `command` that embedded mode does not allow: to, cc,
    dotlock, flock, log, logfile, system, xfilter and backticks
    (maildrop(1) "EMBEDDED MODE").  walk() yields every node of a program.
Safety: this is the check that lets an application run someone else's
    filter "assured that the filter is not going to run amok".
Errors: FilterSyntaxError, located at the offending statement.
See also: maildrop(1) "EMBEDDED MODE"; interp/builtins.py (gdbmopen "R").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pymaildrop.errors import FilterSyntaxError
from pymaildrop.lang import ast

_FORBIDDEN = {
    ast.To: "to", ast.Cc: "cc", ast.Dotlock: "dotlock", ast.Flock: "flock", ast.Log: "log",
    ast.Logfile: "logfile", ast.System: "system", ast.Xfilter: "xfilter",
}


def walk(node: Any) -> Iterator[Any]:
    """Yield node and every node below it (nodes are tuples), depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, tuple):
            stack.extend(reversed(current))


def check_embedded(program: ast.Program, text: str) -> None:
    """Refuse what embedded mode does not allow."""
    lines = text.split("\n")
    line = 0
    for node in walk(program.body):
        line = getattr(node, "line", line)
        what = _FORBIDDEN.get(type(node))
        if what is None and isinstance(node, ast.Backtick):
            what = "`command`"
        if what is not None:
            raise FilterSyntaxError(program.path, line, 1,
                                    f"{what} is not allowed in embedded mode (-m)",
                                    lines[line - 1] if 0 < line <= len(lines) else None)
