"""The file endpoints: upload, list, retrieve, delete, download tokens and content."""

from __future__ import annotations

from typing import Any, Dict, List
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.datastructures import UploadFile

from ._state import FileRecord
from ._errors import FakeAPIError, invalid, not_found
from ._context import Context, page, query_int, read_json, json_response

__all__ = ["FileRoutes"]

PURPOSES = ("document",)
DEFAULT_TOKEN_SECONDS = 3600


class FileRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store

    def _file(self, request: Request) -> FileRecord:
        file_id: str = request.path_params["file_id"]
        record = self.store.files.get(file_id)
        if record is None:
            raise not_found("file", file_id, "file_id")
        return record

    async def upload(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise FakeAPIError(
                400, "invalid_content_type", "Upload the file as multipart/form-data with a 'file' part."
            )
        async with request.form(max_files=1, max_fields=16) as form:
            part = form.get("file")
            if part is None:
                raise FakeAPIError(422, "missing_parameter", "Missing required parameter 'file'.", param="file")
            if not isinstance(part, UploadFile):
                raise invalid("file", "'file' must be a file part (with a filename), not a plain field.")
            content = await part.read()
            filename = part.filename or "upload"
            content_type = part.content_type or "application/octet-stream"
            purpose = form.get("purpose") or "document"
        if len(content) > self.ctx.max_upload_bytes:
            raise FakeAPIError(
                413,
                "file_too_large",
                f"The file is {len(content)} bytes; the limit is {self.ctx.max_upload_bytes}.",
                param="file",
            )
        if purpose not in PURPOSES:
            raise invalid("purpose", f"'purpose' must be one of {', '.join(PURPOSES)}; got {purpose!r}.")
        record = self.store.add_file(
            filename=filename, content=content, content_type=content_type, purpose=str(purpose)
        )
        return json_response(record.view(self.store.wall), 201)

    async def list(self, request: Request) -> Response:
        store = self.store
        limit = query_int(request, "limit", default=20, low=1, high=100)
        after = request.query_params.get("after") or None
        after_seq = None
        if after is not None:
            if not after.startswith("file_") or after not in store.seq_of:
                raise FakeAPIError(400, "invalid_cursor", f"Unknown cursor {after!r}: not a file id.", param="after")
            after_seq = store.seq_of[after]
        selected: List[FileRecord] = []
        for record in reversed(list(store.files.values())):
            if after_seq is not None and record.seq >= after_seq:
                continue
            selected.append(record)
            if len(selected) > limit:
                break
        data = [record.view(store.wall) for record in selected[:limit]]
        return json_response(page(data, has_more=len(selected) > limit))

    async def retrieve(self, request: Request) -> Response:
        return json_response(self._file(request).view(self.store.wall))

    async def delete(self, request: Request) -> Response:
        record = self._file(request)
        self.store.delete_file(record.id)
        return json_response({"id": record.id, "object": "file.deleted", "deleted": True})

    async def create_download_token(self, request: Request) -> Response:
        record = self._file(request)
        body: Any = await read_json(request, allow_empty=True)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise FakeAPIError(400, "invalid_json", "The body must be a JSON object.")
        fields: Dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
        expires_in = fields.get("expires_in")
        if expires_in is None:
            expires_in = DEFAULT_TOKEN_SECONDS
        elif isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 60 <= expires_in <= 86400:
            raise invalid("expires_in", "'expires_in' must be an integer number of seconds from 60 to 86400.")
        token = self.store.new_id("dltok_", 32)
        expires_at = self.store.now() + expires_in
        self.store.download_tokens[token] = (record.id, expires_at)
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "token": token,
                "file_id": record.id,
                "expires_at": self.store.wall(expires_at),
                "url": f"{base}/api/v1/files/{record.id}/content?token={token}",
            },
            201,
        )

    async def content(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None:
            grant = self.store.download_tokens.get(token)
            file_id: str = request.path_params["file_id"]
            if grant is None or grant[0] != file_id or self.store.now() >= grant[1]:
                raise FakeAPIError(403, "invalid_download_token", "The download token is invalid or has expired.")
        record = self._file(request)
        plain_name = record.filename.encode("ascii", "replace").decode().replace('"', "")
        disposition = f"attachment; filename=\"{plain_name}\"; filename*=UTF-8''{quote(record.filename)}"
        return Response(
            record.content, headers={"content-type": record.content_type, "content-disposition": disposition}
        )
