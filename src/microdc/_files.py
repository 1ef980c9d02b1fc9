"""File uploads: every accepted ``file=`` form turned into a streamed multipart body.

``files.upload(file=...)`` takes bytes, a path (``pathlib.Path``/``os.PathLike``), a
binary file object, or ``(filename, content[, content_type])``. The body is written
by :class:`MultipartBody`, which reads files in 1 MiB chunks in a worker thread, so a
large upload neither blocks the event loop nor sits in memory. A retry sends the
whole file again: a path is re-opened, a seekable file object rewound. A stream that
cannot be rewound is sent once; :attr:`MultipartBody.replayable` tells the retry loop
so, and the error explains it.
"""

from __future__ import annotations

import io
import os
import uuid
import mimetypes
from typing import IO, Dict, List, Tuple, Optional, AsyncIterable, AsyncIterator, cast

import anyio
import httpx
import anyio.to_thread

from ._qs import Querystring
from ._types import FileTypes, FileContent

__all__ = ["ContentStream", "MultipartBody", "StreamedBody", "UploadFile", "to_upload_file"]

CHUNK_SIZE = 1024 * 1024


class UploadFile:
    """One file of a multipart body: where its bytes come from, and its name and type."""

    __slots__ = ("_start", "content", "content_type", "filename")

    def __init__(self, content: FileContent, filename: Optional[str], content_type: Optional[str]) -> None:
        self.content = content
        self.filename = filename or "upload"
        self.content_type = content_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        self._start: Optional[int] = None
        if not isinstance(content, (bytes, os.PathLike)):
            try:
                self._start = content.tell() if content.seekable() else None
            except (OSError, ValueError):
                self._start = None

    @property
    def replayable(self) -> bool:
        """Whether the content can be sent again from its start."""
        return isinstance(self.content, (bytes, os.PathLike)) or self._start is not None

    def size(self) -> Optional[int]:
        """The number of bytes that will be sent, when known in advance."""
        content = self.content
        if isinstance(content, bytes):
            return len(content)
        if isinstance(content, os.PathLike):
            return os.stat(content).st_size
        if self._start is not None:
            try:
                return os.fstat(content.fileno()).st_size - self._start
            except (OSError, ValueError, io.UnsupportedOperation):
                pass
            if isinstance(content, io.BytesIO):
                return content.getbuffer().nbytes - self._start
        return None

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self.content
        if isinstance(content, bytes):
            yield content
            return
        if isinstance(content, os.PathLike):
            path = os.fspath(content)
            handle = await anyio.to_thread.run_sync(open, path, "rb")
            try:
                async for chunk in _read_chunks(handle):
                    yield chunk
            finally:
                await anyio.to_thread.run_sync(handle.close)
            return
        if self._start is not None:
            await anyio.to_thread.run_sync(content.seek, self._start)
        async for chunk in _read_chunks(content):
            yield chunk


async def _read_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    while True:
        chunk = await anyio.to_thread.run_sync(handle.read, CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


def to_upload_file(value: FileTypes) -> UploadFile:
    """Check a ``file=`` argument and describe it; ``TypeError`` says what is accepted."""
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise TypeError("A file tuple must be (filename, content) or (filename, content, content_type)")
        filename = value[0]
        content = value[1]
        content_type = value[2] if len(value) == 3 else None
        _check_content(content)
        return UploadFile(content, filename, content_type)
    _check_content(value)
    return UploadFile(value, _default_filename(value), None)


def _check_content(content: object) -> None:
    if isinstance(content, (bytes, os.PathLike)):
        return
    if isinstance(content, (str, bytearray, memoryview)):
        kind = type(cast(object, content)).__name__
        raise TypeError(
            f"Expected bytes, a path (pathlib.Path) or a binary file object for `file`, got {kind}; "
            "wrap a path string in pathlib.Path(...) or encode text to bytes"
        )
    if not callable(getattr(content, "read", None)):
        raise TypeError(
            f"Expected bytes, a path (pathlib.Path) or a binary file object for `file`, got {type(content).__name__}"
        )


def _default_filename(content: FileContent) -> Optional[str]:
    if isinstance(content, os.PathLike):
        return os.path.basename(os.fspath(content))
    name = getattr(content, "name", None)
    return os.path.basename(name) if isinstance(name, str) else None


def _quote(value: str) -> str:
    # Escape the characters that would end or split a quoted header parameter.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class StreamedBody(httpx.AsyncByteStream):
    """A request body sent as a stream: its ``Content-Type``, its length when known, and whether it can be re-sent."""

    @property
    def content_type(self) -> Optional[str]:
        """The ``Content-Type`` it must be sent with (None: the call's own)."""
        return None

    @property
    def replayable(self) -> bool:
        """Whether the whole body can be sent again (for a retry)."""
        return False

    def content_length(self) -> Optional[int]:
        """The number of bytes it holds, when known in advance (else it is sent chunked)."""
        return None


class ContentStream(StreamedBody):
    """A caller's ``content=`` given as an async iterable of bytes: read once, while it is sent."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self._sent = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._sent:
            raise RuntimeError("this request body is an async iterable, which can be read only once")
        self._sent = True
        async for chunk in self._chunks:
            yield chunk


class MultipartBody(StreamedBody):
    """A ``multipart/form-data`` body of form fields and files, streamed and replayable."""

    def __init__(self, fields: Dict[str, object], files: List[Tuple[str, UploadFile]]) -> None:
        self.boundary = uuid.uuid4().hex
        # Encoded as query parameters are (None, NOT_GIVEN and omit left out), except that a
        # list is one part per item named `key[]`, as openai-python and anthropic-sdk-python send it.
        self._fields = b"".join(
            self._part_head(name, None, None) + _field_bytes(value) + b"\r\n" for name, value in _FORM.fields(fields)
        )
        self._files = files
        self._heads = [self._part_head(name, upload.filename, upload.content_type) for name, upload in files]
        self._tail = f"--{self.boundary}--\r\n".encode()
        self._sent = False

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def replayable(self) -> bool:
        """Whether the whole body can be sent again (every file rewinds)."""
        return all(upload.replayable for _, upload in self._files)

    def content_length(self) -> Optional[int]:
        total = len(self._fields) + len(self._tail)
        for head, (_, upload) in zip(self._heads, self._files, strict=True):
            size = upload.size()
            if size is None:
                return None
            total += len(head) + size + 2
        return total

    def _part_head(self, name: str, filename: Optional[str], content_type: Optional[str]) -> bytes:
        disposition = f'form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
        head = f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        return (head + "\r\n").encode()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._sent and not self.replayable:
            raise RuntimeError("this upload reads from a stream that cannot be rewound, so it cannot be sent twice")
        self._sent = True
        if self._fields:
            yield self._fields
        for head, (_, upload) in zip(self._heads, self._files, strict=True):
            yield head
            async for chunk in upload.chunks():
                yield chunk
            yield b"\r\n"
        yield self._tail


def _field_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


_FORM = Querystring(array_format="brackets")
