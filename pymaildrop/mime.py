"""The canonical text that maildrop's patterns search, produced from a message as a stream.

Contract: iter_search_lines(message, header, body) yields, in document order,
    the lines that a /pattern/:h, :b or :hb searches: header lines of the
    message and of every MIME section in canonical form (unfolded, RFC 2047
    decoded, address headers rewritten by addr.py), and the text of every
    "text" section decoded from quoted-printable/base64 and converted to UTF-8,
    exactly as "reformime -u" prints them.  header_search_lines() is the top
    level header alone.  decode_encoded_words() is the RFC 2047 decoder.
Safety: reads message.raw_lines() once per call and holds one line plus a
    bounded header block (limits.MAX_HEADER_BYTES) at a time; small results are
    cached per message (weakly).  Lines maildrop could not match (bytes that are
    not UTF-8 left in a header name or address) are left out.
Errors: none raised for any message content; a section in a character set
    maildrop does not know ends the search text there, as in maildrop.
See also: maildropfilter(7) "Patterns", "MIME encoding"; reformime(1) -u;
    addr.py; RFC 2045, 2046, 2047.
"""

from __future__ import annotations

import binascii
import codecs
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING

from pymaildrop import limits

_CACHE_LIMIT = 256 * 1024          # characters of search text kept per message and mode
_Chunk = tuple[str, str]           # ("h" or "b", text)
_Term = tuple[int, bool] | None    # (index of the boundary met, closing?) or None at the end
_Walk = Generator[_Chunk, None, _Term]


if TYPE_CHECKING:
    from typing import Protocol

    class _Readable(Protocol):
        @property
        def size(self) -> int: ...

        @property
        def stored_size(self) -> int: ...

        def raw_lines(self) -> Iterator[bytes]: ...


class _Stop(Exception):
    """A section in an unknown character set: maildrop's search text ends."""


# CACHE

_Store = dict[object, list[str]]
_cache: weakref.WeakKeyDictionary[object, _Store] = weakref.WeakKeyDictionary()


def _cached(message: object) -> _Store:
    try:
        entry = _cache.get(message)
        if entry is None:
            entry = _cache[message] = {}
        return entry
    except TypeError:              # not weakly referenceable: no cache
        return {}


# PUBLIC


def header_search_lines(message: _Readable) -> list[str]:
    """The top-level header in canonical form, one str per line."""
    store = _cached(message)
    lines = store.get("top")
    if lines is None:
        head = _read_header(_Source(message), [])
        lines = [line for text in head.texts for line in _emit_lines(canonical_header(text))]
        store["top"] = lines
    return list(lines)


def iter_search_lines(message: _Readable, header: bool, body: bool) -> Iterator[str]:
    """The lines a pattern with options h (header) and/or b (body) searches."""
    if not header and not body:
        return iter(())
    store = _cached(message)
    done = store.get((header, body))
    if done is not None:
        return iter(done)
    return _tee(_assemble(_walk(message, header, body), header, body), store, (header, body))


def _tee(lines: Iterator[str], store: _Store, key: object) -> Iterator[str]:
    kept: list[str] | None = []
    size = 0
    for line in lines:
        if kept is not None:
            size += len(line) + 1
            if size > _CACHE_LIMIT:
                kept = None
            else:
                kept.append(line)
        yield line
    if kept is not None:
        store[key] = kept


def _assemble(chunks: Iterable[_Chunk], header: bool, body: bool) -> Iterator[str]:
    """Join the wanted chunks and cut them into lines, as maildrop reads them."""
    partial: list[str] = []
    try:
        for kind, text in chunks:
            if not (header if kind == "h" else body):
                continue
            end = text.find("\n")
            if end < 0:
                partial.append(text)
                continue
            if end == len(text) - 1 and not partial:        # the common case: one line
                line = _searchable(text[:-1])
                if line is not None:
                    yield line
                continue
            pieces = text.split("\n")
            if partial:
                partial.append(pieces[0])
                pieces[0] = "".join(partial)
                partial = []
            last = pieces.pop()
            if last:
                partial.append(last)
            for piece in pieces:
                line = _searchable(piece)
                if line is not None:
                    yield line
    except _Stop:
        pass
    if partial:
        line = _searchable("".join(partial))
        if line is not None:
            yield line


def _searchable(line: str) -> str | None:
    """A line as maildrop's matcher sees it: cut at NUL; None if it holds non-UTF-8 bytes."""
    if "\0" in line:
        line = line[:line.index("\0")]
    if line.isascii():
        return line
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return None    # COMPAT: PCRE refuses a line that is not UTF-8; it never matches
    return line


# RFC 2047

_B64_VALUES = {c: i for i, c in enumerate(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_HEX = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}
_SPACE = " \t\r\n"


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

    Whitespace between two encoded words is dropped; an unknown character set
    gives "[unknown character set: NAME -> utf-8]"; bytes that are not valid in
    their character set are dropped.
    """
    if "=?" not in text:
        return drop_invalid(text)
    out: list[str] = []
    i, after_word = 0, -1
    while True:
        j = text.find("=?", i)
        if j < 0:
            out.append(drop_invalid(text[i:]))
            return "".join(out)
        word = _encoded_word(text, j)
        if word is None:
            out.append(drop_invalid(text[i:j + 1]))
            i = j + 1
            continue
        gap = text[i:j]
        if not (i == after_word and gap.strip(_SPACE) == ""):
            out.append(drop_invalid(gap))
        end, decoded = word
        out.append(decoded)
        i = after_word = end


def decode_word(text: str) -> str | None:
    """text decoded if it is exactly one encoded word, else None."""
    if not text.startswith("=?"):
        return None
    word = _encoded_word(text, 0)
    return word[1] if word is not None and word[0] == len(text) else None


def _encoded_word(text: str, start: int) -> tuple[int, str] | None:
    """Decode "=?charset?E...?text?=" at start: (its end, its text), or None.

    COMPAT: like maildrop, only the first letter after the charset names the
    encoding; anything up to the next "?" is ignored.
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
    # COMPAT: a decoded NUL ends the word's text; a decoded newline is a space.
    return end + 2, raw.decode(codec, "ignore").split("\0", 1)[0].replace("\n", " ")


def _q_word(data: bytes) -> bytes:
    """The Q encoding as maildrop reads it: "_" is a space; "=XY" is always three
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
            lo = _HEX.get(data[i + 2], 0) if i + 2 < n else 0
            out.append(_HEX.get(data[i + 1], 0) * 16 + lo)
            i += 2
        i += 1
    return bytes(out)


def _b_word(data: bytes) -> bytes:
    """Base64 as maildrop reads encoded words: any stray character counts as zero."""
    out = bytearray()
    for k in range(0, len(data) - 3, 4):
        out += _quad(data[k:k + 4], stray=0)
    return bytes(out)


def _quad(q: bytes, stray: int) -> bytes:
    """Decode four base64 characters; "=" third drops the second byte, fourth the third.

    COMPAT: "=" counts as the value 99 in the arithmetic, as in maildrop's decoder.
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
    """The Python codec for a MIME charset name, or None if maildrop would not know it.

    The system's iconv (which maildrop uses) decides which names are known,
    when it can be asked; Python's codecs do the converting.
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
    if known is False:
        return None
    if known is None:
        return python
    return python or "utf-8"


def _iconv_name(key: str) -> str:
    """The name as iconv reads it: only ASCII letters, digits and "_-.,:" count."""
    return "".join(c for c in key if (c.isascii() and c.isalnum()) or c in "_-.,:")


def _python_codec(key: str) -> str | None:
    key = _PY_ALIASES.get(key, key)
    try:
        info = codecs.lookup(key)
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
        open_, close = libc.iconv_open, libc.iconv_close
    except (OSError, AttributeError, ImportError):
        return None
    open_.restype = ctypes.c_void_p
    open_.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    close.argtypes = [ctypes.c_void_p]
    try:
        handle = open_(b"UTF-8", charset.encode("utf-8", "surrogateescape"))
    except ValueError:             # an embedded NUL
        return False
    if handle is None or handle == ctypes.c_void_p(-1).value:
        return False
    close(handle)
    return True


# HEADERS


def canonical_header(text: str) -> str:
    """One header (folded lines joined by newlines) as the search text shows it."""
    from pymaildrop import addr

    text = text.split("\0", 1)[0]
    name, colon, value = text.partition(":")
    if not colon:
        return text + ": "
    value = _unfold(value).strip(" \t\r\n\v\f")
    if name.lower() in addr.ADDRESS_HEADERS:
        value = addr.canonical_address_header(value)
    else:
        value = decode_encoded_words(value)
    return f"{name}: {value}".split("\0", 1)[0]


def _unfold(value: str) -> str:
    """Join folded lines: each line break before a blank becomes one space."""
    if "\n" not in value:
        return value
    lines = value.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        out.append((" " if line[:1] in (" ", "\t", "\v", "\f") else "\n") + line)
    return "".join(out)


def _emit_lines(canonical: str) -> list[str]:
    return [line for line in (_searchable(x) for x in canonical.split("\n")) if line is not None]


class _Header:
    """A header block: the headers shown, how the block ended, and the MIME fields.

    COMPAT: maildrop shows the lines with every CR removed and folds at a line
    that starts with a blank; its MIME parser keeps the CRs inside lines and
    also folds at a line that starts with a CR, so the two can differ.
    """

    __slots__ = ("texts", "term", "at_end", "last_break", "fields", "parsed")

    def __init__(self) -> None:
        self.texts: list[str] = []         # the headers shown
        self.term: _Term = None
        self.at_end = False                # ended by a boundary or the end, not an empty line
        self.last_break = b"\n"            # the line break of the last line read
        self.fields: list[tuple[int, str, str]] = []   # (parsed header index, name, value)
        self.parsed = 0                    # how many headers the MIME parser saw

    def mime_fields(self, all_headers: bool = True) -> list[tuple[str, str]]:
        """The MIME fields in order; without the last header when all_headers is false."""
        last = self.parsed - (0 if all_headers else 1)
        return [(name, value) for index, name, value in self.fields if index < last]


_MIME_FIELDS = ("mime-version", "content-type", "content-transfer-encoding")


def _read_header(src: _Source, bounds: list[bytes]) -> _Header:
    """Read a header block up to an empty line, a boundary line or the end."""
    head = _Header()
    parsed: list[list[str]] = []
    shown = (0, 0)                 # headers and lines of the last one shown, once cut short
    showing = True
    taken = 0
    while True:
        line = src.next()
        if line is None:
            head.at_end = True
            break
        if line in (b"\n", b"\r\n"):
            break
        if bounds and line.startswith(b"--"):
            head.term = _boundary(line, bounds)
            if head.term is not None:
                head.at_end = True
                break
        raw = line[:-1] if line.endswith(b"\n") else line
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        head.last_break = line[len(raw):]
        if showing and raw.startswith(b"\r") and not (parsed and raw.strip(b"\r")):
            showing = False        # COMPAT: a line of CRs ends the header maildrop shows
            shown = (len(parsed), len(parsed[-1]) if parsed else 0)
        _fold(parsed, raw.decode("utf-8", "surrogateescape"), line[:1] in b" \t\r\v\f")
        taken += len(line)
        if taken > limits.MAX_HEADER_BYTES:
            break
    _shown_texts(head, parsed, None if showing else shown)
    for k, parts in enumerate(parsed):
        name, colon, value = "\n".join(parts).partition(":")
        name = name.strip(" \t\r\n\v\f").lower()
        if colon and name in _MIME_FIELDS:
            head.fields.append((k, name, value.replace("\n", " ")))
    head.parsed = len(parsed)
    return head


def _shown_texts(head: _Header, parsed: list[list[str]], cut: tuple[int, int] | None) -> None:
    """The headers as maildrop shows them: CRs removed, up to where cut says."""
    if cut is not None:
        count, lines = cut
        parsed = parsed[:count]
        if parsed:
            parsed[-1] = parsed[-1][:lines]
    for k, parts in enumerate(parsed):
        text = "\n".join(parts).replace("\r", "")
        if head.at_end and cut is None and k == len(parsed) - 1:
            head.texts.append(text.rstrip(" "))    # COMPAT: as maildrop shows it
        else:
            head.texts.append(text + "\n")


def _fold(headers: list[list[str]], text: str, continued: bool) -> None:
    if headers and continued:
        headers[-1].append(text)
    else:
        headers.append([text])


# MIME STRUCTURE


class _Kind:
    """What a section's header says about its content (charset: "" for the default)."""

    __slots__ = ("ctype", "params", "encoding", "charset")

    def __init__(self, ctype: str, params: dict[str, str], encoding: str, charset: str) -> None:
        self.ctype, self.params, self.encoding, self.charset = ctype, params, encoding, charset

    @property
    def is_text(self) -> bool:
        t = self.ctype
        return t.startswith("text/") or (t.startswith("message/") and t != "message/rfc822")

    @property
    def boundary(self) -> str | None:
        if self.ctype.startswith("multipart/"):
            return self.params.get("boundary")
        return None


def _kind(fields: list[tuple[str, str]], mime: bool, default: str,
          parent: _Kind | None = None) -> _Kind:
    """The section's kind; a part without a charset or a Content-Transfer-Encoding
    takes its multipart's (parent).

    The last Content-Type names the type, but the parameters of all of them
    count (later ones win); the last Content-Transfer-Encoding counts.
    """
    encodings = [value for name, value in fields if name == "content-transfer-encoding"]
    encoding = _words(encodings[-1]).lower() if encodings else ""
    if not encodings and parent is not None:
        encoding = parent.encoding
    inherited = parent.charset if parent is not None else ""
    types = [value for name, value in fields if name == "content-type"]
    if not mime:
        return _Kind("text/plain", {}, encoding, "")
    if not types:
        return _Kind(default, {}, encoding, inherited)
    params: dict[str, str] = {}
    for value in types:
        ctype, more = _content_type(value)
        params.update(more)
    return _Kind(ctype or "text/plain", params, encoding, params.get("charset") or inherited)


def _is_mime(fields: list[tuple[str, str]]) -> bool:
    """The last Mime-Version's first word reads as the number 1 (as C's atoi would)."""
    from pymaildrop import addr

    versions = [value for name, value in fields if name == "mime-version"]
    if not versions:
        return False
    for t in addr.tokenize(versions[-1]):
        if t.kind == "c":
            continue
        if t.kind not in ("a", "q"):
            return False
        digits = t.text.lstrip(" \t")
        sign = digits[:1] if digits[:1] in "+-" else ""
        digits = digits[len(sign):]
        number = digits[:len(digits) - len(digits.lstrip("0123456789"))]
        return bool(number) and int(sign + number) == 1
    return False


def _words(value: str) -> str:
    """The tokens of a structured value joined without spaces, comments dropped."""
    from pymaildrop import addr

    return "".join(t.text for t in addr.tokenize(value) if t.kind != "c")


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    """The type and the parameters of a Content-Type value.

    COMPAT: as maildrop reads it, a parameter is an atom, "=", and the tokens
    after it joined without spaces up to ";" or through the first quoted
    string (its raw text); comments and backslashes count for nothing.
    """
    from pymaildrop import addr

    groups: list[list[addr.Token]] = [[]]
    for t in addr.tokenize(value):
        if t.kind == ";":
            groups.append([])
        elif t.kind != "c":
            groups[-1].append(t)
    params: dict[str, str] = {}
    for group in groups[1:]:
        if len(group) < 2 or group[0].kind != "a" or group[1].kind != "=":
            continue
        parts: list[str] = []
        for t in group[2:]:
            parts.append(t.text)
            if t.kind in ("q", "u"):
                break
        params[group[0].text.lower()] = "".join(parts)
    return "".join(t.text for t in groups[0]).lower(), params


def _boundary(line: bytes, bounds: list[bytes]) -> _Term:
    """Which boundary (outermost first) line is, and whether it closes; None if none."""
    for index, b in enumerate(bounds):
        end = 2 + len(b)
        if line[2:end].lower() == b:
            return index, line[end:end + 2] == b"--"
    return None


class _Source:
    """The message's lines, without an unterminated last line (maildrop ignores it)."""

    def __init__(self, message: _Readable) -> None:
        lines = message.raw_lines()
        self._lines = _all_but_last(lines) if message.stored_size > message.size else lines

    def next(self) -> bytes | None:
        return next(self._lines, None)



def _all_but_last(lines: Iterator[bytes]) -> Iterator[bytes]:
    held = next(lines, None)
    for line in lines:
        assert held is not None
        yield held
        held = line


class _Want:
    """Which parts of the search text are wanted."""

    __slots__ = ("header", "body")

    def __init__(self, header: bool, body: bool) -> None:
        self.header, self.body = header, body


def _walk(message: _Readable, header: bool, body: bool) -> Iterator[_Chunk]:
    src = _Source(message)
    want = _Want(header, body)
    head = _read_header(src, [])
    yield from _header_chunks(head)
    if not head.at_end:
        kind = _kind(head.mime_fields(), _is_mime(head.mime_fields()), "text/plain")
        yield from _content(src, [], kind, want, trim=False, top=True)
    elif head.parsed and want.body:
        yield from _headers_only(head)


def _headers_only(head: _Header) -> Iterator[_Chunk]:
    """COMPAT: a message that is all header has, for maildrop, a body of one line break,
    read by the Content-Type and Content-Transfer-Encoding of every header but the
    last, with or without a Mime-Version (maildrop checks that at the empty line)."""
    kind = _kind(head.mime_fields(False), True, "text/plain")
    if kind.is_text or kind.ctype == "message/rfc822":
        codec = charset_codec(kind.charset) if kind.charset else "utf-8"
        if codec is None:
            raise _Stop
        decode = _decoder(kind.encoding, codec)
        text = decode.line(head.last_break) + decode.end()
        if text:
            yield "b", text


def _header_chunks(head: _Header) -> Iterator[_Chunk]:
    for text in head.texts:
        yield "h", canonical_header(text) + "\n"


def _section(src: _Source, bounds: list[bytes], want: _Want, parent: _Kind | None,
             default: str, trim: bool) -> _Walk:
    """A MIME part of parent, or (parent None) an attached message: header, then content."""
    head = _read_header(src, bounds)
    yield from _header_chunks(head)
    if head.at_end:
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
        codec = charset_codec(kind.charset) if kind.charset else "utf-8"
        if codec is None:
            raise _Stop            # COMPAT: maildrop stops at text it cannot convert
        return (yield from _text(src, bounds, _decoder(kind.encoding, codec), trim))
    if top and not want.body:
        return None                # nothing after this can be searched
    return _skip(src, bounds)


def _multipart(src: _Source, bounds: list[bytes], boundary: str, kind: _Kind,
               want: _Want) -> _Walk:
    """Parts up to the closing boundary; a boundary of an enclosing multipart ends them too."""
    mine = len(bounds)
    inner = bounds + [boundary.encode("utf-8", "surrogateescape").lower()]
    default = "message/rfc822" if kind.ctype == "multipart/digest" else "text/plain"
    term = _skip(src, inner)
    while term is not None and term[0] == mine and not term[1]:
        term = yield from _section(src, inner, want, kind, default, trim=True)
    if term is not None and term[0] == mine:
        term = _skip(src, bounds)
    return term


def _skip(src: _Source, bounds: list[bytes]) -> _Term:
    """Pass over lines up to a boundary line (returning which) or the end."""
    if not bounds:
        while src.next() is not None:
            pass
        return None
    while True:
        line = src.next()
        if line is None:
            return None
        if line.startswith(b"--"):
            term = _boundary(line, bounds)
            if term is not None:
                return term


_BATCH = 64 * 1024                 # bytes of text decoded at a time


def _text(src: _Source, bounds: list[bytes], decode: _Decoder, trim: bool) -> _Walk:
    """Decode a text section; before a boundary the last line break is not text."""
    batch: list[bytes] = []
    size = 0
    held: bytes | None = None
    term: _Term = None
    while True:
        line = src.next()
        if line is None:
            break
        if bounds and line.startswith(b"--"):
            term = _boundary(line, bounds)
            if term is not None:
                break
        if held is not None:
            data = decode.transfer(held)
            batch.append(data)
            size += len(data)
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

_B64_DELETE = bytes(c for c in range(256) if c not in _B64_VALUES and c != 0x3D)


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


def _decoder(encoding: str, codec: str | None) -> _Decoder:
    if encoding == "quoted-printable":
        return _Decoder(_qp_line, codec or "utf-8")
    if encoding == "base64":
        return _Decoder(_Base64().feed, codec or "utf-8")
    return _Decoder(_identity, codec or "utf-8")


def _qp_line(line: bytes) -> bytes:
    """Decode one line of quoted-printable.

    "=XY" is a byte; "=" followed by blanks or by the line's end is a soft line
    break (COMPAT: maildrop drops whatever follows the blank, too); a bad escape
    loses its "=" and, if one followed, its one hex digit.
    """
    if b"=" not in line:
        return line
    body, eol = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        eq = body.find(b"=", i)
        if eq < 0:
            out += body[i:]
            break
        out += body[i:eq]
        nxt = body[eq + 1] if eq + 1 < n else None
        if nxt is None or nxt in b" \t\r":
            return bytes(out)                  # a soft line break
        hi = _HEX.get(nxt)
        lo = _HEX.get(body[eq + 2]) if eq + 2 < n else None
        if hi is not None and lo is not None:
            out.append(hi * 16 + lo)
            i = eq + 3
        else:
            i = eq + (2 if hi is not None else 1)
    return bytes(out) + eol


class _Base64:
    """Streaming base64: stray characters ignored, "=" ends a group, partial groups dropped."""

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
