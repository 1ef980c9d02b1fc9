"""jobs.ask and jobs.conversation against the fake over a loopback socket: replies, history, streams, failures."""

from __future__ import annotations

import functools
from typing import Any, List, AsyncIterator

import anyio
import pytest

from microdc import NotFoundError, JobFailedError, APIConnectionError
from microdc.testing import Faults, FakeMicroDC, ManualClock

from ._served import EVENTS, SUBMIT, Served, serve, until, advance_when_streaming


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """Jobs end the moment they are submitted."""
    async for value in serve(FakeMicroDC(job_duration=0, seed=11)):
        yield value


@pytest.fixture
async def slow() -> AsyncIterator[Served]:
    """Jobs take 100 s of a manual clock: they run until the test says otherwise."""
    async for value in serve(FakeMicroDC(job_duration=100, clock=ManualClock(), seed=12)):
        yield value


# --- ask --------------------------------------------------------------------------------


async def test_ask_returns_the_text_of_one_completion(served: Served) -> None:
    text = await served.client.jobs.ask("Say hello", model="echo-1", max_tokens=16, temperature=0.2)
    assert text == "echo: Say hello"
    [body] = served.submissions()
    assert body == {
        "type": "llm_complete",
        "model": "echo-1",
        "prompt": "Say hello",
        "temperature": 0.2,
        "max_tokens": 16,
    }


async def test_ask_passes_job_fields_and_request_options(served: Served) -> None:
    await served.client.jobs.ask(
        "hi", model="echo-1", priority="high", metadata={"k": "v"}, idempotency_key="ask-key-1"
    )
    [body] = served.submissions()
    assert body["priority"] == "high"
    assert body["metadata"] == {"k": "v"}
    [submit] = [r for r in served.fake.requests if r.path == SUBMIT]
    assert submit.headers["idempotency-key"] == "ask-key-1"


@pytest.mark.parametrize("prompt", ["", "   \n"])
async def test_ask_refuses_an_empty_prompt_before_sending(served: Served, prompt: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        await served.client.jobs.ask(prompt, model="echo-1")
    assert served.fake.requests == []


async def test_ask_on_an_unknown_model_raises_the_apis_404_before_submitting(served: Served) -> None:
    with pytest.raises(NotFoundError, match="nope-9"):
        await served.client.jobs.ask("hi", model="nope-9")
    assert served.submissions() == []


async def test_ask_on_a_model_without_completions_raises_before_submitting(served: Served) -> None:
    with pytest.raises(ValueError, match="does not serve llm_complete"):
        await served.client.jobs.ask("hi", model="embed-1")
    assert served.submissions() == []


async def test_ask_raises_job_failed_error_with_the_job(served: Served) -> None:
    with pytest.raises(JobFailedError, match="model_error") as raised:
        await served.client.jobs.ask("please [fail]", model="echo-1")
    assert raised.value.job.status == "failed"
    assert raised.value.job.error is not None


async def test_the_model_is_looked_up_once_per_client(served: Served) -> None:
    for _ in range(3):
        await served.client.jobs.ask("hi", model="echo-1")
    assert served.count("GET", "/models/echo-1") == 1


async def test_cancelling_ask_cancels_the_job_on_the_server(slow: Served) -> None:
    with anyio.move_on_after(30) as scope:  # bounded; cancelled by the test long before
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(functools.partial(slow.client.jobs.ask, "take your time", model="echo-1"))
            await until(lambda: slow.count("GET", "/events") == 1)
            tasks.cancel_scope.cancel()
    assert not scope.cancelled_caught
    [job] = slow.fake.jobs.values()
    assert job["status"] == "cancelled"
    assert slow.count("DELETE") == 1


# --- conversations: send ----------------------------------------------------------------


async def test_send_returns_the_reply_and_keeps_the_history(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", system="Be brief.")
    assert await chat.send("first") == "echo: first"
    assert await chat.send("second") == "echo: second"
    assert chat.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "echo: second"},
    ]
    assert served.submissions()[1]["messages"] == chat.messages[:4]


async def test_twenty_turns_each_send_the_whole_history(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", system="sys", max_tokens=64, temperature=0.1)
    histories: List[List[Any]] = []
    for turn in range(20):
        histories.append([*chat.messages, {"role": "user", "content": f"turn {turn}"}])
        await chat.send(f"turn {turn}")
    bodies = served.submissions()
    assert len(bodies) == 20
    assert [body["messages"] for body in bodies] == histories
    assert all(
        body["type"] == "llm_chat" and body["max_tokens"] == 64 and body["temperature"] == 0.1 for body in bodies
    )
    assert len(chat.messages) == 1 + 2 * 20


async def test_usage_and_cost_add_up_every_turn(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1")
    for text in ("one two three", "four five", "six"):
        await chat.send(text)
    jobs = list(served.fake.jobs.values())
    assert chat.usage.input_tokens == sum(job["usage"]["input_tokens"] for job in jobs)
    assert chat.usage.output_tokens == sum(job["usage"]["output_tokens"] for job in jobs)
    assert chat.usage.total_tokens == chat.usage.input_tokens + chat.usage.output_tokens
    assert chat.cost_usd == pytest.approx(sum(job["usage"]["cost_usd"] for job in jobs), abs=1e-12)
    assert chat.cost_usd > 0


async def test_clear_keeps_the_system_message_only(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", system="You are terse.")
    await chat.send("hi")
    chat.clear()
    assert chat.messages == [{"role": "system", "content": "You are terse."}]
    await chat.send("again")
    assert served.submissions()[-1]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "again"},
    ]
    no_system = served.client.jobs.conversation("echo-1")
    await no_system.send("x")
    no_system.clear()
    assert no_system.messages == []


async def test_a_conversation_continues_given_messages(served: Served) -> None:
    earlier = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]
    chat = served.client.jobs.conversation("echo-1", messages=earlier)  # type: ignore[arg-type]
    await chat.send("c")
    assert served.submissions()[0]["messages"] == [*earlier, {"role": "user", "content": "c"}]
    chat.clear()
    assert chat.messages == earlier[:1]


def test_a_system_message_given_twice_is_refused(served: Served) -> None:
    with pytest.raises(ValueError, match="not both"):
        served.client.jobs.conversation("echo-1", system="x", messages=[{"role": "system", "content": "y"}])


async def test_a_failed_turn_raises_and_leaves_the_history_unchanged(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", system="s")
    await chat.send("fine")
    before = chat.messages
    with pytest.raises(JobFailedError, match="unchanged") as raised:
        await chat.send("this will [fail]")
    assert raised.value.job.status == "failed"
    assert chat.messages == before
    assert chat.usage.input_tokens == sum(job["usage"]["input_tokens"] for job in served.fake.jobs.values())


@pytest.mark.parametrize("text", ["", "  "])
async def test_send_refuses_an_empty_message_before_sending(served: Served, text: str) -> None:
    chat = served.client.jobs.conversation("echo-1")
    with pytest.raises(ValueError, match="empty"):
        await chat.send(text)
    assert served.fake.requests == []


async def test_a_model_that_serves_no_chat_is_refused_before_submitting(served: Served) -> None:
    chat = served.client.jobs.conversation("doc-1")
    with pytest.raises(ValueError, match="does not serve llm_chat"):
        await chat.send("hi")
    with pytest.raises(NotFoundError):
        await served.client.jobs.conversation("missing-model").send("hi")
    assert served.submissions() == []
    assert chat.messages == []


async def test_the_model_can_change_between_turns(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1")
    await chat.send("a")
    chat.model = "embed-1"
    with pytest.raises(ValueError, match="llm_chat"):
        await chat.send("b")
    assert len(chat.messages) == 2


async def test_cancelling_send_cancels_the_job_and_keeps_the_history(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1")
    with anyio.move_on_after(30) as scope:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(chat.send, "long one")
            await until(lambda: slow.count("GET", "/events") == 1)
            tasks.cancel_scope.cancel()
    assert not scope.cancelled_caught
    [job] = slow.fake.jobs.values()
    assert job["status"] == "cancelled"
    assert chat.messages == []
    assert chat.cost_usd == job["usage"]["cost_usd"]


async def test_two_turns_at_once_are_refused(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(chat.send, "first")
        await until(lambda: slow.count("GET", "/events") == 1)
        with pytest.raises(RuntimeError, match="already running a turn"):
            await chat.send("second")
        slow.fake.advance(100)
    assert [m["content"] for m in chat.messages] == ["first", "echo: first"]


# --- conversations: stream --------------------------------------------------------------


async def test_stream_yields_the_deltas_and_appends_the_reply(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", system="s")
    text = "tell me a story about four small words"
    deltas = [delta async for delta in chat.stream(text)]
    assert len(deltas) > 1
    assert "".join(deltas) == f"echo: {text}"
    assert chat.messages[-2:] == [
        {"role": "user", "content": text},
        {"role": "assistant", "content": f"echo: {text}"},
    ]
    assert chat.cost_usd > 0


async def test_deltas_arrive_as_the_job_produces_them(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1")
    deltas: List[str] = []

    async def consume() -> None:
        async for delta in chat.stream("one two three four five six seven"):
            deltas.append(delta)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(consume)
        await until(lambda: slow.count("GET", "/events") == 1)
        slow.fake.advance(40)  # the job runs from 20 s to 100 s: past its first delta only
        await until(lambda: len(deltas) == 1)
        assert chat.messages == []  # nothing appended before the end
        slow.fake.advance(60)
    assert "".join(deltas) == "echo: one two three four five six seven"
    assert len(deltas) == 4
    assert len(chat.messages) == 2


async def test_stream_resumes_across_dropped_connections(served: Served) -> None:
    served.fake.faults = Faults(stream_drop_after=2, max_faults=2, paths=EVENTS)
    chat = served.client.jobs.conversation("echo-1")
    text = "a b c d e f g h"
    deltas = [delta async for delta in chat.stream(text)]
    assert "".join(deltas) == f"echo: {text}"
    resumed = [r.headers.get("last-event-id") for r in served.fake.requests if r.path.endswith("/events")]
    assert resumed == [None, "2", "4"]


async def test_a_stream_that_cannot_resume_raises_and_leaves_the_history(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1")
    await chat.send("kept")
    before = chat.messages
    served.fake.faults = Faults(stream_drop_after=0, paths=EVENTS)  # every connection cut before an event
    seen: List[str] = []

    async def consume() -> None:
        async for delta in chat.stream("lost"):
            seen.append(delta)

    with pytest.raises(APIConnectionError):
        await consume()
    assert chat.messages == before
    assert len(seen) < 4


async def test_a_failed_streamed_turn_raises_job_failed_error(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1")
    with pytest.raises(JobFailedError) as raised:
        async for _ in chat.stream("[fail] now"):
            pass
    assert raised.value.job.status == "failed"
    assert chat.messages == []


async def test_leaving_a_stream_early_cancels_the_job(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1")
    stream = chat.stream("one two three four five six")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(advance_when_streaming, slow, 40.0)
        assert await anext(stream)
    await stream.aclose()
    [job] = slow.fake.jobs.values()
    assert job["status"] == "cancelled"
    assert chat.messages == []
    assert slow.count("DELETE") == 1


async def test_a_stream_left_inside_async_with_cancels_the_job_on_the_way_out(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(advance_when_streaming, slow, 40.0)
        async with chat.stream("one two three four five six") as deltas:
            async for delta in deltas:
                assert delta
                break
    [job] = slow.fake.jobs.values()
    assert job["status"] == "cancelled"  # already: no loop turn needed
    assert slow.count("DELETE") == 1
    assert chat.messages == []


async def test_a_stream_dropped_after_break_cancels_its_job_without_another_turn(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(advance_when_streaming, slow, 40.0)
        async for delta in chat.stream("one two three four five six"):
            assert delta
            break
    await until(lambda: slow.count("DELETE") == 1)
    await until(lambda: next(iter(slow.fake.jobs.values()))["status"] == "cancelled")
    assert chat.messages == []


async def test_the_turn_after_a_break_waits_for_the_dropped_stream_then_runs(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1")
    async for _ in chat.stream("one two three four five six seven eight"):
        break
    reply = await chat.send("next")  # no RuntimeError: the dropped turn is closed first
    assert reply == "echo: next"
    assert [m["content"] for m in chat.messages] == ["next", "echo: next"]
    assert served.count("DELETE") == 1  # the dropped turn's job (already ended: 409, then fetched)
    assert len(served.submissions()) == 2


async def test_a_stream_never_iterated_sends_nothing(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1")
    stream = chat.stream("never read")
    del stream
    assert await chat.send("read") == "echo: read"
    assert len(served.submissions()) == 1


async def test_a_submission_whose_answer_was_lost_is_cancelled_on_the_server(slow: Served) -> None:
    slow.fake.faults = Faults(lost_answer_rate=1.0, max_faults=1, paths=[SUBMIT])
    chat = slow.client.with_options(max_retries=0).jobs.conversation("echo-1")
    with pytest.raises(APIConnectionError):
        await chat.send("created, but the answer never came")
    [job] = slow.fake.jobs.values()  # created once: the second submission was the first one's replay
    assert job["status"] == "cancelled"
    submits = [r for r in slow.fake.requests if r.path == SUBMIT]
    assert len(submits) == 2
    assert submits[0].headers["idempotency-key"] == submits[1].headers["idempotency-key"]
    assert submits[1].replayed
    assert chat.messages == []
