"""``microdc jobs events JOB_ID``: a job's events, printed as they arrive, until it ends.

Each event is one line as soon as it arrives: for people ``ID  EVENT  what
happened``, with ``--json`` one JSON object per line (``{"id", "event", "data"}``,
JSON Lines). A dropped connection is resumed by the SDK with ``Last-Event-ID``,
so no event is lost or printed twice; ``--last-event-id`` resumes an earlier run
(after Ctrl-C, the command says which id to pass).
"""

from __future__ import annotations

import json
import shlex
import asyncio
from typing import TYPE_CHECKING, Any, Dict, Optional

import click

from ._help import documented
from ._jobs import jobs, job_id_argument
from ._common import settings as get_settings, json_option, to_jsonable, run_with_client
from ._render import progress, result_text

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ...types.job_event import JobEvent

__all__ = ["event_line", "events"]


def event_line(event: JobEvent) -> str:
    """One event for people: its id, its name, and what happened."""
    from ...types.job_status_event import JobStatusEvent
    from ...types.job_output_delta_event import JobOutputDeltaEvent

    if isinstance(event, JobStatusEvent):
        said = f"{event.data.status} {progress(event.data.progress)}"
    elif isinstance(event, JobOutputDeltaEvent):
        said = json.dumps(event.data.delta, ensure_ascii=False)
    else:
        job = event.data
        said = str(job.status)
        if job.error is not None:
            said += f" ({job.error.code}: {job.error.message})"
        elif job.result is not None:
            said += f": {' '.join(result_text(job).split())}"
    return f"{event.id or '-'}  {event.event:<16}  {said}"


@documented(
    "microdc jobs events job_abc123",
    "microdc jobs events job_abc123 --json | jq -r 'select(.event == \"job.output.delta\") | .data.delta'",
    "microdc jobs events job_abc123 --last-event-id 3",
    done="the job ended and its events were printed (a failed or cancelled job too)",
)
@jobs.command("events")
@job_id_argument
@click.option("--last-event-id", metavar="EVENT_ID", help="Resume after this event (from an earlier run's output).")
@json_option
@click.pass_context
def events(ctx: click.Context, job_id: str, last_event_id: Optional[str], as_json: bool) -> None:
    """Print a job's events as they arrive (status, output, the end); --json for one JSON object per line."""
    current = get_settings(ctx, as_json)
    last_seen = [last_event_id]

    async def follow(client: AsyncMicroDC) -> None:
        options: Dict[str, Any] = {}
        if last_event_id:
            options["extra_headers"] = {"Last-Event-ID": last_event_id}
        async with await client.jobs.events(job_id, **options) as stream:
            async for event in stream:
                if event.id:
                    last_seen[0] = event.id
                if current.json:
                    click.echo(json.dumps({"id": event.id, "event": event.event, "data": to_jsonable(event.data)}))
                else:
                    click.echo(event_line(event))

    try:
        run_with_client(current, follow)
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C (asyncio.run may report it either way)
        if last_seen[0]:
            again = ["microdc", "jobs", "events", job_id, "--last-event-id", last_seen[0]]
            command = shlex.join([*again, "--json"] if current.json else again)
            click.echo(f"Interrupted: resume with: {command}", err=True)
        else:
            click.echo("Interrupted.", err=True)
        ctx.exit(130)
