"""The file endpoints: upload, list, retrieve, delete, download tokens and content."""

from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.datastructures import UploadFile

from .._spec import FILE_PURPOSES, LIST_LIMIT_DEFAULT, DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT
from ._state import FileRecord
from ._errors import FakeAPIError, invalid, not_found
from ._context import NO_BODY, Context, page, read_json, query_lists, json_response
from ._validation import check_body, check_form, check_query
from ..types.file_list_params import FileListParams
from ..types.file_upload_params import FileUploadFormParams
from ..types.file_content_params import FileContentParams
from ..types.file_create_download_token_params import FileCreateDownloadTokenParams

__all__ = ["FileRoutes"]


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
            text_fields: Dict[str, str] = {}
            for name, value in form.multi_items():
                if name == "file":
                    continue
                if not isinstance(value, str):
                    raise invalid(name, f"{name!r} must be a plain form field, not a file.")
                text_fields[name] = value
        fields = check_form(FileUploadFormParams, text_fields)
        purpose: str = fields.get("purpose", FILE_PURPOSES[0])
        if len(content) > self.ctx.max_upload_bytes:
            raise FakeAPIError(
                413,
                "file_too_large",
                f"The file is {len(content)} bytes; the limit is {self.ctx.max_upload_bytes}.",
                param="file",
            )
        record = self.store.add_file(filename=filename, content=content, content_type=content_type, purpose=purpose)
        return json_response(record.view(self.store.wall), 201)

    async def list(self, request: Request) -> Response:
        store = self.store
        query = check_query(FileListParams, query_lists(request))
        limit: int = query.get("limit", LIST_LIMIT_DEFAULT)
        after: Optional[str] = query.get("after")
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
        # No body at all is fine (the spec's body is optional); a JSON null is not an object.
        fields = {} if body is NO_BODY else check_body(FileCreateDownloadTokenParams, body)
        expires_in: int = fields.get("expires_in", DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT)
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
        query = check_query(FileContentParams, query_lists(request))
        token: Optional[str] = query.get("token")
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
