"""The base of every generated resource: binds the client's verbs to one endpoint group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Type, Mapping, TypeVar, Optional, cast

from ._types import FileTypes, RequestOptions
from ._request_builder import FinalRequestOptions

if TYPE_CHECKING:
    from ._streaming import AsyncStream
    from .pagination import BaseAsyncPage, AsyncPaginator
    from ._base_client import BaseClient

__all__ = ["AsyncAPIResource"]

_T = TypeVar("_T")
_ItemT = TypeVar("_ItemT")
_StreamT = TypeVar("_StreamT", bound="AsyncStream[Any]")
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")


class AsyncAPIResource:
    """``client.jobs``, ``client.files``, ...: methods that call the API through ``client``.

    Generated methods pass their ``**options`` dict through unchanged as ``options``.
    """

    _client: BaseClient

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    async def _get(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
        stream: bool = False,
        stream_cls: Optional[Type[Any]] = None,
    ) -> _T:
        final = FinalRequestOptions.build("GET", path, options, query=query)
        return await self._client.request(cast_to, final, stream=stream, stream_cls=stream_cls)

    async def _get_stream(
        self,
        path: str,
        *,
        item_type: object,
        stream_cls: Type[_StreamT],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
    ) -> _StreamT:
        """GET an event stream: ``stream_cls`` (e.g. ``AsyncStream[JobEvent]``) over items of ``item_type``."""
        final = FinalRequestOptions.build("GET", path, options, query=query)
        return await self._client.request(cast("Type[_StreamT]", item_type), final, stream=True, stream_cls=stream_cls)

    async def _post(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        options: RequestOptions,
        body: Optional[object] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
    ) -> _T:
        final = FinalRequestOptions.build("POST", path, options, body=body, files=files)
        return await self._client.request(cast_to, final)

    async def _delete(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        options: RequestOptions,
        body: Optional[object] = None,
    ) -> _T:
        final = FinalRequestOptions.build("DELETE", path, options, body=body)
        return await self._client.request(cast_to, final)

    def _get_api_list(
        self,
        path: str,
        *,
        page: Type[_PageT],
        options: RequestOptions,
        model: Type[_ItemT],  # noqa: ARG002 - types the paginator's items
        query: Optional[Mapping[str, object]] = None,
    ) -> AsyncPaginator[_ItemT, _PageT]:
        """``model`` is the item type; it only types the paginator (the page type parses)."""
        from .pagination import AsyncPaginator

        final = FinalRequestOptions.build("GET", path, options, query=query)
        return AsyncPaginator(client=self._client, page_cls=page, options=final)
