"""Quickstart: one-call ``ask``, a structured ``ask``, a two-turn conversation, one job of each type, the job list.

uv run python examples/quickstart.py
"""

# (No `from __future__ import annotations`: Invoice's fields are then real types, which pydantic
# reads even where this file runs as an unregistered module, as tests/reliability does.)
import asyncio
import datetime

import pydantic

from microdc import LLMChat, LLMEmbed, DocumentCall
from _connect import connect
from microdc.types import Job


class Invoice(pydantic.BaseModel):
    """The shape a structured ask asks for: the reply comes back as one of these, validated."""

    number: str
    issued: datetime.date
    total_usd: float = pydantic.Field(ge=0)


def describe(job: Job) -> str:
    result = job.result
    if result is None:
        return f"{job.status} ({job.error.code if job.error else 'no result'})"
    if result.type == "llm_complete":
        text = result.text
    elif result.type == "llm_chat":
        text = result.message.content
    elif result.type == "llm_embed":
        text = f"{len(result.embeddings)} embedding(s) of {result.dimensions} dimensions"
    else:
        text = f"{result.page_count} page(s): {result.text[:40]!r}"
    cost = f"${job.usage.cost_usd:.6f}, {job.usage.total_tokens} tokens" if job.usage else "no usage"
    return f"{job.status}: {text} ({cost})"


async def main() -> None:
    async with connect() as client:
        # The shortest way: ask for one completion and get its text.
        answer = await client.jobs.ask("Say hello to MicroDC", model="echo-1", max_tokens=32)
        print(f"ask          -> {answer}")

        # Ask for data, not prose: the reply is validated as an Invoice. An invalid reply is
        # re-asked once (max_reasks=1), each re-ask a job of its own within max_cost_usd.
        # (The embedded fake's json-1 fills the shape with made-up values.)
        invoice = await client.jobs.ask(
            "Extract the invoice: 'Invoice INV-7, issued 2024-03-01, total $120.50'",
            model="json-1",
            response_model=Invoice,
            max_tokens=200,
            max_cost_usd=0.01,
        )
        print(f"structured   -> {invoice!r}")

        # A conversation keeps the history for you; each turn sends all of it.
        chat = client.jobs.conversation("echo-1", system="Be brief.", max_cost_usd=0.10)
        print(f"turn 1       -> {await chat.send('What is MicroDC?')}")
        print("turn 2       -> ", end="")
        async for delta in chat.stream("How do I submit a job?"):  # the reply, as it is written
            print(delta, end="", flush=True)
        print(f"\nconversation: {len(chat.messages)} messages, {chat.usage.total_tokens} tokens, ${chat.cost_usd:.6f}")

        # 1. A plain completion, submitted and awaited in one call.
        complete = await client.jobs.create_and_wait(
            type="llm_complete", model="echo-1", prompt="Say hello to MicroDC", wait_timeout=60
        )
        print(f"llm_complete {complete.id} -> {describe(complete)}")

        # 2. A chat, built step by step.
        chat = LLMChat("echo-1", max_tokens=64).set_system("Be brief.").add_user_message("What is MicroDC?")
        job = await client.jobs.submit(chat)
        job = await client.jobs.wait(job.id, timeout=60)
        print(f"llm_chat     {job.id} -> {describe(job)}")

        # 3. Embeddings.
        job = await client.jobs.submit(LLMEmbed("embed-1").add_texts(["first text", "second text"]))
        job = await client.jobs.wait(job.id, timeout=60)
        print(f"llm_embed    {job.id} -> {describe(job)}")

        # 4. A document job over an uploaded file.
        file = await client.files.upload(file=("notes.txt", b"MicroDC runs LLM work as queued jobs.\n", "text/plain"))
        job = await client.jobs.submit(DocumentCall("doc-1", instruction="Summarise").add_file(file))
        job = await client.jobs.wait(job.id, timeout=60)
        print(f"document     {job.id} -> {describe(job)}")

        # Page through the finished jobs and acknowledge each one.
        async for listed in client.jobs.list(status=["completed"], acknowledged=False, limit=2):
            acked = await client.jobs.acknowledge(listed.id)
            print(f"acknowledged {acked.id} ({acked.type}, {acked.status})")


if __name__ == "__main__":
    asyncio.run(main())
