"""``AsyncMicroDC``: the client users construct.

Its resources (``jobs``, ``files``, ``models``) and the ``with_raw_response`` /
``with_streaming_response`` views come from the generated base class in
``_client_resources.py``; this module adds configuration: the API key and base URL
(with their environment fallbacks), auth, and ``copy()`` / ``with_options()``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Dict, Union, Mapping, Optional

import httpx
from typing_extensions import Self, override

from ._logs import setup_logging
from ._retry import RetryPolicy
from ._types import NOT_GIVEN, Omit, Timeout, NotGiven
from ._timeouts import effective_timeout
from ._constants import ENV_API_KEY, ENV_BASE_URL
from ._exceptions import MicroDCError
from ._client_resources import AsyncMicroDCResources

if TYPE_CHECKING:
    from ._hooks import HooksArg
    from ._rate_limit import RateLimit

__all__ = ["AsyncMicroDC"]


class AsyncMicroDC(AsyncMicroDCResources):
    """The async client of the MicroDC job API.

    ::

        async with AsyncMicroDC() as client:  # reads MICRODC_API_KEY and MICRODC_BASE_URL
            job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
    """

    api_key: str

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Union[str, httpx.URL, None] = None,
        timeout: Union[Timeout, NotGiven] = NOT_GIVEN,
        max_retries: Union[int, NotGiven] = NOT_GIVEN,
        retry: Optional[RetryPolicy] = None,
        default_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        default_query: Optional[Mapping[str, object]] = None,
        http_client: Optional[httpx.AsyncClient] = None,
        hooks: Optional[HooksArg] = None,
        rate_limit: Optional[RateLimit] = None,
        _strict_response_validation: bool = False,
    ) -> None:
        """Create a client.

        Args:
          api_key: defaults to the ``MICRODC_API_KEY`` environment variable.
          base_url: the service's origin, e.g. ``http://127.0.0.1:8000``; defaults to
            ``MICRODC_BASE_URL``.
          timeout: seconds or an ``httpx.Timeout``; ``None`` disables it. Default: the
            ``http_client``'s own timeout when you pass one, else 60 s (5 s to connect).
          max_retries: retries after the first attempt (default 3); overrides the
            count of ``retry``.
          retry: a ``microdc.RetryPolicy``: count, backoff, jitter, a deadline per
            call and a ``retry_if`` override (default ``RetryPolicy()``).
          default_headers: headers for every request (``omit`` removes a default one).
          default_query: query parameters for every request.
          http_client: your own ``httpx.AsyncClient`` (e.g. ``DefaultAioHttpClient()``);
            you remain its owner, so ``close()`` leaves it open.
          hooks: callbacks around every request (``on_request``, ``on_response``,
            ``on_retry``, ``on_error``): an object with any of them, e.g.
            ``microdc.lib.metrics.Metrics()``, or a list of such objects.
          rate_limit: a ``microdc.RateLimit`` every request waits for; shared with
            this client's copies.
          _strict_response_validation: raise ``APIResponseValidationError`` for an
            answer that does not match the schema instead of keeping it leniently.
        """
        setup_logging()
        if api_key is None:
            api_key = os.environ.get(ENV_API_KEY)
        elif not isinstance(api_key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"api_key must be a str, got {type(api_key).__name__}")
        if not api_key:
            raise MicroDCError(
                f"No API key: pass `api_key=` to AsyncMicroDC(...) or set the {ENV_API_KEY} environment variable."
            )
        if base_url is None:
            base_url = os.environ.get(ENV_BASE_URL) or None
        if base_url is None:
            raise MicroDCError(
                f"No base URL: pass `base_url=` to AsyncMicroDC(...) (e.g. 'http://127.0.0.1:8000') "
                f"or set the {ENV_BASE_URL} environment variable."
            )
        self.api_key = api_key
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            retry=_policy(retry, max_retries),
            http_client=http_client,
            custom_headers=default_headers,
            custom_query=default_query,
            hooks=hooks,
            rate_limit=rate_limit,
            _strict_response_validation=_strict_response_validation,
        )

    @property
    @override
    def auth_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def copy(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Union[str, httpx.URL, None] = None,
        timeout: Union[Timeout, NotGiven] = NOT_GIVEN,
        http_client: Optional[httpx.AsyncClient] = None,
        max_retries: Union[int, NotGiven] = NOT_GIVEN,
        retry: Optional[RetryPolicy] = None,
        default_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        set_default_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        default_query: Optional[Mapping[str, object]] = None,
        set_default_query: Optional[Mapping[str, object]] = None,
        hooks: Union[HooksArg, NotGiven, None] = NOT_GIVEN,
        rate_limit: Union[RateLimit, NotGiven, None] = NOT_GIVEN,
    ) -> Self:
        """A new client with some options changed, sharing this one's connection pool.

        ``default_headers``/``default_query`` are merged into this client's;
        ``set_default_headers``/``set_default_query`` replace them. Passing
        ``http_client`` gives the copy its own pool (and, unless this client was given
        ``timeout=``, that client's own timeout). ``retry`` replaces the retry
        policy and ``max_retries`` its count. ``hooks`` and ``rate_limit`` are this
        client's unless given (``None`` turns them off for the copy).
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError("Pass `default_headers` or `set_default_headers`, not both")
        if default_query is not None and set_default_query is not None:
            raise ValueError("Pass `default_query` or `set_default_query`, not both")
        headers: Mapping[str, Union[str, Omit]] = dict(self._custom_headers)
        if default_headers is not None:
            headers = {**headers, **default_headers}
        elif set_default_headers is not None:
            headers = set_default_headers
        query: Mapping[str, object] = dict(self._custom_query)
        if default_query is not None:
            query = {**query, **default_query}
        elif set_default_query is not None:
            query = set_default_query
        clone = type(self)(
            api_key=api_key or self.api_key,
            base_url=base_url or self._base_url,
            timeout=self._copy_timeout(timeout, http_client),
            max_retries=max_retries,
            retry=self.retry_policy if retry is None else retry,
            default_headers=headers,
            default_query=query,
            http_client=http_client,
            hooks=self._hooks if isinstance(hooks, NotGiven) else hooks,
            rate_limit=self._rate_limit if isinstance(rate_limit, NotGiven) else rate_limit,
            _strict_response_validation=self._strict_response_validation,
        )
        if http_client is None:
            clone._pool = self._pool  # copies share the connection pool (its own is never opened)
        if isinstance(timeout, NotGiven):
            clone._timeout_option = self._timeout_option  # a timeout from the http_client stays one
        return clone

    def _copy_timeout(self, timeout: Union[Timeout, NotGiven], http_client: Optional[httpx.AsyncClient]) -> Timeout:
        """A copy's timeout: the one given, else this client's own ``timeout=``, else its http client's."""
        if not isinstance(timeout, NotGiven):
            return timeout
        if not isinstance(self._timeout_option, NotGiven):
            return self._timeout_option
        return effective_timeout(NOT_GIVEN, http_client) if http_client is not None else self.timeout

    with_options = copy

    def __repr__(self) -> str:
        # Never the API key.
        return f"<AsyncMicroDC base_url={self._base_url!r} max_retries={self.max_retries}>"


def _policy(retry: Optional[RetryPolicy], max_retries: Union[int, NotGiven]) -> RetryPolicy:
    """The client's policy: ``retry`` (default ``RetryPolicy()``) with ``max_retries`` as its count when given."""
    if retry is None:
        retry = RetryPolicy()
    elif not isinstance(retry, RetryPolicy):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"retry must be a microdc.RetryPolicy, got {type(retry).__name__}")
    if isinstance(max_retries, NotGiven):
        return retry
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"max_retries must be an int, got {type(max_retries).__name__}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
    return retry.with_max_retries(max_retries)
