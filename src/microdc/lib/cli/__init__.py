"""The ``microdc`` command (extra ``microdc[cli]``): the API from the shell.

::

    export MICRODC_API_KEY=... MICRODC_BASE_URL=http://127.0.0.1:8000
    microdc models list
    microdc jobs create --model echo-1 --prompt "Say hi" --wait
    microdc jobs run prompts.jsonl --cost-limit 5 --state run.sqlite3 -o results.jsonl
    microdc --json jobs list --status completed | jq '.[].id'

This module is what the console script imports, so it needs nothing beyond the
SDK: without click (the ``cli`` extra) the command says so in one line instead of
a traceback. The command itself is assembled in ``_app``; each group lives in its
own module. Exit codes:

* 0 — it worked;
* 1 — the API refused or could not be reached, a wait timed out, a file could
  not be read or written, or the ``cli`` extra is not installed (one ``Error: ...``
  line on stderr);
* 2 — bad usage: unknown option, missing argument, malformed input, no API key
  or base URL (one ``Error: ...`` line, naming the ``--help`` to read);
* 130 — interrupted (Ctrl-C).

``python -m microdc.lib.cli`` runs it too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:
    from ._app import cli as cli

__all__ = ["cli", "main", "run_cli"]

MISSING_EXTRA = "The microdc command needs the cli extra ({package} is not installed): pip install 'microdc[cli]'"


def run_cli(argv: Optional[List[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit status.

    Every failure ends here as one ``Error: ...`` line on stderr (never click's
    usage block, never a traceback) and its exit code.
    """
    try:
        from ._app import run
    except ModuleNotFoundError as exc:
        if exc.name != "click":
            raise
        print(f"Error: {MISSING_EXTRA.format(package=exc.name)}", file=sys.stderr)
        return 1
    return run(argv)


def main() -> None:
    """The ``microdc`` console script."""
    sys.exit(run_cli())


def __getattr__(name: str) -> Any:
    """``microdc.lib.cli.cli``, the click group, loaded (with click) when asked for."""
    if name == "cli":
        from ._app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
