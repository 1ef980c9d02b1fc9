"""A small web service that submits jobs on POST and records their results from callbacks.

``POST /jobs {"prompt": ...}`` submits an ``llm_complete`` job and answers 202 with
its id at once; a ``JobWatcher`` running for the life of the app (started in the
Starlette lifespan) calls ``record`` when each job ends; ``GET /jobs/{id}`` shows
what was recorded. No request handler ever waits for a job.

Run it as a script and it serves itself, in-process: it starts the app, posts a few
prompts, waits for the watcher to deliver them, prints the results and exits.

uv run python examples/watcher_service.py      (Starlette comes with microdc[testing])
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Dict, List, AsyncGenerator, cast

import httpx
from starlette.routing import Route
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.applications import Starlette

from microdc import AsyncMicroDC
from _connect import connect
from microdc.types import Job
from microdc.lib.jobs import JobWatcher


def create_app(client: AsyncMicroDC) -> Starlette:
    results: Dict[str, Dict[str, Any]] = {}

    def record(job: Job) -> None:
        """The watcher's callback: runs once per job, when it has ended."""
        result = job.result
        results[job.id] = {
            "status": job.status,
            "text": result.text if result is not None and result.type == "llm_complete" else None,
            "error": job.error.message if job.error is not None else None,
            "cost_usd": job.usage.cost_usd if job.usage is not None else None,
        }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncGenerator[None, None]:
        async with client.jobs.watcher(poll_interval=0.5) as watcher:
            app.state.watcher = watcher
            yield  # the app serves requests here; leaving stops the watcher

    async def submit(request: Request) -> JSONResponse:
        body: object = await request.json()
        prompt = cast(Dict[str, object], body).get("prompt") if isinstance(body, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            return JSONResponse({"error": 'send {"prompt": "..."}'}, status_code=422)
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt=prompt, max_tokens=64)
        results[job.id] = {"status": job.status}
        watcher: JobWatcher = request.app.state.watcher
        watcher.watch(job.id, record)
        return JSONResponse({"id": job.id, "status": job.status}, status_code=202)

    async def show(request: Request) -> JSONResponse:
        job_id = request.path_params["job_id"]
        if job_id not in results:
            return JSONResponse({"error": f"no job {job_id} was submitted here"}, status_code=404)
        return JSONResponse({"id": job_id, **results[job_id]})

    app = Starlette(
        routes=[Route("/jobs", submit, methods=["POST"]), Route("/jobs/{job_id}", show, methods=["GET"])],
        lifespan=lifespan,
    )
    return app


async def main() -> None:
    async with connect() as client:
        app = create_app(client)
        async with app.router.lifespan_context(app):  # what an ASGI server does at start-up and shutdown
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service.local") as http:
                ids: List[str] = []
                for prompt in ("Write a haiku about queues", "Summarise MicroDC", "This one will [fail]"):
                    answer = await http.post("/jobs", json={"prompt": prompt})
                    print(f"POST /jobs -> {answer.status_code} {answer.json()}")
                    ids.append(answer.json()["id"])

                # A real service keeps serving; the demo waits until every callback has run.
                await app.state.watcher.join()
                for job_id in ids:
                    shown = (await http.get(f"/jobs/{job_id}")).json()
                    print(f"GET /jobs/{job_id} -> {shown['status']}: {shown['text'] or shown['error']}")


if __name__ == "__main__":
    asyncio.run(main())
