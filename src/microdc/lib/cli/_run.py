"""``microdc jobs run FILE.jsonl``: ``jobs.batch`` over a JSON Lines file of job parameters, streamed.

Each non-blank line of the file is a JSON object of ``jobs.create`` parameters; the
file is read as the run goes (never whole). A line that is not a JSON object becomes
that input's ``error`` result and the run goes on. Each result is written as its
job finishes (completion order), one JSON line::

    {"index": 0, "line": 1, "status": "completed", "job_id": "job_...", "cost_usd": 1.2e-05, "error": null, "job": {...}}

to ``--output`` (the file is started afresh; a resumed run writes every input's
line again) or, without it, to stdout; the summary goes to stdout after ``--output``,
to stderr otherwise. Ctrl-C saves the state and exits 130 saying how to resume.

With ``--schema MODULE:CLASS`` (or a JSON Schema file: :mod:`._schema`) each job asks
for that shape, invalid replies are re-asked (``--max-reasks``), and each line also
has ``"parsed"`` (the reply as JSON values, or null) and ``"parse_error"`` (null, or
``{"message", "errors"}``).
"""

from __future__ import annotations

import sys
import json
import shlex
import asyncio
import logging
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Dict,
    Tuple,
    BinaryIO,
    Callable,
    Optional,
    AsyncIterable,
    AsyncIterator,
    cast,
)
from dataclasses import dataclass

import anyio
import click
import anyio.to_thread

from ._help import documented
from ._jobs import jobs
from ._common import CommandError, settings as get_settings, json_option, to_jsonable, describe_error, run_with_client
from ._output import echo_json
from ._params import ParamsProblem, check_job
from ._schema import dump_parsed, load_schema

if TYPE_CHECKING:
    from ..batch import JobInput, BatchItem, BatchSummary
    from ..._client import AsyncMicroDC

__all__ = ["JobsFile", "RunOptions", "run"]

READ_SIZE = 64 * 1024
"""Bytes read from the input file at a time, at most."""


class JobsFile:
    """The inputs of a JSON Lines file (``-``: stdin), read as the run goes, in a worker thread.

    Reading never blocks the event loop, even on a pipe that is slow to fill: each
    read takes what is there (up to 64 KiB) and the run goes on meanwhile.
    ``line_of`` maps the inputs read whose result is not written yet to their line.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.line_of: Dict[int, int] = {}

    def __length_hint__(self) -> Any:
        """The number of non-blank lines (counted in one quick pass); not known for stdin."""
        if self.path == "-":
            return NotImplemented
        with open(self.path, "rb") as handle:
            return sum(1 for line in handle if line.strip())

    async def __aiter__(self) -> AsyncIterator[object]:
        handle: BinaryIO = sys.stdin.buffer if self.path == "-" else await anyio.to_thread.run_sync(self._open)
        read = cast(Callable[[int], bytes], getattr(handle, "read1", handle.read))
        number = index = 0
        pending = b""
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(read, READ_SIZE)
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop() if chunk else b""
                for raw in lines:
                    number += 1
                    if raw.strip():
                        self.line_of[index] = number
                        index += 1
                        yield self._parse(raw, number)
                if not chunk:
                    return
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _open(self) -> BinaryIO:
        return open(self.path, "rb")

    @staticmethod
    def _parse(raw: bytes, number: int) -> object:
        """The line's job parameters (the type inferred when left out), or the input's error, naming the line."""
        from ..batch._inputs import InvalidInput

        text = raw.decode("utf-8", errors="replace")
        try:
            data: object = json.loads(raw)
        except ValueError as exc:
            return InvalidInput(ValueError(f"line {number} is not valid JSON ({exc})"), text)
        if not isinstance(data, dict):
            return InvalidInput(ValueError(f"line {number} is not a JSON object of jobs.create parameters"), text)
        params = cast(Dict[str, Any], data)
        if "idempotency_key" in params:
            problem = 'sets "idempotency_key": jobs run gives each job its own (from the batch id); remove it'
            return InvalidInput(ValueError(f"line {number} {problem}"), text)
        try:
            return check_job(params)
        except ParamsProblem as exc:
            return InvalidInput(ValueError(f"line {number}: {exc.message}"), text)


def _open_results(path: str) -> IO[str]:
    return open(path, "w", encoding="utf-8")


def result_line(item: BatchItem, line: Optional[int], response_model: object = None) -> Dict[str, Any]:
    error: Optional[Dict[str, str]] = None
    if item.error is not None:
        error = {"type": type(item.error).__name__, "message": describe_error(item.error)}
    result: Dict[str, Any] = {
        "index": item.index,
        "line": line,
        "status": item.status,
        "job_id": item.job_id,
        "cost_usd": item.cost_usd,
        "error": error,
        "job": to_jsonable(item.job) if item.job is not None else None,
    }
    if response_model is not None:
        parse_error = item.parse_error
        result["parsed"] = dump_parsed(response_model, item.parsed) if item.parsed is not None else None
        result["parse_error"] = (
            {
                "message": str(parse_error),
                "errors": [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in parse_error.errors],
            }
            if parse_error is not None
            else None
        )
    return result


def _summary_text(summary: BatchSummary) -> str:
    from ..progress import format_usd

    counts = ", ".join(f"{count} {status}" for status, count in summary.counts.items() if count)
    unparsed = f" ({summary.parse_errors} whose reply did not parse)" if summary.parse_errors else ""
    return (
        f"batch {summary.batch_id}: {summary.total} input(s): {counts or 'nothing to do'}{unparsed}; "
        f"spent {format_usd(summary.spent_usd)} in {summary.elapsed:.1f} s"
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


def _parse_shard(_ctx: click.Context, _param: click.Parameter, value: Optional[str]) -> Optional[Tuple[int, int]]:
    if value is None:
        return None
    index, _, count = value.partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not i/n (e.g. 0/4)") from None
    if not 0 <= shard[0] < shard[1]:
        raise click.BadParameter(f"{value!r}: i must be at least 0 and less than n")
    return shard


@dataclass(frozen=True)
class RunOptions:
    """The options of ``jobs run`` that ``jobs.batch`` takes: a new one is a field, a ``click.option`` and a key."""

    concurrency: int
    cost_limit: Optional[float]
    state: Optional[str]
    shard: Optional[Tuple[int, int]]
    batch_id: Optional[str]
    wait: bool
    poll_interval: float
    response_model: object
    """``--schema``: the class (or JSON Schema model) each reply is parsed into; ``None`` without it."""
    max_reasks: int

    def batch_options(self) -> Dict[str, Any]:
        """The keyword arguments of ``client.jobs.batch``."""
        return {
            "concurrency": self.concurrency,
            "cost_limit_usd": self.cost_limit,
            "state_file": self.state,
            "batch_id": self.batch_id,
            "shard": self.shard,
            "wait": self.wait,
            "poll_interval": self.poll_interval,
            "response_model": self.response_model,
            "max_reasks": self.max_reasks,
        }


@documented(
    "microdc jobs run prompts.jsonl --output results.jsonl --state prompts.sqlite3 --cost-limit 5",
    "microdc jobs run prompts.jsonl -o part0.jsonl --state s0.sqlite3 --shard 0/4 --batch-id nightly",
    "cat prompts.jsonl | microdc jobs run - > results.jsonl",
    "microdc jobs run tickets.jsonl -o labels.jsonl --schema myapp.models:Label --cost-limit 2",
    done="every input was handled (failed jobs and inputs skipped for the budget included: see the results)",
    failed='some inputs could not be submitted or followed (status "error"), or the state file cannot be used',
    extra=((130, "interrupted (Ctrl-C); with --state the state is saved: run the same command again to resume"),),
)
@jobs.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the results (JSON Lines, as jobs finish) here instead of stdout.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="State file (SQLite): a re-run with it resumes, submitting nothing twice.",
)
@click.option("--shard", metavar="I/N", callback=_parse_shard, help="Take only the inputs whose index is I mod N.")
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=32, show_default=True, help="Submissions in flight at most."
)
@click.option(
    "--cost-limit",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Never let the spend pass this: inputs whose worst case does not fit are skipped.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait for the jobs to end, or stop once all are submitted.",
)
@click.option("--batch-id", help="Id for a new batch (the idempotency keys derive from it; shards need it).")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Seconds between status checks.",
)
@click.option(
    "--schema",
    "response_model",
    metavar="MODULE:CLASS|FILE.json",
    callback=load_schema,
    help='Ask each job for this shape (a Python class, or a JSON Schema file); each result line gets "parsed".',
)
@click.option(
    "--max-reasks",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="With --schema: times an invalid reply is re-asked (each re-ask is a job, within --cost-limit).",
)
@click.option(
    "--progress/--no-progress", "show_progress", default=True, show_default=True, help="Show progress on stderr."
)
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    /,
    file: str,
    output: Optional[str],
    show_progress: bool,
    as_json: bool,
    **batch: Any,
) -> None:
    """Run every job in FILE (JSON Lines of jobs.create parameters), writing each result as it finishes.

    Each line is a JSON object such as {"model": "echo-1", "prompt": "Hi"}; its "type"
    follows from its input ("prompt", "messages", "texts" or "file_tokens") when left
    out. A line that is not a job is that input's "error" result; the run goes on.
    With --schema, each reply is parsed into that shape (an invalid one re-asked up to
    --max-reasks times) and each result line also has "parsed" and "parse_error".
    """
    from ..batch import BatchStateError
    from ..progress import ProgressDisplay

    current = get_settings(ctx, as_json)
    options = RunOptions(**batch)
    state = options.state
    inputs = JobsFile(file)
    display = ProgressDisplay(log=_progress_logger()) if show_progress else None
    to_stdout = output is None or output == "-"

    async def call(client: AsyncMicroDC) -> BatchSummary:
        sink: IO[str] = sys.stdout if to_stdout else await anyio.to_thread.run_sync(_open_results, str(output))
        try:
            async with client.jobs.batch(
                cast("AsyncIterable[JobInput]", inputs),  # lines that are not jobs become their items' errors
                on_progress=display,
                **options.batch_options(),
            ) as running:
                async for item in running:
                    line = inputs.line_of.pop(item.index, None)
                    sink.write(json.dumps(result_line(item, line, options.response_model)) + "\n")
                    sink.flush()  # each line is in the file as soon as its job finished
            return running.summary()
        finally:
            sink.flush()
            if sink is not sys.stdout:
                sink.close()

    try:
        summary = run_with_client(current, call)
    except BatchStateError as exc:
        raise CommandError(
            f"Cannot use the state file {exc.path}: {exc.reason}. It was left untouched; fix it, or pass "
            "another --state (one that does not exist starts a new run)."
        ) from None
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C (asyncio.run may report it either way)
        if state:
            command = shlex.join(["microdc", *sys.argv[1:]])
            hint = f"the state is saved in {state}; resume with: {command}"
        else:
            hint = "without --state, a new run starts over (pass --state to make runs resumable)."
        click.echo(f"Interrupted: {hint}", err=True)
        ctx.exit(130)
    finally:
        if display is not None:
            display.close()

    if to_stdout:
        click.echo(_summary_text(summary), err=True)
    elif current.json:
        echo_json(
            {
                "batch_id": summary.batch_id,
                "total": summary.total,
                "counts": summary.counts,
                "spent_usd": summary.spent_usd,
                "elapsed": summary.elapsed,
                "parse_errors": summary.parse_errors,
                "output": output,
                "state": state,
            }
        )
    else:
        click.echo(_summary_text(summary))
        click.echo(f"results: {output}")
    errors = summary.counts["error"]
    if errors:
        click.echo(
            f'Error: {errors} input(s) could not be submitted or followed; see their "error" in the results.', err=True
        )
        ctx.exit(1)
