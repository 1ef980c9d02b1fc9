"""How a call becomes an ``httpx.Request``: the generic :class:`BaseClient`.

URL joining against a base URL that may carry a path, headers in a fixed order
(defaults, platform, auth, the caller's, then per attempt: idempotency key, retry
count, read timeout), query strings, and JSON or multipart bodies. Sending, retrying
and parsing are :class:`~microdc._base_client.AsyncAPIClient`'s.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, Union, Generic, Mapping, TypeVar, Optional

import httpx

from ._qs import Querystring
from ._logs import redact_url
from ._types import Timeout, NotGiven
from ._platform import platform_headers
from ._streaming import AsyncStream
from ._request_options import FinalRequestOptions, merge_headers, timeout_extension

if TYPE_CHECKING:
    from ._files import MultipartBody

__all__ = ["BaseClient"]

# Methods whose request httpx gives `Content-Length: 0` when there is no body.
_LENGTH_REQUIRED = frozenset({"POST", "PUT", "PATCH"})

_HttpxClientT = TypeVar("_HttpxClientT", bound=httpx.AsyncClient)
_DefaultStreamT = TypeVar("_DefaultStreamT", bound=AsyncStream[Any])


class BaseClient(Generic[_HttpxClientT, _DefaultStreamT]):
    """How calls become requests: URL, headers, query string and body."""

    max_retries: int
    timeout: Timeout
    _strict_response_validation: bool

    def __init__(
        self,
        *,
        base_url: Union[str, httpx.URL],
        timeout: Timeout,
        max_retries: int,
        custom_headers: Optional[Mapping[str, Any]] = None,
        custom_query: Optional[Mapping[str, object]] = None,
        _strict_response_validation: bool = False,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        base = str(base_url)
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {redact_url(base)!r}")
        self._base_url = base if base.endswith("/") else base + "/"
        self.timeout = timeout
        self.max_retries = max_retries
        self._custom_headers: Mapping[str, Any] = custom_headers or {}
        self._custom_query: Mapping[str, object] = custom_query or {}
        self._strict_response_validation = _strict_response_validation
        self._querystring = Querystring(array_format="comma")
        self._timeout_ext = timeout_extension(timeout)
        self._headers_cache: Optional[Dict[str, str]] = None
        self._bodiless_cache: Optional[Dict[str, str]] = None

    @property
    def base_url(self) -> httpx.URL:
        return httpx.URL(self._base_url)

    @property
    def auth_headers(self) -> Dict[str, str]:
        return {}

    @property
    def default_headers(self) -> Dict[str, str]:
        """Headers of every request, in order: defaults, platform, auth, the caller's."""
        if self._headers_cache is None:
            headers = {"Accept": "application/json", "Content-Type": "application/json"}
            headers.update(platform_headers())
            headers.update(self.auth_headers)
            self._headers_cache = merge_headers(headers, self._custom_headers)
        return self._headers_cache

    @property
    def _bodiless_headers(self) -> Dict[str, str]:
        """``default_headers`` without ``Content-Type``, for requests that send no body.

        Every header costs httpx and h11 a few microseconds per request; one that
        describes a body that is not there is pure cost.
        """
        if self._bodiless_cache is None:
            self._bodiless_cache = {k: v for k, v in self.default_headers.items() if k.lower() != "content-type"}
        return self._bodiless_cache

    @property
    def default_query(self) -> Mapping[str, object]:
        return self._custom_query

    def _prepare_url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self._base_url + path.lstrip("/")

    def _build_request(
        self,
        options: FinalRequestOptions,
        retries_taken: int,
        content: Optional[bytes],
        multipart: Optional[MultipartBody],
    ) -> httpx.Request:
        headers = dict(self.default_headers if content is not None or multipart is not None else self._bodiless_headers)
        if options.headers:
            merge_headers(headers, options.headers)
        if options.idempotency_key is not None:
            headers["Idempotency-Key"] = options.idempotency_key
        headers["x-stainless-retry-count"] = str(retries_taken)
        timeout = options.timeout
        if isinstance(timeout, NotGiven):
            timeout, extension = self.timeout, self._timeout_ext
        else:
            extension = timeout_extension(timeout)
        read = extension.get("read")
        if read is not None:
            headers["x-stainless-read-timeout"] = str(read)
        url = self._prepare_url(options.url)
        params = options.params
        if self._custom_query:
            params = {**self._custom_query, **params} if params else self._custom_query
        if params:
            query = self._querystring.stringify(params)
            if query:
                url += ("&" if "?" in url else "?") + query
        if multipart is not None:
            headers.pop("Content-Type", None)
            headers["Content-Type"] = multipart.content_type
            length = multipart.content_length()
            if length is not None:
                headers["Content-Length"] = str(length)
            # `content=`, not `stream=`: httpx adds the Host header (and chunked encoding when
            # the length is unknown) only for content.
            return httpx.Request(
                options.method, url, headers=headers, content=multipart, extensions={"timeout": extension}
            )
        # `stream=` with Host and Content-Length set here: for `content=`, httpx re-normalises
        # every header a second time to add those two (about half the cost of the request
        # object; see the README's Performance section).
        target = httpx.URL(url)
        if not (options.headers and any(name.lower() == "host" for name in options.headers)):
            headers = {"Host": target.netloc.decode("ascii"), **headers}
        if content:
            headers["Content-Length"] = str(len(content))
        elif options.method.upper() in _LENGTH_REQUIRED:
            headers["Content-Length"] = "0"
        request = httpx.Request(
            options.method,
            target,
            headers=headers,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": extension},
        )
        request.read()  # a bytes body: `request.content` is there, as for `content=`
        return request

    async def _prepare_options(self, options: FinalRequestOptions) -> FinalRequestOptions:
        """Hook: adjust a call's options before anything is sent (called once per call)."""
        return options

    def _prepare_request(self, request: httpx.Request) -> None:
        """Hook: adjust each attempt's request just before it is sent."""

    def _idempotency_key(self) -> str:
        return f"stainless-python-retry-{uuid.uuid4()}"
