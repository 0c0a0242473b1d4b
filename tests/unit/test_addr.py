"""Address lists as maildrop reads them: getaddr(), hasaddr(), canonical headers.

Every expected value below was produced by real Courier maildrop 2.9.3: the
canonical forms by `reformime -u` on "To: <value>", getaddr() and hasaddr() by
maildrop filters, envelope_from_return_path() from maildrop's FROM variable.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pymaildrop import addr
from pymaildrop.message import Message

# (id, To: value, canonical value as reformime -u shows it)
CANONICAL = [
    ('bare', 'joe@example.com', 'joe@example.com'),
    ('angle-only', '<joe@example.com>', 'joe@example.com'),
    ('name-angle', 'Joe <joe@example.com>', 'Joe <joe@example.com>'),
    ('quoted-simple-name', '"Joe" <joe@example.com>', 'Joe <joe@example.com>'),
    ('quoted-name-with-dot', '"Joe Q. Public" <joe@example.com>',
     '"Joe Q. Public" <joe@example.com>'),
    ('quoted-name-with-comma', '"Public, Joe" <joe@example.com>',
     '"Public, Joe" <joe@example.com>'),
    ('unquoted-name-with-dot', 'Joe Q. Public <joe@example.com>',
     '"Joe Q. Public" <joe@example.com>'),
    ('comment-name', 'joe@example.com (Joe)', 'Joe <joe@example.com>'),
    ('last-comment-wins', 'joe@example.com (Joe) (Second)', 'Second <joe@example.com>'),
    ('leading-comment', '(Pre) joe@example.com', 'Pre <joe@example.com>'),
    ('comment-inside-address', 'joe (comment) @ example . com', 'comment <joe@example.com>'),
    ('trailing-comment-after-angle', 'Joe <joe@example.com> (trailing)',
     'Joe <joe@example.com>, trailing '),
    ('one-letter-trailing-comment', 'Joe <joe@example.com> (c)', 'Joe <joe@example.com>c'),
    ('comment-in-phrase', 'Joe (mid) <joe@example.com>', '"Joe (mid)" <joe@example.com>'),
    ('single-comment-phrase', '(a) <x@y>', '"(a)" <x@y>'),
    ('bare-words-are-addresses', 'Joe Smith', 'Joe, Smith'),
    ('bare-word', 'joe', 'joe'),
    ('missing-domain', 'joe@', 'joe@'),
    ('missing-local', '@example.com', '@example.com'),
    ('empty-angle', '<>', ''),
    ('empty-angle-with-name', 'nobody <>', 'nobody <>'),
    ('spaced-angle', 'x@y, < >, z@w', 'x@y, z@w'),
    ('route', '<@route.com:joe@example.com>', '@route.com:joe@example.com'),
    ('route-list', 'Joe <@r1,@r2:joe@example.com>', 'Joe <@r1,@r2:joe@example.com>'),
    ('domain-literal', 'joe@[192.0.2.1]', 'joe@[192.0.2.1]'),
    ('quoted-local-part', '"joe smith"@example.com', '"joe smith"@example.com'),
    ('dotted-spaced', 'a . b @ c . d', 'a.b@c.d'),
    ('list', 'a@b, c@d', 'a@b, c@d'),
    ('empty-elements', ',a@b,,c@d,', 'a@b, c@d'),
    ('semicolon', 'a@b;c@d', 'a@b;c@d'),
    ('space-separated', 'a@b c@d', 'a@b, c@d'),
    ('group', 'team: a@b, c@d;', 'team: a@b, c@d;'),
    ('group-unclosed', 'team: a@b, c@d', 'team: a@b, c@d'),
    ('empty-group', 'undisclosed-recipients:;', 'undisclosed-recipients: ;'),
    ('empty-group-spaced', 'team : ;', 'team: ;'),
    ('quoted-group-name', '"my team": a@b;', 'my team: a@b;'),
    ('group-in-list', 'a@b, team: c@d; , e@f', 'a@b, team: c@d;e@f'),
    ('groups-in-a-row', 'a:b:c', 'a: b: c'),
    ('dotted-group-is-address', 'g.h: a@b;', 'g.h:a@b;'),
    ('unterminated-angle', 'Joe <joe@example.com', 'Joe <joe@example.com>'),
    ('stray-close-angle', 'Joe joe@example.com>', 'Joe, joe@example.com'),
    ('name-after-angle', '<joe@example.com> Joe', 'joe@example.com, Joe'),
    ('unterminated-quote', '"unterminated <joe@example.com>', '"unterminated <joe@example.com>"'),
    ('unterminated-comment', '(unterminated joe@example.com', '"(unterminated joe@example.com"'),
    ('nested-comment', 'x@y (a (nested) b)', '"a (nested) b" <x@y>'),
    ('escaped-paren-in-comment', 'x@y (a \\) b)', '"a ) b" <x@y>'),
    ('escaped-quote-in-name', '"a\\"b" <x@y>', '"a\\"b" <x@y>'),
    ('escaped-backslash-in-name', '"a\\\\b" <x@y>', '"a\\\\b" <x@y>'),
    ('backslash-outside-quotes', 'a\\b <x@y>', 'a b <x@y>'),
    ('collapsed-spaces', 'Joe   Smith <x@y>', 'Joe Smith <x@y>'),
    ('kept-spaces-with-dot', 'Joe Q .  Public <x@y>', '"Joe Q .  Public" <x@y>'),
    ('quoted-and-atoms-kept-as-written', '"Joe"   "Public" <x@y>', '"Joe\\"   \\"Public" <x@y>'),
    ('empty-quoted-name', '"" <x@y>', 'x@y'),
    ('empty-comment', 'x@y ()', 'x@y'),
    ('encoded-name', '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= <g@example.com>', 'Grüße <g@example.com>'),
    ('encoded-quoted-name', '"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=" <g@example.com>',
     'Grüße <g@example.com>'),
    ('encoded-comment-name', 'g@example.com (=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=)',
     'Grüße <g@example.com>'),
    ('encoded-latin1-and-atom', '=?ISO-8859-1?Q?Caf=E9?= Owner <g@example.com>',
     'Café Owner <g@example.com>'),
    ('encoded-needs-quotes', '=?UTF-8?Q?a=2Cb?= <x@y>', '"a,b" <x@y>'),
    ('encoded-quote-char', '=?UTF-8?Q?a=22b?= <x@y>', '"a\\"b" <x@y>'),
    ('adjacent-encoded-words', '=?UTF-8?Q?a?= =?UTF-8?Q?b?= <x@y>', 'ab <x@y>'),
    ('encoded-unknown-charset', '=?FOO?Q?a?= <x@y>',
     '"[unknown character set: FOO -> utf-8]" <x@y>'),
    ('encoded-glued-to-angle', '=?UTF-8?Q?J=C3=B6rg?=<j@example.com>', 'Jörg <j@example.com>'),
    ('encoded-word-splits-atom', 'bc=?UTF-8?Q?x?=de', 'bc, =?UTF-8?Q?x?=, de'),
    ('encoded-group-name', '=?UTF-8?Q?G=C3=BC?=: a@b;', 'Gü: a@b;'),
    ('glue-characters', 'a =x b', 'a=x, b'),
    ('percent-and-bang', 'a !b %c', 'a!b%c'),
    ('stray-paren', 'a )b c', 'a, b, c'),
    ('lone-comment', '(c)', 'c'),
    ('lone-comments', 'x@y, (cc), (dd), z@w', 'x@y, cc dd z@w'),
    ('raw-utf8-name', 'Joël Café <jc@example.com>', 'Joël Café <jc@example.com>'),
    ('one-letter-phrase', 'x@y, a <', 'x@ya'),
    ('phrase-without-address', 'x@y, abc <', 'x@y, abc '),
]


@pytest.mark.parametrize("value,expected", [row[1:] for row in CANONICAL],
                         ids=[row[0] for row in CANONICAL])
def test_canonical_address_header(value: str, expected: str) -> None:
    assert addr.canonical_address_header(value) == expected


# (id, argument, getaddr() result)
GETADDR = [
    ('brief-example', 'joe@example.com (Joe), "Ann Lee" <ann@example.org>, tom@example.net',
     'joe@example.com\nann@example.org\ntom@example.net\n'),
    ('empty-group', 'undisclosed-recipients:;', ''),
    ('group-members', 'team: x@example.com, y@example.com;', 'x@example.com\ny@example.com\n'),
    ('header-line-to', 'To: readers@lists.example.org', 'readers@lists.example.org\n'),
    ('header-line-cc', 'Cc: Carol Jones <carol@example.net>, Dave Smith <dave@example.org>',
     'carol@example.net\ndave@example.org\n'),
    ('header-line-subject', 'Subject: hi there', 'hi\nthere\n'),
    ('bare-words', 'Joe Smith', 'Joe\nSmith\n'),
    ('lone-comment', '(c)', ''),
    ('semicolon', 'a@b;c@d', 'a@b\nc@d\n'),
    ('empty-angle', '<>', '\n'),
    ('named-empty-angle', '"a" <>', '\n'),
    ('spaced-angle', '< >', ''),
    ('unterminated-angle-empty', 'x@y, abc <', 'x@y\n'),
    ('route', '<@r1,@r2:j@e>', '@r1,@r2:j@e\n'),
    ('quoted-local', '"joe smith"@example.com', '"joe smith"@example.com\n'),
    ('escaped-quote', '"a\\"b"@c', '"a\\"b"@c\n'),
    ('comment-in-address', 'joe (comment) @ example . com', 'joe@example.com\n'),
    ('comments-kept-in-angle', '<(x) a@b>', '(x) a@b\n'),
    ('trailing-comment', 'Joe <x@y> (c)', 'x@y\n'),
    ('dotted-group', 'g.h: a@b;', 'g.h:a@b\n'),
    ('groups', 'a:b:c', 'c\n'),
    ('lone-punctuation', ': . @ <', ''),
    ('encoded-word-not-decoded', '=?UTF-8?Q?a?= <x@y>, =?UTF-8?Q?a?=@x', 'x@y\n=?UTF-8?Q?a?=@x\n'),
    ('case-kept', 'A@B.COM', 'A@B.COM\n'),
    ('angle-tail', 'a <b,c> d', 'b,c\nd\n'),
    ('nested-angle', 'a <b <x@y>>', 'b x@y\n'),
    ('stray-close-angle', '<a>>b', 'a\nb\n'),
    ('unterminated-comment', '(a\\"b', '"(a\\"b"\n'),
    ('backslash-separates', 'a\\b', 'a\nb\n'),
    ('glue', 'a =x b', 'a=x\nb\n'),
    ('empty', '', ''),
]


@pytest.mark.parametrize("text,expected", [row[1:] for row in GETADDR],
                         ids=[row[0] for row in GETADDR])
def test_getaddr(text: str, expected: str) -> None:
    assert addr.getaddr(text) == expected


MSG1 = """From: f@x
To: t1@x
To: t2@x
Cc: Carol <c1@x>, c2@x (C2)
Bcc: b@x
Resent-To: rt@x
Resent-Cc: rc1@x,
 rc2@x
Resent-Bcc: rb@x
Resent-From: rf@x
Reply-To: rp@x
X-To: xt@x
Delivered-To: dt@x
TO: upper@x
to : spc@x
Cc: friends: gm@x;
Cc: "q l"@x, a . b @ c, <@r:d@e>, j (c) @ k
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary=B

--B
To: part@x

To: body@x
--B--
"""
MSG2 = "To: a@b\n\nbody\n"
MSG_CR = "To: a@b\n\rX: c@d\n\nbody\n"
MSG_CR_OTHER = "X: a@b\n\rTo: c@d\n\nbody\n"
MSG_VT = "To: a@b\n\x0bc@d\n\nbody\n"
MSG_NUL = "To: a@b\x00, c@d\n\nbody\n"
MSG_UNENDED = "From: x\nTo: a@b"

# (id, message, argument, hasaddr() result)
HASADDR = [
    ('to', MSG1, 't1@x', True),
    ('second-to', MSG1, 't2@x', True),
    ('cc-angle', MSG1, 'c1@x', True),
    ('cc-comment', MSG1, 'c2@x', True),
    ('case-ascii', MSG1, 'C1@X', True),
    ('display-name', MSG1, 'Carol', False),
    ('bcc', MSG1, 'b@x', False),
    ('resent-to', MSG1, 'rt@x', True),
    ('resent-cc-folded', MSG1, 'rc2@x', True),
    ('resent-bcc', MSG1, 'rb@x', False),
    ('resent-from', MSG1, 'rf@x', False),
    ('from', MSG1, 'f@x', False),
    ('reply-to', MSG1, 'rp@x', False),
    ('x-to', MSG1, 'xt@x', False),
    ('delivered-to', MSG1, 'dt@x', False),
    ('upper-header-name', MSG1, 'upper@x', True),
    ('space-before-colon', MSG1, 'spc@x', False),
    ('group-member', MSG1, 'gm@x', True),
    ('group-name', MSG1, 'friends', False),
    ('empty-matches-group', MSG1, '', True),
    ('quoted-local', MSG1, '"q l"@x', True),
    ('unquoted-local', MSG1, 'q l@x', False),
    ('spaced-dots', MSG1, 'a.b@c', True),
    ('route-whole', MSG1, '@r:d@e', True),
    ('route-tail', MSG1, 'd@e', False),
    ('comment-inside', MSG1, 'j@k', True),
    ('mime-part-header', MSG1, 'part@x', False),
    ('body-text', MSG1, 'body@x', False),
    ('substring', MSG1, 't1', False),
    ('with-angle', MSG1, '<t1@x>', False),
    ('with-space', MSG1, ' t1@x', False),
    ('plain-empty', MSG2, '', False),
    ('plain', MSG2, 'a@b', True),
    ('plain-upper', MSG2, 'A@B', True),
    ('cr-line-continues-to', MSG_CR, 'c@d', True),
    ('cr-line-continues-other', MSG_CR_OTHER, 'c@d', False),
    ('vt-line-continues', MSG_VT, 'c@d', True),
    ('nul-ends-header', MSG_NUL, 'c@d', False),
    ('unterminated-last-line', MSG_UNENDED, 'a@b', True),
]


@pytest.mark.parametrize("message,address,expected", [row[1:] for row in HASADDR],
                         ids=[row[0] for row in HASADDR])
def test_hasaddr(message: str, address: str, expected: bool) -> None:
    assert addr.hasaddr(Message.from_bytes(message.encode()), address) is expected


# (id, Return-Path value, FROM that maildrop takes from it; "" means none)
RETURN_PATH = [
    ("angle", "<alice@example.com>", "alice@example.com"),
    ("bare", "bare@example.com", "bare@example.com"),
    ("comment-after", "<a@b> (comment)", "a@b"),
    ("blanks-around", "  <a@b>  ", "a@b"),
    ("words", "x y z", "x"),
    ("empty-angle", "<>", ""),
    ("empty", "", ""),
    ("name-first", "Joe <a@b>", "Joe"),
    ("quoted-local", '"q l"@x', '"q'),
    ("list", "a@b, c@d", "a@b,"),
    ("comment-first", "(c) a@b", "(c)"),
    ("unterminated", "<a@b", "a@b"),
    ("spaced-dots", "a . b @ c", "a"),
    ("group", "g: a@b;", "g:"),
    ("route", "<@r:a@b>", "@r:a@b"),
    ("backslash-kept", "a\\b", "a\\b"),
    ("close-angle-ends", "<a\\>b>", "a\\"),
    ("space-in-angle", "<a b>", "a"),
    ("angle-inside", "a<b>", "a<b"),
    ("after-angle", "<a>b", "a"),
    ("leading-tab", "\t<a@b>", "a@b"),
    ("double-angle", "<<a>>", "<a"),
    ("extra-close", "<a@b>>", "a@b"),
    ("nothing-after-angle", "<", ""),
]


@pytest.mark.parametrize("value,expected", [row[1:] for row in RETURN_PATH],
                         ids=[row[0] for row in RETURN_PATH])
def test_envelope_from_return_path(value: str, expected: str) -> None:
    assert addr.envelope_from_return_path(value) == expected


# (id, text, [(address, decoded display name), ...])
PARSED = [
    ("names-decoded", '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= <g@example.com>, x@y (Caf\u00e9)',
     [("g@example.com", "Gr\u00fc\u00dfe"), ("x@y", "Caf\u00e9")]),
    ("group-members-only", "team: a@b, Ann <c@d>;", [("a@b", ""), ("c@d", "Ann")]),
    ("empty-address-kept", '"Nobody" <>', [("", "Nobody")]),
    ("lone-comment-is-no-address", "(just a comment)", []),
    ('quoted-name-unquoted', '"Joe Q. Public" <joe@example.com>',
     [('joe@example.com', 'Joe Q. Public')]),
]


@pytest.mark.parametrize("text,expected", [row[1:] for row in PARSED],
                         ids=[row[0] for row in PARSED])
def test_parse_addresses(text: str, expected: list[tuple[str, str]]) -> None:
    assert addr.parse_addresses(text) == [addr.Address(a, n) for a, n in expected]


def test_address_headers_are_exactly_these() -> None:
    # From, To, Cc, Bcc and their Resent- forms are rewritten; Reply-To, Sender,
    # Errors-To, Return-Path, Delivered-To, X-* and the rest are not (reformime -u).
    assert addr.ADDRESS_HEADERS == {"from", "to", "cc", "bcc", "resent-from", "resent-to",
                                    "resent-cc", "resent-bcc"}
    assert addr.HASADDR_HEADERS == {"to", "cc", "resent-to", "resent-cc"}


NASTY = ["(" * 5000, '"' * 5001, "a " * 20000, "<" * 3000 + ">" * 3000, "=?x?Q" * 5000,
         "a=?b" * 5000, "\\" * 5000, ":;,.@[]" * 2000, "\udce9\udcff <x@y>", "\x00 a@b"]


@pytest.mark.parametrize("text", NASTY, ids=[f"nasty-{k}" for k in range(len(NASTY))])
def test_broken_input_is_parsed_quickly_without_errors(text: str) -> None:
    # Quadratic parsing of a long header would stall a delivery; none of these may.
    addr.canonical_address_header(text)
    addr.getaddr(text)
    addr.header_has_address(text, "x@y")


_PIECES = st.sampled_from(list('ab@.,;:<>()"\\ \t=?!%/[]é') + ["=?UTF-8?Q?x?=", "\udce9"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_any_text_gives_a_result(text: str) -> None:
    out = addr.canonical_address_header(text)
    assert isinstance(out, str) and "\n" not in out
    assert all(a.endswith("\n") for a in addr.getaddr(text).splitlines(keepends=True))


def test_getaddr_lines_are_the_parsed_addresses() -> None:
    rng = random.Random(7)
    pieces = ["a@b", "Joe <c@d>", "(x)", "g:", ";", ",", '"q r"@s', "<>"]
    for _ in range(200):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        assert addr.getaddr(text) == "".join(a.address + "\n" for a in addr.parse_addresses(text))
