"""The filter language: read a filter file and turn it into a Program.

Contract: load_filter(path, display_name) -> ast.Program; parse_text(text,
    name) for text already in hand.  The whole file is parsed before anything
    runs, as maildrop does, so a syntax error defers the message untouched.
Safety: reads only the named file; no other I/O.
Errors: FilterSyntaxError (with file, line, column); OSError from reading is
    left to the caller, which knows whether a missing file is an error.
See also: lexer.py, parser.py, ast.py.
"""

from __future__ import annotations

from pymaildrop.lang import ast


def decode_filter(data: bytes) -> str:
    """Decode filter bytes: UTF-8, with stray bytes kept as surrogates."""
    return data.decode("utf-8", "surrogateescape")


def parse_text(text: str, name: str) -> ast.Program:
    """Parse filter text; name is used in error messages."""
    from pymaildrop.lang.parser import parse

    return parse(text, name)


def load_filter(path: str, name: str | None = None) -> ast.Program:
    """Read and parse the filter file at path."""
    with open(path, "rb") as f:
        data = f.read()
    return parse_text(decode_filter(data), name if name is not None else path)
