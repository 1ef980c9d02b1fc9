"""What openai-python's ``tests/test_qs.py`` pins, as this SDK's client puts queries and form
fields on the wire (over both transports; the encoder itself: ``tests/test_qs.py``).

openai-python's default writes lists as repeated keys (``in=foo&in=bar``); the MicroDC
API reads them comma-separated (``in=foo,bar``), and that is what the client sends.
Multipart bodies use the brackets form (``array[]``), as openai-python's do. Its
``nested_format="dots"`` and ``array_format="indices"`` options have no counterpart.
"""

from __future__ import annotations

from typing import List, Mapping
from urllib.parse import unquote

import pytest

from .._wire import ok, wired


async def sent_queries(transport: str, *queries: Mapping[str, object]) -> List[str]:
    async with wired(transport, ok()) as (client, server):
        for query in queries:
            await client.get("/foo", cast_to=object, query=query)
    return [unquote(request.target) for request in server.requests]


async def test_an_empty_mapping_sends_no_query(transport: str) -> None:
    assert await sent_queries(transport, {}, {"a": {}}, {"a": {"b": {"c": {}}}}) == ["/foo"] * 3


async def test_scalars_are_sent_as_their_text_and_none_is_left_out(transport: str) -> None:
    query = {"a": 1, "b": "b", "c": True, "d": False, "e": 1.23456, "f": None}
    assert await sent_queries(transport, query) == ["/foo?a=1&b=b&c=true&d=false&e=1.23456"]


async def test_nested_mappings_are_sent_as_bracketed_keys(transport: str) -> None:
    queries = (
        {"a": {"b": "c"}},
        {"a": {"b": "c", "d": "e", "f": "g"}},
        {"a": {"b": {"c": {"d": "e"}}}},
        {"a": {"b": True}},
    )
    assert await sent_queries(transport, *queries) == [
        "/foo?a[b]=c",
        "/foo?a[b]=c&a[d]=e&a[f]=g",
        "/foo?a[b][c][d]=e",
        "/foo?a[b]=true",
    ]


async def test_lists_are_comma_separated_without_their_none_items(transport: str) -> None:
    queries = ({"in": ["foo", "bar"]}, {"a": {"b": [True, False]}}, {"a": {"b": [True, False, None, True]}})
    assert await sent_queries(transport, *queries) == [
        "/foo?in=foo,bar",
        "/foo?a[b]=true,false",
        "/foo?a[b]=true,false,true",
    ]


async def test_a_mapping_inside_a_list_is_sent_as_bracketed_keys(transport: str) -> None:
    query = {"in": ["foo", {"b": {"c": ["d", "e"]}}]}
    assert await sent_queries(transport, query) == ["/foo?in=foo&in[b][c]=d,e"]


async def test_the_issues_example_sends_no_python_repr(transport: str) -> None:
    query = {"a": {"b": "c"}, "e": {}, "in": ["foo", None, True]}
    assert await sent_queries(transport, query) == ["/foo?a[b]=c&in=foo,true"]


def _parts(body: bytes) -> List[tuple[str, bytes]]:
    """The (name, value) of each form part of a multipart body."""
    parts: List[tuple[str, bytes]] = []
    for chunk in body.split(b"\r\n--")[:-1]:
        head, _, value = chunk.partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        parts.append((name, value))
    return parts


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"array": ["foo", "bar"]}, [("array[]", b"foo"), ("array[]", b"bar")]),
        ({"a": {"b": "c", "d": [1, None, True]}}, [("a[b]", b"c"), ("a[d][]", b"1"), ("a[d][]", b"true")]),
    ],
)
async def test_multipart_fields_send_lists_as_repeated_bracket_parts_and_mappings_as_bracketed_names(
    transport: str, fields: Mapping[str, object], expected: List[tuple[str, bytes]]
) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.post("/upload", cast_to=object, body=fields, files={"file": b"x"})
    assert _parts(server.requests[0].body)[: len(expected)] == expected
