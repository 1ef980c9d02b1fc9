"""What one call asks for (:class:`FinalRequestOptions`) and how it becomes an ``httpx.Request``.

Options are a plain ``__slots__`` object, not a pydantic model: they are built on
every call, so they must cost next to nothing. The response mode (parsed, raw or
streamed) is not an option at all but a typed context variable set by the
``with_raw_response``/``with_streaming_response`` wrappers (see ``_response.py``).
"""

from __future__ import annotations

from typing import Dict, List, Tuple, Union, Mapping, Optional, cast

import httpx
import pydantic_core

from ._qs import Querystring
from ._spec import IDEMPOTENCY_KEY_MAX_LENGTH
from ._files import UploadFile, MultipartBody, to_upload_file
from ._types import Omit, Timeout, NotGiven, FileTypes, RequestOptions, MutationRequestOptions

__all__ = ["FinalRequestOptions", "check_request_options", "merge_headers"]


class FinalRequestOptions:
    """Everything needed to send one call, before per-attempt headers are added."""

    __slots__ = (
        "extra_json",
        "files",
        "follow_redirects",
        "headers",
        "idempotency_key",
        "json_data",
        "max_retries",
        "method",
        "params",
        "timeout",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        *,
        params: Optional[Mapping[str, object]] = None,
        headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        json_data: Optional[object] = None,
        extra_json: Optional[object] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        max_retries: Union[int, NotGiven] = NotGiven(),
        timeout: Union[Timeout, NotGiven] = NotGiven(),
        idempotency_key: Optional[str] = None,
        follow_redirects: Optional[bool] = None,
    ) -> None:
        self.method = method
        self.url = url
        self.params = params
        self.headers = headers
        self.json_data = json_data
        self.extra_json = extra_json
        self.files: Optional[List[Tuple[str, UploadFile]]] = (
            [(name, to_upload_file(value)) for name, value in files.items()] if files else None
        )
        self.max_retries = max_retries
        self.timeout = timeout
        self.idempotency_key = idempotency_key
        self.follow_redirects = follow_redirects

    @classmethod
    def build(
        cls,
        method: str,
        url: str,
        options: RequestOptions,
        *,
        query: Optional[Mapping[str, object]] = None,
        body: Optional[object] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
    ) -> FinalRequestOptions:
        """Options for a call from its arguments and its ``**options``."""
        if options:
            check_request_options(method, options)
        extra_query = options.get("extra_query")
        if extra_query:
            query = {**query, **extra_query} if query else extra_query
        return cls(
            method,
            url,
            params=query,
            headers=options.get("extra_headers"),
            json_data=body,
            extra_json=options.get("extra_body"),
            files=files,
            max_retries=options.get("max_retries", NotGiven()),
            timeout=options.get("timeout", NotGiven()),
            idempotency_key=cast(MutationRequestOptions, options).get("idempotency_key"),
        )

    def copy_with_params(self, params: Mapping[str, object]) -> FinalRequestOptions:
        """These options for another page: the same call with ``params`` merged in."""
        clone = FinalRequestOptions.__new__(FinalRequestOptions)
        for slot in FinalRequestOptions.__slots__:
            setattr(clone, slot, getattr(self, slot))
        clone.params = {**self.params, **params} if self.params else dict(params)
        clone.idempotency_key = None
        return clone

    def with_headers(self, headers: Mapping[str, str]) -> FinalRequestOptions:
        """These options with ``headers`` added (e.g. ``Last-Event-ID`` to resume a stream)."""
        clone = self.copy_with_params({}) if self.params else self._clone()
        clone.headers = {**self.headers, **headers} if self.headers else dict(headers)
        return clone

    def _clone(self) -> FinalRequestOptions:
        clone = FinalRequestOptions.__new__(FinalRequestOptions)
        for slot in FinalRequestOptions.__slots__:
            setattr(clone, slot, getattr(self, slot))
        return clone

    def body(self) -> Tuple[Optional[bytes], Optional[MultipartBody]]:
        """The encoded body: JSON bytes, or a multipart stream when there are files."""
        data = self.json_data
        extra = self.extra_json
        if extra is not None:
            if data is None:
                data = extra
            elif isinstance(data, Mapping) and isinstance(extra, Mapping):
                data = {**cast(Mapping[str, object], data), **cast(Mapping[str, object], extra)}
        if self.files:
            fields = dict(cast(Mapping[str, object], data)) if isinstance(data, Mapping) else {}
            return None, MultipartBody(fields, self.files)
        if data is None:
            return None, None
        return pydantic_core.to_json(data), None

    def query_string(self, querystring: Querystring) -> str:
        return querystring.stringify(self.params) if self.params else ""


_OPTION_NAMES = RequestOptions.__required_keys__ | RequestOptions.__optional_keys__
_MUTATION_OPTION_NAMES = MutationRequestOptions.__required_keys__ | MutationRequestOptions.__optional_keys__
MAX_IDEMPOTENCY_KEY_LENGTH = IDEMPOTENCY_KEY_MAX_LENGTH


def check_request_options(method: str, options: Mapping[str, object]) -> None:
    """Raise ``TypeError``/``ValueError`` for a request option that is unknown or of the wrong kind.

    A method's ``**options`` would otherwise swallow a misspelt argument
    (``max_token=5``) and send the request without it.
    """
    allowed = _MUTATION_OPTION_NAMES if method in ("POST", "DELETE") else _OPTION_NAMES
    unknown = [name for name in options if name not in allowed]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise TypeError(
            f"Unexpected keyword argument {names}; besides its own parameters, this method takes only "
            f"the request options {', '.join(sorted(allowed))}"
        )
    timeout = options.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, httpx.Timeout, NotGiven, type(None))):
        raise TypeError(f"`timeout` must be seconds, an httpx.Timeout or None, got {type(timeout).__name__}")
    if "max_retries" in options:
        retries = options["max_retries"]
        if isinstance(retries, bool) or not isinstance(retries, (int, NotGiven)):
            raise TypeError(f"`max_retries` must be an int, got {type(retries).__name__}")
        if isinstance(retries, int) and retries < 0:
            raise ValueError(f"`max_retries` must be 0 or more, got {retries}")
    for name in ("extra_headers", "extra_query"):
        value = options.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"`{name}` must be a mapping, got {type(value).__name__}")
    key = options.get("idempotency_key")
    if key is not None:
        if not isinstance(key, str):
            raise TypeError(f"`idempotency_key` must be a string, got {type(key).__name__}")
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ValueError(f"`idempotency_key` must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters, got {len(key)}")


def merge_headers(base: Dict[str, str], extra: Optional[Mapping[str, Union[str, Omit]]]) -> Dict[str, str]:
    """``base`` updated with ``extra``, names compared case-insensitively; ``omit`` removes.

    ``base`` is modified and returned (callers pass their own copy).
    """
    if not extra:
        return base
    lowered = {name.lower(): name for name in base}
    for name, value in extra.items():
        existing = lowered.get(name.lower())
        if existing is not None:
            del base[existing]
        if not isinstance(value, (Omit, NotGiven)):
            base[name] = value
            lowered[name.lower()] = name
    return base


def timeout_extension(timeout: Timeout) -> Dict[str, Optional[float]]:
    """The ``timeout`` request extension httpx reads for one request."""
    if isinstance(timeout, httpx.Timeout):
        return timeout.as_dict()
    return httpx.Timeout(timeout).as_dict()
