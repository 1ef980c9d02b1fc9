"""The base of every generated resource: binds the client's one call path to an endpoint group.

A generated method hands its path, the spec's path template, its arguments and its
``**options`` to :meth:`AsyncAPIResource._request` (``_get_events`` for an event
stream, ``_get_api_list`` for a list); those add how the resource answers
(:data:`~microdc._request_builder.ResponseMode`) and send through the client's
``_call``, the same path ``client.get(...)`` and the other raw verbs take.

The ``with_raw_response``/``with_streaming_response`` views wrap the methods of a
copy made by :func:`with_response_mode`: the mode is a typed attribute of that copy,
not an argument anyone can pass.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Type, Mapping, TypeVar, Optional, cast

from ._types import FileTypes, RequestOptions
from ._request_builder import ResponseMode

if TYPE_CHECKING:
    from ._streaming import AsyncStream
    from .pagination import BaseAsyncPage, AsyncPaginator
    from ._base_client import BaseClient

__all__ = ["AsyncAPIResource", "with_response_mode"]

_T = TypeVar("_T")
_ItemT = TypeVar("_ItemT")
_StreamT = TypeVar("_StreamT", bound="AsyncStream[Any]")
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")
_ResourceT = TypeVar("_ResourceT", bound="AsyncAPIResource")


class AsyncAPIResource:
    """``client.jobs``, ``client.files``, ...: methods that call the API through ``client``.

    Generated methods pass their ``**options`` dict through unchanged as ``options``.
    """

    _client: BaseClient
    _response_mode: ResponseMode

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self._response_mode = "parsed"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        path_template: Optional[str] = None,
        cast_to: Type[_T],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
        body: Optional[object] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
    ) -> _T:
        return await self._client._call(  # pyright: ignore[reportPrivateUsage]
            method,
            path,
            cast_to=cast_to,
            options=options,
            query=query,
            body=body,
            files=files,
            path_template=path_template,
            response_mode=self._response_mode,
        )

    async def _get_events(
        self,
        path: str,
        *,
        path_template: Optional[str] = None,
        item_type: object,
        sse_cls: Type[_StreamT],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
    ) -> _StreamT:
        """GET an event stream: ``sse_cls`` (e.g. ``AsyncStream[JobEvent]``) over items of ``item_type``."""
        return await self._client._call(  # pyright: ignore[reportPrivateUsage]
            "GET",
            path,
            cast_to=cast("Type[_StreamT]", item_type),
            options=options,
            query=query,
            path_template=path_template,
            response_mode=self._response_mode,
            sse_cls=sse_cls,
        )

    def _get_api_list(
        self,
        path: str,
        *,
        path_template: Optional[str] = None,
        page: Type[_PageT],
        options: RequestOptions,
        model: Type[_ItemT],  # noqa: ARG002 - types the paginator's items
        query: Optional[Mapping[str, object]] = None,
    ) -> AsyncPaginator[_ItemT, _PageT]:
        """``model`` is the item type; it only types the paginator (the page type parses)."""
        return self._client._paginate(  # pyright: ignore[reportPrivateUsage]
            path,
            page=page,
            options=options,
            query=query,
            path_template=path_template,
            response_mode=self._response_mode,
        )


def with_response_mode(resource: _ResourceT, mode: ResponseMode) -> _ResourceT:
    """A copy of ``resource`` whose calls answer in ``mode`` (what the raw/streaming views wrap)."""
    answering = copy.copy(resource)
    answering._response_mode = mode  # pyright: ignore[reportPrivateUsage]
    return answering
