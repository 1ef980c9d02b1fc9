"""The ``microdc`` command assembled: the root options, the groups, and failures turned into exit codes.

Built on click: small, well kept, typed, and its command groups compose, so each
group lives in its own module (``_jobs``, ``_events``, ``_run``, ``_files``,
``_models``, ``_chat``) and this one only assembles them. The exit codes are listed
in the package docstring and at the end of every ``--help``.
"""

from __future__ import annotations

import asyncio
from typing import List, Optional

import click

from . import _chat
from ._run import run as _run_command  # noqa: F401  # pyright: ignore[reportUnusedImport]  (registers `jobs run`)
from ._help import documented, version_text
from ._jobs import jobs
from ._files import files
from ..._logs import logger
from ._common import ROOT_HELP, Settings, ConfigurationError, describe_error
from ._events import events as _events_command  # noqa: F401  # pyright: ignore[reportUnusedImport]  (`jobs events`)
from ._models import models
from ..._version import __version__
from ..._exceptions import MicroDCError

__all__ = ["cli", "run"]


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text(__version__))
        ctx.exit(0)


@documented(
    "microdc models list",
    "microdc jobs create --model echo-1 --prompt 'Say hi' --wait",
    "microdc --json jobs list --status completed | jq -r '.[].id'",
    "microdc jobs run prompts.jsonl -o results.jsonl --state prompts.sqlite3",
    "microdc chat --model echo-1",
    done="it worked",
    failed="the API refused or could not be reached, a wait timed out, or a file could not be read or written",
)
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--api-key", envvar="MICRODC_API_KEY", show_envvar=True, help="API key (prefer the environment variable)."
)
@click.option(
    "--base-url", envvar="MICRODC_BASE_URL", show_envvar=True, help="The service's address, e.g. http://127.0.0.1:8000."
)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per request (default 60).")
@click.option("--max-retries", type=click.IntRange(min=0), help="Retries per request (default 3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables.")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the versions of microdc, Python and httpx, and exit.",
)
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


def run(argv: Optional[List[str]] = None) -> int:
    """``run_cli``'s body, once click is known to be there."""
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
    if isinstance(exc, click.UsageError):
        # The root options and their variables configure every command: their help is the root's.
        where = (
            ROOT_HELP if isinstance(exc, ConfigurationError) or exc.ctx is None else f"{exc.ctx.command_path} --help"
        )
        message = message.rstrip()
        if message and not message.endswith((".", "!", "?")):
            message += "."
        message = f"{message} See '{where}'.".lstrip()
    return _error_line(message, exc.exit_code)


def _error_line(message: str, code: int) -> int:
    click.echo(f"Error: {' '.join(message.split())}", err=True)
    return code
