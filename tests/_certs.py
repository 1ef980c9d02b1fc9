"""Certificates for TLS tests, from a throwaway CA (trustme); the fixtures that use them live in conftest."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import trustme

__all__ = ["hashed_ca_dir", "server_context", "trusting"]


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts ``ca`` (and nothing else)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)  # pyright: ignore[reportUnknownMemberType]
    return context


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate from ``ca`` for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)  # pyright: ignore[reportUnknownMemberType]
    return context


def hashed_ca_dir(ca: trustme.CA, directory: Path) -> str:
    """``directory`` holding ``ca`` under its OpenSSL hash, as ``capath`` wants it (needs the openssl tool).

    Raises OSError or subprocess.SubprocessError when the tool is missing.
    """
    directory.mkdir()
    pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pem)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    pem.rename(directory / f"{digest}.0")
    return str(directory)
