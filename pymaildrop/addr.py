"""RFC 822 address lists as maildrop reads them: getaddr(), hasaddr(), canonical headers.

Contract: tokenize() and parse() turn a header value into entries the way
    maildrop's address parser does (tolerant: stray words become addresses,
    "Joe Smith" is two of them, "x@y (Name)" takes the comment as its name).
    getaddr() and hasaddr() are the filter functions; canonical_address_header()
    is the rewritten value that patterns search; envelope_from_return_path() is
    the address maildrop takes from Return-Path for FROM.
Safety: pure functions on str; linear in the input; no I/O.
Errors: none raised; any input, however broken, gives some result.  Bytes
    that were not UTF-8 arrive as surrogate escapes and stay in addresses
    (maildrop keeps such bytes there) but are dropped from display names.
See also: maildropfilter(7) "getaddr", "hasaddr", "Patterns"; mime.py (the
    canonical header lines, RFC 2047 decoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pymaildrop import limits

if TYPE_CHECKING:
    from typing import Protocol

    class _HasHeader(Protocol):
        def raw_lines(self) -> Iterator[bytes]: ...

# The headers whose values are address lists in the canonical search text.
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc",
                             "resent-from", "resent-to", "resent-cc", "resent-bcc"})
# The headers hasaddr() looks in.
HASADDR_HEADERS = frozenset({"to", "cc", "resent-to", "resent-cc"})

_SPECIALS = frozenset("<>@,;:.[]")     # single-character tokens
_GLUE = frozenset("!%/=?")             # also single-character tokens, inside atoms
_SPACE = frozenset(" \t\r\n\v\f")
_ATOM_STOP = _SPECIALS | _SPACE | frozenset('()"\\')
_WORDS = frozenset("aqu")          # token kinds that are words: atom, quoted string
_ATOMISH = frozenset("aquc")       # kinds printed with a space between neighbours
_NEEDS_QUOTES = frozenset('"()<>@,.:;[]\\')
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


class Token:
    """One lexical token.  kind: "a" atom, "q" quoted string, "c" comment,
    "u" an unterminated comment (a quoted string holding the rest), or the special.

    text is the atom, the quoted string's or comment's raw inner text (escapes
    kept), or the special character; start/end delimit it in the source, the
    quotes of a quoted string excluded, a comment's parentheses included.
    """

    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int) -> None:
        self.kind, self.text, self.start, self.end = kind, text, start, end

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r}, {self.start}, {self.end})"


class Entry:
    """One element of a parsed list.

    kind "addr" is an address (addr tokens, maybe a phrase name or a comment
    name); "group" a group name (name tokens); "semi" a ";"; "comment" a lone
    comment; "phrase" a name whose "<" was never followed by anything.
    """

    __slots__ = ("kind", "name", "addr", "comment")

    def __init__(self, kind: str, name: list[Token] | None = None,
                 addr: list[Token] | None = None, comment: Token | None = None) -> None:
        self.kind = kind
        self.name = name or []
        self.addr = addr or []
        self.comment = comment

    @property
    def is_address(self) -> bool:
        return self.kind == "addr"


class Address:
    """An address of a list: what getaddr() prints, and the decoded display name."""

    __slots__ = ("address", "name")

    def __init__(self, address: str, name: str = "") -> None:
        self.address, self.name = address, name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return (self.address, self.name) == (other.address, other.name)

    def __hash__(self) -> int:
        return hash((self.address, self.name))

    def __repr__(self) -> str:
        return f"Address({self.address!r}, {self.name!r})"


# TOKENIZER


def tokenize(text: str) -> list[Token]:
    """Split text into RFC 822 tokens; backslashes outside quotes only separate."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE or c == "\\":
            i += 1
        elif c == "(":
            i = _comment(text, i, tokens)
        elif c == '"':
            i = _quoted(text, i, tokens)
        elif c in _SPECIALS:
            tokens.append(Token(c, c, i, i + 1))
            i += 1
        elif c == ")":
            i += 1                 # COMPAT: a stray ")" only separates
        else:
            j = i
            while j < n and text[j] not in _ATOM_STOP:
                j += 1
            _atoms(text, i, j, tokens)
            i = j
    return tokens


def _atoms(text: str, i: int, end: int, tokens: list[Token]) -> None:
    """Split a run of atom characters: "!%/=?" are tokens of their own, but an
    RFC 2047 encoded word ("=?" up to the first "?=") is one atom."""
    start = i
    last_close = text.rfind("?=", i, end)      # no encoded word can end after it
    while i < end:
        c = text[i]
        if c not in _GLUE:
            i += 1
            continue
        word = c == "=" and text.startswith("=?", i) and i + 2 <= last_close
        close = text.find("?=", i + 2, end) if word else -1
        if start < i:
            tokens.append(Token("a", text[start:i], start, i))
        if close >= 0:
            tokens.append(Token("a", text[i:close + 2], i, close + 2))
            i = close + 2
        else:
            tokens.append(Token(c, c, i, i + 1))
            i += 1
        start = i
    if start < end:
        tokens.append(Token("a", text[start:end], start, end))


def _comment(text: str, i: int, tokens: list[Token]) -> int:
    depth, j, n = 0, i, len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        depth += (c == "(") - (c == ")")
        if depth == 0:
            tokens.append(Token("c", text[i + 1:j], i, j + 1))
            return j + 1
        j += 1
    # COMPAT: an unterminated comment becomes a quoted string holding the rest.
    tokens.append(Token("u", text[i:], i, n))
    return n


def _quoted(text: str, i: int, tokens: list[Token]) -> int:
    j, n = i + 1, len(text)
    while j < n and text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    end = min(j, n)
    tokens.append(Token("q", text[i + 1:end], i + 1, end))
    return j + 1


# PARSER


def parse(tokens: list[Token]) -> list[Entry]:
    """Group tokens into entries: addresses, group names, ";" and lone comments."""
    out: list[Entry] = []
    ahead = _Ahead(tokens)
    i, n = 0, len(tokens)
    while i < n:
        kind = tokens[i].kind
        if kind in (",", ">"):
            i += 1
        elif kind == ";":
            out.append(Entry("semi"))
            i += 1
        else:
            i = _parse_one(tokens, i, ahead, out)
    return out


class _Ahead:
    """For each token, where the next list separator or "<" is, and where the
    words (and stray ">") that start there end; so parsing stays linear."""

    __slots__ = ("stop", "words_end")

    def __init__(self, tokens: list[Token]) -> None:
        n = len(tokens)
        self.stop = [n] * (n + 1)
        self.words_end = [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            kind = tokens[i].kind
            self.stop[i] = i if kind in (",", ";", "<") else self.stop[i + 1]
            self.words_end[i] = self.words_end[i + 1] if kind in _WORDS or kind == ">" else i


def _parse_one(tokens: list[Token], i: int, ahead: _Ahead, out: list[Entry]) -> int:
    n = len(tokens)
    j = ahead.words_end[i]
    if j < n and tokens[j].kind == ":":
        out.append(Entry("group", name=[t for t in tokens[i:j] if t.kind != ">"]))
        return j + 1
    end = ahead.stop[i]
    if end < n and tokens[end].kind == "<":
        return _parse_angle(tokens, i, end, out)
    return _parse_plain(tokens, i, end, out)


def _parse_angle(tokens: list[Token], i: int, lt: int, out: list[Entry]) -> int:
    n = len(tokens)
    j = lt + 1
    addr: list[Token] = []
    while j < n and tokens[j].kind != ">":
        if tokens[j].kind != "<":
            addr.append(tokens[j])
        j += 1
    # COMPAT: "<>" is the empty address, but "< >" is no address at all.
    closed = j < n
    name = [t for t in tokens[i:lt] if t.kind != ">"]
    if addr or (closed and tokens[j].start == tokens[lt].end):
        out.append(Entry("addr", name=name, addr=addr))
    else:
        out.append(Entry("phrase", name=name))
    return j + 1 if closed else j


def _parse_plain(tokens: list[Token], i: int, end: int, out: list[Entry]) -> int:
    """One address without <>: it ends where a word follows a word; its last comment names it."""
    addr: list[Token] = []
    comments: list[Token] = []
    last_word = False
    while i < end:
        t = tokens[i]
        if t.kind == "c":
            comments.append(t)
        elif t.kind != ">":
            word = t.kind in _WORDS
            if word and last_word:
                break
            addr.append(t)
            last_word = word
        i += 1
    _flush_plain(addr, comments, out)
    return i


def _flush_plain(addr: list[Token], comments: list[Token], out: list[Entry]) -> None:
    note = comments[-1] if comments else None
    if addr:
        out.append(Entry("addr", addr=addr, comment=note))
    elif note is not None:
        out.append(Entry("comment", comment=note))


# PRINTING


def unescape(text: str) -> str:
    """Remove backslash escapes: a backslash stands for the character after it (a
    backslash at the very end stands for itself)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == "\\" and i + 1 < n:
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def print_tokens(tokens: Iterable[Token]) -> str:
    """Print address tokens: a space between adjacent words/comments, none elsewhere."""
    out: list[str] = []
    prev = False
    for t in tokens:
        atomish = t.kind in _ATOMISH
        if atomish and prev:
            out.append(" ")
        if t.kind in ("q", "u"):
            out.append('"' + _requote(t.text) + '"')
        elif t.kind == "c":
            out.append("(" + t.text + ")")
        else:
            out.append(t.text)
        prev = atomish
    return "".join(out)


def _decode(text: str) -> str:
    from pymaildrop import mime

    return mime.decode_encoded_words(text)


def _phrase(source: str, tokens: list[Token], clean: bool = True) -> str:
    """A display name: atoms and comments re-spaced, anything else as written."""
    if all(t.kind in ("a", "c") for t in tokens):
        return _join_words(tokens, clean)
    return _decode(unescape(source[tokens[0].start:tokens[-1].end]))


def _join_words(tokens: list[Token], clean: bool) -> str:
    """Words joined by one space; an atom that is an encoded word is decoded on its own,
    and two such atoms in a row are joined with no space (RFC 2047)."""
    from pymaildrop import mime

    parts: list[str] = []
    prev_encoded = False
    for t in tokens:
        decoded = mime.decode_word(t.text) if t.kind == "a" else None
        if decoded is not None:
            text = decoded
        elif t.kind == "a":
            text = mime.drop_invalid(t.text) if clean else t.text
        elif t.kind == "c":
            text = "(" + _decode(unescape(t.text)) + ")"
        else:
            text = _decode(unescape(t.text))
        if parts and not (decoded is not None and prev_encoded):
            parts.append(" ")
        parts.append(text)
        prev_encoded = decoded is not None
    return "".join(parts)


def _group_name(tokens: list[Token]) -> str:
    return _join_words(tokens, clean=False)


def _requote(text: str) -> str:
    """Quoted-string content as printed: escapes kept, a bare quote or final backslash escaped."""
    if "\\" not in text and '"' not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            out.append(text[i:i + 2])
            i += 2
            continue
        out.append("\\" + c if c in '"\\' else c)
        i += 1
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _quote(name: str) -> str:
    if not any(c in _NEEDS_QUOTES for c in name):
        return name
    return '"' + _escape(name) + '"'


def display_name(source: str, entry: Entry) -> str:
    """The decoded display name of an entry ("" when it has none)."""
    if entry.comment is not None:
        return _decode(unescape(entry.comment.text))
    if entry.name:
        return _phrase(source, entry.name)
    return ""


def _entry_text(source: str, entry: Entry) -> str:
    if entry.kind == "addr":
        name = display_name(source, entry)
        address = print_tokens(entry.addr)
        return f"{_quote(name)} <{address}>" if name else address
    if entry.kind == "group":
        return _group_name(entry.name) + ":"
    if entry.kind == "semi":
        return ";"
    if entry.kind == "phrase":
        return _phrase(source, entry.name, clean=False) if entry.name else ""
    return display_name(source, entry)


def _byte_length(text: str) -> int:
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))


def render(source: str, entries: list[Entry]) -> str:
    """Print entries as the canonical header value.

    COMPAT: maildrop separates an address from the next entry with ", ", but a
    non-address entry of exactly one byte (";", a one-letter comment) with
    nothing, and it follows a non-address entry of two or more bytes with one
    space.
    """
    out: list[str] = []
    prev_address = False
    for entry in entries:
        text = _entry_text(source, entry)
        if entry.is_address:
            if prev_address:
                out.append(", ")
            out.append(text)
        else:
            size = _byte_length(text)
            if prev_address and size != 1:
                out.append(", ")
            out.append(text)
            if size >= 2:
                out.append(" ")
        prev_address = entry.is_address
    return "".join(out)


# PUBLIC FUNCTIONS


def parse_addresses(text: str) -> list[Address]:
    """Return the addresses in text (group names, ";" and lone comments left out)."""
    entries = parse(tokenize(text))
    return [Address(print_tokens(e.addr), display_name(text, e))
            for e in entries if e.is_address]


def getaddr(text: str) -> str:
    """maildrop's getaddr(): every address in text, each followed by a newline."""
    return "".join(a.address + "\n" for a in parse_addresses(text))


def canonical_address_header(value: str) -> str:
    """Rewrite an address header's value as maildrop's pattern search sees it."""
    return render(value, parse(tokenize(value)))


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def header_has_address(value: str, wanted: str) -> bool:
    """True if wanted (ASCII case ignored) is one of the addresses of value.

    COMPAT: a group name, ";" or lone comment counts as the empty address, so
    hasaddr("") is true for "To: undisclosed-recipients:;".
    """
    want = _ascii_lower(wanted)
    for entry in parse(tokenize(value)):
        if _ascii_lower(print_tokens(entry.addr)) == want:
            return True
    return False


def hasaddr(message: _HasHeader, address: str) -> bool:
    """maildrop's hasaddr(): address is in a To, Cc, Resent-To or Resent-Cc header."""
    for name, value in _header_fields(message.raw_lines()):
        if name.lower() in HASADDR_HEADERS and header_has_address(value, address):
            return True
    return False


def _header_fields(lines: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    """(name, value) of each top-level header, folded as maildrop folds them here.

    COMPAT: a line that starts with any blank, a CR included, continues a header;
    a NUL ends one.
    """
    current: list[bytes] = []
    taken = 0
    for line in lines:
        if line in (b"\n", b"\r\n") or taken > limits.MAX_HEADER_BYTES:
            break
        taken += len(line)
        raw = line[:-1] if line.endswith(b"\n") else line
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if current and raw[:1] in (b" ", b"\t", b"\r", b"\v", b"\f"):
            current.append(raw)
            continue
        if current:
            yield _field(current)
        current = [raw]
    if current:
        yield _field(current)


def _field(lines: list[bytes]) -> tuple[str, str]:
    name, _, value = b"\n".join(lines).split(b"\0", 1)[0].partition(b":")
    return name.decode("latin-1"), value.decode("utf-8", "surrogateescape")


def envelope_from_return_path(value: str) -> str:
    """The sender maildrop takes from a Return-Path value ("" when there is none).

    Leading blanks are skipped, then one "<"; the address runs to the first
    whitespace or ">".  COMPAT: no quoting is honoured ('"a b"@c' gives '"a').
    """
    i, n = 0, len(value)
    while i < n and value[i] in " \t":
        i += 1
    if i < n and value[i] == "<":
        i += 1
    j = i
    while j < n and value[j] not in _SPACE and value[j] != ">":
        j += 1
    return value[i:j]
