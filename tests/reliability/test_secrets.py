"""Secrets: the API key and download tokens never show up in logs, reprs or error messages.

The examples (``examples/*.py``) are run once, in-process, against a fake whose API
key is a recognisable secret, with ``MICRODC_LOG=debug``: every log record, all of
stderr (where that setting sends the log) and all of stdout are kept, then searched
for the key and for every download token the fake handed out. Reprs and error
messages are checked on calls made for the purpose, including errors raised while
a token is in the URL.
"""

from __future__ import annotations

import io
import sys
import asyncio
import logging
import contextlib
import importlib.util
from typing import Any, Set, List, Generator
from pathlib import Path
from dataclasses import field, dataclass

import anyio
import pytest

import microdc._logs
from microdc import (
    APIError,
    AsyncMicroDC,
    APITimeoutError,
    APIConnectionError,
    AuthenticationError,
    PermissionDeniedError,
)
from microdc._retry import disable_retry_delays
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.hooks import Hooks, RequestInfo

from .conftest import API_KEY, Served
from ._raw_server import RawServer, close_without_answer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUN_TIME_LIMIT = 120.0


def example_scripts() -> List[Path]:
    return sorted(path for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))


def download_tokens(fake: FakeMicroDC) -> Set[str]:
    """Every download token the fake created, and every token a request carried."""
    tokens = set(fake._store.download_tokens)
    tokens.update(token for r in fake.requests for token in r.params.get("token", []))
    return tokens


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def debug_logging() -> Generator[_Collect, None, None]:
    """``MICRODC_LOG=debug`` as a user sets it, undone afterwards; yields a handler that keeps every record."""
    logger = logging.getLogger("microdc")
    handlers, level = list(logger.handlers), logger.level
    collect = _Collect()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MICRODC_LOG", "debug")
        patch.setattr(microdc._logs, "_configured", False)  # let the next client read MICRODC_LOG again
        logger.addHandler(collect)
        try:
            yield collect
        finally:
            for handler in logger.handlers[:]:
                if handler not in handlers:
                    logger.removeHandler(handler)
            logger.setLevel(level)


@dataclass
class ExamplesRun:
    scripts: List[str] = field(default_factory=list[str])
    records: List[str] = field(default_factory=list[str])
    stderr: str = ""
    stdout: str = ""
    tokens: Set[str] = field(default_factory=set[str])


async def _run_example(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"microdc_example_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    loader: Any = spec.loader
    loader.exec_module(module)
    main: Any = getattr(module, "main", None)
    assert main is not None, f"{path.name} has no main()"
    await main()


@pytest.fixture(scope="module")
def examples_run() -> ExamplesRun:
    """Every example, run once against a fake on loopback, with ``MICRODC_LOG=debug``."""
    run = ExamplesRun(scripts=[path.name for path in example_scripts()])
    fake = FakeMicroDC(api_key=API_KEY, job_duration=0.05, seed=9)
    stdout, stderr = io.StringIO(), io.StringIO()

    async def main() -> None:
        async with fake.serve(port=0) as base_url:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("MICRODC_BASE_URL", base_url)
                patch.setenv("MICRODC_API_KEY", API_KEY)
                sys.path.insert(0, str(EXAMPLES))  # the examples import their shared `_connect`
                try:
                    with anyio.fail_after(RUN_TIME_LIMIT):
                        for path in example_scripts():
                            await _run_example(path)
                finally:
                    sys.path.remove(str(EXAMPLES))
                    sys.modules.pop("_connect", None)

    with debug_logging() as collect, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        asyncio.run(main())
    run.records, run.stdout, run.stderr = collect.lines, stdout.getvalue(), stderr.getvalue()
    run.tokens = download_tokens(fake)
    return run


def test_the_examples_ran_with_debug_logs_and_download_tokens(examples_run: ExamplesRun) -> None:
    assert "files.py" in examples_run.scripts
    assert examples_run.tokens, "no download token was created: nothing to look for"
    assert sum("Request: " in line for line in examples_run.records) >= 10
    assert "Request: " in examples_run.stderr  # MICRODC_LOG=debug wrote the log to stderr
    assert "<redacted>" in examples_run.stderr


def test_debug_logs_of_the_examples_hold_no_api_key(examples_run: ExamplesRun) -> None:
    assert [line for line in examples_run.records if API_KEY in line] == []
    assert API_KEY not in examples_run.stderr


def test_debug_logs_of_the_examples_hold_no_download_token(examples_run: ExamplesRun) -> None:
    text = "\n".join(examples_run.records) + examples_run.stderr
    assert [token for token in examples_run.tokens if token in text] == []
    assert "token=<redacted>" in text  # the download was logged, its token hidden


def test_the_examples_print_no_secret(examples_run: ExamplesRun) -> None:
    assert examples_run.stdout
    assert API_KEY not in examples_run.stdout
    assert [token for token in examples_run.tokens if token in examples_run.stdout] == []


# ------------------------------------------------------------------ reprs and errors


async def test_reprs_show_no_api_key_or_download_token(served: Served) -> None:
    async with served.client() as client:
        uploaded = await client.files.upload(file=("notes.txt", b"secret plans", "text/plain"))
        token = await client.files.create_download_token(uploaded.id)
        raw = await client.files.with_raw_response.create_download_token(uploaded.id)
        content = await client.files.content(uploaded.id, token=token.token)
        shown = [
            repr(client),
            repr(client.copy(max_retries=1)),
            repr(client.files),
            repr(token),
            str(token),
            repr(raw),
            repr(await raw.parse()),
            repr(content),
        ]
    secrets = [API_KEY, token.token, (await raw.parse()).token]
    assert [(text, secret) for text in shown for secret in secrets if secret in text] == []
    assert token.token in token.url  # the secret is there to find; it is only not shown


async def test_hook_records_show_no_api_key_or_download_token(served: Served) -> None:
    seen: List[RequestInfo] = []
    async with served.client(hooks=Hooks(on_request=seen.append)) as client:
        uploaded = await client.files.upload(file=b"abc")
        token = await client.files.create_download_token(uploaded.id)
        await client.files.content(uploaded.id, token=token.token)
    shown = [f"{info!r} {info.url} {info.headers}" for info in seen]
    assert len(shown) == 3
    assert [text for text in shown if API_KEY in text or token.token in text] == []


async def test_a_wrong_api_key_is_not_echoed_in_the_error(served: Served) -> None:
    wrong_key = "sk-wrong-key-5d1c0ffee"
    async with served.client(api_key=wrong_key, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.models.list()
    assert wrong_key not in str(caught.value)
    assert wrong_key not in repr(caught.value)


async def test_a_refused_download_token_is_not_echoed_in_the_error(served: Served) -> None:
    async with served.client(max_retries=0) as client:
        uploaded = await client.files.upload(file=b"abc")
        bad_token = "dltok_this-one-is-not-valid-0000"
        with pytest.raises(PermissionDeniedError) as caught:
            await client.files.content(uploaded.id, token=bad_token)
    assert bad_token not in str(caught.value)
    assert bad_token not in repr(caught.value)


async def test_a_connection_error_with_a_token_in_the_url_hides_it() -> None:
    token = "dltok_secret-token-in-a-url-1234"
    async with (
        RawServer(close_without_answer()) as server,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, max_retries=1) as client,
    ):
        with disable_retry_delays(), pytest.raises(APIConnectionError) as caught:
            await client.files.content("file_1", token=token)
    assert f"token={token}" in server.requests[0].target  # it was sent, as the API wants
    assert token not in str(caught.value)
    assert API_KEY not in str(caught.value)


async def test_a_timeout_with_a_token_in_the_url_hides_it(served: Served) -> None:
    async with served.client(max_retries=0) as client:
        uploaded = await client.files.upload(file=b"abc")
        token = await client.files.create_download_token(uploaded.id)
        served.fake.faults = Faults(latency=1.0, paths=["/api/v1/files/*/content"])
        with pytest.raises(APITimeoutError) as caught:
            await client.files.content(uploaded.id, token=token.token, timeout=0.2)
    assert token.token not in str(caught.value)
    assert token.token not in repr(caught.value)


async def test_debug_logs_of_failing_calls_hold_no_secret(served: Served) -> None:
    with debug_logging() as collect:
        async with served.client(max_retries=1) as client:
            uploaded = await client.files.upload(file=b"abc")
            token = await client.files.create_download_token(uploaded.id)
            served.fake.faults = Faults(error_rate=1.0, paths=["/api/v1/files/*/content"])
            with disable_retry_delays(), pytest.raises(APIError):
                await client.files.content(uploaded.id, token=token.token)
    text = "\n".join(collect.lines)
    assert "Retrying GET" in text
    assert "token=<redacted>" in text
    assert API_KEY not in text
    assert token.token not in text
