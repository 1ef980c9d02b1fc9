"""The guides' Python snippets, collected from the Markdown and run in order.

Why a collector of our own rather than pytest-examples or phmdoctest: the snippets are
async (top-level ``await``, ``async with``, ``async for``) and build on one another
down a page (the first one makes ``fake`` and ``client``, the next ones use them);
pytest-examples runs each block on its own, synchronously, and phmdoctest turns each
block into a synchronous test function. Here a page is one namespace, each block is
compiled with top-level await allowed (``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT``) and run on
one event loop, and a block that calls ``asyncio.run`` itself (a whole program) runs
as it would in a script.

The rules a page follows:

* Every ```` ```python ```` block runs, unless the line just before it is
  ``<!-- snippet: not run (why) -->``, and the reason must be given.
* Once a block has made ``fake = FakeMicroDC(clock=ManualClock(), ...)``, the rest of
  the page runs inside ``fake.virtual_time()``: waits take no real time.
* At the end of the page every ``AsyncMicroDC`` left in the namespace is closed.
* The namespace is a module's (``docs.<page>`` in ``sys.modules`` while the page
  runs), as a script's would be, so pydantic resolves the annotations of a model a
  snippet declares when it completes the model later.
"""

from __future__ import annotations

import re
import ast
import sys
import types
import asyncio
import inspect
import textwrap
import linecache
import contextlib
from typing import Any, Dict, List, Optional
from pathlib import Path
from dataclasses import dataclass

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC, ManualClock

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[A-Za-z0-9_+-]*)")
_NOT_RUN = re.compile(r"^\s*<!-- snippet: not run \((?P<why>[^)]+)\) -->\s*$")


@dataclass(frozen=True)
class Snippet:
    """One fenced Python block: where it is, its code, and why it is not run (if it is not)."""

    page: str
    line: int
    code: str
    not_run: Optional[str]


def snippets(page: Path) -> List[Snippet]:
    """The page's ```` ```python ```` blocks, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: List[Snippet] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, lang, start = match.group("indent"), match.group("lang"), index
        index += 1
        body: List[str] = []
        while index < len(lines) and not lines[index].strip().startswith("```"):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index])
            index += 1
        index += 1
        if lang not in ("python", "py"):
            continue
        marker = _NOT_RUN.match(lines[start - 1]) if start else None
        found.append(Snippet(_name(page), start + 2, textwrap.dedent("\n".join(body)), marker and marker["why"]))
    return found


def _name(page: Path) -> str:
    return page.relative_to(DOCS).as_posix() if page.is_relative_to(DOCS) else page.name


def pages() -> List[Path]:
    """The pages whose snippets run: the home page, getting started and every guide."""
    return [DOCS / "index.md", DOCS / "getting-started.md", *sorted((DOCS / "guides").glob("*.md"))]


def run_page(page: Path) -> Dict[str, Any]:
    """Run the page's snippets in order in one namespace; returns the namespace."""
    module = types.ModuleType(f"docs.{page.stem}")
    namespace: Dict[str, Any] = module.__dict__
    sys.modules[module.__name__] = module
    with contextlib.ExitStack() as stack, asyncio.Runner() as runner:
        stack.callback(sys.modules.pop, module.__name__, None)
        virtual = False
        try:
            for snippet in snippets(page):
                if snippet.not_run is not None:
                    continue
                filename = f"{snippet.page}:{snippet.line}"
                linecache.cache[filename] = (len(snippet.code), None, snippet.code.splitlines(True), filename)
                code = compile(snippet.code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                result = eval(code, namespace)  # a coroutine when the block awaits
                if inspect.iscoroutine(result):
                    runner.run(result)
                fake = namespace.get("fake")
                if not virtual and isinstance(fake, FakeMicroDC) and isinstance(fake.clock, ManualClock):
                    stack.enter_context(fake.virtual_time())
                    virtual = True
        finally:
            for value in list(namespace.values()):
                if isinstance(value, AsyncMicroDC):
                    runner.run(value.close())
    return namespace
