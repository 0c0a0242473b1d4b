"""The message being delivered: its bytes, held once, and cheap views of them.

Contract: Message.read_from(stream) takes the whole message once; small ones
    stay in memory, larger ones go to a private, already-unlinked spool file.
    `size` and `lines` are maildrop's SIZE and LINES; chunks() yields the
    stored form (the bytes as received, with a final newline added when the
    last line lacks one), which every delivery backend writes.  Header views
    (header_value(), header_first_line()) stream over the header lines.
Safety: the spool file is created with O_EXCL in a private directory and
    unlinked at once, so no other user can open or replace it.
Errors: OSError while spooling becomes TempFail (the message is still in the
    MTA's queue; nothing has been delivered yet).
See also: maildrop(1) "TEMPORARY FILES"; mime.py (the canonical text that
    patterns search); deliver/ (the writers).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO, cast

from pymaildrop import limits
from pymaildrop.errors import TempFail

_CHUNK = 64 * 1024


class Message:
    """One message: immutable bytes in memory or in an unlinked spool file."""

    def __init__(self, data: bytes | None = None, *, spool: BinaryIO | None = None,
                 size: int = 0, lines: int = 0, prefix: bytes = b"") -> None:
        if (data is None) == (spool is None):
            raise ValueError("give either data or spool")
        self._data = data
        self._spool = spool
        self._prefix = prefix            # -A headers, put before the received bytes
        self._body_size = len(data) if data is not None else size
        self._lines = data.count(b"\n") if data is not None else lines
        self._last = self._last_byte()

    # CONSTRUCTION

    @classmethod
    def from_bytes(cls, data: bytes) -> Message:
        """Make a message held in memory."""
        return cls(bytes(data))

    @classmethod
    def read_from(cls, stream: BinaryIO, *, spool_dir: str | None = None,
                  memory_limit: int = limits.MAX_MESSAGE_IN_MEMORY) -> Message:
        """Read a whole message from stream, spooling it when it is large."""
        buf = bytearray()
        try:
            while len(buf) <= memory_limit:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    return cls(bytes(buf))
                buf += chunk
            return cls._spool_rest(buf, stream, spool_dir)
        except OSError as exc:
            raise TempFail(f"cannot read the message: {exc.strerror or exc}") from exc

    @classmethod
    def _spool_rest(cls, head: bytearray, stream: BinaryIO, spool_dir: str | None) -> Message:
        import tempfile

        # SECURITY: TemporaryFile opens with O_EXCL (or O_TMPFILE) and unlinks at once.
        try:
            spool = tempfile.TemporaryFile(dir=spool_dir)
        except OSError as exc:
            raise TempFail(f"cannot create a spool file in {spool_dir or tempfile.gettempdir()}: "
                           f"{exc.strerror or exc}") from exc
        size, lines, last = 0, 0, b""
        chunk: bytes = bytes(head)
        while chunk:
            spool.write(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            chunk = stream.read(_CHUNK)
        spool.flush()
        msg = cls(spool=spool, size=size, lines=lines)
        msg._last = last
        return msg

    def with_prefix(self, headers: list[bytes]) -> Message:
        """Return this message with header lines (each ending in a newline) put first."""
        prefix = b"".join(headers)
        clone = Message.__new__(Message)
        clone.__dict__.update(self.__dict__)
        clone._prefix = prefix + self._prefix
        if self._body_size == 0 and not self._prefix:
            clone._last = prefix[-1:]
        return clone

    def close(self) -> None:
        """Release the spool file, if any."""
        if self._spool is not None:
            self._spool.close()

    # SIZES

    @property
    def size(self) -> int:
        """SIZE: the bytes received plus any -A headers."""
        return len(self._prefix) + self._body_size

    @property
    def lines(self) -> int:
        """LINES: newline characters in the received bytes (not in -A headers)."""
        return self._lines

    @property
    def is_empty(self) -> bool:
        """True for a message with no bytes at all (maildrop delivers nothing)."""
        return self.size == 0

    @property
    def stored_size(self) -> int:
        """Bytes that a delivery writes: the message plus a missing final newline."""
        return self.size + (0 if self._ends_with_newline() else 1) if self.size else 0

    def _ends_with_newline(self) -> bool:
        return self._last == b"\n"

    def _last_byte(self) -> bytes:
        if self._data is not None:
            return self._data[-1:]
        return b""

    # CONTENT

    def chunks(self) -> Iterator[bytes]:
        """Yield the stored form in pieces: the bytes plus a final newline if missing."""
        if self.size == 0:
            return
        if self._prefix:
            yield self._prefix
        if self._data is not None:
            if self._data:
                yield self._data
        else:
            yield from self._spool_chunks()
        if not self._ends_with_newline():
            yield b"\n"

    def _spool_chunks(self, start: int = 0) -> Iterator[bytes]:
        assert self._spool is not None
        pos = start
        while True:
            self._spool.seek(pos)
            chunk = self._spool.read(_CHUNK)
            if not chunk:
                return
            pos += len(chunk)
            yield chunk

    def raw_bytes(self) -> bytes:
        """Return the stored form as one bytes object (avoid for large messages)."""
        return b"".join(self.chunks())

    def raw_lines(self) -> Iterator[bytes]:
        """Yield the lines of the stored form, each ending in b"\\n".

        A line longer than a chunk is gathered piece by piece and joined once,
        so a 20 MB line costs one copy, not one per chunk.
        """
        pieces: list[bytes] = []
        for chunk in self.chunks():
            start = 0
            while True:
                nl = chunk.find(b"\n", start)
                if nl < 0:
                    break
                if pieces:
                    pieces.append(chunk[start:nl + 1])
                    yield b"".join(pieces)
                    pieces.clear()
                else:
                    yield chunk[start:nl + 1]
                start = nl + 1
            if start < len(chunk):
                pieces.append(chunk[start:])
        if pieces:
            yield b"".join(pieces) + b"\n"

    def open(self) -> BinaryIO:
        """Return a fresh readable stream over the stored form (for commands' stdin)."""
        if self._data is not None or self.size < limits.MAX_MESSAGE_IN_MEMORY:
            return io.BytesIO(self.raw_bytes())
        return cast(BinaryIO, io.BufferedReader(_ChunkReader(self.chunks())))

    def fileno_for_stdin(self) -> int | None:
        """Return a file descriptor with the stored form at offset 0, when one exists.

        Only a spooled message without -A headers and with a final newline has one;
        callers fall back to feeding open() through a pipe.
        """
        if self._spool is None or self._prefix or not self._ends_with_newline():
            return None
        fd = os.dup(self._spool.fileno())
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    # HEADER

    def _header_raw_lines(self) -> Iterator[bytes]:
        """The header's physical lines (with their ends), read as they come.

        The header ends at the first empty line, or at the end of the message,
        or (against hostile input) after limits.MAX_HEADER_BYTES.
        """
        taken = 0
        for line in self.raw_lines():
            if line in (b"\n", b"\r\n") or taken > limits.MAX_HEADER_BYTES:
                return
            taken += len(line)
            yield line

    def header_lines(self) -> list[bytes]:
        """Return the header as unfolded lines (CR LF and LF stripped).

        A continuation line is joined to the line before it with one space.
        This holds the whole header: for one field use header_value().
        """
        return _unfold(list(self._header_raw_lines()))

    def header_value(self, name: str) -> str | None:
        """Return the (unfolded, stripped) value of the first header called name.

        Streams: only the field being looked at is held, whatever the header's size.
        """
        want = name.lower().encode("ascii") + b":"
        found: list[bytes] | None = None
        for line in self._header_raw_lines():
            line = line.rstrip(b"\n").rstrip(b"\r")
            if found is not None:
                if line[:1] in (b" ", b"\t"):
                    found.append(line)
                    continue
                break
            if line[: len(want)].lower() == want:
                found = [line[len(want):]]
        if found is None:
            return None
        return b" ".join(found).strip().decode("utf-8", "replace")

    def header_first_line(self, name: str) -> str | None:
        """Return the first physical line of the first header called name (no unfolding)."""
        want = name.lower().encode("ascii") + b":"
        for line in self._header_raw_lines():
            if line[: len(want)].lower() == want:
                return line[len(want):].rstrip(b"\r\n").strip().decode("utf-8", "surrogateescape")
        return None


def _unfold(raw: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for line in raw:
        line = line.rstrip(b"\n").rstrip(b"\r")
        if out and line[:1] in (b" ", b"\t"):
            out[-1] = out[-1] + b" " + line
        else:
            out.append(line)
    return out


class _ChunkReader(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n
