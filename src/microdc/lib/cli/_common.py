"""What every ``microdc`` command shares: settings, the client, running a coroutine, output.

Output rules: ``--json`` prints JSON on stdout (one document, or JSON Lines where
said) and nothing else there; without it, people get aligned tables and
``name  value`` lines. Messages about what happened go to stderr.
"""

from __future__ import annotations

import json
import asyncio
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, TypeVar, Callable, Optional, Sequence, Awaitable
from dataclasses import dataclass

import click

from ..._logs import redact_url
from ..._exceptions import APIError, MicroDCError, APIStatusError

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ..._models import BaseModel

__all__ = [
    "ConfigurationError",
    "Settings",
    "describe_error",
    "echo_fields",
    "echo_json",
    "echo_table",
    "json_option",
    "run_with_client",
    "to_jsonable",
]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


class ConfigurationError(click.UsageError):
    """Something the command needs is not configured (exit 2); the message says how to set it."""


@dataclass
class Settings:
    """The root options (``microdc --api-key ... --json <command>``), on ``ctx.obj``."""

    api_key: Optional[str] = None
    base_url: Optional[str] = None
    timeout: Optional[float] = None
    max_retries: Optional[int] = None
    json: bool = False

    def client(self) -> AsyncMicroDC:
        from ..._client import AsyncMicroDC

        if not self.api_key:
            raise ConfigurationError("No API key: set MICRODC_API_KEY or pass --api-key.")
        if not self.base_url:
            raise ConfigurationError("No API address: set MICRODC_BASE_URL or pass --base-url.")
        options: Dict[str, Any] = {"api_key": self.api_key, "base_url": self.base_url}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.max_retries is not None:
            options["max_retries"] = self.max_retries
        return AsyncMicroDC(**options)


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


def run_with_client(current: Settings, work: Callable[[AsyncMicroDC], Awaitable[_T]]) -> _T:
    """Make a client, run ``work(client)`` in a fresh event loop, and close the client."""
    client = current.client()

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


# --- output -----------------------------------------------------------------------------


def to_jsonable(value: BaseModel) -> Dict[str, object]:
    return value.to_dict(mode="json")


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns aligned on the widest cell, two spaces apart; the last column is not padded."""
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths[:-1], strict=True)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    click.echo(line([header.upper() for header in headers]))
    for row in rows:
        click.echo(line(row))


def echo_fields(fields: List[Tuple[str, str]]) -> None:
    """``name  value`` lines, names aligned; a multi-line value is indented under its name."""
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        lines = value.splitlines() or [""]
        click.echo(f"{name.ljust(width)}  {lines[0]}".rstrip())
        for more in lines[1:]:
            click.echo(f"{' ' * width}  {more}".rstrip())
