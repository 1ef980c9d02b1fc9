"""``jobs.estimate_cost``: a true upper bound on what a job costs, against the embedded fake."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import LLMChat, LLMComplete, AsyncMicroDC, DocumentCall
from microdc.types import Model
from microdc.testing import FakeMicroDC
from microdc.lib.jobs import CostEstimate
from microdc.lib.retry import disable_retry_delays
from microdc.lib.jobs._cost import worst_case_tokens

# echo-1: $0.50 in, $1.50 out per million tokens; at most 4,096 output tokens.
ECHO_IN, ECHO_OUT, ECHO_MAX_OUTPUT = 0.5, 1.5, 4096


@pytest.fixture
def fake() -> FakeMicroDC:
    return FakeMicroDC(job_duration=0, seed=7)


@pytest.fixture
async def client(fake: FakeMicroDC) -> AsyncIterator[AsyncMicroDC]:
    with disable_retry_delays():
        async with fake.client() as client:
            yield client


async def test_input_tokens_are_bounded_by_utf8_bytes_and_output_by_max_tokens(client: AsyncMicroDC) -> None:
    prompt = "héllo 世界 🙂"  # 5 + 1 + 6 + 1 + 4 bytes... counted by encoding, not by characters
    estimate = await client.jobs.estimate_cost(
        {"type": "llm_complete", "model": "echo-1", "prompt": prompt, "max_tokens": 10}
    )
    assert estimate == CostEstimate(
        model="echo-1",
        input_tokens_max=len(prompt.encode()),
        output_tokens_max=10,
        worst_case_usd=pytest.approx((len(prompt.encode()) * ECHO_IN + 10 * ECHO_OUT) / 1e6),  # type: ignore[arg-type]
    )
    assert estimate.input_tokens_max > len(prompt)


async def test_without_max_tokens_the_models_max_output_tokens_bounds_the_output(client: AsyncMicroDC) -> None:
    chat = LLMChat("echo-1").set_system("be brief").add_user_message("hi").add_assistant_message("hello")
    estimate = await client.jobs.estimate_cost(chat)
    assert estimate.input_tokens_max == len("be brief") + len("hi") + len("hello")
    assert estimate.output_tokens_max == ECHO_MAX_OUTPUT


async def test_max_tokens_above_the_models_limit_is_capped_by_it(client: AsyncMicroDC) -> None:
    estimate = await client.jobs.estimate_cost(LLMComplete("echo-1", prompt="x", max_tokens=100_000))
    assert estimate.output_tokens_max == ECHO_MAX_OUTPUT


async def test_an_embedding_job_has_no_output_tokens(client: AsyncMicroDC) -> None:
    estimate = await client.jobs.estimate_cost({"type": "llm_embed", "model": "embed-1", "texts": ["ab", "ü"]})
    assert (estimate.input_tokens_max, estimate.output_tokens_max) == (4, 0)
    assert estimate.worst_case_usd == pytest.approx(4 * 0.1 / 1e6)


async def test_a_document_job_counts_its_files_bytes_and_the_instruction(client: AsyncMicroDC) -> None:
    first = await client.files.upload(file=("a.txt", b"alpha beta gamma"), purpose="document")
    second = await client.files.upload(file=("b.txt", "ünïcode".encode()), purpose="document")
    estimate = await client.jobs.estimate_cost(DocumentCall("doc-1", instruction="sum").add_files([first, second]))
    assert estimate.input_tokens_max == first.bytes + second.bytes + 3
    assert estimate.output_tokens_max == 8192  # doc-1's max_output_tokens


async def test_a_document_with_an_unknown_file_token_cannot_be_bounded(client: AsyncMicroDC) -> None:
    with pytest.raises(ValueError, match="no uploaded file has the token 'ftok_nope'"):
        await client.jobs.estimate_cost({"type": "document", "model": "doc-1", "file_tokens": ["ftok_nope"]})


def test_a_job_without_max_tokens_on_a_model_without_an_output_limit_says_to_set_max_tokens() -> None:
    model = Model.model_construct(
        id="free-form",
        object="model",
        job_types=["llm_complete"],
        context_window=1000,
        max_output_tokens=None,
        embedding_dimensions=None,
    )
    with pytest.raises(ValueError, match="set `max_tokens`"):
        worst_case_tokens({"type": "llm_complete", "model": "free-form", "prompt": "hi"}, model, {})


async def test_a_job_without_a_model_says_to_set_it(client: AsyncMicroDC) -> None:
    with pytest.raises(ValueError, match="set `model`"):
        await client.jobs.estimate_cost({"type": "llm_complete", "prompt": "hi"})


async def test_each_model_is_fetched_once_per_client_even_when_asked_concurrently(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    params = {"type": "llm_complete", "model": "echo-1", "prompt": "hi", "max_tokens": 1}
    await asyncio.gather(*(client.jobs.estimate_cost(params) for _ in range(20)))
    await client.jobs.estimate_cost(params)
    assert sum(1 for r in fake.requests if r.path == "/api/v1/models/echo-1") == 1


# --- the bound holds for every input ------------------------------------------------------


def _is_word(word: str) -> bool:
    return not word.isspace()


def _join(words: List[str]) -> str:
    return " ".join(words)


_words: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(["a", "b", "I", "x"]),  # one-letter words: a token per two bytes
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40).filter(_is_word),
    st.text(alphabet="世界你好日本語한국어", min_size=1, max_size=12),  # CJK
    st.text(alphabet="🙂🚀👍🏽🎉", min_size=1, max_size=6),  # emoji, some with modifiers
)
_texts: st.SearchStrategy[str] = st.lists(_words, min_size=1, max_size=200).map(_join)
_max_tokens: st.SearchStrategy[Optional[int]] = st.one_of(st.none(), st.integers(min_value=1, max_value=5000))


def _complete(prompt: str, max_tokens: Optional[int]) -> Dict[str, Any]:
    params: Dict[str, Any] = {"type": "llm_complete", "model": "echo-1", "prompt": prompt}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    return params


def _chat(history: List[str], max_tokens: Optional[int]) -> Dict[str, Any]:
    roles = ["user", "assistant"]
    messages = [{"role": roles[i % 2], "content": text} for i, text in enumerate(history)]
    params: Dict[str, Any] = {"type": "llm_chat", "model": "echo-1", "messages": messages}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    return params


def _embed(texts: List[str]) -> Dict[str, Any]:
    return {"type": "llm_embed", "model": "embed-1", "texts": texts}


def _document(text: str, instruction: Optional[str]) -> Dict[str, Any]:
    """A document job; ``upload`` is the file to upload first (its token is filled in then)."""
    params: Dict[str, Any] = {"type": "document", "model": "doc-1", "upload": text}
    if instruction is not None:
        params["instruction"] = instruction
    return params


_jobs: st.SearchStrategy[Dict[str, Any]] = st.one_of(
    st.builds(_complete, _texts, _max_tokens),
    st.builds(_chat, st.lists(_texts, min_size=1, max_size=12), _max_tokens),  # long chat histories
    st.builds(_embed, st.lists(_texts, min_size=1, max_size=5)),
    st.builds(_document, _texts, st.one_of(st.none(), _texts)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(job=_jobs)
def test_the_estimate_is_never_below_what_the_fake_charges(job: Dict[str, Any]) -> None:
    async def run() -> None:
        fake = FakeMicroDC(job_duration=0, seed=1)
        async with fake.client() as client:
            params = dict(job)
            upload = params.pop("upload", None)
            if isinstance(upload, str):
                uploaded = await client.files.upload(file=("doc.txt", upload.encode()), purpose="document")
                params["file_tokens"] = [uploaded.token]
            estimate = await client.jobs.estimate_cost(params)
            created = await client.jobs.create(**params)
            done = await client.jobs.wait(created.id, timeout=10)
            assert done.status in ("completed", "failed")  # "[fail]" in the text makes the fake fail the job
            assert done.usage is not None
            assert done.usage.input_tokens <= estimate.input_tokens_max
            assert done.usage.output_tokens <= estimate.output_tokens_max
            assert done.usage.cost_usd <= estimate.worst_case_usd

    with disable_retry_delays():
        asyncio.run(run())
