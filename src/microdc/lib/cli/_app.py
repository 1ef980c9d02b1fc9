"""The ``microdc`` command (extra ``microdc[cli]``): the API from the shell.

::

    export MICRODC_API_KEY=... MICRODC_BASE_URL=http://127.0.0.1:8000
    microdc models list
    microdc jobs create --model echo-1 --prompt "Say hi" --wait
    microdc jobs run prompts.jsonl --cost-limit 5 --state run.state.json -o results.jsonl
    microdc --json jobs list --status completed | jq '.[].id'

Built on click: small, well kept, typed, and its command groups compose, so each
group lives in its own module (``_cli_jobs``, ``_cli_run``, ``_cli_files``) and this
one only assembles them and turns failures into exit codes:

* 0 — it worked;
* 1 — the API refused or could not be reached, a wait timed out, or a file could
  not be read or written (one ``Error: ...`` line on stderr);
* 2 — bad usage: unknown option, missing argument, malformed input, no API key
  or base URL (one ``Error: ...`` line, naming the ``--help`` to read);
* 130 — interrupted (Ctrl-C).

Any other failure is one ``Error: ...`` line too, exit 1 (``MICRODC_LOG=debug``
adds its traceback to the log).

``python -m microdc.lib.cli`` runs it too.
"""

from __future__ import annotations

import sys
import asyncio
from typing import List, Optional

try:
    import click
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("The microdc command needs the cli extra: pip install 'microdc[cli]'") from exc

from . import _chat
from ._run import run as _run_command  # noqa: F401  # pyright: ignore[reportUnusedImport]  (registers `jobs run`)
from ._jobs import jobs
from ._files import files, models
from ..._logs import logger
from ._common import Settings, ConfigurationError, describe_error
from ..._version import __version__
from ..._exceptions import MicroDCError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--api-key", envvar="MICRODC_API_KEY", show_envvar=True, help="API key (prefer the environment variable)."
)
@click.option("--base-url", envvar="MICRODC_BASE_URL", show_envvar=True, help="The service's address.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per request (default 60).")
@click.option("--max-retries", type=click.IntRange(min=0), help="Retries per request (default 3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables.")
@click.version_option(__version__, prog_name="microdc")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: Optional[str],
    base_url: Optional[str],
    timeout: Optional[float],
    max_retries: Optional[int],
    as_json: bool,
) -> None:
    """The MicroDC job API from the shell."""
    ctx.obj = Settings(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries, json=as_json)


cli.add_command(jobs)
cli.add_command(files)
cli.add_command(models)
cli.add_command(_chat.chat)


def run_cli(argv: Optional[List[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit status.

    Every failure ends here as one ``Error: ...`` line on stderr (never click's
    three-line usage block, never a traceback) and its exit code.
    """
    try:
        returned = cli.main(args=argv, prog_name="microdc", standalone_mode=False)
    except (KeyboardInterrupt, asyncio.CancelledError, click.exceptions.Abort):  # Ctrl-C
        click.echo("Interrupted.", err=True)
        return 130
    except click.ClickException as exc:
        return _click_error(exc)
    except (MicroDCError, OSError) as exc:
        return _error_line(describe_error(exc), 1)
    except Exception as exc:  # anything else still gets one line; MICRODC_LOG=debug shows where it came from
        logger.debug("microdc command failed", exc_info=exc)
        return _error_line(describe_error(exc), 1)
    return returned if isinstance(returned, int) else 0


def _click_error(exc: click.ClickException) -> int:
    """click's errors as one line: the message, and for usage errors where to find help."""
    no_args_is_help = getattr(click.exceptions, "NoArgsIsHelpError", None)  # click >= 8.2
    if no_args_is_help is not None and isinstance(exc, no_args_is_help) and isinstance(exc, click.UsageError):
        # ``microdc`` or ``microdc jobs`` alone: the help, as click 8.1 showed it.
        if exc.ctx is not None:
            click.echo(exc.ctx.get_help())
        return 0
    message = exc.format_message()
    if isinstance(exc, click.UsageError) and not isinstance(exc, ConfigurationError) and exc.ctx is not None:
        command = exc.ctx.command_path
        message = message.rstrip()
        if message and not message.endswith((".", "!", "?")):
            message += "."
        message = f"{message} See '{command} --help'.".lstrip()
    return _error_line(message, exc.exit_code)


def _error_line(message: str, code: int) -> int:
    click.echo(f"Error: {' '.join(message.split())}", err=True)
    return code


def main() -> None:
    """The ``microdc`` console script."""
    sys.exit(run_cli())
