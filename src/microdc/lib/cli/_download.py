"""``microdc files download``: a file's content to a local file or stdout, never half a file.

* The content is streamed into a temporary file next to the target and renamed
  over it only once it has all arrived, so a download that fails (or is
  interrupted) leaves no partial file and an existing file untouched.
* An existing file is replaced only with ``--force``.
* With ``--token`` no request carries the API key (none is needed): the token is
  the whole authorisation. The default name then comes from the answer's
  ``Content-Disposition`` when the service sends one (the file id otherwise);
  with the key it is the file's ``filename`` from its metadata.
"""

from __future__ import annotations

import os
import sys
import tempfile
import contextlib
from typing import IO, TYPE_CHECKING, Any, Dict, Tuple, Optional, AsyncIterator
from pathlib import Path
from dataclasses import dataclass
from email.message import Message

import anyio
import httpx
import anyio.to_thread

from ._common import CommandError

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ..._response import AsyncAPIResponse

__all__ = ["Downloaded", "download", "name_from_disposition"]

CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Downloaded:
    path: Optional[Path]
    """Where the content went (``None``: stdout)."""
    bytes: int


def name_from_disposition(value: Optional[str]) -> Optional[str]:
    """The file name a ``Content-Disposition`` header suggests (RFC 6266, ``filename*`` first), made safe.

    Only the last part of the name is kept, so an answer cannot write outside the
    current directory; names that are empty, ``.`` or ``..`` give ``None``.
    """
    if not value:
        return None
    header = Message()
    header["content-disposition"] = value
    name = header.get_filename()
    if not name:
        return None
    base = Path(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") else None


def _check_target(target: Path, force: bool) -> None:
    """Refuse, before anything is fetched, a target that cannot be written or would be replaced unasked."""
    if not target.parent.is_dir():
        raise CommandError(f"Cannot write {target}: there is no directory {target.parent}.")
    if target.exists() and not force:
        raise CommandError(f"{target} exists: pass --force to replace it, or -o to choose another path.")


async def download(
    client: AsyncMicroDC, file_id: str, *, output: Optional[str], token: Optional[str], force: bool
) -> Downloaded:
    """Fetch the content of ``file_id`` into ``output`` (``-``: stdout; ``None``: the file's own name)."""
    target = Path(output) if output not in (None, "-") else None
    if target is not None:
        _check_target(target, force)
    if output is None and token is None:
        # With the key, the name is the file's own (only its last part: a name from the server cannot write elsewhere).
        target = Path(Path((await client.files.retrieve(file_id)).filename).name or file_id)
        _check_target(target, force)
    options: Dict[str, Any] = {"token": token} if token else {}
    async with client.files.with_streaming_response.content(file_id, **options) as response:
        if output == "-":
            return Downloaded(None, await _to_stdout(response))
        if target is None:  # --token and no -o: the name the answer gives
            target = Path(name_from_disposition(response.headers.get("content-disposition")) or file_id)
            _check_target(target, force)
        return Downloaded(target, await _to_file(response, target, file_id, force))


async def _to_stdout(response: AsyncAPIResponse[Any]) -> int:
    out = sys.stdout.buffer
    written = 0
    async for chunk in _chunks(response, None):
        await anyio.to_thread.run_sync(out.write, chunk)
        written += len(chunk)
    await anyio.to_thread.run_sync(out.flush)
    return written


async def _to_file(response: AsyncAPIResponse[Any], target: Path, file_id: str, force: bool) -> int:
    handle, partial = await anyio.to_thread.run_sync(_temporary, target)
    written = 0
    try:
        with handle:
            async for chunk in _chunks(response, file_id):
                await anyio.to_thread.run_sync(handle.write, chunk)
                written += len(chunk)
        _check_target(target, force)  # it may have appeared meanwhile
        await anyio.to_thread.run_sync(_publish, Path(partial), target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return written


async def _chunks(response: AsyncAPIResponse[Any], file_id: Optional[str]) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.iter_bytes(CHUNK_SIZE):
            yield chunk
    except httpx.TransportError as exc:
        what = f"The download of {file_id}" if file_id else "The download"
        kept = "nothing was saved" if file_id else "the output is incomplete"
        raise CommandError(f"{what} broke off ({type(exc).__name__}: {exc or 'connection lost'}); {kept}.") from None


def _temporary(target: Path) -> Tuple[IO[bytes], str]:
    descriptor, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    handle: IO[bytes] = os.fdopen(descriptor, "wb")
    return handle, partial


def _publish(partial: Path, target: Path) -> None:
    """Give the finished file the mode a new file would get (or the one it replaces), then rename it into place."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(partial, mode)
    os.replace(partial, target)
