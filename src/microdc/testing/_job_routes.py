"""The job endpoints: submit, retrieve, status, cancel, acknowledge and list."""

from __future__ import annotations

from typing import Any, Dict, List, Iterable, Optional

from starlette.requests import Request
from starlette.responses import Response

from ._jobs import JobRecord
from .._spec import LIST_LIMIT_DEFAULT
from ._errors import FakeAPIError, not_found, wrong_state
from ._context import Context, page, read_json, query_lists, json_response
from ._validation import check_query, validate_submission
from ._models_catalog import MODELS
from ..types.job_list_params import JobListParams

__all__ = ["JobRoutes"]


class JobRoutes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store

    def job(self, request: Request) -> JobRecord:
        job_id: str = request.path_params["job_id"]
        job = self.store.jobs.get(job_id)
        if job is None:
            raise not_found("job", job_id, "job_id")
        return job

    def _view(self, job: JobRecord) -> Dict[str, Any]:
        return job.view(self.store.now(), self.store.wall)

    async def submit(self, request: Request) -> Response:
        params = validate_submission(await read_json(request), self.store.file_token_exists)
        injector = self.ctx.injector
        invalid = injector is not None and MODELS[params["model"]].answers_json and injector.invalid_output()
        job = self.store.add_job(params, self.ctx.duration_for(params), invalid_output=invalid)
        return json_response(job.view(job.created, self.store.wall, as_submitted=True), 201)

    async def retrieve(self, request: Request) -> Response:
        return json_response(self._view(self.job(request)))

    async def status(self, request: Request) -> Response:
        return json_response(self.job(request).status_view(self.store.now(), self.store.wall))

    async def cancel(self, request: Request) -> Response:
        job = self.job(request)
        now = self.store.now()
        status = job.status_at(now)
        if status not in ("queued", "running"):
            raise wrong_state(
                "job_not_cancellable", f"Job {job.id} is {status}; only queued or running jobs can be cancelled."
            )
        job.cancelled_at = now
        self.store.changes.notify()
        return json_response(self._view(job))

    async def acknowledge(self, request: Request) -> Response:
        job = self.job(request)
        now = self.store.now()
        if not job.is_terminal(now):
            raise wrong_state(
                "job_not_finished", f"Job {job.id} is {job.status_at(now)}; only finished jobs can be acknowledged."
            )
        if job.acknowledged_at is None:
            job.acknowledged_at = now
        return json_response(self._view(job))

    async def list(self, request: Request) -> Response:
        store = self.store
        query = check_query(JobListParams, query_lists(request))
        limit: int = query.get("limit", LIST_LIMIT_DEFAULT)
        statuses: List[str] = query.get("status", [])
        job_type: Optional[str] = query.get("type")
        acknowledged: Optional[bool] = query.get("acknowledged")
        ids: Optional[List[str]] = query.get("ids")
        after: Optional[str] = query.get("after")
        if after is not None and after not in store.jobs:
            raise FakeAPIError(400, "invalid_cursor", f"Unknown cursor {after!r}: not a job id.", param="after")
        after_seq = store.jobs[after].seq if after is not None else None

        candidates: Iterable[JobRecord]
        if ids is not None:
            found = {job_id: store.jobs[job_id] for job_id in ids if job_id in store.jobs}
            candidates = sorted(found.values(), key=lambda job: job.seq, reverse=True)
        else:
            candidates = reversed(list(store.jobs.values()))
        now = store.now()
        selected: List[JobRecord] = []
        for job in candidates:
            if after_seq is not None and job.seq >= after_seq:
                continue
            if statuses and job.status_at(now) not in statuses:
                continue
            if job_type is not None and job.params["type"] != job_type:
                continue
            if acknowledged is not None and (job.acknowledged_at is not None) != acknowledged:
                continue
            selected.append(job)
            if len(selected) > limit:
                break
        data = [job.view(now, store.wall) for job in selected[:limit]]
        return json_response(page(data, has_more=len(selected) > limit))
