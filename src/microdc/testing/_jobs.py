"""A job as the fake holds it: its planned timeline, its result, and how it looks.

A job is planned in full when it is submitted: it is ``queued`` for the first fifth of
its duration, ``running`` until ``created + duration``, then ``completed`` — or
``failed`` with code ``timeout`` at ``created + timeout_seconds`` when that comes
first, or ``failed`` with code ``model_error`` when any of its input text contains
``[fail]``. Its status, progress and events are read off that plan at the clock's
current time, so nothing runs in the background and the event sequence of a job is
the same for every reader (which is what makes ``Last-Event-ID`` resume exact).
A cancellation cuts the plan short at the time it happened.
"""

from __future__ import annotations

import re
import math
import hashlib
from typing import Any, Dict, List, Tuple, Callable, Optional
from dataclasses import dataclass

from .._spec import TERMINAL_JOB_STATES
from ._json_model import json_reply
from ._models_catalog import MODELS, ModelSpec, count_tokens

__all__ = ["FAIL_MARKER", "JobRecord", "OutputPlan", "PlannedEvent"]

FAIL_MARKER = "[fail]"
QUEUED_SHARE = 0.2
# A reply streams as at least 4 deltas, and one more per 8 words past 32, as a model
# writing a long answer sends more pieces of it.
DELTA_CHUNKS = 4
WORDS_PER_DELTA = 8

WallTime = Callable[[float], str]


@dataclass(frozen=True)
class OutputPlan:
    """What shapes a job's text beyond its input: the fake's seed, and whether the reply must be invalid."""

    seed: Optional[int] = None
    invalid: bool = False
    """``json-1`` answers with JSON its schema rejects (``Faults(invalid_output_rate=...)``)."""


@dataclass(frozen=True)
class PlannedEvent:
    at: float
    name: str
    data: Dict[str, Any]


def _pieces(text: str) -> List[str]:
    """Words with the whitespace that follows each; they join back into ``text``."""
    head = text[: len(text) - len(text.lstrip())]
    pieces = re.findall(r"\S+\s*", text)
    if head:
        pieces = [head + pieces[0], *pieces[1:]] if pieces else [head]
    return pieces


def _deltas(text: str) -> List[str]:
    """``text`` in the pieces its ``job.output.delta`` events carry."""
    pieces = _pieces(text)
    count = min(max(DELTA_CHUNKS, -(-len(pieces) // WORDS_PER_DELTA)), len(pieces))
    return ["".join(pieces[i * len(pieces) // count : (i + 1) * len(pieces) // count]) for i in range(count)]


def _output_limit(params: Dict[str, Any], model: ModelSpec) -> Optional[int]:
    """The most output tokens a job may produce: its ``max_tokens``, capped by the model's ``max_output_tokens``."""
    limits = [limit for limit in (params.get("max_tokens"), model.max_output_tokens) if limit is not None]
    return min(limits) if limits else None


def _truncate(text: str, max_tokens: Optional[int]) -> Tuple[str, str]:
    pieces = _pieces(text)
    if max_tokens is not None and len(pieces) > max_tokens:
        return "".join(pieces[:max_tokens]).rstrip(), "length"
    return text, "stop"


def _echo(text: str, max_tokens: Optional[int]) -> Tuple[str, str]:
    return _truncate(f"echo: {text}", max_tokens)


def embed(text: str, dimensions: int, normalize: bool) -> List[float]:
    """A deterministic embedding of ``text``: bytes of its SHA-256 mapped to [-1, 1]."""
    digest = hashlib.sha256(f"embed-1\0{text}".encode()).digest()
    while len(digest) < 2 * dimensions:
        digest += hashlib.sha256(digest).digest()
    vector = [int.from_bytes(digest[2 * i : 2 * i + 2], "big") / 65535 * 2 - 1 for i in range(dimensions)]
    if normalize:
        norm = math.sqrt(sum(v * v for v in vector))
        if norm > 0:
            vector = [v / norm for v in vector]
    return vector


def _inputs(params: Dict[str, Any], documents: List[str]) -> List[str]:
    job_type = params["type"]
    if job_type == "llm_complete":
        return [params["prompt"]]
    if job_type == "llm_chat":
        return [m["content"] for m in params["messages"]]
    if job_type == "llm_embed":
        return list(params["texts"])
    return [*documents, params.get("instruction") or ""]


def _reply(params: Dict[str, Any], model: ModelSpec, output: OutputPlan) -> Tuple[str, str]:
    """The text of an ``llm_complete`` or ``llm_chat`` job and its finish reason."""
    if model.answers_json:
        text = json_reply(_inputs(params, []), seed=output.seed, invalid=output.invalid)
        return _truncate(text, _output_limit(params, model))
    if params["type"] == "llm_complete":
        return _echo(params["prompt"], _output_limit(params, model))
    messages = params["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    return _echo(users[-1] if users else messages[-1]["content"], _output_limit(params, model))


def _result(
    params: Dict[str, Any], model: ModelSpec, documents: List[str], output: OutputPlan
) -> Tuple[Dict[str, Any], List[str], int]:
    """The result, its output deltas, and the output token count."""
    job_type = params["type"]
    if job_type == "llm_complete":
        text, finish = _reply(params, model, output)
        result: Dict[str, Any] = {"type": job_type, "text": text, "finish_reason": finish}
        return result, _deltas(text), count_tokens(text)
    if job_type == "llm_chat":
        text, finish = _reply(params, model, output)
        message = {"role": "assistant", "content": text}
        return (
            {"type": job_type, "message": message, "finish_reason": finish},
            _deltas(text),
            count_tokens(text),
        )
    if job_type == "llm_embed":
        dimensions = model.embedding_dimensions or 8
        vectors = [embed(text, dimensions, params["normalize"]) for text in params["texts"]]
        return {"type": job_type, "embeddings": vectors, "dimensions": dimensions}, [], 0
    text, _ = _truncate("\n\n".join(documents), _output_limit(params, model))
    pages = sum(doc.count("\f") + 1 for doc in documents)
    return {"type": job_type, "text": text, "page_count": pages}, [], count_tokens(text)


class JobRecord:
    """One submitted job: its parameters and its plan."""

    def __init__(
        self,
        *,
        id: str,
        seq: int,
        params: Dict[str, Any],
        created: float,
        duration: float,
        documents: List[str],
        output: OutputPlan = OutputPlan(),
    ) -> None:
        self.id = id
        self.seq = seq
        self.params = params
        self.created = created
        self.model = MODELS[params["model"]]
        self.cancelled_at: Optional[float] = None
        self.acknowledged_at: Optional[float] = None
        duration = max(0.0, float(duration))
        self.started = created + duration * QUEUED_SHARE
        self.finish = created + duration
        self.input_tokens = count_tokens(*_inputs(params, documents))
        self.result, deltas, self.output_tokens = _result(params, self.model, documents, output)
        self.error: Optional[Dict[str, str]] = None
        timeout = params["timeout_seconds"]
        if duration > timeout:
            self.ends, self.outcome = created + timeout, "failed"
            self.error = {"code": "timeout", "message": f"The job ran past its timeout_seconds ({timeout})."}
        elif any(FAIL_MARKER in text for text in _inputs(params, documents)):
            self.ends, self.outcome = self.finish, "failed"
            self.error = {
                "code": "model_error",
                "message": f"The model failed: the input contains {FAIL_MARKER} (microdc.testing).",
            }
        else:
            self.ends, self.outcome = self.finish, "completed"
        self.plan = self._plan(deltas if self.outcome == "completed" else [])

    def _plan(self, deltas: List[str]) -> List[PlannedEvent]:
        plan = [
            PlannedEvent(self.created, "job.status", {"status": "queued", "progress": 0.0}),
            PlannedEvent(self.started, "job.status", {"status": "running", "progress": 0.0}),
        ]
        run = self.finish - self.started
        if deltas:
            for index, delta in enumerate(deltas):
                plan.append(
                    PlannedEvent(
                        self.started + run * (index + 1) / (len(deltas) + 1), "job.output.delta", {"delta": delta}
                    )
                )
        else:
            middle = self.started + run / 2
            plan.append(PlannedEvent(middle, "job.status", {"status": "running", "progress": self._progress(middle)}))
        return [event for event in plan if event.at <= self.ends]

    # --- reading the plan at a time -----------------------------------------------------

    @property
    def end(self) -> float:
        """When the job is (or will be) terminal."""
        return self.cancelled_at if self.cancelled_at is not None else self.ends

    def final_status(self) -> str:
        return "cancelled" if self.cancelled_at is not None else self.outcome

    def status_at(self, t: float) -> str:
        if t >= self.end:
            return self.final_status()
        return "running" if t >= self.started else "queued"

    def is_terminal(self, t: float) -> bool:
        return t >= self.end

    def _progress(self, t: float) -> float:
        if t < self.started or self.finish <= self.started:
            return 0.0 if t < self.finish else 1.0
        return round(min(1.0, (t - self.started) / (self.finish - self.started)), 4)

    def progress_at(self, t: float) -> float:
        status = self.status_at(t)
        if status == "completed":
            return 1.0
        return self._progress(min(t, self.end))

    def view(self, t: float, wall: WallTime, *, as_submitted: bool = False) -> Dict[str, Any]:
        """The Job JSON at time ``t`` (``as_submitted``: as the submission answer shows it)."""
        status = "queued" if as_submitted else self.status_at(t)
        terminal = status in TERMINAL_JOB_STATES
        ran = status == "running" or (terminal and self.end >= self.started)
        usage: Optional[Dict[str, Any]] = None
        if terminal:
            input_tokens = self.input_tokens if ran else 0
            output_tokens = self.output_tokens if status == "completed" else 0
            usage = {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
                "cost_usd": self.model.cost_usd(input_tokens, output_tokens),
            }
        acknowledged = self.acknowledged_at is not None and not as_submitted
        return {
            "id": self.id,
            "object": "job",
            "type": self.params["type"],
            "model": self.params["model"],
            "status": status,
            "priority": self.params["priority"],
            "metadata": dict(self.params["metadata"]),
            "timeout_seconds": self.params["timeout_seconds"],
            "progress": 0.0 if as_submitted else self.progress_at(t),
            "created_at": wall(self.created),
            "started_at": wall(self.started) if ran else None,
            "completed_at": wall(self.end) if terminal else None,
            "acknowledged": acknowledged,
            "acknowledged_at": wall(self.acknowledged_at)
            if acknowledged and self.acknowledged_at is not None
            else None,
            "usage": usage,
            "error": dict(self.error) if status == "failed" and self.error else None,
            "result": self.result if status == "completed" else None,
        }

    def status_view(self, t: float, wall: WallTime) -> Dict[str, Any]:
        changes = [self.created]
        if self.started <= min(t, self.end):
            changes.append(self.started)
        if self.end <= t:
            changes.append(self.end)
        return {
            "id": self.id,
            "object": "job.status",
            "status": self.status_at(t),
            "progress": self.progress_at(t),
            "updated_at": wall(max(changes)),
        }

    def events_until(self, t: float, wall: WallTime) -> List[Tuple[str, Dict[str, Any]]]:
        """Every event visible at ``t``, in order; event ``n`` (from 1) is entry ``n - 1``.

        An event planned at or before the job's end is part of the sequence (a reader
        at that moment may have seen it), one after it never is, so the sequence
        only grows: a cancellation does not renumber what was already sent.
        """
        events = [(event.name, {"id": self.id, **event.data}) for event in self.plan if event.at <= min(t, self.end)]
        if self.is_terminal(t):
            events.append((f"job.{self.final_status()}", self.view(t, wall)))
        return events

    def next_event_at(self, t: float) -> float:
        """When the next event after ``t`` is due (the terminal one at the latest)."""
        upcoming = [event.at for event in self.plan if t < event.at <= self.end]
        return min(upcoming, default=self.end)
