"""The event-stream decoder (``microdc._sse``): WHATWG framing, any chunking, linear in an event's size."""

from __future__ import annotations

import re
import itertools
from typing import Any, List, Tuple, Optional, AsyncIterator

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from microdc import AsyncStream
from microdc._sse import SSEDecoder, ServerSentEvent


def decode(*chunks: bytes) -> List[ServerSentEvent]:
    decoder = SSEDecoder()
    events: List[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def summary(events: List[ServerSentEvent]) -> List[Tuple[Optional[str], str, Optional[str], Optional[int]]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def test_single_event() -> None:
    assert summary(decode(b"event: job.status\nid: 1\ndata: {}\n\n")) == [("job.status", "{}", "1", None)]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert [e.data for e in decode(b"data: first\ndata: second\ndata:\ndata: fourth\n\n")] == [
        "first\nsecond\n\nfourth"
    ]


def test_only_one_leading_space_is_removed() -> None:
    assert [e.data for e in decode(b"data:no-space\n\ndata:  two\n\n")] == ["no-space", " two"]


def test_field_without_colon_has_an_empty_value() -> None:
    assert [e.data for e in decode(b"data\ndata\n\n")] == ["\n"]


def test_id_persists_until_replaced() -> None:
    events = decode(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", "2"]


def test_empty_id_resets_it() -> None:
    events = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [e.id for e in events] == ["1", ""]


def test_id_with_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_event_name_does_not_persist() -> None:
    events = decode(b"event: job.status\ndata: a\n\ndata: b\n\n")
    assert [e.event for e in events] == ["job.status", None]


def test_retry_field_is_read() -> None:
    events = decode(b"retry: 1500\ndata: a\n\n")
    assert [e.retry for e in events] == [1500]


@pytest.mark.parametrize("value", [b"soon", b"1.5", b"-1", b"\xc2\xb2", b"\xd9\xa3"])
def test_retry_field_that_is_not_ascii_digits_is_ignored(value: bytes) -> None:
    events = decode(b"retry: " + value + b"\ndata: a\n\n")
    assert [e.retry for e in events] == [None]


def test_comments_are_ignored() -> None:
    events = decode(b": keep-alive\n\n:another\ndata: a\n: inside\n\n")
    assert [e.data for e in events] == ["a"]


def test_unknown_fields_are_ignored() -> None:
    assert [e.data for e in decode(b"foo: bar\ndata: a\n\n")] == ["a"]


def test_block_without_data_is_not_dispatched() -> None:
    assert decode(b"event: job.status\n\nid: 7\n\n") == []


def test_block_without_data_does_not_leak_its_event_name() -> None:
    events = decode(b"event: ping\n\ndata: a\n\n")
    assert [(e.event, e.data) for e in events] == [(None, "a")]


STREAM = (
    b": hello\n"
    b"retry: 3000\n"
    b'event: job.status\nid: 1\ndata: {"status": "running"}\n\n'
    b'event: job.output.delta\nid: 2\ndata: {"delta": "h\xc3\xa9"}\ndata: {}\n\n'
    b'event: job.completed\nid: 3\ndata: {"status": "completed"}\n\n'
)
EXPECTED = [
    ("job.status", '{"status": "running"}', "1", 3000),
    ("job.output.delta", '{"delta": "hé"}\n{}', "2", 3000),
    ("job.completed", '{"status": "completed"}', "3", 3000),
]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    assert summary(decode(STREAM.replace(b"\n", newline))) == EXPECTED


def test_mixed_line_endings() -> None:
    assert [e.data for e in decode(b"data: a\r\ndata: b\rdata: c\n\r\n")] == ["a\nb\nc"]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_split_at_every_boundary(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    for cut in range(len(stream) + 1):
        assert summary(decode(stream[:cut], stream[cut:])) == EXPECTED, f"split at byte {cut}"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_split_into_single_bytes(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    assert summary(decode(*(stream[i : i + 1] for i in range(len(stream))))) == EXPECTED


def test_crlf_split_by_an_empty_chunk() -> None:
    assert [e.data for e in decode(b"data: a\r", b"", b"\ndata: b\r\n\r\n")] == ["a\nb"]


def test_unterminated_last_event_is_dropped() -> None:
    events = decode(b"data: a\n\ndata: b\n")
    assert [e.data for e in events] == ["a"]


def test_unterminated_last_line_is_dropped() -> None:
    assert [e.data for e in decode(b"data: a\n\ndata: b")] == ["a"]


def test_byte_order_mark_is_skipped() -> None:
    events = decode(b"\xef\xbb\xbfid: 1\ndata: a\n\n")
    assert summary(events) == [(None, "a", "1", None)]


def test_byte_order_mark_split_across_chunks_is_skipped() -> None:
    stream = b"\xef\xbb\xbfid: 1\ndata: a\n\n"
    for cut in range(1, 4):
        assert summary(decode(stream[:cut], stream[cut:])) == [(None, "a", "1", None)], f"split at byte {cut}"


def test_byte_order_mark_later_in_the_stream_is_data() -> None:
    events = decode(b"data: a\n\n", b"data: \xef\xbb\xbfb\n\n")
    assert [e.data for e in events] == ["a", "\ufeffb"]


def test_utf8_character_split_across_chunks() -> None:
    stream = "data: ☕ café\n\n".encode()
    for cut in range(len(stream) + 1):
        assert [e.data for e in decode(stream[:cut], stream[cut:])] == ["☕ café"]


def test_last_event_id_is_that_of_the_last_complete_event() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"\n")
    assert decoder.last_event_id == "2"


def test_discarded_partial_event_keeps_the_last_complete_id() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b")
    decoder.discard_partial_event()
    assert decoder.last_event_id == "1"
    events = decoder.feed(b"data: c\n\n")
    assert summary(events) == [(None, "c", "1", None)]


def test_server_sent_event_json() -> None:
    (event,) = decode(b'data: {"a": [1, 2]}\n\n')
    assert event.json() == {"a": [1, 2]}


def test_a_line_that_spans_many_chunks_is_decoded_whole() -> None:
    decoder = SSEDecoder()
    chunks = [b"data: ", *[b"x" * 1000] * 4096, b"\n"]
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    assert events == []
    (event,) = decoder.feed(b"\n")
    assert event.data == "x" * 4_096_000


def test_a_line_break_inside_data_text_is_only_a_character() -> None:
    # U+2028 (LINE SEPARATOR) and U+0085 (NEXT LINE) end lines for str.splitlines, not for an event stream.
    (event,) = decode("data: a\u2028b\u0085c\n\n".encode())
    assert event.data == "a\u2028b\u0085c"


def test_invalid_utf8_is_replaced_not_raised() -> None:
    (event,) = decode(b"data: a\xff\xfeb\n\n")
    assert event.data == "a\ufffd\ufffdb"


# ---------------------------------------------------------------- any chunking, the same events

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=12)
_FIELD_LINES = st.one_of(
    st.tuples(st.just("data"), _TEXT),
    st.tuples(st.just("event"), _TEXT),
    st.tuples(st.just("id"), _TEXT),
    st.tuples(st.just("retry"), st.integers(0, 10**6).map(str) | _TEXT),
    st.tuples(st.just(""), _TEXT),  # a comment
    st.tuples(st.sampled_from(["dat", "Data", "x-other"]), _TEXT),  # fields to ignore
)
_NEWLINES = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    """A stream of blocks of field lines, each line with its own line end and colon spacing."""
    out = "\ufeff" if draw(st.booleans()) else ""
    for _ in range(draw(st.integers(0, 5))):
        for name, value in draw(st.lists(_FIELD_LINES, max_size=5)):
            colon = draw(st.sampled_from([":", ": ", ":  "])) if name or draw(st.booleans()) else ":"
            out += (name + colon + value if value or draw(st.booleans()) else name) + draw(_NEWLINES)
        out += draw(_NEWLINES)
    if draw(st.booleans()):
        out += "data: never finished"
    return out.encode()


def reference_decode(stream: bytes) -> List[Tuple[Optional[str], str, Optional[str], Optional[int]]]:
    """The WHATWG algorithm on the whole text at once: the oracle for the incremental decoder."""
    text = stream.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = re.split("\r\n|\r|\n", text)[:-1]  # what follows the last line end is unfinished
    events: List[Tuple[Optional[str], str, Optional[str], Optional[int]]] = []
    data: List[str] = []
    event: Optional[str] = None
    last_id: Optional[str] = None
    retry: Optional[int] = None
    for line in lines:
        if not line:
            if data:
                events.append((event, "\n".join(data), last_id, retry))
            data, event = [], None
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        value = value[1:] if colon and value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return events


@settings(max_examples=300, deadline=None)
@given(stream=event_streams(), data=st.data())
def test_any_chunking_yields_the_events_of_one_chunk(stream: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts"))
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[start:end] for start, end in itertools.pairwise(bounds)]
    whole = summary(decode(stream))
    assert summary(decode(*chunks)) == whole
    assert whole == reference_decode(stream)


def test_data_stays_bytes_until_read_as_text() -> None:
    (event,) = decode('data: {"a": "é"}\ndata: 2\n\n'.encode())
    assert event.raw_data == '{"a": "é"}\n2'.encode()
    assert event.data == '{"a": "é"}\n2'


async def test_stream_parses_data_whose_bytes_are_not_utf8_as_the_replaced_text() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'data: {"delta": "a\xffb"}\n\n'

    stream: AsyncStream[Any] = AsyncStream(cast_to=object, response=httpx.Response(200, content=body()))
    items = [item async for item in stream]
    assert items == [{"event": None, "id": None, "data": {"delta": "a\ufffdb"}}]
