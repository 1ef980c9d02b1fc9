"""``microdc jobs run FILE.jsonl``: ``submit_many`` over a JSON Lines file of job parameters.

Each non-blank line of the file is a JSON object of ``jobs.create`` parameters. The
results are JSON Lines too, one per input line, in the same order::

    {"index": 0, "line": 1, "status": "completed", "job_id": "job_...", "cost_usd": 1.2e-05, "error": null, "job": {...}}

They go to ``--output`` (written atomically at the end) or, without it, to stdout;
the summary goes to stdout after ``--output``, to stderr otherwise.
"""

from __future__ import annotations

import sys
import json
import asyncio
import logging
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Optional, cast
from pathlib import Path

import click

from ._jobs import jobs
from ._common import settings as get_settings, echo_json, json_option, to_jsonable, describe_error, run_with_client

if TYPE_CHECKING:
    from ..batch import BatchItem, BatchResult
    from ..._client import AsyncMicroDC

__all__ = ["read_jobs_file", "run"]


def read_jobs_file(path: str) -> Tuple[List[Dict[str, Any]], List[int]]:
    """The job parameters on each non-blank line, and those lines' numbers (from 1)."""
    params: List[Dict[str, Any]] = []
    lines: List[int] = []
    with click.open_file(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data: object = json.loads(line)
            except ValueError as exc:
                raise click.BadParameter(f"line {number} is not valid JSON ({exc})", param_hint="FILE") from None
            if not isinstance(data, dict):
                raise click.BadParameter(
                    f"line {number} is not a JSON object of jobs.create parameters", param_hint="FILE"
                )
            params.append(cast(Dict[str, Any], data))
            lines.append(number)
    return params, lines


def _result_line(item: BatchItem, line: int) -> Dict[str, Any]:
    error: Optional[Dict[str, str]] = None
    if item.error is not None:
        error = {"type": type(item.error).__name__, "message": describe_error(item.error)}
    return {
        "index": item.index,
        "line": line,
        "status": item.status,
        "job_id": item.job_id,
        "cost_usd": item.cost_usd,
        "error": error,
        "job": to_jsonable(item.job) if item.job is not None else None,
    }


def _summary(result: BatchResult) -> str:
    from ..progress import format_usd

    counts = ", ".join(f"{count} {status}" for status, count in result.counts.items() if count)
    return (
        f"batch {result.batch_id}: {len(result)} input(s): {counts or 'nothing to do'}; "
        f"spent {format_usd(result.spent_usd)} in {result.elapsed:.1f} s"
    )


def _progress_logger() -> logging.Logger:
    """Progress lines on stderr, for when no bar can be drawn (not a terminal)."""
    log = logging.getLogger("microdc.cli.progress")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


@jobs.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=32, show_default=True, help="Submissions in flight at most."
)
@click.option(
    "--cost-limit",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Stop submitting before the spend could pass this.",
)
@click.option(
    "--state", type=click.Path(dir_okay=False), help="State file: a re-run with it resumes, submitting nothing twice."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the results (JSON Lines) here instead of stdout.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait for the jobs to end, or return once all are submitted.",
)
@click.option("--batch-id", help="Id for a new batch (the idempotency keys derive from it).")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds between status checks.",
)
@click.option(
    "--progress/--no-progress", "show_progress", default=True, show_default=True, help="Show progress on stderr."
)
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    file: str,
    concurrency: int,
    cost_limit: Optional[float],
    state: Optional[str],
    output: Optional[str],
    wait: bool,
    batch_id: Optional[str],
    poll_interval: float,
    show_progress: bool,
    as_json: bool,
) -> None:
    """Run every job in FILE (JSON Lines of jobs.create parameters) and write the results.

    \b
    microdc jobs run prompts.jsonl --cost-limit 5 --state prompts.state.json -o results.jsonl

    Exit status: 0 when every input was handled (jobs that failed and inputs skipped
    for the budget included: see the results), 1 when some could not be submitted or
    followed (status "error"), 2 for bad usage or a malformed FILE.
    """
    from ..progress import ProgressDisplay
    from ..batch._state import write_atomically

    current = get_settings(ctx, as_json)
    params, lines = read_jobs_file(file)
    display = ProgressDisplay(log=_progress_logger()) if show_progress else None

    async def call(client: AsyncMicroDC) -> BatchResult:
        return await client.jobs.submit_many(
            params,
            concurrency=concurrency,
            cost_limit_usd=cost_limit,
            state_file=state,
            on_progress=display,
            wait=wait,
            batch_id=batch_id,
            poll_interval=poll_interval,
        )

    try:
        result = run_with_client(current, call)
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C (asyncio.run may report it either way)
        if state:
            hint = f"run the same command again (same --state {state}) to resume; nothing is submitted twice."
        else:
            hint = "without --state, a new run starts over (pass --state to make runs resumable)."
        click.echo(f"Interrupted: {hint}", err=True)
        ctx.exit(130)
    finally:
        if display is not None:
            display.close()

    text = "".join(json.dumps(_result_line(item, line)) + "\n" for item, line in zip(result, lines, strict=True))
    to_stdout = output is None or output == "-"
    if to_stdout:
        click.echo(text, nl=False)
    else:
        write_atomically(Path(cast(str, output)), text)
    summary: Dict[str, Any] = {
        "batch_id": result.batch_id,
        "total": len(result),
        "counts": result.counts,
        "spent_usd": result.spent_usd,
        "elapsed": result.elapsed,
        "output": None if to_stdout else output,
        "state": state,
    }
    if to_stdout:
        click.echo(_summary(result), err=True)
    elif current.json:
        echo_json(summary)
    else:
        click.echo(_summary(result))
        click.echo(f"results: {output}")
    errors = result.counts["error"]
    if errors:
        click.echo(
            f'Error: {errors} input(s) could not be submitted or followed; see their "error" in the results.', err=True
        )
        ctx.exit(1)
