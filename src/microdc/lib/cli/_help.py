"""What every ``--help`` ends with: example lines and the exit status, and ``microdc --version``.

A terminal user reads ``--help`` as the reference, so each command (and each
group) shows how it is called and what its exit status means::

    @documented("microdc jobs get job_abc123", done="the job is shown")
    @jobs.command("get")
    def get(...): ...

The exit codes are the command's, in the words of what it does; codes 2 (usage)
and 130 (Ctrl-C) mean the same everywhere.
"""

from __future__ import annotations

import sys
import platform
from typing import Tuple, TypeVar, Callable, Optional

import click

__all__ = ["FAILED", "documented", "version_text"]

_C = TypeVar("_C", bound=click.Command)

FAILED = "the API refused the request or could not be reached"
"""What exit status 1 means for most commands."""

USAGE = "bad usage: an unknown option, a missing argument, no API key or base URL"
INTERRUPTED = "interrupted (Ctrl-C)"


def documented(
    *examples: str, done: str, failed: str = FAILED, extra: Tuple[Tuple[int, str], ...] = ()
) -> Callable[[_C], _C]:
    """Give a command an epilog: ``Examples:`` (these lines) and ``Exit status:``.

    ``done`` says what exit status 0 means, ``failed`` what 1 means; ``extra`` adds
    codes of the command's own, or says more about one of the others.
    """

    def apply(command: _C) -> _C:
        codes = {0: done, 1: failed, 2: USAGE, 130: INTERRUPTED, **dict(extra)}
        lines = ["\b", "Examples:", *(f"  {example}" for example in examples), "", "\b", "Exit status:"]
        lines += [f"  {code:<4} {meaning}" for code, meaning in sorted(codes.items())]
        command.epilog = "\n".join(lines)
        return command

    return apply


def version_text(sdk_version: str) -> str:
    """``microdc --version``: the SDK's, Python's and httpx's versions, for bug reports."""
    import httpx

    machine: Optional[str] = platform.machine() or None
    where = ", ".join(part for part in (platform.python_implementation(), sys.platform, machine) if part)
    return "\n".join(
        [f"microdc {sdk_version}", f"Python {platform.python_version()} ({where})", f"httpx {httpx.__version__}"]
    )
