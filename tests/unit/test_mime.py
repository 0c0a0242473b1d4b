"""The text maildrop's patterns search: canonical headers, decoded text, the corpus.

Expected values come from real Courier maildrop 2.9.3 (and its `reformime -u`):
the tables below were checked against it by hand, and tests/data/mime/ holds a
corpus of messages with what both tools made of them (see its README.md).
"""

from __future__ import annotations

import collections
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pymaildrop import mime
from pymaildrop.message import Message

DATA = Path(__file__).resolve().parent.parent / "data" / "mime"
CORPUS = sorted(DATA.glob("*.eml"))
MAILDROP = json.loads((DATA / "maildrop.json").read_text(encoding="utf-8"))
MODES = {"h": (True, False), "b": (False, True), "hb": (True, True)}

# Messages where reformime -u and maildrop disagree; maildrop wins.
REFORMIME_DIFFERS = {
    "16-boundary-prefix": "reformime shows a part with no lines as the header after it",
    "25-empty-part": "reformime shows a part with no lines as the header after it",
    "62-no-final-newline": "maildrop ignores an unterminated last line",
    "63-param-quoting": "reformime ends a parameter value at its quoted string",
    "64-many-parts": "past the section limit reformime shows one more header",
}


def search(data: bytes, header: bool = True, body: bool = True) -> list[str]:
    return list(mime.iter_search_lines(Message.from_bytes(data), header, body))


# CANONICAL HEADERS

# (id, header as read: folded lines joined by newlines, canonical form)
CANONICAL = [
    ("fold-keeps-indent", "Subject: a\n number 12", "Subject: a  number 12"),
    ("fold-tabs", "X-Tabs: first\n\ttab\n  sp", "X-Tabs: first \ttab   sp"),
    ("space-after-colon", "Subject:tight", "Subject: tight"),
    ("blanks-trimmed", "Subject:   many spaces  \t", "Subject: many spaces"),
    ("empty-value", "S3:", "S3: "),
    ("colon-in-value", "S6:a:b", "S6: a:b"),
    ("no-colon", "nocolon\n", "nocolon\n: "),
    ("empty-name", ":empty name", ": empty name"),
    ("space-before-colon", "S5 : x", "S5 : x"),
    ("mbox-from-line", "From someone@example.com Mon Jan  1 00:00:00 2024",
     "From someone@example.com Mon Jan  1 00: 00:00 2024"),
    ("address-rewritten", "To: Carol Jones <carol@example.net>, dave@example.org (Dave Smith)",
     "To: Carol Jones <carol@example.net>, Dave Smith <dave@example.org>"),
    ("empty-group", "Cc: undisclosed-recipients:;", "Cc: undisclosed-recipients: ;"),
    ("name-any-case", "FROM: b@c (Dave)", "FROM: Dave <b@c>"),
    ("resent-bcc-rewritten", "Resent-Bcc: b@c (Dave)", "Resent-Bcc: Dave <b@c>"),
    ("reply-to-kept", "Reply-To: b@c (Dave)", "Reply-To: b@c (Dave)"),
    ("sender-kept", "Sender: b@c (Dave)", "Sender: b@c (Dave)"),
    ("message-id-kept", "Message-ID:   <a@b>  (c)", "Message-ID: <a@b>  (c)"),
    ("return-path-kept", "Return-Path: <a@b> (c)", "Return-Path: <a@b> (c)"),
    ("space-before-colon-no-address", "To : b@c (Dave)", "To : b@c (Dave)"),
    ("encoded-subject", "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Subject: Gr\u00fc\u00dfe"),
    ("encoded-parameter", 'Content-Type: text/plain; name="=?UTF-8?Q?a?="',
     'Content-Type: text/plain; name="a"'),
    ("invalid-bytes-dropped-after-trim", "X: \u00e9 \udce9", "X: \u00e9 "),
    ("nul-ends", "X: a\x00b", "X: a"),
    ("decoded-newline-is-space", "Subject: =?UTF-8?Q?a=0Ab?= c", "Subject: a b c"),
    ("decoded-nul-ends-word", "Subject: =?UTF-8?Q?a=00b?= c", "Subject: a c"),
]


@pytest.mark.parametrize("text,expected", [row[1:] for row in CANONICAL],
                         ids=[row[0] for row in CANONICAL])
def test_canonical_header(text: str, expected: str) -> None:
    assert mime.canonical_header(text) == expected


# (id, Subject value, decoded as reformime -u shows it)
DECODED = [
    ('utf8-q', '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'Grüße'),
    ('latin1-b', '=?ISO-8859-1?B?Q2Fm6Q==?=', 'Café'),
    ('lowercase', '=?utf-8?q?lower_case?=', 'lower case'),
    ('adjacent-words-join', '=?UTF-8?Q?a?= =?UTF-8?Q?b?=', 'ab'),
    ('tab-between-words', '=?UTF-8?Q?a?=\t=?UTF-8?Q?b?=', 'ab'),
    ('text-between-words', '=?UTF-8?Q?a?= x =?UTF-8?Q?b?=', 'a x b'),
    ('glued-to-text', 'a=?UTF-8?Q?b?=c', 'abc'),
    ('underscore-is-space', '=?UTF-8?Q?a_b?=', 'a b'),
    ('space-inside-word', '=?UTF-8?Q?a b?=', 'a b'),
    ('question-mark-inside', '=?UTF-8?Q?a?b?=', 'a?b'),
    ('language-suffix', '=?UTF-8*en?Q?tagged?=', 'tagged'),
    ('empty-charset', '=??Q?a?=', 'a'),
    ('bad-encoding-letter', '=?UTF-8?X?ab?=', '=?UTF-8?X?ab?='),
    ('empty-encoding', '=?UTF-8??a?=', '=?UTF-8??a?='),
    ('extra-encoding-letters', '=?UTF-8?Qx?a?=', 'a'),
    ('unterminated', '=?UTF-8?Q?a', '=?UTF-8?Q?a'),
    ('nested-start', '=?=?UTF-8?Q?a?=', '=?a'),
    ('unknown-charset', 'x =?FOO?Q?ab?= y', 'x [unknown character set: FOO -> utf-8] y'),
    ('unknown-charset-with-language', '=?FOO*en?Q?c?=', '[unknown character set: FOO -> utf-8]'),
    ('invalid-utf8-dropped', '=?UTF-8?Q?a=E9b?=', 'ab'),
    ('ascii-drops-8bit', '=?us-ascii?Q?abc=E9?=', 'abc'),
    ('cp1252-euro', '=?windows-1252?Q?=80?=', '€'),
    ('koi8r', '=?KOI8-R?B?8NLJ18XU?=', 'Привет'),
    ('iso2022jp', '=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=', 'テスト'),
    ('shift-jis', '=?Shift_JIS?B?g2WDWINn?=', 'テスト'),
    ('gb2312', '=?GB2312?B?xOO6ww==?=', '你好'),
    ('big5', '=?big5?B?pKSk5Q==?=', '中文'),
    ('split-character-lost', '=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=', ''),
    ('q-bad-escape-stops', '=?UTF-8?Q?a=ZZb?=', 'a'),
    ('q-half-escape', '=?UTF-8?Q?a=5?=', 'aP'),
    ('q-trailing-equals', '=?UTF-8?Q?a=?=', 'a'),
    ('b-missing-padding', '=?UTF-8?B?YWJjZA?=', 'abc'),
    ('b-short', '=?UTF-8?B?w6k?=', ''),
    ('b-stray-is-zero', '=?UTF-8?B?YW Jj?=', 'a`\t'),
    ('b-padded', '=?UTF-8?B?YWI=?=', 'ab'),
    ('in-parens', '(=?UTF-8?Q?a?=)', '(a)'),
    ('in-quotes', '"=?UTF-8?Q?a?="', '"a"'),
    ('raw-latin1-dropped', 'caf\udce9 ok', 'caf ok'),
    ('raw-utf8-kept', 'café', 'café'),
    ('plain', 'no words here', 'no words here'),
]


@pytest.mark.parametrize("text,expected", [row[1:] for row in DECODED],
                         ids=[row[0] for row in DECODED])
def test_decode_encoded_words(text: str, expected: str) -> None:
    assert mime.decode_encoded_words(text) == expected


@pytest.mark.parametrize("name,known", [
    ("utf-8", True), ("UTF-8", True), ("ISO-8859-1", True), ("iso-8859-15", True),
    ("windows-1252", True), ("koi8-r", True), ("ISO-2022-JP", True), ("Shift_JIS", True),
    ("us-ascii", True), ("x-unknown-charset", False), ("utf-8\x00x", False),
])
def test_charset_codec(name: str, known: bool) -> None:
    assert (mime.charset_codec(name) is not None) is known


# WHAT EACH KIND OF SEARCH SEES

MULTI = (b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\npre\n"
         b"--XX\nContent-Type: text/plain\n\none\n--XX\nContent-Type: text/plain\n\ntwo\n"
         b"--XX--\nepi\n")
UNKNOWN = (b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nbefore\n"
           b"--B\nContent-Type: text/plain; charset=x-unknown-cs\n\nunknown\n"
           b"--B\nContent-Type: text/plain\n\nafter\n--B--\n")
QP = (b"Mime-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
      b"Content-Transfer-Encoding: quoted-printable\n\nCaf=E9 on the corner, =\nsee you there.\n")

# (id, message, options, lines searched) -- each checked with real maildrop
SEARCHES = [
    ("crlf-header", b"From: a@b\r\nSubject: b c\r\n\r\nbody\r\n", "h",
     ["From: a@b", "Subject: b c"]),
    ("crlf-body-keeps-cr", b"From: a@b\r\nSubject: b c\r\n\r\nbody\r\n", "b", ["body\r"]),
    ("no-blank-line-between", b"A: 1\n\nbody\n", "hb", ["A: 1", "body"]),
    ("unterminated-last-line", b"A: 1\n\nfirst\nbody", "b", ["first"]),
    ("header-only-has-empty-body", b"A: 1\nB: 2\n", "b", [""]),
    ("header-only-header", b"A: 1\nB: 2\n", "h", ["A: 1", "B: 2"]),
    ("empty-message", b"", "hb", []),
    ("latin1-without-mime", b"Subject: x\n\ncaf\xe9 ok\n", "b", ["caf ok"]),
    ("latin1-with-mime", b"Mime-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n"
     b"Gr\xfc\xdfe\n", "b", ["Gr\u00fc\u00dfe"]),
    ("charset-needs-mime-version", b"Content-Type: text/plain; charset=iso-8859-1\n\n"
     b"Gr\xfc\xdfe\n", "b", ["Gre"]),
    ("quoted-printable", QP, "b", ["Caf\u00e9 on the corner, see you there."]),
    ("parts-header", MULTI, "h", ["Mime-Version: 1.0", "Content-Type: multipart/mixed; boundary=XX",
                                  "Content-Type: text/plain", "Content-Type: text/plain"]),
    ("parts-text-runs-together", MULTI, "b", ["onetwo"]),
    ("parts-text-meets-header", MULTI, "hb", ["Mime-Version: 1.0",
                                              "Content-Type: multipart/mixed; boundary=XX",
                                              "Content-Type: text/plain",
                                              "oneContent-Type: text/plain", "two"]),
    ("unknown-charset-ends-body", UNKNOWN, "b", ["before"]),
    ("unknown-charset-not-for-header", UNKNOWN, "h", [
        "Mime-Version: 1.0", "Content-Type: multipart/mixed; boundary=B",
        "Content-Type: text/plain", "Content-Type: text/plain; charset=x-unknown-cs",
        "Content-Type: text/plain"]),
    ("nul-ends-line", b"X: a\x00b\n\nbody a\x00b c\nnext\n", "hb", ["X: a", "body a", "next"]),
    ("non-utf8-header-line-unmatchable", b"\xe9X: v\nY: \xe9w\n\nbody\n", "h", ["Y: w"]),
    ("mbox-from-line", b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n", "h",
     ["From a@b Mon Jan  1 00: 00:00 2024", "Subject: x"]),
]


@pytest.mark.parametrize("data,options,expected", [row[1:] for row in SEARCHES],
                         ids=[row[0] for row in SEARCHES])
def test_search_lines(data: bytes, options: str, expected: list[str]) -> None:
    assert search(data, *MODES[options]) == expected


def test_no_options_no_lines() -> None:
    assert search(MULTI, False, False) == []


def test_header_search_lines_are_the_top_header() -> None:
    assert mime.header_search_lines(Message.from_bytes(MULTI)) == [
        "Mime-Version: 1.0", "Content-Type: multipart/mixed; boundary=XX"]


class _Wrapped:
    """A message whose chunks a test chooses (mime reads size, stored_size, chunks())."""

    def __init__(self, data: bytes) -> None:
        self._inner = Message.from_bytes(data)

    @property
    def size(self) -> int:
        return self._inner.size

    @property
    def stored_size(self) -> int:
        return self._inner.stored_size


class _Counted(_Wrapped):
    """A message that counts how many of its lines were read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read = 0
        self.passes = 0

    def chunks(self) -> Iterator[bytes]:
        """The message a line a chunk, so that `read` counts the lines read."""
        self.passes += 1
        for line in self._inner.raw_lines():
            self.read += 1
            yield line


def test_header_search_of_a_plain_message_stops_at_the_body() -> None:
    msg = _Counted(b"From: a@b\nSubject: x\n\n" + b"body line\n" * 1000)
    assert list(mime.iter_search_lines(msg, True, False)) == ["From: a@b", "Subject: x"]
    assert msg.read <= 4


def test_the_epilogue_of_the_top_multipart_is_not_read() -> None:
    msg = _Counted(b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
                   b"--B\n\ntext\n--B--\n" + b"epilogue\n" * 1000)
    assert list(mime.iter_search_lines(msg, False, True)) == ["text"]
    assert msg.read <= 10


def test_results_are_kept_per_message() -> None:
    msg = _Counted(MULTI)
    first = list(mime.iter_search_lines(msg, True, True))
    again = list(mime.iter_search_lines(msg, True, True))
    assert first == again and msg.passes == 1
    assert list(mime.iter_search_lines(msg, False, True)) == ["onetwo"] and msg.passes == 2


def test_a_search_that_stops_early_is_not_kept() -> None:
    msg = _Counted(MULTI)
    next(mime.iter_search_lines(msg, True, True))
    assert len(list(mime.iter_search_lines(msg, True, True))) == 5 and msg.passes == 2


def test_big_spooled_message_is_searched_in_little_memory() -> None:
    text = b"".join(b"line %d of the text, caf\xc3\xa9\n" % i for i in range(100_000))
    data = (b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\n"
            b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
            + _base64(text) + b"--B\nContent-Type: text/plain\n\n" + text + b"--B--\n")
    msg = Message.read_from(io.BytesIO(data), memory_limit=64 * 1024)
    try:
        tracemalloc.start()
        count = sum(1 for _ in mime.iter_search_lines(msg, True, True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        msg.close()
    assert count == 200_005
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes for a {len(data)}-byte message"


def _base64(data: bytes) -> bytes:
    import base64

    return base64.encodebytes(data)


# THE CORPUS


def _reformime_lines(path: Path) -> list[str]:
    """reformime -u's output as maildrop matches it: lines cut at NUL, non-UTF-8 left out."""
    pieces = path.with_suffix(".reformime").read_bytes().split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    lines = []
    for piece in pieces:
        try:
            lines.append(piece.split(b"\0", 1)[0].decode("utf-8"))
        except UnicodeDecodeError:
            pass
    return lines


def test_corpus_is_recorded() -> None:
    assert len(CORPUS) >= 40
    assert sorted(MAILDROP) == [p.stem for p in CORPUS]
    assert all(p.with_suffix(".reformime").exists() for p in CORPUS)
    assert set(REFORMIME_DIFFERS) <= set(MAILDROP)


AGREED = [p for p in CORPUS if p.stem not in REFORMIME_DIFFERS]


@pytest.mark.parametrize("path", AGREED, ids=[p.stem for p in AGREED])
def test_corpus_text_is_reformimes(path: Path) -> None:
    assert search(path.read_bytes()) == _reformime_lines(path)


@pytest.mark.parametrize("stem", sorted(REFORMIME_DIFFERS))
def test_corpus_where_reformime_is_not_maildrop(stem: str) -> None:
    path = DATA / f"{stem}.eml"
    assert search(path.read_bytes()) != _reformime_lines(path), REFORMIME_DIFFERS[stem]


@pytest.mark.parametrize("path,options", [(p, m) for p in CORPUS for m in MODES],
                         ids=[f"{p.stem}:{m}" for p in CORPUS for m in MODES])
def test_corpus_lines_are_maildrops(path: Path, options: str) -> None:
    lines = search(path.read_bytes(), *MODES[options])
    recorded = MAILDROP[path.stem][options]
    assert len(lines) == recorded["total"]
    counts = collections.Counter(lines)
    assert {line: counts[line] for line, _ in recorded["lines"]} == dict(
        (line, n) for line, n in recorded["lines"])


# BIG HEADERS: streamed, not held

MIB = 1024 * 1024


def _header_lines(size: int) -> bytes:
    return b"".join(b"X-H-%07d: v\n" % i for i in range(size // 16))


BIG_PLAIN = _header_lines(4 * MIB) + b"Subject: last\n\nbody\n"
BIG_MULTI = (b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n"
             + _header_lines(MIB // 2) + b"\npre\n--B\nContent-Type: text/plain\n"
             + _header_lines(MIB // 2) + b"\npart\n--B--\n")


@pytest.mark.parametrize("data,options,count,last", [
    pytest.param(BIG_PLAIN, "h", 262_145, "Subject: last", marks=pytest.mark.slow),
    (BIG_MULTI, "hb", 65_540, "part"),
], ids=["plain:h", "multipart:hb"])
def test_big_header_is_searched_in_little_memory(data: bytes, options: str, count: int,
                                                 last: str) -> None:
    """Megabytes of short header lines are streamed, one header at a time, not held
    (4 MiB once took 100 MiB)."""
    msg = Message.read_from(io.BytesIO(data), memory_limit=64 * 1024)
    try:
        tracemalloc.start()
        tail = collections.deque(enumerate(mime.iter_search_lines(msg, *MODES[options]), 1),
                                 maxlen=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        msg.close()
    assert list(tail) == [(count, last)]
    assert peak < 3 * MIB, f"peak {peak} bytes for a {len(data)}-byte message"


def test_big_header_is_not_kept_but_a_small_one_is() -> None:
    big = _Counted(_header_lines(MIB) + b"\nbody\n")
    for _ in range(2):
        assert sum(1 for _ in mime.iter_search_lines(big, True, False)) == 65_536
        assert len(mime.header_search_lines(big)) == 65_536
    assert big.passes == 4
    small = _Counted(b"".join(b"X-H-%d: value %d\n" % (i, i) for i in range(10_000)) + b"\nb\n")
    first = list(mime.iter_search_lines(small, True, False))
    assert list(mime.iter_search_lines(small, True, False)) == first and small.passes == 1
    assert mime.header_search_lines(small) == first and small.passes == 2
    assert mime.header_search_lines(small) == first and small.passes == 2
    assert len(first) == 10_000 and first[-1] == "X-H-9999: value 9999"


def test_mime_fields_at_the_end_of_a_big_header_count() -> None:
    """The Content-Type that decides how the body is read comes after 1 MiB of header."""
    data = (b"Content-Type: text/plain; charset=koi8-r\n" + _header_lines(MIB)
            + b"Mime-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=B\n\n--B\n"
            + b"Content-Transfer-Encoding: quoted-printable\n\n=F0=D2=C9=D7=C5=D4\n--B--\n")
    assert search(data, False, True) == ["\u041f\u0440\u0438\u0432\u0435\u0442"]


def _load_big_header() -> tuple[bytes, dict[str, Any]]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("record_big_header",
                                                  DATA / "record_big_header.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    recorded = json.loads((DATA / "big-header.json").read_text(encoding="utf-8"))
    data = module.message()
    assert module.digest(data) == recorded["sha256"], "re-run record_big_header.py"
    return data, recorded


def test_big_header_searches_are_maildrops() -> None:
    """A few thousand header lines (folded Received and address headers, encoded
    words, the MIME fields last): each pattern finds what real maildrop found."""
    from pymaildrop.interp.patterns import compile_pattern, search_lines

    data, recorded = _load_big_header()
    msg = Message.from_bytes(data)
    got, want = [], []
    for row in recorded["results"]:
        options = row["options"]
        regex = compile_pattern(row["pattern"], "D" in options)
        lines = mime.iter_search_lines(msg, "h" in options, "b" in options)
        count = search_lines(regex, lines, (1.0, 1.0)).score
        hit = search_lines(regex, mime.iter_search_lines(msg, "h" in options, "b" in options), ())
        match = hit.match.group(0) if hit.match is not None else None
        got.append((row["pattern"], options, int(count), match))
        want.append((row["pattern"], options, row["count"], row["match"]))
    assert got == want


@pytest.mark.parametrize(("length", "searched"), [(5, False), (1024, False), (1025, True),
                                                  (300_000, True)])
def test_an_unterminated_last_line_is_searched_only_when_long(length: int,
                                                             searched: bool) -> None:
    # COMPAT, checked against maildrop 2.9.3: a last line without a newline
    # is not searched unless it is longer than 1024 bytes.
    lines = search(b"From: a@b\n\nfirst\n" + b"b" * length, header=False)
    assert lines == (["first", "b" * length] if searched else ["first"])


# THE SOURCE READS CHUNKS: HOWEVER THE MESSAGE IS CUT, THE SEARCH TEXT IS THE SAME


class _Cut(_Wrapped):
    """A message whose stored form comes in chunks of the given sizes (repeated)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        super().__init__(data)
        self._sizes = sizes

    def chunks(self) -> Iterator[bytes]:
        data = b"".join(self._inner.chunks())
        pos, i = 0, 0
        while pos < len(data):
            size = self._sizes[i % len(self._sizes)]
            yield data[pos:pos + size]
            pos, i = pos + size, i + 1


def _cut_search(data: bytes, sizes: list[int], header: bool, body: bool) -> list[str]:
    return list(mime.iter_search_lines(_Cut(data, sizes), header, body))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_is_searched_alike_in_small_chunks(path: Path) -> None:
    data = path.read_bytes()
    for sizes in ([1], [2], [3, 1, 7], [4096]):
        assert _cut_search(data, sizes, True, True) == search(data, True, True), sizes


_PIECES = [b"--B", b"--B--", b"--b\r", b"--BB", b"--", b"-", b"-B", b"", b"\r", b"text",
           b"Content-Type: text/plain", b"Content-Type: application/octet-stream",
           b"Content-Type: multipart/mixed; boundary=B",
           b"Content-Type: multipart/mixed; boundary=C",
           b"--C", b"--C--", b"Content-Transfer-Encoding: base64", b"aGVsbG8K", b"x" * 1100]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from(_PIECES), max_size=30),
       final_newline=st.booleans(),
       sizes=st.lists(st.integers(1, 9), min_size=1, max_size=4))
def test_multipart_shapes_are_searched_alike_however_cut(
        lines: list[bytes], final_newline: bool, sizes: list[int]) -> None:
    data = (b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
            + b"\n".join(lines) + (b"\n" if final_newline else b""))
    for header, body in MODES.values():
        assert _cut_search(data, sizes, header, body) == search(data, header, body)


def test_an_attachment_that_is_not_searched_is_skipped_in_chunks() -> None:
    blob = b"QUJD" * 19 + b"\n"
    data = (b"Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\n"
            b"Content-Type: application/octet-stream\n\n" + blob * 50_000
            + b"--B\nContent-Type: text/plain\n\nafter the attachment\n--B--\n")
    assert search(data, False, True) == ["after the attachment"]
