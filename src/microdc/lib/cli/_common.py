"""What every ``microdc`` command shares: settings, the client, running a coroutine, errors.

How answers are printed is in ``_output``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Dict, TypeVar, Callable, Optional, Awaitable
from dataclasses import dataclass

import click
import httpx

from ..._logs import redact_url
from ..._exceptions import APIError, MicroDCError, APIStatusError

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ..._models import BaseModel

__all__ = [
    "CommandError",
    "ConfigurationError",
    "Settings",
    "describe_error",
    "json_option",
    "run_with_client",
    "to_jsonable",
]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


class ConfigurationError(click.UsageError):
    """Something the command needs is not configured (exit 2); the message says how to set it."""


class CommandError(click.ClickException):
    """A command could not do its work (exit 1): one line, in the command line's terms."""


ROOT_HELP = "microdc --help"
"""Where the root options and their environment variables are described."""

_NO_KEY = "not-used"
"""The client's key when a command sends none (``files download --token``): never sent."""


@dataclass
class Settings:
    """The root options (``microdc --api-key ... --json <command>``), on ``ctx.obj``."""

    api_key: Optional[str] = None
    base_url: Optional[str] = None
    timeout: Optional[float] = None
    max_retries: Optional[int] = None
    json: bool = False

    def client(self, *, send_key: bool = True) -> AsyncMicroDC:
        """A client for these settings; ``send_key=False``: no request carries an API key (none is needed)."""
        from ..._types import omit
        from ..._client import AsyncMicroDC

        if send_key and not self.api_key:
            raise ConfigurationError("No API key: set MICRODC_API_KEY or pass --api-key.")
        if not self.base_url:
            raise ConfigurationError("No API address: set MICRODC_BASE_URL or pass --base-url.")
        options: Dict[str, Any] = {"api_key": self.api_key or _NO_KEY, "base_url": self.base_url}
        if not send_key:
            options["default_headers"] = {"Authorization": omit}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.max_retries is not None:
            options["max_retries"] = self.max_retries
        try:
            return AsyncMicroDC(**options)
        except (ValueError, httpx.InvalidURL) as exc:
            raise ConfigurationError(_bad_base_url(self.base_url, exc)) from None


def _bad_base_url(base_url: str, exc: Exception) -> str:
    scheme, sep, _ = base_url.partition("://")
    if not sep:
        return f"The base URL {base_url!r} has no scheme: set MICRODC_BASE_URL or --base-url to 'http://{base_url}'."
    if scheme not in ("http", "https"):
        return f"The base URL {base_url!r} must start with http:// or https:// (MICRODC_BASE_URL or --base-url)."
    return f"The base URL {base_url!r} is not a valid URL ({exc}): fix MICRODC_BASE_URL or --base-url."


def settings(ctx: click.Context, as_json: bool = False) -> Settings:
    """The root settings, with a command's own ``--json`` folded in."""
    found = ctx.find_object(Settings)
    current = found if found is not None else ctx.ensure_object(Settings)
    if as_json:
        current.json = True
    return current


def json_option(function: _F) -> _F:
    """``--json`` on a command (the same as ``microdc --json <command>``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")(function)


def run_with_client(
    current: Settings, work: Callable[[AsyncMicroDC], Awaitable[_T]], *, client: Optional[AsyncMicroDC] = None
) -> _T:
    """Run ``work(client)`` in a fresh event loop, then close the client (by default one for ``current``)."""
    client = client if client is not None else current.client()

    async def main() -> _T:
        async with client:
            return await work(client)

    return asyncio.run(main())


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong, with the request id when there is one."""
    if isinstance(exc, APIStatusError):
        line = f"{type(exc).__name__}: {exc.message}"
        if exc.request_id:
            line += f" [request {exc.request_id}]"
    elif isinstance(exc, APIError):
        request = exc.request
        line = f"{type(exc).__name__}: {exc.message} ({request.method} {redact_url(str(request.url))})"
    elif isinstance(exc, MicroDCError):
        line = f"{type(exc).__name__}: {exc}"
    else:
        line = str(exc) or type(exc).__name__
    return " ".join(line.split())


def to_jsonable(value: BaseModel) -> Dict[str, object]:
    return value.to_dict(mode="json")
