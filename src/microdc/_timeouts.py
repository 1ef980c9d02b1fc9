"""Which timeout a request gets, and how httpx is told.

The client-wide timeout is the client's ``timeout=``, else the ``http_client``'s own
(a caller's client keeps the timeout they gave it), else the SDK's 60 s (5 s to
connect); a request's ``timeout=`` replaces it for that request. httpx reads a
request's timeout from its ``timeout`` extension, which both transports honour.
"""

from __future__ import annotations

from typing import Dict, Union, Optional

import httpx

from ._types import Timeout, NotGiven
from ._constants import DEFAULT_TIMEOUT

__all__ = ["effective_timeout", "timeout_extension"]

_HTTPX_DEFAULT_TIMEOUT = httpx.Timeout(5.0)
"""What ``httpx.AsyncClient()`` gets when it is given no timeout."""


def effective_timeout(timeout: Union[Timeout, NotGiven], http_client: Optional[httpx.AsyncClient]) -> Timeout:
    """The client-wide timeout: ``timeout`` when given, else a caller's ``http_client``'s own, else the SDK's.

    An ``httpx.AsyncClient()`` built without a timeout has httpx's 5 s default, which
    nobody chose for calls to a job API: it counts as no timeout set, as it does for
    openai-python and anthropic-sdk-python, so the SDK's 60 s applies.
    """
    if not isinstance(timeout, NotGiven):
        return timeout
    if http_client is not None and http_client.timeout != _HTTPX_DEFAULT_TIMEOUT:
        return http_client.timeout
    return DEFAULT_TIMEOUT


def timeout_extension(timeout: Timeout) -> Dict[str, Optional[float]]:
    """The ``timeout`` request extension httpx reads for one request."""
    if isinstance(timeout, httpx.Timeout):
        return timeout.as_dict()
    return httpx.Timeout(timeout).as_dict()
