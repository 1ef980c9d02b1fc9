"""``microdc jobs create|get|status|list|wait|cancel|ack`` (``jobs run`` is in ``_cli_run``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Callable, Optional, Awaitable, cast

import click

from ..._spec import JOB_TYPES, CHAT_ROLES, JOB_STATES, JOB_PRIORITIES, TIMEOUT_SECONDS_RANGE
from ._common import (
    settings as get_settings,
    echo_json,
    echo_table,
    echo_fields,
    json_option,
    to_jsonable,
    run_with_client,
)

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ...types.job import Job
    from ...types.job_status import JobStatus

__all__ = ["job_fields", "jobs"]


@click.group()
def jobs() -> None:
    """Submit, follow and manage jobs."""


# --- rendering ------------------------------------------------------------------------


def _when(value: object) -> str:
    if value is None:
        return "-"
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat(timespec="seconds")) if callable(isoformat) else str(value)


def _cost(job: Job) -> str:
    from ..progress import format_usd

    return format_usd(job.usage.cost_usd) if job.usage is not None else "-"


def result_text(job: Job) -> str:
    """The job's output for people: text, the chat answer, or a summary of embeddings."""
    from ...types.document_result import DocumentResult
    from ...types.llm_chat_result import LLMChatResult
    from ...types.llm_embed_result import LLMEmbedResult
    from ...types.llm_complete_result import LLMCompleteResult

    result = job.result
    if result is None:
        return "-"
    if isinstance(result, LLMCompleteResult):
        return result.text
    if isinstance(result, LLMChatResult):
        return result.message.content
    if isinstance(result, LLMEmbedResult):
        return f"{len(result.embeddings)} embedding(s) of {result.dimensions} dimensions"
    if isinstance(result, DocumentResult):  # pyright: ignore[reportUnnecessaryIsInstance]
        return f"{result.text}\n({result.page_count} page(s))"
    return json.dumps(cast(Any, result).to_dict(mode="json"))


def job_fields(job: Job) -> List[Tuple[str, str]]:
    usage = job.usage
    fields = [
        ("id", job.id),
        ("type", str(job.type)),
        ("model", job.model),
        ("status", str(job.status)),
        ("priority", str(job.priority)),
        ("progress", f"{job.progress:.0%}"),
        ("created_at", _when(job.created_at)),
        ("started_at", _when(job.started_at)),
        ("completed_at", _when(job.completed_at)),
        ("acknowledged", "yes" if job.acknowledged else "no"),
        ("metadata", ", ".join(f"{k}={v}" for k, v in job.metadata.items()) or "-"),
        (
            "usage",
            f"{usage.input_tokens} in + {usage.output_tokens} out tokens, {_cost(job)}" if usage is not None else "-",
        ),
        ("error", f"{job.error.code}: {job.error.message}" if job.error is not None else "-"),
        ("result", result_text(job)),
    ]
    return fields


def job_row(job: Job) -> List[str]:
    return [job.id, str(job.type), job.model, str(job.status), f"{job.progress:.0%}", _when(job.created_at), _cost(job)]


def show_job(job: Job, as_json: bool) -> None:
    if as_json:
        echo_json(to_jsonable(job))
    else:
        echo_fields(job_fields(job))


def _job_command(
    ctx: click.Context, as_json: bool, call: Callable[[AsyncMicroDC], Awaitable[Job]]
) -> None:  # one job in, one job out
    current = get_settings(ctx, as_json)
    show_job(run_with_client(current, call), current.json)


# --- create -----------------------------------------------------------------------------


def _key_values(values: Tuple[str, ...], option: str) -> Dict[str, str]:
    pairs: Dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        pairs[key] = rest
    return pairs


def _messages(values: Tuple[str, ...]) -> List[Dict[str, str]]:
    messages: List[Dict[str, str]] = []
    for value in values:
        role, sep, content = value.partition(":")
        if not sep or role not in CHAT_ROLES:
            raise click.BadParameter(
                f"expected ROLE:CONTENT with ROLE one of {', '.join(CHAT_ROLES)}; got {value!r}", param_hint="--message"
            )
        messages.append({"role": role, "content": content})
    return messages


def _params_from_json(text: Optional[str]) -> Dict[str, Any]:
    if text is None:
        return {}
    if text.startswith("@"):
        with click.open_file(text[1:], encoding="utf-8") as handle:
            text = str(handle.read())
    try:
        data: object = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc})", param_hint="--params") from None
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object of jobs.create parameters", param_hint="--params")
    return cast(Dict[str, Any], data)


@jobs.command("create")
@click.option(
    "--type", "job_type", type=click.Choice(JOB_TYPES), help="Job type (guessed from the inputs if left out)."
)
@click.option("--model", help="The model that runs the job, e.g. echo-1 (see `microdc models list`).")
@click.option("--prompt", help="llm_complete: the text to complete.")
@click.option("--message", "messages", multiple=True, metavar="ROLE:CONTENT", help="llm_chat: a message (repeat).")
@click.option("--text", "texts", multiple=True, help="llm_embed: a text to embed (repeat).")
@click.option("--file-token", "file_tokens", multiple=True, help="document: a file token from `files upload` (repeat).")
@click.option("--instruction", help="document: what to do with the files.")
@click.option("--temperature", type=click.FloatRange(0, 2), help="Sampling temperature, 0 to 2.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="The most tokens to generate.")
@click.option("--normalize/--no-normalize", default=None, help="llm_embed: normalise the vectors (default yes).")
@click.option("--priority", type=click.Choice(JOB_PRIORITIES), help="low, normal (default) or high.")
@click.option(
    "--timeout-seconds", type=click.IntRange(*TIMEOUT_SECONDS_RANGE), help="Seconds the job may run (default 300)."
)
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="Metadata to attach (repeat).")
@click.option(
    "--params", "params_json", metavar="JSON|@FILE", help="All parameters as a JSON object (the options above win)."
)
@click.option("--idempotency-key", help="Send this Idempotency-Key (default: a fresh one per call).")
@click.option("--wait", is_flag=True, help="Wait for the job to end and show the final job.")
@click.option(
    "--wait-timeout", type=click.FloatRange(min=0, min_open=True), help="With --wait: give up after this many seconds."
)
@json_option
@click.pass_context
def create(ctx: click.Context, /, **options: Any) -> None:
    """Submit a job.

    \b
    microdc jobs create --model echo-1 --prompt "Say hi"
    microdc jobs create --model echo-1 --message "system:Be brief" --message "user:Hi" --wait
    microdc jobs create --model embed-1 --text one --text two --json
    microdc jobs create --params '{"type": "llm_complete", "model": "echo-1", "prompt": "Hi"}'
    """
    params = _params_from_json(options["params_json"])
    given = {
        "model": options["model"],
        "prompt": options["prompt"],
        "messages": _messages(options["messages"]) or None,
        "texts": list(options["texts"]) or None,
        "file_tokens": list(options["file_tokens"]) or None,
        "instruction": options["instruction"],
        "temperature": options["temperature"],
        "max_tokens": options["max_tokens"],
        "normalize": options["normalize"],
        "priority": options["priority"],
        "timeout_seconds": options["timeout_seconds"],
        "metadata": _key_values(options["metadata"], "--metadata") or None,
    }
    params.update({name: value for name, value in given.items() if value is not None})
    job_type = options["job_type"] or params.get("type") or _guess_type(params)
    params["type"] = job_type
    if not params.get("model"):
        raise click.UsageError("Missing option '--model' (or \"model\" in --params).")
    if options["idempotency_key"]:
        params["idempotency_key"] = options["idempotency_key"]
    wait, wait_timeout = options["wait"], options["wait_timeout"]

    async def call(client: AsyncMicroDC) -> Job:
        create_job = cast(Callable[..., Awaitable["Job"]], client.jobs.create)
        job = await create_job(**params)
        if wait:
            job = await client.jobs.wait(job.id, timeout=wait_timeout)
        return job

    _job_command(ctx, options["as_json"], call)


def _guess_type(params: Dict[str, Any]) -> str:
    found = [
        job_type
        for job_type, field in (
            ("llm_complete", "prompt"),
            ("llm_chat", "messages"),
            ("llm_embed", "texts"),
            ("document", "file_tokens"),
        )
        if params.get(field)
    ]
    if len(found) != 1:
        raise click.UsageError(
            "Pass --type, or exactly one kind of input: --prompt, --message, --text or --file-token."
        )
    return found[0]


# --- one job by id ------------------------------------------------------------------------

job_id_argument = click.argument("job_id")


@jobs.command("get")
@job_id_argument
@json_option
@click.pass_context
def get(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Show a job: status, usage, error and result."""
    _job_command(ctx, as_json, lambda client: client.jobs.retrieve(job_id))


@jobs.command("status")
@job_id_argument
@json_option
@click.pass_context
def status(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Show a job's status and progress only."""
    current = get_settings(ctx, as_json)
    found: JobStatus = run_with_client(current, lambda client: client.jobs.retrieve_status(job_id))
    if current.json:
        echo_json(to_jsonable(found))
    else:
        echo_fields(
            [
                ("id", found.id),
                ("status", str(found.status)),
                ("progress", f"{found.progress:.0%}"),
                ("updated_at", _when(found.updated_at)),
            ]
        )


@jobs.command("wait")
@job_id_argument
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Give up after this many seconds (exit 1)."
)
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True)
@json_option
@click.pass_context
def wait(ctx: click.Context, job_id: str, timeout: Optional[float], poll_interval: float, as_json: bool) -> None:
    """Wait until a job ends, then show it (a failed job is shown, not an error)."""
    _job_command(ctx, as_json, lambda client: client.jobs.wait(job_id, timeout=timeout, poll_interval=poll_interval))


@jobs.command("cancel")
@job_id_argument
@json_option
@click.pass_context
def cancel(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Cancel a queued or running job."""
    _job_command(ctx, as_json, lambda client: client.jobs.cancel(job_id))


@jobs.command("ack")
@job_id_argument
@json_option
@click.pass_context
def ack(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Acknowledge a finished job (so `jobs list --unacknowledged` leaves it out)."""
    _job_command(ctx, as_json, lambda client: client.jobs.acknowledge(job_id))


# --- list ---------------------------------------------------------------------------------


def _states(values: Tuple[str, ...]) -> List[str]:
    states = [state.strip() for value in values for state in value.split(",") if state.strip()]
    for state in states:
        if state not in JOB_STATES:
            raise click.BadParameter(f"{state!r} is not one of {', '.join(JOB_STATES)}", param_hint="--status")
    return states


@jobs.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS[,STATUS]",
    help="Only jobs in these states (repeat or comma-separate).",
)
@click.option("--type", "job_type", type=click.Choice(JOB_TYPES), help="Only jobs of this type.")
@click.option("--acknowledged/--unacknowledged", default=None, help="Only acknowledged, or only unacknowledged, jobs.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most this many jobs.")
@click.option("--all", "show_all", is_flag=True, help="Show every job (walks all pages).")
@json_option
@click.pass_context
def list_jobs(
    ctx: click.Context,
    statuses: Tuple[str, ...],
    job_type: Optional[str],
    acknowledged: Optional[bool],
    limit: int,
    show_all: bool,
    as_json: bool,
) -> None:
    """List jobs, newest first."""
    current = get_settings(ctx, as_json)
    query: Dict[str, Any] = {"limit": 100 if show_all else min(limit, 100)}
    states = _states(statuses)
    if states:
        query["status"] = states
    if job_type:
        query["type"] = job_type
    if acknowledged is not None:
        query["acknowledged"] = acknowledged

    async def call(client: AsyncMicroDC) -> List[Job]:
        found: List[Job] = []
        async for job in client.jobs.list(**query):
            found.append(job)
            if not show_all and len(found) >= limit:
                break
        return found

    found = run_with_client(current, call)
    if current.json:
        echo_json([to_jsonable(job) for job in found])
    else:
        echo_table(["id", "type", "model", "status", "progress", "created", "cost"], [job_row(job) for job in found])
