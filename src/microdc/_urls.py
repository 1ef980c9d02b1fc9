"""Request URLs under the client's base URL, without re-parsing the base each time.

``httpx.URL(text)`` validates and normalises every part of the URL: about 10 µs a
request, the largest single cost of building one (``benchmarks/``,
docs/performance.md). The base URL is the same for every request of a client, and the part
after it is a path the generated code has already percent-encoded and a query
``Querystring`` has already encoded. :class:`URLJoiner` parses the base once; for
each request it checks that the rest is made only of characters httpx would leave
as they are (and has no ``.``/``..`` segment) and, if so, puts it in place of the
base's path and query. Anything else — another host, a space, a dot segment — goes
through ``httpx.URL`` as before, so the result is always the URL httpx would build
(``tests/test_urls.py`` checks that for generated paths and queries).

The fast path sets httpx's parsed form directly; if a future httpx stores URLs
differently, :func:`_fast_path_supported` turns it off and every URL is parsed.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import httpx

__all__ = ["URLJoiner"]

_UNRESERVED = r"A-Za-z0-9\-._~"
# WHATWG's path percent-encode set leaves these printable characters as they are
# (all but space " # < > ? ` { }); the query set also leaves ? ` { }.
_PATH = re.compile(r"/[" + _UNRESERVED + r"!$%&'()*+,/:;=@\[\\\]^|]*")
_QUERY = re.compile(r"[" + _UNRESERVED + r"!$%&'()*+,/:;=?@\[\\\]^`{|}]*")
_MAX_LENGTH = 65536  # httpx's limit; longer URLs go to httpx, which explains the error


def _fast_path_supported() -> bool:
    try:
        probe = httpx.URL("http://example.test:8080/base/")
        reference: Any = probe._uri_reference  # pyright: ignore[reportPrivateUsage]
        moved = httpx.URL.__new__(httpx.URL)
        moved._uri_reference = reference._replace(path="/base/x", query="a=1")  # pyright: ignore[reportPrivateUsage]
        return str(moved) == "http://example.test:8080/base/x?a=1" and moved == httpx.URL(str(moved))
    except Exception:  # any change in httpx's internals: use the public parser
        return False


_FAST = _fast_path_supported()


class URLJoiner:
    """``join(path, query)``: the ``httpx.URL`` of ``path`` (and ``query``) under ``base_url``."""

    __slots__ = ("_base", "_base_path", "base_url", "netloc")

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        parsed = httpx.URL(self.base_url)
        # A base URL with a query or fragment keeps the general path.
        plain = _FAST and "?" not in self.base_url and "#" not in self.base_url
        self._base: Optional[Any] = parsed._uri_reference if plain else None  # pyright: ignore[reportPrivateUsage]
        self._base_path = parsed.raw_path.decode("ascii")
        self.netloc = parsed.netloc

    @staticmethod
    def is_absolute(path: str) -> bool:
        """Whether ``path`` is a full ``http(s)://`` URL (kept as it is) rather than one under the base."""
        return path.startswith(("http://", "https://"))

    def text(self, path: str, query: str = "") -> str:
        """The URL as text (a full ``http(s)://`` URL in ``path`` is kept as it is)."""
        url = path if self.is_absolute(path) else self.base_url + path.lstrip("/")
        if query:
            url += ("&" if "?" in url else "?") + query
        return url

    def join(self, path: str, query: str = "") -> httpx.URL:
        """``httpx.URL(self.text(path, query))``, without parsing the base URL again."""
        base = self._base
        if base is not None and not self.is_absolute(path) and "?" not in path:
            full_path = self._base_path + path.lstrip("/")
            if (
                len(full_path) + len(query) < _MAX_LENGTH - 256
                and "/." not in full_path
                and _PATH.fullmatch(full_path) is not None
                and (not query or _QUERY.fullmatch(query) is not None)
            ):
                url = httpx.URL.__new__(httpx.URL)
                url._uri_reference = base._replace(path=full_path, query=query or None)  # pyright: ignore[reportPrivateUsage]
                return url
        return httpx.URL(self.text(path, query))
