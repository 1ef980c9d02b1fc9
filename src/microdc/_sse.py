"""The event-stream decoder: bytes in, :class:`ServerSentEvent` objects out.

:class:`SSEDecoder` follows the WHATWG event-stream rules: ``\\n``, ``\\r`` and
``\\r\\n`` line ends (also split across chunks), a UTF-8 byte order mark at the
start (also split), multi-line ``data``, ``id`` that persists until replaced (one
holding NUL is ignored), ``retry``, comments, unknown fields ignored, a block without
``data`` lines dispatching nothing, and an unterminated last event that is dropped.
Text is UTF-8, invalid bytes replaced.

Its work is linear in the size of the stream, however the bytes are chunked: each
chunk is scanned once for line ends, and the pieces of a line that spans chunks are
kept as they came until it ends, then joined once; nothing already received is
joined or split again. An event's data stays bytes (what the JSON parser reads
fastest) and becomes text only when asked (:attr:`ServerSentEvent.data`). A
``job.completed`` event carrying a 32 MiB Job arrives in hundreds of chunks; the
decoder's part of it costs a fraction of ``json.loads`` of the same bytes
(``benchmarks/sse_decode.py``).

:class:`~microdc._streaming.AsyncStream` feeds it and parses each event's data.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"
_LINE_ENDS = (b"\n", b"\r")


class ServerSentEvent:
    """One decoded event: its ``event`` name, ``data``, ``id`` and ``retry``.

    ``raw_data`` is the data as received (UTF-8 bytes, lines joined with ``\\n``);
    ``data`` is it as text, decoded on first use.
    """

    __slots__ = ("_text", "event", "id", "raw_data", "retry")

    def __init__(self, *, event: Optional[str], data: bytes, id: Optional[str], retry: Optional[int]) -> None:
        self.event = event
        self.raw_data = data
        self.id = id
        self.retry = retry
        self._text: Optional[str] = None

    @property
    def data(self) -> str:
        """The data as text (invalid UTF-8 replaced, as the event-stream format says)."""
        text = self._text
        if text is None:
            text = self._text = self.raw_data.decode("utf-8", errors="replace")
        return text

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, retry={self.retry!r})"


class SSEDecoder:
    """Turns the bytes of an event stream, chunk by chunk, into events."""

    __slots__ = ("_data", "_event", "_id", "_last_id", "_partial", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._partial: List[bytes] = []
        """The pieces of an unfinished line, as they came."""
        self._skip_lf = False
        self._started = False
        self._data: List[bytes] = []
        self._event: Optional[str] = None
        self._id: Optional[str] = None
        self._last_id: Optional[str] = None
        self._retry: Optional[int] = None

    @property
    def last_event_id(self) -> Optional[str]:
        """The id as of the last complete event: what a reconnection sends as ``Last-Event-ID``."""
        return self._last_id

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        """Decode ``chunk``; return the events it completed."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]  # the "\n" of a "\r\n" split between two chunks
                if not chunk:
                    return []
        if not self._started:
            chunk = self._skip_byte_order_mark(chunk)
            if not chunk:
                return []
        lines = chunk.splitlines(keepends=True)
        tail = b""
        if not lines[-1].endswith(_LINE_ENDS):
            tail = lines.pop()
            if not lines:
                # The middle of a long line: keep the piece, look at nothing already received.
                self._partial.append(tail)
                return []
        elif chunk.endswith(b"\r"):
            self._skip_lf = True  # a "\n" opening the next chunk completes this "\r\n"
        events: List[ServerSentEvent] = []
        if self._partial:
            # The first line ends a line begun in earlier chunks.
            self._partial.append(lines[0])
            event = self._pieces(self._partial)
            self._partial = []
            if event is not None:
                events.append(event)
            del lines[0]
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        if tail:
            self._partial.append(tail)
        return events

    def discard_partial_event(self) -> None:
        """Forget a half-received event (after a dropped connection); keep the last complete event's id.

        What follows is a new response, which may open with a byte order mark again.
        """
        self._partial = []
        self._skip_lf = False
        self._started = False
        self._data = []
        self._event = None
        self._id = self._last_id

    def _skip_byte_order_mark(self, chunk: bytes) -> bytes:
        """``chunk`` without a UTF-8 byte order mark opening the stream (which may arrive a byte at a time)."""
        opening = b"".join(self._partial) + chunk
        if _BOM.startswith(opening):
            self._partial = [opening]  # at most two bytes: a mark, or not, so far
            return b""
        self._partial = []
        self._started = True
        return opening[len(_BOM) :] if opening.startswith(_BOM) else opening

    def _line(self, line: bytes) -> Optional[ServerSentEvent]:
        """One whole line, its line end included."""
        content = line.rstrip(b"\r\n")
        if not content:
            return self._dispatch()
        if content[:1] == b":":
            return None  # a comment
        name, _, value = content.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", errors="replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", errors="replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
            self._retry = int(value)
        return None

    def _pieces(self, pieces: List[bytes]) -> Optional[ServerSentEvent]:
        """A line that came in several chunks (a large event's data), joined once, value only.

        The first piece holds the field name (the pieces are never empty, and the last
        one holds the line end), so a ``data`` value is the one copy the join makes. Any
        other field that long (a name or an ``id`` of many KiB) is joined whole instead.
        """
        first = pieces[0]
        if first[:1] == b":":
            return None  # a long comment: nothing to join
        if not first.startswith(b"data:") or len(first) == len(b"data:"):
            return self._line(b"".join(pieces))  # not data, or what follows the colon is in the next piece
        pieces[0] = first[6:] if first[5:6] == b" " else first[5:]
        pieces[-1] = pieces[-1].rstrip(b"\r\n")
        self._data.append(b"".join(pieces))
        return None

    def _dispatch(self) -> Optional[ServerSentEvent]:
        # The id becomes the one to resume from only once its event is complete.
        self._last_id = self._id
        if not self._data:
            # A block without data lines is no event (and its name does not carry over).
            self._event = None
            return None
        event = ServerSentEvent(event=self._event, data=b"\n".join(self._data), id=self._id, retry=self._retry)
        self._data = []
        self._event = None
        return event
