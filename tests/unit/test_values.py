"""Text, numbers and truth as maildrop 2.9.3 treats them (values recorded from it)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pymaildrop.interp import values

TRUTH = json.loads((Path(__file__).parent.parent / "data" / "truthiness_maildrop.json")
                   .read_text(encoding="utf-8"))


def test_truthiness_matches_maildrop_on_every_recorded_string() -> None:
    # 5,900 strings over the alphabet "0 .1-" (lengths 1-6), each recorded from
    # maildrop 2.9.3 as `if ($MATCH)` inside a foreach.
    wrong = {s: v for s, v in TRUTH.items() if values.is_true(s) != v}
    assert not wrong
    assert len(TRUTH) == 5900


@pytest.mark.parametrize("text,truth", [
    ("", False), ("0", False), (" 0 ", False), (".0", False), ("0.00", False), ("0.10", False),
    ("0.50", False), ("0\t", False), (" ", False),
    ("00", True), ("0.0", True), ("0.", True), ("-0", True), ("0x", True), ("1", True),
    (".", True), ("0.5", True), ("0.12", True), ("abc", True), ("0.9 0", True),
])
def test_truthiness_examples(text: str, truth: bool) -> None:
    assert values.is_true(text) is truth


@pytest.mark.parametrize("text,number", [
    ("12", 12.0), (" 12abc", 12.0), ("0x10", 16.0), ("1e3", 1000.0), ("-5", -5.0),
    ("+2.5", 2.5), (".5", 0.5), ("abc", 0.0), ("", 0.0), ("5-3", 5.0), ("6/2", 6.0),
    ("inf", math.inf), ("-Infinity", -math.inf), ("0x1p4", 16.0), ("1e", 1.0), ("1.e2", 100.0),
])
def test_to_number_reads_like_strtod(text: str, number: float) -> None:
    assert values.to_number(text) == number


def test_to_number_nan() -> None:
    assert math.isnan(values.to_number("nan"))


@pytest.mark.parametrize("number,text", [
    (15.0, "15"), (-5.0, "-5"), (2.5, "2.5"), (1 / 3, "0.3333333333333333148296"),
    (0.1 + 0.2, "0.3000000000000000444089"), (1e18, "1000000000000000000"),
    (1 / 1000000, "9.999999999999999547481e-07"), (1e22, "1e+22"),
    (1e21, "1000000000000000000000"), (123456789012345678901234567890.0,
                                       "1.234567890123456778777e+29"),
    (math.inf, "inf"), (-math.inf, "-inf"), (-0.0, "0"), (0.0, "0"),
])
def test_format_number_is_printf_22g(number: float, text: str) -> None:
    assert values.format_number(number) == text


def test_division_by_zero() -> None:
    assert values.format_number(values.divide(5, 0)) == "inf"
    assert values.format_number(values.divide(-5, 0)) == "-inf"
    assert values.format_number(values.divide(0, 0)) == "-nan"


@pytest.mark.parametrize("a,b,op,result", [
    (9, 6, "|", "15"), (12, 10, "&", "8"), (3.7, 0, "|", "3"),
    (-3.7, 0, "|", "18446744073709551616"),   # wraps as maildrop's unsigned cast does
    (4294967296, 0, "|", "4294967296"),
])
def test_bitwise(a: float, b: float, op: str, result: str) -> None:
    fn = values.bit_or if op == "|" else values.bit_and
    assert values.format_number(fn(a, b)) == result


def test_bit_not() -> None:
    assert values.format_number(values.bit_not(0)) == "-1"
    assert values.format_number(values.bit_not(5)) == "-6"


def test_string_functions_count_bytes() -> None:
    assert values.byte_length("été") == 5
    assert values.byte_substr("été", 1, 1) == "\udca9"      # a lone byte, kept
    assert values.to_bytes(values.byte_substr("été", 1, 1)) == b"\xa9"
    assert values.ascii_upper("été") == "éTé"
    assert values.ascii_lower("ÉTÉ X") == "ÉtÉ x"


@pytest.mark.parametrize("start,count,result", [
    (0, None, "abcdef"), (3, None, "def"), (1, 0, ""), (6, None, ""), (5, None, "f"),
    (2, 100, "cdef"), (-1, None, ""), (-1, 2, ""), (1, -1, ""),
])
def test_substr(start: int, count: int | None, result: str) -> None:
    assert values.byte_substr("abcdef", start, count) == result
