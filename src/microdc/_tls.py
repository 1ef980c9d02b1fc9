"""The SSL context both HTTP clients verify servers with, built when the client is built.

``verify`` takes what httpx takes, with the same meaning on both transports:

* ``True`` (the default): certifi's CAs; with ``trust_env``, the PEM file named by
  ``SSL_CERT_FILE`` or the directory named by ``SSL_CERT_DIR`` instead, read now, when
  the client is built (``httpx.create_ssl_context``), not at import;
* ``False``: no verification at all;
* a path (``str`` or ``os.PathLike``): a PEM file of CA certificates, or a directory
  of hashed ones (``openssl rehash``), trusted instead of certifi's;
* an ``ssl.SSLContext``: used as given.

A path that cannot be loaded, or a value of another type, is rejected here, so a bad
``verify=`` fails where it was written rather than at the first request.
"""

from __future__ import annotations

import os
import ssl
from typing import Any, Union

import httpx

__all__ = ["VerifyTypes", "ssl_context"]

VerifyTypes = Union[ssl.SSLContext, str, "os.PathLike[str]", bool]

_EXPECTED = "a path to a PEM file (or a directory) of CA certificates, True, False, or an ssl.SSLContext"


def ssl_context(verify: VerifyTypes = True, *, trust_env: bool = True, cert: Any = None) -> ssl.SSLContext:
    """The context for ``verify`` (see the module docstring); ``cert`` is httpx's deprecated client certificate."""
    if isinstance(verify, bool):
        context = _from_environment(verify, trust_env)
    elif isinstance(verify, ssl.SSLContext):
        context = verify
    elif isinstance(verify, (str, os.PathLike)):
        context = _from_path(os.fspath(verify), f"verify={verify!r}")
    else:
        raise TypeError(f"verify= must be {_EXPECTED}; got {type(verify).__name__}")
    if cert:
        # httpx warns that `cert=` is deprecated, and still loads it: so do we.
        httpx.create_ssl_context(verify=context, cert=cert)
    return context


def _from_environment(verify: bool, trust_env: bool) -> ssl.SSLContext:
    try:
        return httpx.create_ssl_context(verify=verify, trust_env=trust_env)
    except (OSError, ssl.SSLError) as exc:
        # Only the environment's CA settings can fail here.
        name = "SSL_CERT_FILE" if os.environ.get("SSL_CERT_FILE") else "SSL_CERT_DIR"
        raise ValueError(
            f"{name}={os.environ.get(name, '')!r} could not be loaded ({exc}); "
            f"point it at a PEM file (SSL_CERT_FILE) or a directory (SSL_CERT_DIR) of CA certificates, "
            "or unset it"
        ) from exc


def _from_path(path: str, given: str) -> ssl.SSLContext:
    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    if not os.path.exists(path):
        raise ValueError(f"{given}: no such file or directory; verify= must be {_EXPECTED}")
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"{given} could not be loaded as CA certificates ({exc}); verify= must be {_EXPECTED}"
        ) from exc
