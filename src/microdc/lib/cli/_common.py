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
import httpx

from ..._logs import redact_url
from ..._spec import LIST_LIMIT_RANGE, LIST_LIMIT_DEFAULT
from ..._exceptions import APIError, MicroDCError, APIStatusError

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ..._models import BaseModel
    from ...pagination import AsyncPaginator, AsyncCursorPage

__all__ = [
    "CommandError",
    "ConfigurationError",
    "Paging",
    "Settings",
    "describe_error",
    "echo_fields",
    "echo_json",
    "echo_table",
    "json_option",
    "paging_options",
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


def paging_options(noun: str) -> Callable[[_F], _F]:
    """``--limit``, ``--all`` and ``--after`` on a list command (``noun``: what it lists, plural)."""

    def apply(function: _F) -> _F:
        function = click.option(
            "--after", metavar="ID", help=f"Start after this one (the last id of the previous page of {noun})."
        )(function)
        function = click.option("--all", "show_all", is_flag=True, help=f"Show all {noun} (walks every page).")(
            function
        )
        return click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=LIST_LIMIT_DEFAULT,
            show_default=True,
            help=f"Show at most this many {noun}.",
        )(function)

    return apply


@dataclass(frozen=True)
class Paging:
    """What ``paging_options`` read: how many items to show, and where to start."""

    limit: int
    show_all: bool
    after: Optional[str]

    def query(self) -> Dict[str, Any]:
        """The list call's ``limit`` (the page size) and ``after``."""
        largest = LIST_LIMIT_RANGE[1]
        query: Dict[str, Any] = {"limit": largest if self.show_all else min(self.limit, largest)}
        if self.after:
            query["after"] = self.after
        return query

    async def collect(self, paginator: AsyncPaginator[_T, AsyncCursorPage[_T]]) -> Tuple[List[_T], bool]:
        """The items to show, one page at a time, and whether the list goes on past them."""
        wanted = None if self.show_all else self.limit
        found: List[_T] = []
        page = await paginator
        async for each in page.iter_pages():
            for item in each.data:
                if len(found) == wanted:
                    return found, True
                found.append(item)
            if len(found) == wanted:
                return found, each.has_next_page()
        return found, False

    def hint(self, noun: str, last_id: str) -> str:
        """Where the next page starts, for people (stderr)."""
        return f"(More {noun}: add --after {last_id} for the next page, or --all for every one.)"


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
