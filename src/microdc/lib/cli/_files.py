"""``microdc files upload|list|get|delete|download|token`` (the download itself is in ``_download``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional
from pathlib import Path

import click

from ._help import documented
from ..._spec import FILE_PURPOSES, DOWNLOAD_TOKEN_EXPIRES_IN_RANGE, DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT
from ._common import settings as get_settings, json_option, run_with_client
from ._output import Paging, show_one, echo_json, show_page, show_fields, paging_options
from ._render import FILE_COLUMNS, file_row, file_fields, token_fields, deleted_fields
from ._download import download as download_content

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ...types.file import File

__all__ = ["files"]

_LOW, _HIGH = DOWNLOAD_TOKEN_EXPIRES_IN_RANGE

file_id_argument = click.argument("file_id")


@documented(
    "microdc files upload notes.pdf",
    "microdc files list",
    "microdc files download file_abc123 -o notes.pdf",
    done="it worked",
    failed="the API refused or could not be reached, or a local file could not be read or written",
)
@click.group()
def files() -> None:
    """Upload files for document jobs, list and delete them, download them, share them with tokens."""


@documented(
    "microdc files upload notes.pdf",
    'microdc jobs create --model doc-1 --file-token "$(microdc --json files upload notes.pdf | jq -r .token)"',
    done="the file is uploaded and shown, with its token",
    failed="the API refused the file (e.g. over 100 MiB) or could not be reached, or the file could not be read",
)
@files.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--purpose", type=click.Choice(FILE_PURPOSES), help="What the file is for (default document).")
@json_option
@click.pass_context
def upload(ctx: click.Context, path: Path, purpose: Optional[str], as_json: bool) -> None:
    """Upload a file; its token goes in a document job's --file-token."""

    async def call(client: AsyncMicroDC) -> File:
        if purpose is None:
            return await client.files.upload(file=path)
        return await client.files.upload(file=path, purpose="document")

    show_one(get_settings(ctx, as_json), call, show_fields(file_fields))


@documented(
    "microdc files list",
    "microdc files list --limit 100 --after file_abc123",
    "microdc --json files list --all | jq -r '.[].filename'",
    done="the files are listed (none is fine)",
)
@files.command("list")
@paging_options("files")
@json_option
@click.pass_context
def list_files(ctx: click.Context, limit: int, show_all: bool, after: Optional[str], as_json: bool) -> None:
    """List the uploaded files, newest first, a page at a time (--limit, --after) or all (--all)."""
    paging = Paging(limit, show_all, after)
    query = paging.query()
    show_page(
        get_settings(ctx, as_json), paging, lambda client: client.files.list(**query), "files", FILE_COLUMNS, file_row
    )


@documented(
    "microdc files get file_abc123", "microdc --json files get file_abc123 | jq .sha256", done="the file is shown"
)
@files.command("get")
@file_id_argument
@json_option
@click.pass_context
def get(ctx: click.Context, file_id: str, as_json: bool) -> None:
    """Show a file's metadata: name, size, type, SHA-256, and its token for document jobs."""
    show_one(get_settings(ctx, as_json), lambda client: client.files.retrieve(file_id), show_fields(file_fields))


@documented("microdc files delete file_abc123", done="the file is deleted")
@files.command("delete")
@file_id_argument
@json_option
@click.pass_context
def delete(ctx: click.Context, file_id: str, as_json: bool) -> None:
    """Delete a file (its tokens stop working)."""
    show_one(get_settings(ctx, as_json), lambda client: client.files.delete(file_id), show_fields(deleted_fields))


@documented(
    "microdc files download file_abc123",
    "microdc files download file_abc123 -o copy.pdf --force",
    "microdc files download file_abc123 -o - | wc -c",
    "MICRODC_API_KEY= microdc files download file_abc123 --token dltok_abc123",
    done="the content was saved (or written to stdout)",
    failed="the API refused (e.g. a bad or expired token) or could not be reached, the download broke off "
    "(nothing is saved then), or the target exists and --force was not given",
)
@files.command("download")
@file_id_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the content ('-': stdout). Default: the file's name, in the current directory.",
)
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.option(
    "--token", help="A download token (from `files token`): it replaces the API key, which is then not needed."
)
@json_option
@click.pass_context
def download(
    ctx: click.Context, file_id: str, output: Optional[str], force: bool, token: Optional[str], as_json: bool
) -> None:
    """Download a file's content; an existing file is replaced only with --force, never left half-written."""
    current = get_settings(ctx, as_json)
    client = current.client(send_key=token is None)
    done = run_with_client(
        current,
        lambda client: download_content(client, file_id, output=output, token=token, force=force),
        client=client,
    )
    if done.path is None:
        return
    if current.json:
        echo_json({"file_id": file_id, "path": str(done.path), "bytes": done.bytes})
    else:
        click.echo(f"Saved {done.bytes} bytes to {done.path}")


@documented(
    "microdc files token file_abc123",
    "microdc files token file_abc123 --expires-in 600 --json | jq -r .url",
    done="the token is created and shown",
)
@files.command("token")
@file_id_argument
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
    show_one(
        get_settings(ctx, as_json),
        lambda client: client.files.create_download_token(file_id, expires_in=expires_in),
        show_fields(token_fields),
    )
