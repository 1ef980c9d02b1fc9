"""The job poller: one per client and event loop, shared by ``jobs.wait``, ``as_completed``, the watcher
and ``jobs.batch``. Over both transports (the ``transport`` fixture), against the fake on a loopback
socket, in virtual time (``fake.virtual_time()``: every SDK wait moves the fake's clock)."""

from __future__ import annotations

import math
import asyncio
import logging
import itertools
from typing import Any, Dict, List, Tuple, Optional, AsyncIterator
from dataclasses import field, dataclass

import anyio
import pytest
import anyio.lowlevel

from microdc import RetryPolicy, AsyncMicroDC, NotFoundError, InternalServerError
from microdc.types import Job
from microdc._clock import use_clock
from microdc.testing import Faults, FakeMicroDC, ManualClock
from microdc.lib.batch import BatchItem
from microdc.lib.hooks import Hooks, ErrorInfo, RetryInfo, RequestInfo
from microdc.lib.jobs._poller import IDS_PER_REQUEST, MAX_EVENT_STREAMS, poller_for

from ._served import until
from .._transports import transport, served_client

__all__ = ["transport"]  # the fixture, imported for pytest

LIST = "/api/v1/jobs"


@dataclass
class Calls:
    """What the client's hooks saw: each attempt (with the fake's time), retry and final error."""

    clock: ManualClock
    attempts: List[Tuple[float, RequestInfo]] = field(default_factory=lambda: [])
    retries: List[RetryInfo] = field(default_factory=lambda: [])
    errors: List[ErrorInfo] = field(default_factory=lambda: [])

    def hooks(self) -> Hooks:
        return Hooks(
            on_request=lambda info: self.attempts.append((self.clock.now(), info)),
            on_retry=self.retries.append,
            on_error=self.errors.append,
        )

    def first_attempts(self, path: str) -> List[float]:
        """When each call to ``path`` was first sent (its retries left out)."""
        return [at for at, info in self.attempts if info.path == path and info.attempt == 1]


@dataclass
class Served:
    fake: FakeMicroDC
    client: AsyncMicroDC
    clock: ManualClock
    calls: Calls

    def count(self, path: str, method: str = "GET") -> int:
        return sum(1 for r in self.fake.requests if r.method == method and r.path == path)

    def events(self) -> int:
        return sum(1 for r in self.fake.requests if r.path.endswith("/events"))

    def asked(self) -> List[List[str]]:
        """The ids of each list request, in order."""
        return [r.params["ids"][0].split(",") for r in self.fake.requests if r.path == LIST and "ids" in r.params]

    async def submit(self, count: int, seconds: Optional[float] = None) -> List[str]:
        """``count`` jobs, submitted in-process (fast); a job lasts ``seconds`` (else the fake's duration)."""
        metadata = {} if seconds is None else {"seconds": str(seconds)}
        async with self.fake.client() as local:
            return [
                (await local.jobs.create(type="llm_embed", model="embed-1", texts=["t"], metadata=metadata)).id
                for _ in range(count)
            ]


def _duration(body: Dict[str, Any]) -> float:
    return float(body.get("metadata", {}).get("seconds", 5.0))


async def _serve(transport: str, **client_options: Any) -> AsyncIterator[Served]:
    clock = ManualClock()
    calls = Calls(clock)
    fake = FakeMicroDC(job_duration=_duration, seed=21, clock=clock)
    with fake.virtual_time():
        async with served_client(fake, transport, hooks=calls.hooks(), **client_options) as client:
            yield Served(fake, client, clock, calls)


@pytest.fixture
async def served(transport: str) -> AsyncIterator[Served]:
    async for value in _serve(transport):
        yield value


@pytest.fixture
async def served_once(transport: str) -> AsyncIterator[Served]:
    """A client that never retries, so each poll is one request."""
    async for value in _serve(transport, retry=RetryPolicy(max_retries=0)):
        yield value


# --- waits ---------------------------------------------------------------------------------


async def test_a_thousand_concurrent_waits_hold_at_most_eight_event_streams(served: Served) -> None:
    ids = await served.submit(1000)
    served.fake.reset_requests()

    done = await asyncio.gather(*(served.client.jobs.wait(job_id) for job_id in ids))

    assert [job.id for job in done] == ids
    assert {job.status for job in done} == {"completed"}
    # Each wait opens at most one stream, and nothing was cut: streams opened == streams held.
    assert served.events() == MAX_EVENT_STREAMS
    # The other 992 were polled together: every round took the fewest list requests.
    asked = served.asked()
    assert all(len(chunk) <= IDS_PER_REQUEST for chunk in asked)
    rounds = math.ceil(served.clock.now())  # at most one round per virtual second (poll_interval 1 s)
    assert len(asked) <= rounds * math.ceil(992 / IDS_PER_REQUEST)
    assert served.count(LIST) + served.count("/api/v1/jobs/{}") < 1000 / 10
    assert poller_for(served.client.jobs).streams == 0  # every stream slot was given back


async def test_copies_of_a_client_share_its_poller_and_its_stream_slots(served: Served) -> None:
    ids = await served.submit(12)
    copies = [served.client.with_options(timeout=30.0 + n) for n in range(len(ids))]
    assert len({id(poller_for(copy.jobs)) for copy in copies}) == 1

    done = await asyncio.gather(*(copy.jobs.wait(job_id) for copy, job_id in zip(copies, ids, strict=True)))

    assert {job.status for job in done} == {"completed"}
    assert served.events() == MAX_EVENT_STREAMS


async def test_a_polled_wait_raises_the_error_of_a_poll_that_failed_after_the_clients_retries(
    served: Served,
) -> None:
    (job_id,) = await served.submit(1)
    served.fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=[LIST, "/api/v1/jobs/*/events"])

    with pytest.raises(InternalServerError):
        await served.client.jobs.wait(job_id)

    retries = served.client.max_retries
    assert served.count(LIST) == 1 + retries  # the client's own retries, counted once
    assert [info.path for info in served.calls.errors].count(LIST) == 1
    assert [info.path for info in served.calls.retries].count(LIST) == retries


async def test_a_polled_wait_for_an_unknown_id_raises_not_found_naming_it(served: Served) -> None:
    poller = poller_for(served.client.jobs)
    for _ in range(MAX_EVENT_STREAMS):  # every stream slot taken: the wait is polled
        assert poller.open_stream()

    with pytest.raises(NotFoundError, match="job_nosuchjob") as raised:
        await served.client.jobs.wait("job_nosuchjob")

    assert raised.value.status_code == 404
    # Asked about once by the list, then looked up once; never polled again.
    assert [(r.path, r.params.get("ids")) for r in served.fake.requests] == [
        (LIST, ["job_nosuchjob"]),
        ("/api/v1/jobs/job_nosuchjob/status", None),
    ]


# --- one round for every subscriber ------------------------------------------------------------


class SteppedTime:
    """The SDK's clock for a test that moves time itself: a sleep ends once the fake's clock has reached its end."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._moved = anyio.Event()
        clock.add_listener(self._tick)

    def _tick(self) -> None:
        self._moved.set()
        self._moved = anyio.Event()

    def monotonic(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        target = self.clock.now() + max(seconds, 0.0)
        while self.clock.now() < target:
            await self._moved.wait()
        await anyio.lowlevel.checkpoint()


async def test_as_completed_a_watcher_a_polled_wait_and_a_batch_share_the_same_rounds(transport: str) -> None:
    clock = ManualClock()
    fake = FakeMicroDC(job_duration=4.0, seed=22, clock=clock)
    delivered: List[str] = []
    with use_clock(SteppedTime(clock)):
        async with served_client(fake, transport) as client, fake.client() as local:
            first, second, third = [
                (await local.jobs.create(type="llm_embed", model="embed-1", texts=["t"])).id for _ in range(3)
            ]
            poller = poller_for(client.jobs)
            for _ in range(MAX_EVENT_STREAMS):  # every stream slot taken: the wait below is polled
                assert poller.open_stream()
            async with client.jobs.watcher(poll_interval=1.0) as watcher:
                watcher.watch(second, lambda job: delivered.append(job.id))
                run = client.jobs.batch([{"type": "llm_embed", "model": "embed-1", "texts": ["b"]}], poll_interval=1.0)
                collected: List[str] = []
                waited: List[Job] = []
                items: List[BatchItem] = []
                async with run, anyio.create_task_group() as tasks:

                    async def collect() -> None:
                        collected.extend([job.id async for job in client.jobs.as_completed([first])])

                    async def wait() -> None:
                        waited.append(await client.jobs.wait(third))

                    tasks.start_soon(collect)
                    tasks.start_soon(wait)
                    await until(lambda: poller.watching == 4 and poller.idle)  # the batch's job is followed
                    for _ in range(10):
                        clock.advance(1.0)
                        await until(lambda: poller.idle)
                    items.extend([item async for item in run])
                await watcher.join()
    assert collected == [first]
    assert [job.status for job in waited] == ["completed"]
    assert delivered == [second]
    assert [item.status for item in items] == ["completed"]
    batch_job = items[0].job_id
    assert batch_job is not None
    asked = [r.params["ids"][0].split(",") for r in fake.requests if r.path == LIST and r.params.get("ids")]
    # Every subscriber's job was due a second in: one request asked about all four.
    assert any(sorted(chunk) == sorted([first, second, third, batch_job]) for chunk in asked), asked


async def test_a_cancelled_subscriber_hands_the_rounds_over(served: Served) -> None:
    quick, slow = await served.submit(2, seconds=10)
    poller = poller_for(served.client.jobs)

    async def first_job() -> None:
        async for _ in served.client.jobs.as_completed([quick, slow], poll_interval=1.0):
            return

    task = asyncio.ensure_future(first_job())
    await until(lambda: bool(served.calls.first_attempts(LIST)))  # it runs the first round now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(MAX_EVENT_STREAMS):  # the wait below is polled
        assert poller.open_stream()
    done = await served.client.jobs.wait(quick, poll_interval=1.0)

    assert done.status == "completed"
    assert poller.watching == 0  # the cancelled subscription left nothing behind


async def test_the_rounds_go_on_for_a_waiter_left_alone_when_the_others_got_their_jobs(served: Served) -> None:
    soon, later = await served.submit(1, seconds=1) + await served.submit(1, seconds=3)
    poller = poller_for(served.client.jobs)
    for _ in range(MAX_EVENT_STREAMS):  # the waits are polled
        assert poller.open_stream()

    async def first() -> List[str]:
        return [job.id async for job in served.client.jobs.as_completed([soon], poll_interval=1.0)]

    with anyio.fail_after(30):  # real seconds: a waiter nobody runs the rounds for would wait forever
        collected, waited_soon, waited_later = await asyncio.gather(
            first(),
            served.client.jobs.wait(soon, poll_interval=1.0),
            served.client.jobs.wait(later, poll_interval=1.0),
        )

    # The round that ended `soon` gave news to the first two, not to the third, which went on alone.
    assert collected == [soon]
    assert (waited_soon.status, waited_later.status) == ("completed", "completed")


# --- what a poll that finally fails costs, for each subscriber --------------------------------------


async def test_one_batch_job_with_the_list_endpoint_down_costs_the_clients_retries_once(served: Served) -> None:
    served.fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=[LIST], methods=["GET"])

    result = await served.client.jobs.submit_many(
        [{"type": "llm_embed", "model": "embed-1", "texts": ["t"]}], poll_interval=1.0
    )

    (item,) = result
    assert item.status == "error"
    assert item.job_id is not None
    assert isinstance(item.error, InternalServerError)
    retries = served.client.max_retries
    assert served.count(LIST) == 1 + retries  # not (1 + retries) ** 2: no layer re-counts the client's
    assert [info.path for info in served.calls.retries] == [LIST] * retries
    assert [info.path for info in served.calls.errors] == [LIST]


async def test_as_completed_raises_a_poll_that_failed_after_the_clients_retries(served: Served) -> None:
    ids = await served.submit(2)
    served.fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=[LIST], methods=["GET"])

    with pytest.raises(InternalServerError):
        async for _ in served.client.jobs.as_completed(ids):
            pass

    assert served.count(LIST) == 1 + served.client.max_retries


async def test_a_watcher_logs_failed_polls_backs_off_while_they_fail_and_then_delivers(
    served_once: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served = served_once
    (job_id,) = await served.submit(1, seconds=0)
    served.fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=[LIST], methods=["GET"], max_faults=5)
    delivered: List[str] = []

    with caplog.at_level(logging.WARNING, logger="microdc"):
        async with served.client.jobs.watcher(poll_interval=1.0) as watcher:
            watcher.watch(job_id, lambda job: delivered.append(job.status))
            await watcher.join()

    assert delivered == ["completed"]
    assert sum("polling failed" in record.getMessage() for record in caplog.records) == 5
    polls = served.calls.first_attempts(LIST)
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    policy = served.client.retry_policy
    # After each failed poll the wait doubles (less up to the policy's jitter), up to max_delay.
    for n, gap in enumerate(gaps):
        full = min(1.0 * 2**n, policy.max_delay)
        assert full * (1 - policy.jitter) - 1e-9 <= gap <= full + 1e-9, (n, gaps)
    assert len(polls) == 6
