"""What one call asks for, and how each of its attempts becomes an ``httpx.Request``.

The one module for request building, between ``BaseClient.request`` (which makes
the options) and the sender (which sends what :class:`RequestBuilder` builds):

* :class:`FinalRequestOptions` is the call plan: method, path (and the spec's path
  template), query, headers, body, per-request options, and how the answer is
  wanted: ``response_mode`` (parsed, raw or unread; set by the resource views behind
  ``with_raw_response``/``with_streaming_response``, never by a keyword), ``cast_to``,
  ``sse_cls`` (the event-stream class of an SSE answer) and ``read_body`` (whether an
  attempt reads the whole body before it returns). A plain ``__slots__`` object, not
  a pydantic model: one is built on every call, so it must cost next to nothing.
* :class:`RequestBuilder` joins the URL against the base URL, puts headers in a
  fixed order (defaults, platform, auth, the caller's, then per attempt:
  idempotency key, retry count, read timeout), encodes the query string and the
  JSON or multipart body.
"""

from __future__ import annotations

import uuid
from typing import Any, Set, Dict, List, Type, Tuple, Union, Mapping, Optional, cast

import httpx
import pydantic_core
from typing_extensions import Literal, TypeAlias

from ._qs import Querystring
from ._logs import redact_url
from ._spec import IDEMPOTENCY_KEY_MAX_LENGTH
from ._urls import URLJoiner
from ._files import UploadFile, StreamedBody, ContentStream, MultipartBody, to_upload_file
from ._types import Omit, Timeout, NotGiven, FileTypes, RequestContent, RequestOptions, MutationRequestOptions
from ._platform import platform_headers
from ._timeouts import timeout_extension

__all__ = [
    "MUTATION_METHODS",
    "READ_TIMEOUT_HEADER",
    "RETRY_COUNT_HEADER",
    "FinalRequestOptions",
    "RequestBuilder",
    "ResponseMode",
    "SecretRequest",
    "SecretURL",
    "accept_encoding",
    "check_request_options",
    "merge_headers",
]

ResponseMode: TypeAlias = Literal["parsed", "raw", "unread"]
"""How a call wants its answer: the parsed SDK object (the default), the raw
``AsyncAPIResponse`` read whole (``with_raw_response``), or an ``AsyncAPIResponse``
that reads nothing until asked (``with_streaming_response``)."""

RETRY_COUNT_HEADER = "x-stainless-retry-count"
"""Sent on each attempt: how many retries came before it (a caller may set or omit it)."""
READ_TIMEOUT_HEADER = "x-stainless-read-timeout"
"""Sent on each attempt with a read timeout: its seconds (a caller may set or omit it)."""

MUTATION_METHODS = frozenset({"POST", "DELETE"})
"""The methods that change state: they take ``idempotency_key`` and always send an ``Idempotency-Key``."""

MAX_IDEMPOTENCY_KEY_LENGTH = IDEMPOTENCY_KEY_MAX_LENGTH

# Methods whose request httpx gives `Content-Length: 0` when there is no body.
_LENGTH_REQUIRED = frozenset({"POST", "PUT", "PATCH"})


class FinalRequestOptions:
    """The plan of one call: what to send, and how the answer is wanted."""

    __slots__ = (
        "cast_to",
        "content",
        "extra_json",
        "files",
        "headers",
        "idempotency_key",
        "json_data",
        "max_retries",
        "method",
        "params",
        "path_template",
        "read_body",
        "response_mode",
        "sse_cls",
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
        response_mode: ResponseMode = "parsed",
        cast_to: Type[Any] = object,
        sse_cls: Optional[Type[Any]] = None,
        read_body: bool = True,
        path_template: Optional[str] = None,
        content: Optional[RequestContent] = None,
    ) -> None:
        self.method = method
        self.url = url
        # The operation's path as the spec writes it (`/api/v1/jobs/{job_id}`); a raw verb's own path.
        self.path_template = url if path_template is None else path_template
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
        self.response_mode: ResponseMode = response_mode
        self.cast_to: Type[Any] = cast_to
        self.sse_cls = sse_cls  # the stream class (`AsyncStream[JobEvent]`) an event-stream answer becomes
        # An SSE answer is read event by event, an unread one by the caller: neither is read here.
        self.read_body = read_body and sse_cls is None and response_mode != "unread"
        self.content = content

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
        content: Optional[RequestContent] = None,
        path_template: Optional[str] = None,
        response_mode: ResponseMode = "parsed",
        sse_cls: Optional[Type[Any]] = None,
        read_body: bool = True,
    ) -> FinalRequestOptions:
        """Options for a call from its arguments and its ``**options``."""
        if content is not None or _is_raw(body):
            check_content(body, files, content)
        if not options:
            return cls(
                method,
                url,
                params=query,
                json_data=body,
                files=files,
                content=content,
                path_template=path_template,
                response_mode=response_mode,
                sse_cls=sse_cls,
                read_body=read_body,
            )
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
            path_template=path_template,
            response_mode=response_mode,
            sse_cls=sse_cls,
            read_body=read_body,
            content=content,
        )

    def _clone(self) -> FinalRequestOptions:
        clone = FinalRequestOptions.__new__(FinalRequestOptions)
        for slot in FinalRequestOptions.__slots__:
            setattr(clone, slot, getattr(self, slot))
        return clone

    def copy_with_params(self, params: Mapping[str, object]) -> FinalRequestOptions:
        """These options for another page: the same call with ``params`` merged in, answer parsed."""
        clone = self._clone()
        clone.params = {**self.params, **params} if self.params else dict(params)
        clone.idempotency_key = None
        clone.response_mode = "parsed"
        clone.read_body = True
        return clone

    def with_headers(self, headers: Mapping[str, str]) -> FinalRequestOptions:
        """These options with ``headers`` added (e.g. ``Last-Event-ID`` to resume a stream)."""
        clone = self._clone()
        clone.headers = {**self.headers, **headers} if self.headers else dict(headers)
        return clone

    def body(self) -> Tuple[Optional[bytes], Optional[StreamedBody]]:
        """The encoded body: JSON or raw bytes, or a stream (multipart when there are files)."""
        content = self.content
        if content is not None:
            if isinstance(content, (bytes, bytearray, memoryview)):
                return bytes(content), None
            return None, ContentStream(content)
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


_OPTION_NAMES = RequestOptions.__required_keys__ | RequestOptions.__optional_keys__
_MUTATION_OPTION_NAMES = MutationRequestOptions.__required_keys__ | MutationRequestOptions.__optional_keys__


def check_request_options(method: str, options: Mapping[str, object]) -> None:
    """Raise ``TypeError``/``ValueError`` for a request option that is unknown or of the wrong kind.

    A method's ``**options`` would otherwise swallow a misspelt argument
    (``max_token=5``) and send the request without it.
    """
    allowed = _MUTATION_OPTION_NAMES if method in MUTATION_METHODS else _OPTION_NAMES
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


def check_content(body: object, files: object, content: object) -> None:
    """Raise ``TypeError`` unless the call has one kind of body, and ``content`` is bytes or an async iterable."""
    if content is None:
        raise TypeError("`body` is sent as JSON; pass raw bytes as `content=` (with a Content-Type in extra_headers)")
    if body is not None or files:
        raise TypeError(
            "Pass one kind of body: `body` (JSON), `files` (multipart) or `content` (raw bytes), not several"
        )
    if not _is_raw(content) and not hasattr(content, "__aiter__"):
        hint = "; encode text to bytes" if isinstance(content, str) else ""
        raise TypeError(f"`content` must be bytes or an async iterable of bytes, got {type(content).__name__}{hint}")


def _is_raw(value: object) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


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


def accept_encoding() -> str:
    """The ``Accept-Encoding`` to send: gzip and deflate, plus br and zstd when httpx can decode them.

    httpx decodes ``br`` only with ``brotli``/``brotlicffi`` installed and ``zstd`` only
    with ``zstandard``; it lists what it can decode in ``httpx._decoders.SUPPORTED_DECODERS``
    (private, so read defensively: without it we offer only what httpx always decodes).
    """
    try:
        from httpx import _decoders

        supported: Mapping[str, object] = _decoders.SUPPORTED_DECODERS
    except (ImportError, AttributeError):  # pragma: no cover - a future httpx without the table
        return "gzip, deflate"
    encodings = ["gzip", "deflate"] + [name for name in ("br", "zstd") if name in supported]
    return ", ".join(encodings)


class RequestBuilder:
    """Builds each attempt's ``httpx.Request`` for a client; built once per client, read per attempt."""

    __slots__ = (
        "_bodiless_headers",
        "_custom_query",
        "_header_cache",
        "_headers",
        "_querystring",
        "_sets_read_timeout",
        "_sets_retry_count",
        "_timeout_ext",
        "_urls",
        "timeout",
    )

    def __init__(
        self,
        *,
        base_url: str,
        timeout: Timeout,
        headers: Dict[str, str],
        custom_query: Mapping[str, object],
        custom_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
    ) -> None:
        self._urls = _joiner(base_url)
        self.timeout = timeout
        self._timeout_ext = timeout_extension(timeout)
        self._headers = headers
        # Every header costs httpx and h11 a few microseconds per request; one that
        # describes a body that is not there is pure cost.
        self._bodiless_headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        self._custom_query = custom_query
        # A per-attempt header the client's `default_headers` set (or omit) is the client's, not ours.
        fixed = {name.lower() for name in custom_headers or ()}
        self._sets_retry_count = RETRY_COUNT_HEADER not in fixed
        self._sets_read_timeout = READ_TIMEOUT_HEADER not in fixed
        self._header_cache: Dict[Tuple[bool, Optional[float]], httpx.Headers] = {}
        self._querystring = Querystring(array_format="comma")

    @staticmethod
    def default_headers(auth: Mapping[str, str], custom: Optional[Mapping[str, Union[str, Omit]]]) -> Dict[str, str]:
        """Headers of every request, in order: defaults, platform, auth, the caller's."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Accept-Encoding": _ACCEPT_ENCODING,
        }
        headers.update(platform_headers())
        headers.update(auth)
        return merge_headers(headers, custom)

    @property
    def base_url(self) -> str:
        return self._urls.base_url

    @property
    def headers(self) -> Dict[str, str]:
        """A copy: the client's headers are fixed when it is made (``with_options`` makes another)."""
        return dict(self._headers)

    def set_base_url(self, base_url: str) -> None:
        """Join later requests to ``base_url`` (``client.base_url = ...``)."""
        self._urls = _joiner(base_url)
        self._header_cache = {}  # the cached headers hold the old Host

    def url(self, path: str) -> str:
        """``path`` joined to the base URL (a full URL is kept as it is)."""
        return self._urls.text(path)

    def build(
        self,
        options: FinalRequestOptions,
        retries_taken: int,
        content: Optional[bytes],
        multipart: Optional[StreamedBody],
    ) -> httpx.Request:
        """The request of attempt ``retries_taken + 1`` of the call ``options`` plans."""
        timeout = options.timeout
        extension = self._timeout_ext if isinstance(timeout, NotGiven) else timeout_extension(timeout)
        params = options.params
        if self._custom_query:
            params = {**self._custom_query, **params} if params else self._custom_query
        query = self._querystring.stringify(params) if params else ""
        target = self._urls.join(options.url, query)
        # A URL with a download token (or a key) in it gets a request whose repr hides it:
        # error trackers record the reprs of the requests that exceptions carry.
        path = options.url
        secret = "token=" in path or "api_key=" in path or "token=" in query or "api_key=" in query
        request_cls = SecretRequest if secret else httpx.Request
        if multipart is None and not options.headers and options.content is None and not self._urls.is_absolute(path):
            # The common call: the client's own headers, already in httpx's form; only
            # the few that change per attempt are set on the copy.
            headers: Union[httpx.Headers, Dict[str, str]] = httpx.Headers(
                self._static_headers(content is not None, extension.get("read"))
            )
            if options.idempotency_key is not None:
                headers["Idempotency-Key"] = options.idempotency_key
            if self._sets_retry_count:
                headers[RETRY_COUNT_HEADER] = str(retries_taken)
        else:
            headers = self._headers_for(options, retries_taken, extension, content is not None or multipart is not None)
            if multipart is not None:
                content_type = multipart.content_type
                if content_type is not None:
                    headers.pop("Content-Type", None)
                    headers["Content-Type"] = content_type
                length = multipart.content_length()
                if length is not None:
                    headers["Content-Length"] = str(length)
                # `content=`, not `stream=`: httpx adds the Host header (and chunked encoding when
                # the length is unknown) only for content.
                return request_cls(
                    options.method, target, headers=headers, content=multipart, extensions={"timeout": extension}
                )
            # `stream=` with Host and Content-Length set here: for `content=`, httpx re-normalises
            # every header a second time to add those two (about half the cost of the request
            # object; see docs/performance.md).
            if not (options.headers and any(name.lower() == "host" for name in options.headers)):
                headers = {"Host": target.netloc.decode("ascii"), **headers}
        if content:
            headers["Content-Length"] = str(len(content))
        elif options.method.upper() in _LENGTH_REQUIRED:
            headers["Content-Length"] = "0"
        request = request_cls(
            options.method,
            target,
            headers=headers,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": extension},
        )
        request.read()  # a bytes body: `request.content` is there, as for `content=`
        return request

    def _headers_for(
        self, options: FinalRequestOptions, retries_taken: int, extension: Dict[str, Optional[float]], has_body: bool
    ) -> Dict[str, str]:
        """The headers of an attempt, as a plain dict (a call with its own headers or files)."""
        headers = dict(self._headers if has_body else self._bodiless_headers)
        extra = options.headers
        if extra:
            merge_headers(headers, extra)
        if options.idempotency_key is not None:
            headers["Idempotency-Key"] = options.idempotency_key
        sets_retry_count, sets_read_timeout = self._sets_retry_count, self._sets_read_timeout
        named: Set[str] = {name.lower() for name in extra} if extra else set()
        if named:
            # The caller's value (or `omit`) of a per-attempt header wins; merged above, in place.
            sets_retry_count = sets_retry_count and RETRY_COUNT_HEADER not in named
            sets_read_timeout = sets_read_timeout and READ_TIMEOUT_HEADER not in named
        if options.content is not None and "content-type" not in named:
            headers.pop("Content-Type", None)  # raw bytes are not the client's JSON
            headers["Content-Type"] = "application/octet-stream"
        if sets_retry_count:
            headers[RETRY_COUNT_HEADER] = str(retries_taken)
        read = extension.get("read")
        if read is not None and sets_read_timeout:
            headers[READ_TIMEOUT_HEADER] = str(read)
        return headers

    def _static_headers(self, has_body: bool, read: Optional[float]) -> httpx.Headers:
        """``Host``, the client's headers and the read timeout's, built once per kind of call."""
        key = (has_body, read)
        headers = self._header_cache.get(key)
        if headers is None:
            plain = {
                "Host": self._urls.netloc.decode("ascii"),
                **(self._headers if has_body else self._bodiless_headers),
            }
            if read is not None and self._sets_read_timeout:
                plain[READ_TIMEOUT_HEADER] = str(read)
            headers = httpx.Headers(plain)
            if len(self._header_cache) < 32:  # per-request timeouts are few; never grow without bound
                self._header_cache[key] = headers
        return headers


def _joiner(base_url: str) -> URLJoiner:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {redact_url(base_url)!r}")
    return URLJoiner(base_url)


class SecretURL(httpx.URL):
    """An ``httpx.URL`` whose repr hides ``token=`` and ``api_key=`` values (its ``str`` is the real URL)."""

    def __repr__(self) -> str:
        return f"URL({redact_url(str(self))!r})"


class SecretRequest(httpx.Request):
    """An ``httpx.Request`` whose repr, and its URL's, hide ``token=`` and ``api_key=`` values."""

    def __init__(self, method: str, url: Union[str, httpx.URL], **kwargs: Any) -> None:
        super().__init__(method, url, **kwargs)
        self.url = SecretURL(self.url)

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {redact_url(str(self.url))!r})>"


def idempotency_key() -> str:
    """A fresh ``Idempotency-Key`` for one call."""
    return f"stainless-python-retry-{uuid.uuid4()}"


_ACCEPT_ENCODING = accept_encoding()
