"""Reading a batch's inputs: lazily, one at a time, from an iterable or an async iterable.

Each input becomes a :class:`Prepared`: its ``jobs.create`` parameters (``defaults``
merged under it), a hash of them, and the idempotency key
``<batch_id>-<index>-<hash>``; or, for an input that is not a job, the error that
will be its item's.
"""

from __future__ import annotations

import json
import hashlib
import operator
from typing import Any, Dict, Tuple, Union, Mapping, Iterable, Optional, AsyncIterable, AsyncGenerator, cast

from ._state import hash_params
from ..structured import with_instruction
from ..jobs.builders import JobBuilder

__all__ = ["InvalidInput", "Prepared", "Shard", "expected_total", "prepare", "read_inputs"]

Shard = Tuple[int, int]


class Prepared:
    """One input, ready to submit (``params``) or already failed (``error``)."""

    __slots__ = ("error", "index", "key", "params", "params_hash")

    def __init__(
        self, index: int, params: Optional[Dict[str, Any]], params_hash: str, key: str, error: Optional[Exception]
    ) -> None:
        self.index = index
        self.params = params
        self.params_hash = params_hash
        self.key = key
        self.error = error


class InvalidInput:
    """An input a reader could not make a job of (e.g. a line that is not JSON): ``error`` becomes its item's."""

    __slots__ = ("error", "text")

    def __init__(self, error: Exception, text: str = "") -> None:
        self.error = error
        self.text = text

    def __repr__(self) -> str:
        return f"InvalidInput({self.text!r})"


def _fingerprint(value: object) -> str:
    """A hash for an input that is not a job, so a re-run can still tell it changed."""
    return hashlib.sha256(f"{type(value).__qualname__}:{value!r}".encode()).hexdigest()[:16]


def prepare(
    index: int, job: object, defaults: Optional[Mapping[str, Any]], batch_id: str, response_model: object = None
) -> Prepared:
    """Validate one input and give it its parameters, hash and key.

    With a ``response_model``, the parameters carry its instruction (and so do the
    hash and key: a run for another type is another batch of jobs).
    """
    original = job  # (kept un-narrowed by the checks below)
    params: Optional[Dict[str, Any]] = None
    error: Optional[Exception] = None
    if isinstance(job, InvalidInput):
        error = job.error
    elif isinstance(job, JobBuilder):
        try:
            job.validate()
            params = job.to_params()
        except ValueError as exc:
            error = exc
    elif isinstance(job, Mapping):
        params = dict(cast(Mapping[str, Any], job))
        if "idempotency_key" in params:
            error = ValueError(f"input {index} sets idempotency_key: a batch sets each job's key itself; remove it")
    else:
        error = TypeError(
            f"input {index} is a {type(job).__name__}, not a job: a batch takes jobs.create parameter dicts "
            "or builders (LLMComplete, LLMChat, LLMEmbed, DocumentCall)"
        )
    if params is not None and defaults:
        merged: Dict[str, Any] = {**defaults, **params}
        params = merged
    if params is not None and response_model is not None:
        try:
            params = with_instruction(params, response_model)
        except (TypeError, ValueError) as exc:  # not a job with text output, or a broken prompt
            params, error = None, error or exc
    digest = None
    if params is not None:
        try:
            digest = hash_params(params)
        except (TypeError, ValueError) as exc:  # e.g. a value json cannot write, even with repr()
            error = error or ValueError(f"input {index} cannot be hashed: {exc}")
    if digest is None:
        digest = _fingerprint(original)
    key = f"{batch_id}-{index}-{digest}"
    if error is not None:
        return Prepared(index, None, digest, key, error)
    return Prepared(index, params, digest, key, None)


async def read_inputs(
    jobs: Union[Iterable[object], AsyncIterable[object]], shard: Optional[Shard]
) -> AsyncGenerator[Tuple[int, object], None]:
    """``(index, input)`` for this shard's inputs, pulled one at a time (never read ahead)."""
    step, first = (shard[1], shard[0]) if shard is not None else (1, 0)
    index = -1
    if isinstance(jobs, AsyncIterable):
        async for job in jobs:
            index += 1
            if index % step == first:
                yield index, job
        return
    for job in jobs:
        index += 1
        if index % step == first:
            yield index, job


def expected_total(jobs: object, shard: Optional[Shard]) -> Optional[int]:
    """How many inputs this run will read, when the iterable can tell (``len`` or a length hint)."""
    try:
        hint = operator.length_hint(jobs, -1)
    except (TypeError, ValueError):
        return None
    if hint < 0:
        return None
    if shard is None:
        return hint
    return len(range(shard[0], hint, shard[1]))


def dumps_error(exc: BaseException) -> str:
    """An exception as a short line for the state file."""
    return json.dumps({"type": type(exc).__name__, "message": str(exc)[:500]})
