"""Patterns: /regex/:options,weights compiled for Python's re, and matched.

Contract: compile_pattern(text, case_sensitive) -> re.Pattern (cached) or
    PatternError; search_lines()/search_text() return a Hit (the score and
    the match to publish as MATCH, MATCH1...).  The pattern dialect is PCRE,
    as maildrop's; pcre_to_python() translates what Python's re spells
    differently: POSIX classes ([[:alpha:]]), \\Q...\\E, \\x{hh}, \\z/\\Z, \\h,
    (?<name>...), and the ASCII meaning of \\d \\w \\s in PCRE's UTF mode.
Safety: pure; no I/O.  Compiled patterns are cached per process in a bounded
    dict (an LMTP server runs many deliveries).
Errors: PatternError (a str message like PCRE's) for a pattern re cannot take.
See also: maildropfilter(7) "Patterns", "Weighted scoring", "Pattern Match
    Results"; pcrepattern(3).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import NamedTuple

_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}
_CACHE_MAX = 512

_POSIX_CLASSES = {
    "alpha": "A-Za-z", "digit": "0-9", "alnum": "A-Za-z0-9", "upper": "A-Z", "lower": "a-z",
    "space": "\\t\\n\\x0b\\x0c\\r ", "blank": " \\t", "punct": "!-/:-@\\[-`{-~",
    "xdigit": "0-9A-Fa-f", "word": "A-Za-z0-9_", "cntrl": "\\x00-\\x1f\\x7f",
    "print": " -~", "graph": "!-~", "ascii": "\\x00-\\x7f",
}
_ASCII_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_", "s": "\\t\\n\\x0b\\x0c\\r "}


class PatternError(Exception):
    """A pattern that cannot be compiled."""


class Hit(NamedTuple):
    """The result of a search: its score and the match that set MATCH."""

    score: float
    match: re.Match[str] | None


def compile_pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    """Compile a maildrop (PCRE) pattern; raise PatternError when it is invalid."""
    key = (text, case_sensitive)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    try:
        with warnings.catch_warnings():
            # re warns (FutureWarning) about "[[", "--", "&&" ... in classes, which PCRE
            # reads literally; the warning must not reach the MTA's logs.
            warnings.simplefilter("ignore", FutureWarning)
            compiled = re.compile(pcre_to_python(text), 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        where = f", offset {exc.pos}" if exc.pos is not None else ""
        raise PatternError(f"invalid regular expression{where} of /{text}/: {exc.msg}") from None
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = compiled
    return compiled


def pcre_to_python(text: str) -> str:
    """Translate the PCRE spellings Python's re does not share."""
    if "\\" not in text and "[:" not in text and "(?<" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    in_class = False
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            i = _escape(text, i, in_class, out)
            continue
        if in_class:
            if text.startswith("[:", i):
                end = text.find(":]", i + 2)
                name = text[i + 2:end] if end > 0 else ""
                if name in _POSIX_CLASSES:
                    out.append(_POSIX_CLASSES[name])
                    i = end + 2
                    continue
            if ch == "]" and not _class_just_opened(out):
                in_class = False
            # PCRE: "[" in a class is itself; Python may one day read it as a nested set.
            out.append("\\[" if ch == "[" else ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and text[i] == "^":
                out.append("^")
                i += 1
            if i < n and text[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if text.startswith("(?<", i) and i + 3 < n and text[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _class_just_opened(out: list[str]) -> bool:
    return bool(out) and (out[-1] == "[" or (out[-1] == "^" and len(out) > 1 and out[-2] == "["))


def _escape(text: str, i: int, in_class: bool, out: list[str]) -> int:
    """Translate the escape at text[i] (a backslash); return the next index."""
    nxt = text[i + 1]
    if nxt in _ASCII_ESCAPES:
        chars = _ASCII_ESCAPES[nxt]
        out.append(chars if in_class else f"[{chars}]")
        return i + 2
    if nxt == "Q":
        end = text.find("\\E", i + 2)
        literal = text[i + 2:] if end < 0 else text[i + 2:end]
        out.append(re.escape(literal))
        return len(text) if end < 0 else end + 2
    if nxt == "E":
        return i + 2
    if nxt == "x" and text.startswith("{", i + 2):
        end = text.find("}", i + 3)
        if end > 0:
            out.append(f"\\U{int(text[i + 3:end] or '0', 16):08x}")
            return end + 1
    if nxt == "z":
        out.append("\\Z")
        return i + 2
    if nxt == "Z" and not in_class:
        out.append("(?=\\n?\\Z)")
        return i + 2
    if nxt == "h":
        out.append(" \\t\\xa0" if in_class else "[ \\t\\xa0]")
        return i + 2
    if nxt == "/":
        out.append("/")
        return i + 2
    out.append(text[i:i + 2])
    return i + 2


def search_lines(regex: re.Pattern[str], lines: Iterable[str],
                 weights: tuple[float, ...]) -> Hit:
    """Search message lines; unweighted stops at the first matching line.

    Weighted scoring counts each matching line once: the first scores w1, the
    next w1*w2, then w1*w2*w2, ... (maildropfilter(7) "Weighted scoring").
    """
    if not weights:
        for line in lines:
            m = regex.search(line)
            if m is not None:
                return Hit(1.0, m)
        return Hit(0.0, None)
    score, step = 0.0, weights[0]
    factor = weights[1] if len(weights) > 1 else 1.0
    for line in lines:
        if regex.search(line) is not None:
            score += step
            step *= factor
    return Hit(score, None)


def search_text(regex: re.Pattern[str], text: str, weights: tuple[float, ...]) -> Hit:
    """Search a string; weighted scoring counts every (non-overlapping) match."""
    if not weights:
        m = regex.search(text)
        return Hit(1.0 if m else 0.0, m)
    score, step = 0.0, weights[0]
    factor = weights[1] if len(weights) > 1 else 1.0
    for m in regex.finditer(text):
        if m.end() == m.start() and not m.group():
            continue
        score += step
        step *= factor
    return Hit(score, None)
