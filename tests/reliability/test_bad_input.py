"""Bad input: a missing argument, a wrong type or an empty path id raises before anything is sent.

Every row of :data:`CASES` calls one generated method with one mistake and expects
``TypeError`` or ``ValueError`` naming it; the fake (in-process) must have recorded
no request at all. :func:`test_every_generated_method_has_bad_input_cases` keeps the
table honest: a method added to the generated resources fails it until it has rows.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Type, Tuple, AsyncIterator
from pathlib import Path
from dataclasses import field, dataclass

import httpx
import pytest

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC
from microdc.resources.jobs import AsyncJobsResource
from microdc.resources.files import AsyncFilesResource
from microdc.resources.models import AsyncModelsResource

from .conftest import API_KEY

RESOURCES: Dict[str, type] = {"jobs": AsyncJobsResource, "files": AsyncFilesResource, "models": AsyncModelsResource}
COMPLETE: Dict[str, object] = {"type": "llm_complete", "model": "echo-1", "prompt": "hi"}


@dataclass(frozen=True)
class BadCall:
    """``client.<resource>[.<view>].<method>(*args, **kwargs)`` must raise ``raises`` matching ``match``."""

    id: str
    resource: str
    method: str
    raises: Type[Exception]
    match: str
    args: Tuple[object, ...] = ()
    kwargs: Dict[str, object] = field(default_factory=dict[str, object])
    view: str = ""
    """``with_raw_response`` or ``with_streaming_response`` to call through that view."""


def create(id: str, raises: Type[Exception], match: str, **kwargs: object) -> BadCall:
    return BadCall(id, "jobs", "create", raises, match, kwargs=kwargs)


CASES: List[BadCall] = [
    # jobs.create: missing arguments, per job type
    create("create_without_type", TypeError, r"missing 1 required keyword-only argument: 'type'", model="echo-1", prompt="hi"),
    create("create_without_model", TypeError, r"missing 1 required keyword-only argument: 'model'", type="llm_complete", prompt="hi"),
    create("complete_without_prompt", TypeError, r"missing required argument: `prompt`", type="llm_complete", model="echo-1"),
    create("chat_without_messages", TypeError, r"missing required argument: `messages`", type="llm_chat", model="echo-1"),
    create("chat_message_without_content", TypeError, r"missing required argument: `messages.0.content`", type="llm_chat", model="echo-1", messages=[{"role": "user"}]),
    create("embed_without_texts", TypeError, r"missing required argument: `texts`", type="llm_embed", model="embed-1"),
    create("document_without_file_tokens", TypeError, r"missing required argument: `file_tokens`", type="document", model="doc-1"),
    # jobs.create: wrong types and values
    create("create_with_unknown_type", ValueError, r"invalid value for `type`", type="llm_dance", model="echo-1", prompt="hi"),
    create("create_with_int_model", TypeError, r"`model` has the wrong type", type="llm_complete", model=1, prompt="hi"),
    create("create_with_int_prompt", TypeError, r"`prompt` has the wrong type", type="llm_complete", model="echo-1", prompt=1),
    create("create_with_str_temperature", TypeError, r"`temperature` has the wrong type", **COMPLETE, temperature="hot"),
    create("create_with_float_max_tokens", TypeError, r"`max_tokens` has the wrong type", **COMPLETE, max_tokens=1.5),
    create("create_with_str_timeout_seconds", TypeError, r"`timeout_seconds` has the wrong type", **COMPLETE, timeout_seconds="300"),
    create("create_with_unknown_priority", ValueError, r"invalid value for `priority`", **COMPLETE, priority="urgent"),
    create("create_with_non_string_metadata", TypeError, r"`metadata.team` has the wrong type", **COMPLETE, metadata={"team": 7}),
    create("chat_with_a_string_for_messages", ValueError, r"invalid value for `messages`", type="llm_chat", model="echo-1", messages="hi"),
    create("chat_with_an_unknown_role", ValueError, r"invalid value for `messages.0.role`", type="llm_chat", model="echo-1", messages=[{"role": "robot", "content": "hi"}]),
    create("embed_with_a_string_for_texts", ValueError, r"invalid value for `texts`", type="llm_embed", model="embed-1", texts="hi"),
    create("embed_with_int_texts", TypeError, r"`texts.0` has the wrong type", type="llm_embed", model="embed-1", texts=[1]),
    create("embed_with_str_normalize", TypeError, r"`normalize` has the wrong type", type="llm_embed", model="embed-1", texts=["a"], normalize="yes"),
    create("document_with_a_string_for_file_tokens", ValueError, r"invalid value for `file_tokens`", type="document", model="doc-1", file_tokens="tok"),
    create("document_with_int_instruction", TypeError, r"`instruction` has the wrong type", type="document", model="doc-1", file_tokens=["tok"], instruction=5),
    create("create_with_a_misspelt_argument", TypeError, r"Unexpected keyword argument 'max_token'", **COMPLETE, max_token=5),
    # request options, on any method
    create("create_with_int_idempotency_key", TypeError, r"`idempotency_key` must be a string", **COMPLETE, idempotency_key=5),
    create("create_with_empty_idempotency_key", ValueError, r"`idempotency_key` must be 1 to 255 characters", **COMPLETE, idempotency_key=""),
    create("create_with_overlong_idempotency_key", ValueError, r"`idempotency_key` must be 1 to 255 characters", **COMPLETE, idempotency_key="k" * 256),
    create("create_with_str_timeout", TypeError, r"`timeout` must be seconds", **COMPLETE, timeout="soon"),
    create("create_with_str_max_retries", TypeError, r"`max_retries` must be an int", **COMPLETE, max_retries="3"),
    create("create_with_negative_max_retries", ValueError, r"`max_retries` must be 0 or more", **COMPLETE, max_retries=-1),
    create("create_with_int_extra_headers", TypeError, r"`extra_headers` must be a mapping", **COMPLETE, extra_headers=5),
    BadCall("retrieve_with_list_extra_query", "jobs", "retrieve", TypeError, r"`extra_query` must be a mapping", ("job_1",), {"extra_query": ["a"]}),
    BadCall("get_with_idempotency_key", "jobs", "retrieve", TypeError, r"Unexpected keyword argument 'idempotency_key'", ("job_1",), {"idempotency_key": "k"}),
    # jobs.list
    BadCall("list_with_str_limit", "jobs", "list", TypeError, r"`limit` has the wrong type", kwargs={"limit": "10"}),
    BadCall("list_with_a_string_for_status", "jobs", "list", ValueError, r"invalid value for `status`", kwargs={"status": "queued"}),
    BadCall("list_with_an_unknown_status", "jobs", "list", ValueError, r"invalid value for `status.0`", kwargs={"status": ["paused"]}),
    BadCall("list_with_an_unknown_type", "jobs", "list", ValueError, r"invalid value for `type`", kwargs={"type": "dance"}),
    BadCall("list_with_str_acknowledged", "jobs", "list", TypeError, r"`acknowledged` has the wrong type", kwargs={"acknowledged": "yes"}),
    BadCall("list_with_a_string_for_ids", "jobs", "list", ValueError, r"invalid value for `ids`", kwargs={"ids": "job_1"}),
    BadCall("list_with_int_after", "jobs", "list", TypeError, r"`after` has the wrong type", kwargs={"after": 5}),
    # job path ids
    BadCall("retrieve_without_job_id", "jobs", "retrieve", TypeError, r"missing 1 required positional argument: 'job_id'"),
    BadCall("retrieve_with_int_job_id", "jobs", "retrieve", TypeError, r"`job_id` must be a string, got int", (123,)),
    BadCall("retrieve_with_none_job_id", "jobs", "retrieve", TypeError, r"`job_id` must be a string, got NoneType", (None,)),
    BadCall("retrieve_with_empty_job_id", "jobs", "retrieve", ValueError, r"non-empty value for `job_id`", ("",)),
    BadCall("retrieve_with_dot_dot_job_id", "jobs", "retrieve", ValueError, r"`job_id` cannot be '..'", ("..",)),
    BadCall("retrieve_status_with_empty_job_id", "jobs", "retrieve_status", ValueError, r"non-empty value for `job_id`", ("",)),
    BadCall("retrieve_status_with_int_job_id", "jobs", "retrieve_status", TypeError, r"`job_id` must be a string", (1,)),
    BadCall("cancel_with_empty_job_id", "jobs", "cancel", ValueError, r"non-empty value for `job_id`", ("",)),
    BadCall("cancel_with_dot_job_id", "jobs", "cancel", ValueError, r"`job_id` cannot be '.'", (".",)),
    BadCall("acknowledge_with_empty_job_id", "jobs", "acknowledge", ValueError, r"non-empty value for `job_id`", ("",)),
    BadCall("acknowledge_with_int_job_id", "jobs", "acknowledge", TypeError, r"`job_id` must be a string", (1,)),
    BadCall("events_with_empty_job_id", "jobs", "events", ValueError, r"non-empty value for `job_id`", ("",)),
    BadCall("events_with_int_job_id", "jobs", "events", TypeError, r"`job_id` must be a string", (1,)),
    # files
    BadCall("upload_without_file", "files", "upload", TypeError, r"missing 1 required keyword-only argument: 'file'"),
    BadCall("upload_with_int_file", "files", "upload", TypeError, r"Expected bytes, a path .* got int", kwargs={"file": 123}),
    BadCall("upload_with_a_path_string", "files", "upload", TypeError, r"got str; wrap a path string", kwargs={"file": "notes.txt"}),
    BadCall("upload_with_a_short_tuple", "files", "upload", TypeError, r"A file tuple must be", kwargs={"file": ("notes.txt",)}),
    BadCall("upload_with_unknown_purpose", "files", "upload", ValueError, r"invalid value for `purpose`", kwargs={"file": b"x", "purpose": "art"}),
    BadCall("files_list_with_float_limit", "files", "list", TypeError, r"`limit` has the wrong type", kwargs={"limit": 1.5}),
    BadCall("files_list_with_int_after", "files", "list", TypeError, r"`after` has the wrong type", kwargs={"after": 1}),
    BadCall("files_retrieve_with_empty_file_id", "files", "retrieve", ValueError, r"non-empty value for `file_id`", ("",)),
    BadCall("files_retrieve_with_int_file_id", "files", "retrieve", TypeError, r"`file_id` must be a string", (1,)),
    BadCall("files_delete_with_empty_file_id", "files", "delete", ValueError, r"non-empty value for `file_id`", ("",)),
    BadCall("files_delete_with_dot_dot_file_id", "files", "delete", ValueError, r"`file_id` cannot be '..'", ("..",)),
    BadCall("download_token_with_empty_file_id", "files", "create_download_token", ValueError, r"non-empty value for `file_id`", ("",)),
    BadCall("download_token_with_str_expires_in", "files", "create_download_token", TypeError, r"`expires_in` has the wrong type", ("file_1",), {"expires_in": "60"}),
    BadCall("content_with_empty_file_id", "files", "content", ValueError, r"non-empty value for `file_id`", ("",)),
    BadCall("content_with_int_token", "files", "content", TypeError, r"`token` has the wrong type", ("file_1",), {"token": 5}),
    # models
    BadCall("models_list_with_a_positional_argument", "models", "list", TypeError, r"positional argument", ("echo-1",)),
    BadCall("models_list_with_a_misspelt_option", "models", "list", TypeError, r"Unexpected keyword argument 'time_out'", kwargs={"time_out": 5}),
    BadCall("models_retrieve_with_empty_model_id", "models", "retrieve", ValueError, r"non-empty value for `model_id`", ("",)),
    BadCall("models_retrieve_with_int_model_id", "models", "retrieve", TypeError, r"`model_id` must be a string", (5,)),
    # the raw and streaming views check the same way
    BadCall("raw_retrieve_with_empty_job_id", "jobs", "retrieve", ValueError, r"non-empty value for `job_id`", ("",), view="with_raw_response"),
    BadCall("raw_create_without_prompt", "jobs", "create", TypeError, r"missing required argument: `prompt`", kwargs={"type": "llm_complete", "model": "echo-1"}, view="with_raw_response"),
    BadCall("streamed_content_with_empty_file_id", "files", "content", ValueError, r"non-empty value for `file_id`", ("",), view="with_streaming_response"),
    BadCall("streamed_list_with_str_limit", "files", "list", TypeError, r"`limit` has the wrong type", kwargs={"limit": "5"}, view="with_streaming_response"),
]  # fmt: skip


@pytest.fixture
async def fake_and_client() -> AsyncIterator[Tuple[FakeMicroDC, AsyncMicroDC]]:
    fake = FakeMicroDC(api_key=API_KEY, seed=1)
    async with fake.client(max_retries=0) as client:
        yield fake, client


async def _call(client: AsyncMicroDC, case: BadCall) -> None:
    target: Any = getattr(client, case.resource)
    if case.view:
        target = getattr(target, case.view)
    result: Any = getattr(target, case.method)(*case.args, **case.kwargs)
    if hasattr(result, "__aenter__"):
        async with result:
            pass
    elif inspect.isawaitable(result):
        await result


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_bad_input_raises_before_anything_is_sent(
    case: BadCall, fake_and_client: Tuple[FakeMicroDC, AsyncMicroDC]
) -> None:
    fake, client = fake_and_client
    with pytest.raises(case.raises, match=case.match):
        await _call(client, case)
    assert fake.requests == []


def _generated_methods() -> List[Tuple[str, str]]:
    methods: List[Tuple[str, str]] = []
    for resource, cls in RESOURCES.items():
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                methods.append((resource, name))
    return methods


def test_every_generated_method_has_bad_input_cases() -> None:
    generated = set(_generated_methods())
    covered = {(case.resource, case.method) for case in CASES}
    assert len(generated) >= 15
    assert generated - covered == set()


def test_every_method_with_a_path_id_refuses_an_empty_one() -> None:
    with_path_id = {
        (resource, name)
        for resource, name in _generated_methods()
        if any(p.endswith("_id") for p in inspect.signature(getattr(RESOURCES[resource], name)).parameters)
    }
    empty_id_cases = {
        (case.resource, case.method)
        for case in CASES
        if case.args == ("",) and case.raises is ValueError and not case.view
    }
    assert with_path_id == empty_id_cases


async def test_a_good_call_after_bad_ones_still_goes_through(
    fake_and_client: Tuple[FakeMicroDC, AsyncMicroDC], tmp_path: Path
) -> None:
    fake, client = fake_and_client
    for case in CASES[:5]:
        with pytest.raises(case.raises):
            await _call(client, case)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"hello")
    uploaded = await client.files.upload(file=notes)
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi", timeout=httpx.Timeout(5.0))
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", "/api/files/upload"),
        ("POST", "/api/v1/jobs/submit"),
    ]
    assert uploaded.bytes == 5
    assert job.id in fake.jobs
