"""The ``User-Agent`` and ``X-Stainless-*`` headers, computed once per process."""

from __future__ import annotations

import sys
import platform
from typing import Dict
from functools import cache

from ._version import __version__

__all__ = ["platform_headers"]


@cache
def platform_headers() -> Dict[str, str]:
    """Headers that describe this SDK and the machine it runs on (cached: they never change)."""
    return {
        "User-Agent": f"AsyncMicroDC/Python {__version__}",
        "X-Stainless-Lang": "python",
        "X-Stainless-Package-Version": __version__,
        "X-Stainless-OS": _os_name(),
        "X-Stainless-Arch": _arch(),
        "X-Stainless-Runtime": platform.python_implementation(),
        "X-Stainless-Runtime-Version": platform.python_version(),
        "X-Stainless-Async": "async:asyncio",
    }


def _os_name() -> str:
    system = platform.system().lower()
    if system == "darwin":
        return "MacOS"
    if system == "windows":
        return "Windows"
    if system == "linux":
        try:
            import distro  # imported here: only Linux needs it, and only once

            name = distro.id()
        except Exception:  # pragma: no cover - distro reads files that may be missing
            name = ""
        return f"Linux:{name}" if name else "Linux"
    if sys.platform.startswith("freebsd"):
        return "FreeBSD"
    return f"Other:{system}" if system else "Unknown"


def _arch() -> str:
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64"):
        return "arm64"
    if machine in ("x86_64", "amd64"):
        return "x64"
    if machine in ("i386", "i686", "x86"):
        return "x32"
    return f"other:{machine}" if machine else "unknown"
