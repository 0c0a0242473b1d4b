"""Split the text of a string, word or pattern into literals and $VARIABLES.

Contract: parse_template(text, keep_escapes) -> ast.Template, a tuple of
    literal strings, VarRef and BadRef pieces.  $NAME takes the longest run
    of letters, digits and underscores ($1x is the variable "1x"); ${NAME}
    takes everything up to '}' (no blanks); a '$' followed by anything else stays a '$'.
    With keep_escapes (double-quoted strings and patterns) a backslash and the
    character after it are copied as they are, so "\\$HOME" stays "\\$HOME".
Safety: pure function.
Errors: none; an unterminated ${ becomes a BadRef, reported when evaluated
    (maildrop warns "Terminating } is missing" at run time and goes on).
See also: maildropfilter(7) "Variable substitution".
"""

from __future__ import annotations

from pymaildrop.lang.ast import BadRef, Piece, Template, VarRef

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def parse_template(text: str, keep_escapes: bool) -> Template:
    """Split text into literal strings and variable references."""
    if "$" not in text:
        return (text,) if text else ()
    pieces: list[Piece] = []
    lit: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and keep_escapes and i + 1 < n:
            lit.append(text[i:i + 2])
            i += 2
            continue
        if ch != "$" or i + 1 >= n:
            lit.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "{":
            end = i + 2
            while end < n and text[end] != "}" and not text[end].isspace():
                end += 1
            _flush(lit, pieces)
            if end >= n or text[end] != "}":
                pieces.append(BadRef(text[i:end]))
                i = end
                continue
            pieces.append(VarRef(text[i + 2:end]))
            i = end + 1
        elif nxt in _NAME_CHARS:
            j = i + 1
            while j < n and text[j] in _NAME_CHARS:
                j += 1
            _flush(lit, pieces)
            pieces.append(VarRef(text[i + 1:j]))
            i = j
        else:
            lit.append(ch)
            i += 1
    _flush(lit, pieces)
    return tuple(pieces)


def _flush(lit: list[str], pieces: list[Piece]) -> None:
    if lit:
        pieces.append("".join(lit))
        lit.clear()
