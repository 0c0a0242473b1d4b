"""The canonical text that maildrop's patterns search, made from a message as a stream.

Contract: iter_search_lines(message, header, body) yields, in order, the lines a
    /pattern/ with options h, b or hb searches, as "reformime -u" prints them:
    the headers of the message and of each MIME section (unfolded, RFC 2047
    decoded, address headers rewritten by addr.py) and the text sections,
    decoded and converted to UTF-8.  header_search_lines() is the top header.
Safety: one pass over message.chunks() per call, holding a chunk, a line, one header
    (with its continuation lines; a header block is never held whole) and 64
    KiB of text; results of up to 512 Ki characters are cached per message
    (weakly).  A header block ends after limits.MAX_HEADER_BYTES.  Lines
    maildrop cannot match (bytes that are not UTF-8 in a header) are left
    out; a NUL ends a line.
Errors: none for any message content; text in a charset maildrop cannot
    convert ends the search text there, as in maildrop (COMPAT).
See also: maildropfilter(7) "Patterns", "MIME encoding"; reformime(1); addr.py;
    tests/data/mime/ (the corpus checked against real maildrop).
"""

from __future__ import annotations

import binascii
import codecs
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING

from pymaildrop import addr, limits

if TYPE_CHECKING:
    from typing import Protocol

    from pymaildrop.addr import Token

    class _Readable(Protocol):
        @property
        def size(self) -> int: ...

        @property
        def stored_size(self) -> int: ...

        def chunks(self) -> Iterator[bytes]: ...

_Chunk = tuple[str, str]           # ("h" or "b", text): header lines or body text
_Term = tuple[int, bool] | None    # the boundary met (its index, closing?), None: the end
_Walk = Generator[_Chunk, None, _Term]

_CACHE_LIMIT = 512 * 1024          # characters of search text kept per message and mode
_KEPT_BLOCK = 16 * 1024            # kept lines are joined into blocks of about this size
_KEPT_LINES = 1024                 # ... or of at most this many lines
_MAX_SECTIONS = 301                # COMPAT: maildrop's count of sections (a multipart is 2)
_BATCH = 64 * 1024                 # bytes of text decoded at a time
_MIME_FIELDS = ("mime-version", "content-type", "content-transfer-encoding")
_B64_VALUES = {c: i for i, c in enumerate(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_B64_DELETE = bytes(c for c in range(256) if c not in _B64_VALUES and c != 0x3D)
_HEX = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}


class _Stop(Exception):
    """Text in a charset maildrop cannot convert: the search text ends."""


# PUBLIC


def header_search_lines(message: _Readable) -> list[str]:
    """The top-level header in canonical form, one str per line."""
    store = _store(message)
    kept = store.get("top")
    if kept is not None:
        return list(_kept(kept))
    texts = _read_header(_Source(message), [], _Header(), show=True)
    found = (x for text in texts for x in _lines_of(canonical_header(text) + "\n"))
    return list(_keep(found, store, "top"))


def iter_search_lines(message: _Readable, header: bool, body: bool) -> Iterator[str]:
    """The lines a pattern with options h (header) and/or b (body) searches."""
    if not header and not body:
        return iter(())
    store = _store(message)
    kept = store.get((header, body))
    if kept is not None:
        return _kept(kept)
    lines = _assemble(_walk(message, _Want(header, body)), header, body)
    return _keep(lines, store, (header, body))


def canonical_header(text: str) -> str:
    """One header (its lines joined by newlines, CRs removed) as the search text shows it."""
    if "\0" in text:
        text = text[:text.index("\0")]
    name, colon, value = text.partition(":")
    if not colon:
        return text + ": "         # COMPAT: a line without a colon is all name
    if "\n" in value:
        value = value.replace("\n", " ")
    value = value.strip(" \t\r\n\v\f")
    if name.lower() in addr.ADDRESS_HEADERS:
        value = addr.canonical_address_header(value)
    elif "=?" in value or not value.isascii():
        value = decode_encoded_words(value)
    return f"{name}: {value}"


# THE CACHE AND THE LINES

_Store = dict[object, list[str]]       # kept lines, joined by newlines into blocks
_stores: weakref.WeakKeyDictionary[object, _Store] = weakref.WeakKeyDictionary()


def _store(message: object) -> _Store:
    try:
        return _stores.setdefault(message, {})
    except TypeError:              # not weakly referenceable: no cache
        return {}


def _keep(lines: Iterator[str], store: _Store, key: object) -> Iterator[str]:
    """Pass lines on; store them if they all came and are few enough.

    They are kept joined into blocks (lines hold no newline), so that what is
    kept costs about a byte a character, not a str object a line.
    """
    kept: list[str] | None = []
    block: list[str] = []
    size = block_size = 0
    for line in lines:
        if kept is not None:
            size += len(line) + 1
            block_size += len(line) + 1
            block.append(line)
            if size > _CACHE_LIMIT:
                kept, block = None, []
            elif block_size >= _KEPT_BLOCK or len(block) >= _KEPT_LINES:
                kept.append("\n".join(block))
                block, block_size = [], 0
        yield line
    if kept is not None:
        if block:
            kept.append("\n".join(block))
        store[key] = kept


def _kept(blocks: list[str]) -> Iterator[str]:
    for block in blocks:
        yield from block.split("\n")


def _assemble(chunks: Iterable[_Chunk], header: bool, body: bool) -> Iterator[str]:
    """Join the wanted chunks and cut them into lines, as maildrop reads them."""
    partial: list[str] = []
    try:
        for kind, text in chunks:
            if not (header if kind == "h" else body):
                continue
            if not partial and text.find("\n") == len(text) - 1:   # one whole line
                line = text[:-1]
                if "\0" in line or not line.isascii():
                    yield from _lines_of(text)
                else:
                    yield line
                continue
            if "\n" not in text:
                partial.append(text)
                continue
            if partial:
                partial.append(text)
                text = "".join(partial)
                partial = []
            cut = text.rindex("\n") + 1
            if cut < len(text):
                partial.append(text[cut:])
            yield from _lines_of(text[:cut])
    except _Stop:
        pass
    if partial:
        yield from _lines_of("".join(partial) + "\n")


def _lines_of(text: str) -> Iterator[str]:
    """The lines of text (which ends in a newline) that maildrop can match, cut at NUL."""
    for line in text[:-1].split("\n"):
        if "\0" in line:
            line = line[:line.index("\0")]
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                continue           # COMPAT: PCRE refuses a line that is not UTF-8
        yield line


# RFC 2047


def drop_invalid(text: str) -> str:
    """Remove the surrogate escapes that stand for bytes that were not UTF-8."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "ignore")
    except UnicodeEncodeError:     # a surrogate that is no escaped byte
        return text.encode("utf-8", "ignore").decode("utf-8")


def decode_encoded_words(text: str) -> str:
    """Decode RFC 2047 encoded words anywhere in text, as maildrop does.

    Whitespace between two encoded words goes; an unknown charset gives
    "[unknown character set: NAME -> utf-8]"; invalid bytes are dropped.
    """
    if "=?" not in text:
        return drop_invalid(text)
    out: list[str] = []
    i, after_word = 0, -1
    last_close = text.rfind("?=")          # no encoded word can end after it
    while (j := text.find("=?", i)) >= 0:
        word = _encoded_word(text, j) if j + 2 < last_close else None
        if word is None:
            out.append(drop_invalid(text[i:j + 1]))
            i = j + 1
            continue
        gap = text[i:j]
        if not (i == after_word and not gap.strip(" \t\r\n")):
            out.append(drop_invalid(gap))
        out.append(word[1])
        i = after_word = word[0]
    out.append(drop_invalid(text[i:]))
    return "".join(out)


def decode_word(text: str) -> str | None:
    """text decoded if it is exactly one encoded word, else None."""
    word = _encoded_word(text, 0) if text.startswith("=?") else None
    return word[1] if word is not None and word[0] == len(text) else None


def _encoded_word(text: str, start: int) -> tuple[int, str] | None:
    """Decode "=?charset?E...?text?=" at start: (where it ends, its text), or None.

    COMPAT: only the letter after the charset names the encoding, and anything
    up to the next "?" is skipped; a decoded NUL ends the word's text and a
    decoded newline is a space.
    """
    q1 = text.find("?", start + 2)
    if q1 < 0 or q1 + 1 >= len(text) or text[q1 + 1] not in "QqBb":
        return None
    q2 = text.find("?", q1 + 2)
    end = text.find("?=", q2 + 1) if q2 >= 0 else -1
    if end < 0:
        return None
    charset = text[start + 2:q1].split("*", 1)[0]
    data = text[q2 + 1:end].encode("utf-8", "surrogateescape")
    raw = _q_word(data) if text[q1 + 1] in "Qq" else _b_word(data)
    codec = charset_codec(charset) if charset else "utf-8"
    if codec is None:
        return end + 2, f"[unknown character set: {charset} -> utf-8]"
    return end + 2, raw.decode(codec, "ignore").split("\0", 1)[0].replace("\n", " ")


def _q_word(data: bytes) -> bytes:
    """The Q encoding as maildrop reads it: "_" is a space, "=XY" always takes three
    characters, and a character that is no hex digit counts as 0."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c == 0x5F:
            out.append(0x20)
        elif c != 0x3D:
            out.append(c)
        elif i + 1 < n:
            low = _HEX.get(data[i + 2], 0) if i + 2 < n else 0
            out.append(_HEX.get(data[i + 1], 0) * 16 + low)
            i += 2
        i += 1
    return bytes(out)


def _b_word(data: bytes) -> bytes:
    """Base64 as maildrop reads an encoded word: a stray character counts as 0."""
    return b"".join(_quad(data[k:k + 4], stray=0) for k in range(0, len(data) - 3, 4))


def _quad(q: bytes, stray: int) -> bytes:
    """Decode four base64 characters; "=" third drops the second byte, fourth the third.

    COMPAT: elsewhere "=" counts as the value 99, as in maildrop's decoder.
    """
    a, b, c, d = (99 if x == 0x3D else _B64_VALUES.get(x, stray) for x in q)
    out = bytearray([(a << 2 | b >> 4) & 0xFF])
    if q[2] != 0x3D:
        out.append((b << 4 | c >> 2) & 0xFF)
    if q[3] != 0x3D:
        out.append((c << 6 | d) & 0xFF)
    return bytes(out)


# CHARACTER SETS

_FAST_CODECS = {
    "utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii",
    "iso-8859-1": "latin-1", "iso-8859-15": "iso8859-15", "windows-1252": "cp1252",
}
_PY_ALIASES = {"windows-874": "cp874", "ucs-2": "utf-16-be", "ucs2": "utf-16-be"}
_NOT_CHARSETS = frozenset({"undefined", "idna", "punycode", "unicode_escape",
                           "raw_unicode_escape", "mbcs", "oem", "utf_8_sig"})
_codec_cache: dict[str, str | None] = {}


def charset_codec(charset: str) -> str | None:
    """The Python codec for a MIME charset name, or None if maildrop does not know it.

    The C library's iconv (which maildrop uses) decides which names are
    known, when it can be asked; Python's codecs do the converting.
    """
    key = charset.lower()
    fast = _FAST_CODECS.get(key)
    if fast is not None:
        return fast
    if "\0" in key:
        return None
    if key not in _codec_cache:
        _codec_cache[key] = _lookup_codec(charset, key)
    return _codec_cache[key]


def _lookup_codec(charset: str, key: str) -> str | None:
    python = _python_codec(key) or _python_codec(_iconv_name(key))
    known = _iconv_knows(charset)
    if known is None:
        return python
    return (python or "utf-8") if known else None


def _iconv_name(key: str) -> str:
    """The name as iconv reads it: only ASCII letters, digits and "_-.,:" count."""
    return "".join(c for c in key if (c.isascii() and c.isalnum()) or c in "_-.,:")


def _python_codec(key: str) -> str | None:
    try:
        info = codecs.lookup(_PY_ALIASES.get(key, key))
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _iconv_knows(charset: str) -> bool | None:
    """Ask the C library's iconv_open(); None when there is no such function."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        iconv_open, iconv_close = libc.iconv_open, libc.iconv_close
    except (OSError, AttributeError, ImportError):
        return None
    iconv_open.restype = ctypes.c_void_p
    iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    iconv_close.argtypes = [ctypes.c_void_p]
    handle = iconv_open(b"UTF-8", charset.encode("utf-8", "surrogateescape"))
    if handle is None or handle == ctypes.c_void_p(-1).value:
        return False
    iconv_close(handle)
    return True


# HEADER BLOCKS

_BLANKS = (" ", "\t", "\v", "\f")   # a shown line that starts with one continues a header
_FOLDS = b" \t\r\v\f"               # ... and, for the MIME parser, one that starts with a CR
_SPACES = b" \t\r\n\v\f"            # what a MIME field name is stripped of
_MIME_NAMES = frozenset(name.encode("ascii") for name in _MIME_FIELDS)
_MIME_STARTS = b"cCmM \t\r\n\v\f"  # what a line that may start a MIME field starts with
_PARAMS = ("boundary", "charset")  # the Content-Type parameters that decide anything


class _Fields:
    """What a header's MIME fields say, gathered one field at a time.

    version, encoding: the last Mime-Version's and Content-Transfer-Encoding's
    values (None: there is none); ctype: the last Content-Type's type (None:
    there is none); params: its boundary and charset, from all Content-Types,
    a later one first (COMPAT).
    """

    __slots__ = ("version", "encoding", "ctype", "params")

    def __init__(self) -> None:
        self.version: str | None = None
        self.encoding: str | None = None
        self.ctype: str | None = None
        self.params: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        if name == "content-type":
            self.ctype, params = _content_type(value)
            self.params.update((k, params[k]) for k in _PARAMS if k in params)
        elif name == "mime-version":
            self.version = value
        else:
            self.encoding = value

    def plus(self, name: str, value: str) -> _Fields:
        """A copy with one more field."""
        more = _Fields()
        more.version, more.encoding, more.ctype = self.version, self.encoding, self.ctype
        more.params = dict(self.params)
        more.add(name, value)
        return more


class _Header:
    """How a header block ended, and its MIME fields; filled in by _read_header().

    COMPAT: maildrop shows the lines with every CR removed, folded where a line
    then starts with a blank; its MIME parser keeps CRs inside lines and also
    folds at a line that starts with a CR, so the two can differ.
    """

    __slots__ = ("term", "at_end", "last_break", "parsed", "fields", "last")

    def __init__(self) -> None:
        self.term: _Term = None
        self.at_end = False                # ended by a boundary or the end, not an empty line
        self.last_break = b"\n"            # the line break of the last line
        self.parsed = 0                    # how many headers the MIME parser saw
        self.fields = _Fields()            # the MIME fields of all but the last of them
        self.last: tuple[str, str] | None = None   # the last of them, if a MIME field

    def mime_fields(self, all_headers: bool = True) -> _Fields:
        """The MIME fields; without the last header when all_headers is false."""
        if all_headers and self.last is not None:
            return self.fields.plus(*self.last)
        return self.fields


def _read_header(src: _Source, bounds: list[bytes], head: _Header, show: bool) -> Iterator[str]:
    """Read a header block up to an empty line, a boundary line or the end; yield the
    headers shown (their lines joined by newlines) when show is true.

    Only the header being read is held: head gets how the block ended and the
    MIME fields once the block is read to its end.
    """
    shown: str | None = None       # the first line of the shown header being read
    more: list[str] = []           # and the lines that continue it
    cut = not show                 # whether no more headers are shown
    field: _Field | None = None    # the MIME parser's header being read, if it may matter
    parsed = 0
    taken = 0
    last = b""                     # the last line of the block
    for line in src:
        if line == b"\n" or line == b"\r\n":
            break
        if bounds and line[:2] == b"--":
            head.term = _boundary(line, bounds)
            if head.term is not None:
                head.at_end = True
                break
        last = line
        raw = line[:-1] if line[-1:] == b"\n" else line
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        first = raw[:1]
        if not cut:
            if b"\r" in raw:
                text = raw.replace(b"\r", b"").decode("utf-8", "surrogateescape")
                # COMPAT: a line of CRs (or a first line that starts with a CR) ends them
                cut = first == b"\r" and not (shown is not None and text)
            else:
                text = raw.decode("utf-8", "surrogateescape")
            if shown is not None and not cut and text[:1] in _BLANKS:
                more.append(text)
            else:
                if shown is not None:
                    yield "\n".join([shown, *more]) + "\n" if more else shown + "\n"
                    more = []
                shown = None if cut else text
        if parsed and first in _FOLDS:
            if field is not None:
                field = field.more(raw)
        else:
            if field is not None and field.name is not None and first != b"\0":
                head.fields.add(*field.done())     # COMPAT: a NUL line loses the header before it
            parsed += 1
            field = _Field.start(raw) if first in _MIME_STARTS else None
        taken += len(line)
        if taken > limits.MAX_HEADER_BYTES:
            break
    else:
        head.at_end = True
    if last:
        end = len(last) - (last[-1:] == b"\n")
        head.last_break = last[end - (last[end - 1:end] == b"\r"):]
    head.parsed = parsed
    head.last = field.done() if field is not None and field.name is not None else None
    if shown is not None:
        text = "\n".join([shown, *more])
        yield text.rstrip(" ") if head.at_end else text + "\n"   # COMPAT: as maildrop shows it



class _Field:
    """A header as the MIME parser reads it, while it may be a MIME field.

    name is None until the colon is seen; pieces are the parts of the name so
    far, then the parts of the value (lines as read, without line breaks).
    """

    __slots__ = ("name", "pieces")

    def __init__(self, name: bytes | None, pieces: list[bytes]) -> None:
        self.name, self.pieces = name, pieces

    @staticmethod
    def start(raw: bytes) -> _Field | None:
        """The header that starts with line raw, if it may be a MIME field."""
        colon = raw.find(b":")
        if colon >= 0:
            name = raw[:colon].strip(_SPACES).lower()
            return _Field(name, [raw[colon + 1:]]) if name in _MIME_NAMES else None
        return _Field(None, [raw]) if _could_be_mime(raw.strip(_SPACES).lower()) else None

    def more(self, raw: bytes) -> _Field | None:
        """Add a continuation line; None once the header cannot be a MIME field."""
        self.pieces.append(raw)
        if self.name is not None:
            return self
        colon = raw.find(b":")
        if colon < 0 and not raw.strip(_SPACES):
            return self            # only blanks: the name is no different
        if colon >= 0:
            self.pieces[-1] = raw[:colon]
        name = b"\n".join(self.pieces).strip(_SPACES).lower()
        if colon < 0:
            return self if _could_be_mime(name) else None
        return _Field(name, [raw[colon + 1:]]) if name in _MIME_NAMES else None

    def done(self) -> tuple[str, str]:
        """The field's name and value (its lines joined by spaces)."""
        assert self.name is not None
        return self.name.decode("ascii"), b" ".join(self.pieces).decode("utf-8", "surrogateescape")


def _could_be_mime(name: bytes) -> bool:
    """Whether a name read so far (stripped, lower case) may become a MIME field's."""
    return any(full.startswith(name) for full in _MIME_NAMES)


# WHAT A SECTION HOLDS


class _Kind:
    """What a section's header says about its content (charset "": the default)."""

    __slots__ = ("ctype", "params", "encoding", "charset")

    def __init__(self, ctype: str, params: dict[str, str], encoding: str, charset: str) -> None:
        self.ctype, self.params, self.encoding, self.charset = ctype, params, encoding, charset

    @property
    def is_text(self) -> bool:
        t = self.ctype
        return t.startswith("text/") or (t.startswith("message/") and t != "message/rfc822")

    @property
    def boundary(self) -> str | None:
        return self.params.get("boundary") if self.ctype.startswith("multipart/") else None


def _kind(fields: _Fields, mime: bool, default: str, parent: _Kind | None = None) -> _Kind:
    """The section's kind.  A part takes the charset and the transfer encoding of its
    multipart (parent) unless it names its own.  The last Content-Type gives the
    type, but the parameters of all of them count, later ones first (COMPAT)."""
    if fields.encoding is not None:
        encoding = _words(fields.encoding).lower()
    else:
        encoding = parent.encoding if parent is not None else ""
    if not mime:
        return _Kind("text/plain", {}, encoding, "")
    inherited = parent.charset if parent is not None else ""
    if fields.ctype is None:
        return _Kind(default, {}, encoding, inherited)
    params = fields.params
    return _Kind(fields.ctype or "text/plain", params, encoding,
                 params.get("charset") or inherited)


def _is_mime(fields: _Fields) -> bool:
    """The last Mime-Version's first word reads as the number 1 (as C's atoi would)."""
    version = fields.version
    words = [t for t in addr.tokenize(version) if t.kind != "c"] if version is not None else []
    if not words or words[0].kind not in ("a", "q"):
        return False
    text = words[0].text.lstrip(" \t")
    sign = text[:1] if text[:1] in ("+", "-") else ""
    digits = text[len(sign):]
    digits = digits[:len(digits) - len(digits.lstrip("0123456789"))]
    return bool(digits) and int(sign + digits) == 1


def _words(value: str) -> str:
    """The tokens of a structured value joined without spaces, comments dropped."""
    return "".join(t.text for t in addr.tokenize(value) if t.kind != "c")


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    """The type and the parameters of a Content-Type value.

    COMPAT: a parameter is an atom, "=", and the tokens after it up to ";"
    joined without spaces (a quoted string gives its raw text); comments and
    backslashes count for nothing.  (reformime -u stops after a quoted string.)
    """
    groups: list[list[Token]] = [[]]
    for t in addr.tokenize(value):
        if t.kind == ";":
            groups.append([])
        elif t.kind != "c":
            groups[-1].append(t)
    params: dict[str, str] = {}
    for group in groups[1:]:
        if len(group) >= 2 and group[0].kind == "a" and group[1].kind == "=":
            params[group[0].text.lower()] = "".join(t.text for t in group[2:])
    return "".join(t.text for t in groups[0]).lower(), params


def _boundary(line: bytes, bounds: list[bytes]) -> _Term:
    """Which boundary (outermost first) line starts with, ignoring case, and whether
    it closes; None if none."""
    for index, b in enumerate(bounds):
        end = 2 + len(b)
        if line[2:end].lower() == b:
            return index, line[end:end + 2] == b"--"
    return None


# THE WALK


class _Source:
    """The message's lines, read from its chunks, without a short unterminated last
    line (COMPAT: maildrop does not search one -- unless it is longer than
    MAX_IGNORED_LAST_LINE bytes).

    skip() passes over lines up to a boundary looking only for "\n--", so an
    attachment that is not searched costs a scan of its bytes, not a str or
    bytes object per line.
    """

    __slots__ = ("_chunks", "_buf", "_pos", "_drop_last")

    def __init__(self, message: _Readable) -> None:
        self._chunks = message.chunks()
        self._buf = b""
        self._pos = 0
        self._drop_last = message.stored_size > message.size

    def __iter__(self) -> _Source:
        return self

    def __next__(self) -> bytes:
        line = self.next()
        if line is None:
            raise StopIteration
        return line

    def next(self) -> bytes | None:
        """The next line, ending in b"\n"; None at the end."""
        pieces: list[bytes] = []
        while True:
            buf, pos = self._buf, self._pos
            nl = buf.find(b"\n", pos)
            if nl >= 0:
                self._pos = nl + 1
                line = buf[pos:nl + 1]
                if pieces:
                    pieces.append(line)
                    line = b"".join(pieces)
                if nl + 1 == len(buf) and self._drop_last and not self._more():
                    return line if len(line) - 1 > limits.MAX_IGNORED_LAST_LINE else None
                return line
            if pos < len(buf):
                pieces.append(buf[pos:])
            self._buf, self._pos = b"", 0
            if not self._more():
                return b"".join(pieces) + b"\n" if pieces else None   # chunks() end in one

    def skip(self, bounds: list[bytes]) -> _Term:
        """Pass over lines up to a boundary line (returning which) or the end."""
        if not bounds:             # nothing can end the skip: the rest is not read at all
            self._chunks, self._buf, self._pos = iter(()), b"", 0
            return None
        at_start = True            # whether _pos is where a line starts
        while True:
            buf, pos = self._buf, self._pos
            if at_start:
                if len(buf) - pos < 2 and self._more():
                    continue
                if buf.startswith(b"--", pos):
                    line = self.next()
                    if line is None:
                        return None
                    term = _boundary(line, bounds)
                    if term is not None:
                        return term
                    continue
            found = buf.find(b"\n--", pos)
            if found >= 0:
                self._pos, at_start = found + 1, True
                continue
            # No line in buf starts with "--"; one that starts in its last byte may.
            nl = buf.rfind(b"\n", pos)
            if nl >= 0 and len(buf) - nl - 1 < 2:
                self._pos, at_start = nl + 1, True
            else:
                self._pos, at_start = len(buf), False
            if not self._more():
                self._buf, self._pos = b"", 0
                return None

    def _more(self) -> bool:
        """Read the next chunk after what is left of the buffer; False at the end."""
        for chunk in self._chunks:
            if chunk:
                rest = self._buf[self._pos:]
                self._buf, self._pos = (rest + chunk if rest else chunk), 0
                return True
        return False


class _Want:
    """Which parts of the search text are wanted, and how many sections were seen."""

    __slots__ = ("header", "body", "sections")

    def __init__(self, header: bool, body: bool) -> None:
        self.header, self.body = header, body
        self.sections = 0

    def count(self) -> None:
        """Count a section, or a section's being a multipart; _Stop past the limit.

        COMPAT: past maildrop's limit the search text ends (reformime -u still
        shows the header of the section that went past it); this also bounds
        the nesting.
        """
        self.sections += 1
        if self.sections > _MAX_SECTIONS:
            raise _Stop


def _walk(message: _Readable, want: _Want) -> Iterator[_Chunk]:
    src = _Source(message)
    head = _Header()
    want.count()
    yield from _header_chunks(src, [], head, want)
    if not head.at_end:
        fields = head.mime_fields()
        yield from _content(src, [], _kind(fields, _is_mime(fields), "text/plain"), want,
                            trim=False, top=True)
    elif head.parsed and want.body:
        yield from _headers_only(head)


def _header_chunks(src: _Source, bounds: list[bytes], head: _Header,
                   want: _Want) -> Iterator[_Chunk]:
    """Read a header block into head; its headers, when the header is wanted."""
    for text in _read_header(src, bounds, head, want.header):
        yield "h", canonical_header(text) + "\n"


def _headers_only(head: _Header) -> Iterator[_Chunk]:
    """COMPAT: a message that is all header has, for maildrop, a body of one line break."""
    kind = _unended_kind(head, "text/plain", None)
    if kind.is_text or kind.ctype == "message/rfc822":
        decode = _decoder(kind.encoding, _text_codec(kind))
        text = decode.line(head.last_break) + decode.end()
        if text:
            yield "b", text


def _unended_kind(head: _Header, default: str, parent: _Kind | None) -> _Kind:
    """COMPAT: the kind of a section whose header never met an empty line: maildrop
    leaves out the last header, and wants no Mime-Version (it checks that there)."""
    return _kind(head.mime_fields(False), True, default, parent)


def _text_codec(kind: _Kind) -> str:
    """The codec of a text section; _Stop if maildrop cannot convert its charset."""
    codec = charset_codec(kind.charset) if kind.charset else "utf-8"
    if codec is None:
        raise _Stop
    return codec


def _section(src: _Source, bounds: list[bytes], want: _Want, parent: _Kind | None,
             default: str, trim: bool) -> _Walk:
    """A part of multipart parent, or (parent None) an attached message."""
    head = _Header()
    want.count()
    yield from _header_chunks(src, bounds, head, want)
    if head.at_end:
        kind = _unended_kind(head, default, parent)
        if want.body and (kind.is_text or kind.ctype == "message/rfc822"):
            _text_codec(kind)
        return head.term
    fields = head.mime_fields()
    kind = _kind(fields, parent is not None or _is_mime(fields), default, parent)
    return (yield from _content(src, bounds, kind, want, trim, top=False))


def _content(src: _Source, bounds: list[bytes], kind: _Kind, want: _Want,
             trim: bool, top: bool) -> _Walk:
    """A section's content: parts, an attached message, text, or something skipped."""
    boundary = kind.boundary
    if boundary is not None:
        return (yield from _multipart(src, bounds, boundary, kind, want))
    if kind.ctype == "message/rfc822":
        return (yield from _section(src, bounds, want, None, "text/plain", trim=False))
    if kind.is_text and want.body:
        return (yield from _text(src, bounds, _decoder(kind.encoding, _text_codec(kind)), trim))
    if top:
        return None                # nothing after this is searched: no need to read on
    return src.skip(bounds)


def _multipart(src: _Source, bounds: list[bytes], boundary: str, kind: _Kind,
               want: _Want) -> _Walk:
    """Parts up to the closing boundary; a boundary of an enclosing multipart ends them too."""
    want.count()
    mine = len(bounds)
    inner = bounds + [boundary.encode("utf-8", "surrogateescape").lower()]
    default = "message/rfc822" if kind.ctype == "multipart/digest" else "text/plain"
    term = src.skip(inner)
    while term is not None and term[0] == mine and not term[1]:
        term = yield from _section(src, inner, want, kind, default, trim=True)
    if term is not None and term[0] == mine:
        term = src.skip(bounds)
    return term


def _text(src: _Source, bounds: list[bytes], decode: _Decoder, trim: bool) -> _Walk:
    """Decode a text section; in a multipart (trim) its last line break is not text."""
    batch: list[bytes] = []
    size = 0
    held: bytes | None = None
    term: _Term = None
    while (line := src.next()) is not None:
        if bounds and line.startswith(b"--"):
            term = _boundary(line, bounds)
            if term is not None:
                break
        if held is not None:
            batch.append(decode.transfer(held))
            size += len(batch[-1])
            if size > _BATCH:
                yield "b", decode.chars(b"".join(batch))
                batch, size = [], 0
        held = line
    if held is not None:
        if trim:
            held = held[:-1] if held.endswith(b"\n") else held
            held = held[:-1] if held.endswith(b"\r") else held
        batch.append(decode.transfer(held))
    text = decode.chars(b"".join(batch)) + decode.end()
    if text:
        yield "b", text
    return term


# BODY DECODING


class _Decoder:
    """Transfer decoding (quoted-printable, base64 or none), then charset conversion."""

    def __init__(self, transfer: Callable[[bytes], bytes], codec: str) -> None:
        self.transfer = transfer
        self._chars = codecs.getincrementaldecoder(codec)("ignore")
        self._plain_utf8 = codec == "utf-8" and transfer is _identity

    def chars(self, data: bytes) -> str:
        """Convert transfer-decoded bytes to text, dropping what is not valid."""
        if self._plain_utf8:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return self._chars.decode(data)

    def line(self, data: bytes) -> str:
        return self.chars(self.transfer(data))

    def end(self) -> str:
        return self._chars.decode(b"", True)


def _identity(data: bytes) -> bytes:
    return data


def _decoder(encoding: str, codec: str) -> _Decoder:
    if encoding == "quoted-printable":
        return _Decoder(_qp_line, codec)
    if encoding == "base64":
        return _Decoder(_Base64().feed, codec)
    return _Decoder(_identity, codec)


def _qp_line(line: bytes) -> bytes:
    """Decode one line of quoted-printable.

    "=XY" is a byte; "=" before a blank or the line's end is a soft line break
    (COMPAT: what follows the blank goes too); a bad escape loses its "=" and,
    if one follows, its single hex digit.
    """
    if b"=" not in line:
        return line
    body, eol = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
    out = bytearray()
    i, n = 0, len(body)
    while (eq := body.find(b"=", i)) >= 0:
        out += body[i:eq]
        if eq + 1 == n or body[eq + 1] in b" \t\r":
            return bytes(out)      # a soft line break
        high = _HEX.get(body[eq + 1])
        low = _HEX.get(body[eq + 2]) if eq + 2 < n else None
        if high is not None and low is not None:
            out.append(high * 16 + low)
            i = eq + 3
        else:
            i = eq + (2 if high is not None else 1)
    out += body[i:]
    return bytes(out) + eol


class _Base64:
    """Streaming base64: stray characters skipped, partial groups dropped (see _quad)."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> bytes:
        data = self._rest + data.translate(None, _B64_DELETE)
        whole = len(data) // 4 * 4
        self._rest = data[whole:]
        data = data[:whole]
        if b"=" not in data:
            return binascii.a2b_base64(data)
        return b"".join(_quad(data[k:k + 4], stray=0) for k in range(0, whole, 4))

