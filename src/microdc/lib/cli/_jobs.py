"""``microdc jobs create|get|status|list|wait|cancel|ack`` (``jobs run`` is in ``_run``, ``jobs events`` in ``_events``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Callable, Optional, Awaitable, cast

import click

from ._help import documented
from ..._spec import JOB_TYPES, CHAT_ROLES, JOB_STATES, JOB_PRIORITIES, TIMEOUT_SECONDS_RANGE, JOB_LIST_IDS_MAX_ITEMS
from ._common import CommandError, settings as get_settings, json_option
from ._output import Paging, show_one, show_page, show_fields, paging_options
from ._params import ParamsProblem, check_job, job_shapes
from ._render import JOB_COLUMNS, job_row, job_fields, status_fields

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ...types.job import Job

__all__ = ["job_id_argument", "jobs"]


@documented(
    "microdc jobs create --model echo-1 --prompt 'Say hi' --wait",
    "microdc jobs list --status running",
    "microdc jobs events job_abc123",
    done="it worked",
    failed="the API refused or could not be reached, or a wait timed out",
)
@click.group()
def jobs() -> None:
    """Submit, follow and manage jobs."""


def _job_command(ctx: click.Context, as_json: bool, call: Callable[[AsyncMicroDC], Awaitable[Job]]) -> None:
    """One job in, one job out."""
    show_one(get_settings(ctx, as_json), call, show_fields(job_fields))


async def _wait(client: AsyncMicroDC, job_id: str, timeout: Optional[float], option: str, **more: Any) -> Job:
    """``jobs.wait``, its timeout told in the command's terms (``option`` is the one that set it)."""
    from ..jobs._errors import JobWaitTimeoutError

    try:
        return await client.jobs.wait(job_id, timeout=timeout, **more)
    except JobWaitTimeoutError as exc:
        status = exc.job.status if exc.job is not None else "unknown"
        raise CommandError(
            f"Job {job_id} did not finish within {timeout:g} s (last status: {status}). "
            f"Run 'microdc jobs wait {job_id}' to keep waiting, or pass a larger {option}."
        ) from None


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


def _checked(ctx: click.Context, params: Dict[str, Any], from_options: Dict[str, Any]) -> Dict[str, Any]:
    """The parameters checked, a problem told in terms of this command's options (exit 2)."""
    try:
        return check_job(params)
    except ParamsProblem as problem:
        options = {
            ("type" if param.name == "job_type" else param.name): param.opts[0]
            for param in ctx.command.params
            if isinstance(param, click.Option) and param.name
        }
        field = problem.field.split(".", 1)[0].split("[", 1)[0]
        option = options.get(field)
        if problem.field == "type" and "type" not in params:  # left out, and the inputs do not tell it
            inputs = ", ".join(options[shape.input] for shape in job_shapes().values())
            message = f"Pass --type, or exactly one kind of input: {inputs}."
        elif problem.kind == "missing" and option is not None:
            message = f"Missing option '{option}': {problem.job_type} jobs need it (or \"{field}\" in --params)."
        elif problem.kind == "unknown" and field in from_options and option is not None:
            shape = job_shapes()[str(problem.job_type)]
            takes = ", ".join(options[name] for name in sorted(shape.fields) if name in options and name != "type")
            message = f"Option '{option}' is not for {problem.job_type} jobs (they take {takes})."
        elif field in from_options and option is not None:
            message = f"Invalid value for '{option}': {problem.message}."
        else:
            message = f"Invalid value for '--params': {problem.message}."
        raise click.UsageError(message, ctx) from None


@documented(
    'microdc jobs create --model echo-1 --prompt "Say hi"',
    'microdc jobs create --model echo-1 --message "system:Be brief" --message "user:Hi" --wait',
    "microdc jobs create --model embed-1 --text one --text two --json",
    """microdc jobs create --params '{"model": "echo-1", "prompt": "Hi"}' --priority high""",
    done="the job was submitted (and, with --wait, ended: a failed job is shown, not an error)",
    failed="the API refused the job or could not be reached, or --wait-timeout passed",
)
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
    """Submit a job: --model and its input; the type follows from the input (or --type)."""
    params = _params_from_json(options["params_json"])
    given = {
        "type": options["job_type"],
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
    from_options = {name: value for name, value in given.items() if value is not None}
    params = _checked(ctx, {**params, **from_options}, from_options)
    if options["idempotency_key"]:
        params["idempotency_key"] = options["idempotency_key"]
    wait, wait_timeout = options["wait"], options["wait_timeout"]

    async def call(client: AsyncMicroDC) -> Job:
        create_job = cast(Callable[..., Awaitable["Job"]], client.jobs.create)
        job = await create_job(**params)
        if wait:
            job = await _wait(client, job.id, wait_timeout, "--wait-timeout")
        return job

    _job_command(ctx, options["as_json"], call)


# --- one job by id ------------------------------------------------------------------------

job_id_argument = click.argument("job_id")


@documented("microdc jobs get job_abc123", "microdc jobs get job_abc123 --json | jq .result", done="the job is shown")
@jobs.command("get")
@job_id_argument
@json_option
@click.pass_context
def get(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Show a job: status, usage, error and result."""
    _job_command(ctx, as_json, lambda client: client.jobs.retrieve(job_id))


@documented("microdc jobs status job_abc123", done="the status is shown")
@jobs.command("status")
@job_id_argument
@json_option
@click.pass_context
def status(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Show a job's status and progress only."""
    show_one(get_settings(ctx, as_json), lambda client: client.jobs.retrieve_status(job_id), show_fields(status_fields))


@documented(
    "microdc jobs wait job_abc123",
    "microdc jobs wait job_abc123 --timeout 60 --json",
    done="the job ended and is shown (a failed or cancelled job too)",
    failed="the API refused or could not be reached, or --timeout passed first",
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
    _job_command(ctx, as_json, lambda client: _wait(client, job_id, timeout, "--timeout", poll_interval=poll_interval))


@documented(
    "microdc jobs cancel job_abc123",
    done="the job is cancelled and shown",
    failed="the API refused (e.g. the job has ended already) or could not be reached",
)
@jobs.command("cancel")
@job_id_argument
@json_option
@click.pass_context
def cancel(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Cancel a queued or running job."""
    _job_command(ctx, as_json, lambda client: client.jobs.cancel(job_id))


@documented(
    "microdc jobs ack job_abc123",
    done="the job is acknowledged and shown (acknowledging twice is fine)",
    failed="the API refused (e.g. the job has not ended) or could not be reached",
)
@jobs.command("ack")
@job_id_argument
@json_option
@click.pass_context
def ack(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Acknowledge a finished job (so `jobs list --unacknowledged` leaves it out)."""
    _job_command(ctx, as_json, lambda client: client.jobs.acknowledge(job_id))


# --- list ---------------------------------------------------------------------------------


def _split(values: Tuple[str, ...]) -> List[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _states(values: Tuple[str, ...]) -> List[str]:
    states = _split(values)
    for state in states:
        if state not in JOB_STATES:
            raise click.BadParameter(f"{state!r} is not one of {', '.join(JOB_STATES)}", param_hint="--status")
    return states


def _ids(values: Tuple[str, ...]) -> List[str]:
    ids = _split(values)
    if len(ids) > JOB_LIST_IDS_MAX_ITEMS:
        raise click.BadParameter(f"at most {JOB_LIST_IDS_MAX_ITEMS} ids, got {len(ids)}", param_hint="--id")
    return ids


@documented(
    "microdc jobs list",
    "microdc jobs list --status queued,running --type llm_chat --limit 50",
    "microdc jobs list --after job_abc123",
    "microdc --json jobs list --all --unacknowledged | jq -r '.[].id'",
    done="the jobs are listed (none is fine)",
)
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
@click.option(
    "--id", "ids", multiple=True, metavar="ID[,ID]", help="Only these jobs (repeat or comma-separate; at most 100)."
)
@paging_options("jobs")
@json_option
@click.pass_context
def list_jobs(
    ctx: click.Context,
    statuses: Tuple[str, ...],
    job_type: Optional[str],
    acknowledged: Optional[bool],
    ids: Tuple[str, ...],
    limit: int,
    show_all: bool,
    after: Optional[str],
    as_json: bool,
) -> None:
    """List jobs, newest first, a page at a time (--limit, --after) or all of them (--all)."""
    paging = Paging(limit, show_all, after)
    query = paging.query()
    states, wanted = _states(statuses), _ids(ids)
    if states:
        query["status"] = states
    if wanted:
        query["ids"] = wanted
    if job_type:
        query["type"] = job_type
    if acknowledged is not None:
        query["acknowledged"] = acknowledged
    show_page(
        get_settings(ctx, as_json), paging, lambda client: client.jobs.list(**query), "jobs", JOB_COLUMNS, job_row
    )
