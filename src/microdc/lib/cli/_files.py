"""``microdc files upload|download|token`` and ``microdc models list``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, List, Tuple, Optional
from pathlib import Path

import click

from ..._spec import DOWNLOAD_TOKEN_EXPIRES_IN_RANGE, DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT
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
    from ...types.file import File
    from ...types.model import Model

__all__ = ["files", "models"]

_LOW, _HIGH = DOWNLOAD_TOKEN_EXPIRES_IN_RANGE


@click.group()
def files() -> None:
    """Upload files for document jobs, download them, share them with tokens."""


def _file_fields(file: File) -> List[Tuple[str, str]]:
    return [
        ("id", file.id),
        ("filename", file.filename),
        ("bytes", str(file.bytes)),
        ("content_type", file.content_type),
        ("purpose", str(file.purpose)),
        ("sha256", file.sha256),
        ("created_at", file.created_at.isoformat(timespec="seconds")),
        ("token", file.token),
    ]


@files.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--purpose", type=click.Choice(["document"]), help="What the file is for (default document).")
@json_option
@click.pass_context
def upload(ctx: click.Context, path: Path, purpose: Optional[str], as_json: bool) -> None:
    """Upload a file; its token goes in a document job's --file-token."""
    current = get_settings(ctx, as_json)

    async def call(client: AsyncMicroDC) -> File:
        if purpose is None:
            return await client.files.upload(file=path)
        return await client.files.upload(file=path, purpose="document")

    uploaded = run_with_client(current, call)
    if current.json:
        echo_json(to_jsonable(uploaded))
    else:
        echo_fields(_file_fields(uploaded))


@files.command("download")
@click.argument("file_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the content ('-': stdout). Default: the file's name, in the current directory.",
)
@click.option("--token", help="A download token (from `files token`) to use instead of the API key's access.")
@json_option
@click.pass_context
def download(ctx: click.Context, file_id: str, output: Optional[str], token: Optional[str], as_json: bool) -> None:
    """Download a file's content."""
    current = get_settings(ctx, as_json)

    async def call(client: AsyncMicroDC) -> Tuple[bytes, str]:
        target = output
        if target is None:
            # Only the name's last part is used: a server-side name cannot write elsewhere.
            target = Path((await client.files.retrieve(file_id)).filename).name or file_id
        response = await (client.files.content(file_id, token=token) if token else client.files.content(file_id))
        return await response.read(), target

    content, target = run_with_client(current, call)
    if target == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    Path(target).write_bytes(content)
    if current.json:
        echo_json({"file_id": file_id, "path": target, "bytes": len(content)})
    else:
        click.echo(f"Saved {len(content)} bytes to {target}")


@files.command("token")
@click.argument("file_id")
@click.option(
    "--expires-in",
    type=click.IntRange(*DOWNLOAD_TOKEN_EXPIRES_IN_RANGE),
    default=DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT,
    show_default=True,
    help=f"Seconds the token stays valid ({_LOW} to {_HIGH}).",
)
@json_option
@click.pass_context
def token(ctx: click.Context, file_id: str, expires_in: int, as_json: bool) -> None:
    """Create a download token (and URL) for a file. Treat both as secrets."""
    current = get_settings(ctx, as_json)
    made = run_with_client(current, lambda client: client.files.create_download_token(file_id, expires_in=expires_in))
    if current.json:
        echo_json(to_jsonable(made))
    else:
        echo_fields(
            [
                ("file_id", made.file_id),
                ("token", made.token),
                ("url", made.url),
                ("expires_at", made.expires_at.isoformat(timespec="seconds")),
            ]
        )


@click.group()
def models() -> None:
    """The models the service runs, and what they cost."""


@models.command("list")
@json_option
@click.pass_context
def list_models(ctx: click.Context, as_json: bool) -> None:
    """List the models: job types, context window, price per million tokens."""
    current = get_settings(ctx, as_json)

    async def call(client: AsyncMicroDC) -> List[Model]:
        return [model async for model in client.models.list()]

    found = run_with_client(current, call)
    if current.json:
        echo_json([to_jsonable(model) for model in found])
        return
    echo_table(
        ["id", "job types", "context", "dimensions", "input $/M", "output $/M"],
        [
            [
                model.id,
                ",".join(str(job_type) for job_type in model.job_types),
                str(model.context_window),
                str(model.embedding_dimensions) if model.embedding_dimensions is not None else "-",
                f"{model.pricing.input_per_million_tokens:g}",
                f"{model.pricing.output_per_million_tokens:g}",
            ]
            for model in found
        ],
    )
