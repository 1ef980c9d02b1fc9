"""How answers are printed: one object, or a page of them.

``--json`` prints JSON on stdout (one document, or JSON Lines where said) and nothing
else there; without it, people get ``name  value`` lines and aligned tables. Notes
about what happened (the next page, a saved file) go to stderr or come after.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, TypeVar, Callable, Optional, Sequence, Awaitable
from dataclasses import dataclass

import click

from ..._spec import LIST_LIMIT_RANGE, LIST_LIMIT_DEFAULT
from ._common import Settings, to_jsonable, run_with_client

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ..._models import BaseModel
    from ...types.job import Job
    from ...pagination import AsyncPaginator, AsyncCursorPage
    from ...types.file import File

__all__ = ["Paging", "echo_fields", "echo_json", "echo_table", "paging_options", "show_one", "show_page"]

_T = TypeVar("_T")
_M = TypeVar("_M", bound="BaseModel")
_Listed = TypeVar("_Listed", "Job", "File")
_F = TypeVar("_F", bound=Callable[..., Any])


def show_one(current: Settings, call: Callable[[AsyncMicroDC], Awaitable[_M]], render: Callable[[_M], None]) -> None:
    """Run ``call`` and print its answer: the object with ``--json``, else ``render(answer)``."""
    found = run_with_client(current, call)
    if current.json:
        echo_json(to_jsonable(found))
    else:
        render(found)


def show_fields(fields: Callable[[_M], List[Tuple[str, str]]]) -> Callable[[_M], None]:
    """A ``render`` for ``show_one``: the answer's ``name  value`` lines."""
    return lambda found: echo_fields(fields(found))


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


def show_page(
    current: Settings,
    paging: Paging,
    call: Callable[[AsyncMicroDC], AsyncPaginator[_Listed, AsyncCursorPage[_Listed]]],
    noun: str,
    columns: Sequence[str],
    row: Callable[[_Listed], List[str]],
) -> None:
    """List what ``call`` pages through: a JSON list, or a table and, when there are more, where they go on."""
    found, more = run_with_client(current, lambda client: paging.collect(call(client)))
    if current.json:
        echo_json([to_jsonable(item) for item in found])
        return
    echo_table(columns, [row(item) for item in found])
    if more and found:
        click.echo(paging.hint(noun, found[-1].id), err=True)


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
