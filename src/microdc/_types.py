"""Shared types: sentinels for "not passed", per-request options, file inputs.

Two sentinels, two meanings:

* ``NOT_GIVEN`` (``NotGiven``) is the default of every optional parameter. It means
  "the caller did not pass this", so the SDK falls back to its own default:
  ``jobs.retrieve(id, timeout=NOT_GIVEN)`` uses the client's timeout, while
  ``timeout=None`` means "no timeout at all".
* ``omit`` (``Omit``) removes something the SDK would otherwise send:
  ``extra_headers={"X-Stainless-Lang": omit}`` drops that default header.

Test for either with :func:`is_given`, never by identity with one instance.
"""

from __future__ import annotations

import os
from typing import IO, Tuple, Union, Mapping, Optional, AsyncIterable

import httpx
from typing_extensions import Literal, TypeAlias, TypedDict, final, override

__all__ = [
    "NOT_GIVEN",
    "Body",
    "FileContent",
    "FileTypes",
    "Headers",
    "MutationRequestOptions",
    "NotGiven",
    "Omit",
    "Query",
    "RequestContent",
    "RequestOptions",
    "Timeout",
    "is_given",
    "omit",
]


@final
class NotGiven:
    """The type of :data:`NOT_GIVEN`: "the caller did not pass this argument".

    ``client.jobs.retrieve("job_1", timeout=NOT_GIVEN)`` uses the client's default
    timeout; ``timeout=None`` disables the timeout.
    """

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    @override
    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
"""The default of every optional argument: "not passed", as opposed to ``None`` (see :class:`NotGiven`)."""


@final
class Omit:
    """The type of :data:`omit`: "do not send this at all".

    ``client.with_options(default_headers={"X-Stainless-Async": omit})`` removes a
    header the SDK sends by default.
    """

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    @override
    def __repr__(self) -> str:
        return "omit"

    def __reduce__(self) -> str:
        return "omit"


omit = Omit()
"""Pass as a header's value in ``extra_headers`` to remove a header the SDK would send (see :class:`Omit`)."""


def is_given(value: object) -> bool:
    """True unless ``value`` is :data:`NOT_GIVEN` or :data:`omit`."""
    return not isinstance(value, (NotGiven, Omit))


Timeout: TypeAlias = Union[float, httpx.Timeout, None]
"""Seconds, an ``httpx.Timeout``, or ``None`` for no timeout."""

Headers: TypeAlias = Mapping[str, Union[str, Omit]]
Query: TypeAlias = Mapping[str, object]
Body: TypeAlias = object

FileContent: TypeAlias = Union[IO[bytes], bytes, "os.PathLike[str]"]
FileTypes: TypeAlias = Union[
    FileContent,
    # (filename, content)
    Tuple[Optional[str], FileContent],
    # (filename, content, content_type)
    Tuple[Optional[str], FileContent, Optional[str]],
]
"""What ``files.upload(file=...)`` takes: bytes, a path, a binary file object, or a
``(filename, content[, content_type])`` tuple."""

RequestContent: TypeAlias = Union[bytes, bytearray, memoryview, AsyncIterable[bytes]]
"""A raw request body (``client.post(path, content=...)``): bytes, or an async iterable
of bytes streamed as it is read (sent once: a call with one is not retried)."""


class RequestOptions(TypedDict, total=False):
    """Options every SDK method accepts as keyword arguments, on top of its own.

    Declared once here rather than on every generated method.
    """

    extra_headers: Optional[Headers]
    """Headers to add to (or, with ``omit``, remove from) this request."""

    extra_query: Optional[Query]
    """Query parameters to add to this request."""

    extra_body: Optional[Body]
    """JSON properties to merge into this request's body."""

    timeout: Union[Timeout, NotGiven]
    """Override the client's timeout for this request (``None``: no timeout)."""

    max_retries: int
    """Override the client's ``max_retries`` for this request."""


class MutationRequestOptions(RequestOptions, total=False):
    """Options of POST and DELETE methods: :class:`RequestOptions` plus ``idempotency_key``."""

    idempotency_key: str
    """The ``Idempotency-Key`` to send (one is generated per call when not given).
    Every retry of the call reuses it, so a retry never repeats the operation."""
