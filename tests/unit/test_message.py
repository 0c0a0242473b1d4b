"""The message: sizes, the stored form, header views, spooling."""

from __future__ import annotations

import io

import pytest

from pymaildrop.message import Message

STORED = [
    (b"From: a\nSubject: x", 18, 1, b"From: a\nSubject: x\n"),
    (b"From: a\nSubject: x\n", 19, 2, b"From: a\nSubject: x\n"),
    (b"From: a\r\n\r\nbody\r\n", 17, 3, b"From: a\r\n\r\nbody\r\n"),
    (b"From: a\x00b\n\nbo\x00dy\n", 17, 3, b"From: a\x00b\n\nbo\x00dy\n"),
    (b"a", 1, 0, b"a\n"),
    (b"\n", 1, 1, b"\n"),
    (b"", 0, 0, b""),
]


@pytest.mark.parametrize("data,size,lines,stored", STORED,
                         ids=["no-final-newline", "headers-only", "crlf", "nul", "one-char",
                              "newline", "empty"])
def test_stored_form_and_sizes(data: bytes, size: int, lines: int, stored: bytes) -> None:
    # maildrop keeps the bytes as they came and adds only a missing final newline;
    # SIZE and LINES describe the bytes received.
    msg = Message.from_bytes(data)
    assert (msg.size, msg.lines, msg.raw_bytes()) == (size, lines, stored)
    assert msg.stored_size == len(stored)


def test_a_headers_count_in_size_not_in_lines() -> None:
    msg = Message.from_bytes(b"From: a\n\nb\n").with_prefix([b"X-A: 1\n"])
    assert (msg.size, msg.lines) == (18, 3)
    assert msg.raw_bytes() == b"X-A: 1\nFrom: a\n\nb\n"
    assert msg.header_value("x-a") == "1"


def test_a_header_on_an_empty_message() -> None:
    msg = Message.from_bytes(b"").with_prefix([b"X-A: 1\n"])
    assert (msg.size, msg.lines, msg.raw_bytes()) == (7, 0, b"X-A: 1\n")


def test_header_views() -> None:
    msg = Message.from_bytes(b"From: a\n\tfolded\nSubject: s\r\nReturn-Path: <x@y>\n\nFrom: body\n")
    assert msg.header_lines() == [b"From: a \tfolded", b"Subject: s", b"Return-Path: <x@y>"]
    assert msg.header_value("subject") == "s"
    assert msg.header_value("From") == "a \tfolded"
    assert msg.header_first_line("From") == "a"
    assert msg.header_value("X-None") is None


def test_large_messages_are_spooled_and_read_back() -> None:
    body = b"".join(b"line %d of the body\n" % i for i in range(200_000))
    data = b"Subject: big\n\n" + body
    msg = Message.read_from(io.BytesIO(data), memory_limit=64 * 1024)
    assert msg._spool is not None               # noqa: SLF001 - the point of the test
    assert (msg.size, msg.lines) == (len(data), data.count(b"\n"))
    assert b"".join(msg.chunks()) == data
    assert msg.header_value("Subject") == "big"
    assert sum(1 for _ in msg.raw_lines()) == data.count(b"\n")
    assert msg.open().read() == data
    msg.close()


def test_spooled_message_without_final_newline() -> None:
    data = b"Subject: x\n\n" + b"y" * 100_000
    msg = Message.read_from(io.BytesIO(data), memory_limit=1024)
    assert msg.raw_bytes() == data + b"\n" and msg.size == len(data)
    msg.close()


def test_raw_lines_keep_their_ends() -> None:
    assert list(Message.from_bytes(b"a\r\nb\nc").raw_lines()) == [b"a\r\n", b"b\n", b"c\n"]
