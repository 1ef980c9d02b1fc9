"""`URLJoiner` builds exactly the URL `httpx.URL` would, with or without its fast path."""

from __future__ import annotations

from typing import Optional

import httpx
import pytest
from hypothesis import given, example, settings, strategies as st

from microdc import _urls
from microdc._urls import URLJoiner

BASES = ["http://127.0.0.1:4010", "https://api.example.test/", "http://[::1]:8080/prefix/v2", "http://h/a%20b/"]
_ALPHABET = st.characters(codec="utf-8")
paths = st.one_of(
    st.text(alphabet=st.sampled_from("abcXYZ019-._~/%!$&'()*+,;=:@[]^|\\ \"#<>?`{}"), max_size=40),
    st.text(alphabet=_ALPHABET, max_size=20),
    st.sampled_from(["/api/v1/jobs/job_1", "/a/./b", "/a/../../b", "//x", "/%41%zz", "/.well-known", "http://o/x?y"]),
)
queries = st.one_of(st.just(""), st.text(alphabet=st.sampled_from('ab=&%2C+._~-?/`{}# <>"\t'), max_size=30))


def _httpx_url(text: str) -> Optional[httpx.URL]:
    try:
        return httpx.URL(text)
    except httpx.InvalidURL:
        return None


def _joined(joiner: URLJoiner, path: str, query: str) -> Optional[httpx.URL]:
    try:
        return joiner.join(path, query)
    except httpx.InvalidURL:
        return None


@settings(max_examples=400, deadline=None)
@given(base=st.sampled_from(BASES), path=paths, query=queries)
@example(base=BASES[0], path="/api/v1/jobs", query="limit=100&after=job_9")
@example(base=BASES[2], path="files/f_1/content", query="token=t%2Fx")
def test_join_is_the_url_httpx_parses_from_the_text(base: str, path: str, query: str) -> None:
    joiner = URLJoiner(base)
    expected = _httpx_url(joiner.text(path, query))
    joined = _joined(joiner, path, query)
    assert (None if joined is None else str(joined)) == (None if expected is None else str(expected))
    if joined is not None and expected is not None:
        assert joined == expected
        assert (joined.raw_path, joined.host, joined.port, joined.scheme) == (
            expected.raw_path,
            expected.host,
            expected.port,
            expected.scheme,
        )


def test_the_fast_path_is_on_with_the_installed_httpx() -> None:
    assert _urls._FAST  # pyright: ignore[reportPrivateUsage]
    joiner = URLJoiner("http://127.0.0.1:4010")
    assert joiner._base is not None  # pyright: ignore[reportPrivateUsage]


def test_without_the_fast_path_every_url_is_parsed_by_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_urls, "_FAST", False)
    joiner = URLJoiner("http://127.0.0.1:4010/v1")
    assert joiner._base is None  # pyright: ignore[reportPrivateUsage]
    assert str(joiner.join("/jobs/a b", "x=1")) == "http://127.0.0.1:4010/v1/jobs/a%20b?x=1"


def test_a_full_url_in_the_path_is_kept_as_it_is() -> None:
    joiner = URLJoiner("http://127.0.0.1:4010/v1/")
    assert str(joiner.join("https://files.example.test/d?token=abc", "x=1")) == (
        "https://files.example.test/d?token=abc&x=1"
    )
