"""Patterns: the PCRE spellings we translate, and maildrop's scoring rules."""

from __future__ import annotations

import pytest

from pymaildrop.interp.patterns import (
    PatternError,
    compile_pattern,
    pcre_to_python,
    search_lines,
    search_text,
)


@pytest.mark.parametrize("pattern,text,found", [
    ("[[:digit:]]+", "abc123", "123"),
    ("[[:alpha:][:space:]]+", "ab cd9", "ab cd"),
    ("[^[:space:]]+", "  word ", "word"),
    ("\\Qa.b*\\E", "xa.b*y", "a.b*"),
    ("\\x{41}", "zAz", "A"),
    ("\\d+", "x٣12", "12"),                 # \d is ASCII in PCRE's UTF mode
    ("\\w+", "été", "t"),
    ("a\\/b", "a/b", "a/b"),
    ("(?<name>b)", "abc", "b"),
    ("(?<=a)b", "ab", "b"),
    ("x\\h+y", "x \ty", "x \ty"),
    ("[]a]+", "]]a", "]]a"),
    ("end\\Z", "the end\n", "end"),
    ("end\\z", "the end\n", None),
])
def test_pcre_translation(pattern: str, text: str, found: str | None) -> None:
    m = compile_pattern(pattern, True).search(text)
    assert (m.group() if m else None) == found


def test_plain_patterns_are_left_alone() -> None:
    assert pcre_to_python("^Subject: .*lunch") == "^Subject: .*lunch"


def test_case_insensitive_by_default_also_beyond_ascii() -> None:
    assert compile_pattern("été", False).search("UN ÉTÉ")
    assert not compile_pattern("été", True).search("UN ÉTÉ")


def test_invalid_pattern() -> None:
    with pytest.raises(PatternError, match="broken\\(group"):
        compile_pattern("broken(group", False)


def test_unweighted_search_stops_at_first_line() -> None:
    hit = search_lines(compile_pattern("o", False), ["xx", "foo", "bo"], ())
    assert hit.score == 1 and hit.match is not None and hit.match.string == "foo"


def test_weighted_search_counts_lines_geometrically() -> None:
    lines = ["prize", "no", "Prize prize", "PRIZE"]
    hit = search_lines(compile_pattern("prize", False), lines, (10.0, 0.5))
    assert hit.score == 10 + 5 + 2.5
    assert hit.match is None


def test_weighted_default_factor_is_one() -> None:
    assert search_lines(compile_pattern("a", False), ["a", "a", "b"], (3.0,)).score == 6


def test_weighted_text_search_counts_every_match() -> None:
    assert search_text(compile_pattern("b", False), "abcb", (2.0, 3.0)).score == 8


def test_text_search_is_not_multiline() -> None:
    text = "a@x\nb@y\n"
    assert not search_text(compile_pattern("^b", False), text, ()).score
    assert not search_text(compile_pattern("x$", False), text, ()).score
    assert search_text(compile_pattern("y$", False), text, ()).score
    assert search_text(compile_pattern("x\\nb", False), text, ()).score
