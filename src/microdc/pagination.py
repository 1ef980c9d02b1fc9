"""Pages of list results, and the paginator that walks them.

``client.jobs.list(...)`` returns an :class:`AsyncPaginator` without sending anything:

* ``page = await client.jobs.list()`` fetches the first :class:`AsyncCursorPage`;
  ``page.has_next_page()``, ``await page.get_next_page()``, ``page.iter_pages()``;
* ``async for job in client.jobs.list():`` yields every item, fetching one page at a
  time as the loop reaches it.

A page that comes back empty but still carries a cursor does not end the walk; a
cursor the API already returned raises ``APIError`` rather than looping forever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Type, Generic, TypeVar, Optional, Generator, AsyncIterator, cast

import httpx
from pydantic import PrivateAttr

from ._models import BaseModel
from ._exceptions import APIError

if TYPE_CHECKING:
    from ._base_client import BaseClient
    from ._request_builder import FinalRequestOptions

__all__ = ["AsyncCursorPage", "AsyncPage", "AsyncPaginator", "BaseAsyncPage"]

_T = TypeVar("_T")
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")


class BaseAsyncPage(BaseModel, Generic[_T]):
    """One page of results; ``data`` holds the items."""

    data: List[_T]

    _client: Optional[BaseClient] = PrivateAttr(default=None)
    _options: Optional[FinalRequestOptions] = PrivateAttr(default=None)
    _http_request: Optional[httpx.Request] = PrivateAttr(default=None)

    def next_page_params(self) -> Optional[Dict[str, object]]:
        """The query parameters of the next page, or ``None`` on the last page."""
        return None

    def has_next_page(self) -> bool:
        """Whether another page follows this one (a plain method: it sends nothing)."""
        return self.next_page_params() is not None

    async def get_next_page(self: _PageT) -> _PageT:
        """Fetch the page after this one (``has_next_page()`` must be true)."""
        params = self.next_page_params()
        if params is None:
            raise RuntimeError("There is no next page; check `has_next_page()` before calling `get_next_page()`.")
        client, options = self._client, self._options
        if client is None or options is None:
            raise RuntimeError("This page was not fetched by a client, so it cannot fetch the next one.")
        return await client._request_page(type(self), options.copy_with_params(params))  # pyright: ignore[reportPrivateUsage]

    async def iter_pages(self: _PageT) -> AsyncIterator[_PageT]:
        """This page and every page after it (a cursor seen twice raises ``APIError``)."""
        page = self
        seen: set[str] = set()
        while True:
            yield page
            params = page.next_page_params()
            if params is None:
                return
            key = repr(sorted(params.items()))
            if key in seen:
                request = page._http_request or httpx.Request("GET", "http://localhost/")
                raise APIError(
                    f"The API returned the same cursor twice ({params}); stopping instead of looping forever.",
                    request,
                    body=None,
                )
            seen.add(key)
            page = await page.get_next_page()


class AsyncCursorPage(BaseAsyncPage[_T], Generic[_T]):
    """A page of a cursor-paginated list: ``data``, ``has_more`` and ``next_cursor``."""

    has_more: bool = False
    next_cursor: Optional[str] = None

    def next_page_params(self) -> Optional[Dict[str, object]]:
        if self.has_more is True and self.next_cursor:
            return {"after": self.next_cursor}
        return None


class AsyncPage(BaseAsyncPage[_T], Generic[_T]):
    """A list that comes back whole, in one page (``models.list()``)."""


class AsyncPaginator(Generic[_T, _PageT]):
    """Awaitable for the first page; async-iterable over every item of every page."""

    __slots__ = ("_client", "_options", "_page_cls")

    def __init__(self, *, client: BaseClient, page_cls: Type[_PageT], options: FinalRequestOptions) -> None:
        self._client = client
        self._page_cls = page_cls
        self._options = options

    def __await__(self) -> Generator[Any, None, _PageT]:
        return self._first_page().__await__()

    async def _first_page(self) -> _PageT:
        return await self._client._request_page(self._page_cls, self._options)  # pyright: ignore[reportPrivateUsage]

    async def __aiter__(self) -> AsyncIterator[_T]:
        page = await self._first_page()
        async for each in page.iter_pages():
            for item in each.data:
                yield cast(_T, item)
