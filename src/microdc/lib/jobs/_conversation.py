"""``jobs.conversation(...)``: a chat whose history the SDK keeps, turn after turn.

Each turn submits one ``llm_chat`` job carrying the whole history plus the new user
message. Only a turn whose job completes changes the history (the user message and
the reply are appended together), so a failed, cancelled, abandoned or refused turn
leaves it exactly as it was. ``usage`` and ``cost_usd`` add up every job the
conversation ran, failed ones included (their input was read and billed).

With ``max_cost_usd`` the conversation has a total budget: before a turn is sent,
``jobs.estimate_cost`` gives its worst case, and a turn that could take the total
past the budget raises ``BudgetExceededError`` instead. A turn abandoned before its
job ended (the task was cancelled, the stream could not resume) is charged what the
server reports for it after cancelling, or its worst case if the server cannot say,
so the budget holds even then.
"""

from __future__ import annotations

import types
import weakref
import contextlib
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Type,
    Tuple,
    TypeVar,
    Iterable,
    Optional,
    AsyncGenerator,
    overload,
)
from dataclasses import dataclass

import anyio
from typing_extensions import Self, Unpack

from ._ask import (
    job_params,
    check_limit,
    submit_turn,
    check_budget,
    check_prompt,
    require_model,
    completed_text,
    cancel_abandoned,
)
from .._money import to_usd, to_picodollars
from ..._types import MutationRequestOptions
from ..structured import with_instruction
from ._structured import until_valid, reask_options, check_max_reasks
from ..._operations import OperationScope, operation
from ..._param_check import check_fields
from ...types.job_create_params import LLMChatJobParams
from ...types.chat_message_param import ChatMessageParam
from ...types.job_terminal_event import JobTerminalEvent
from ...types.job_output_delta_event import JobOutputDeltaEvent

if TYPE_CHECKING:
    from . import AsyncJobs
    from ._cost import CostEstimate
    from ...types.job import Job

__all__ = ["Conversation", "ConversationStream", "ConversationUsage"]

T = TypeVar("T")

_UNCHANGED = "; the conversation is unchanged"


@dataclass(frozen=True)
class ConversationUsage:
    """Tokens a conversation's jobs used, added up over its turns."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


def _copy_messages(messages: Iterable[ChatMessageParam]) -> List[ChatMessageParam]:
    """A copy of an earlier history, checked by the spec's rules for ``messages``."""
    given = list(messages)
    if given:
        check_fields(LLMChatJobParams, "jobs.conversation", {"messages": given})
    return [ChatMessageParam(role=message["role"], content=message["content"]) for message in given]


class Conversation:
    """A chat with a model; made by ``client.jobs.conversation(model, ...)``.

    ::

        chat = client.jobs.conversation("echo-1", system="Be brief.", max_cost_usd=0.05)
        print(await chat.send("What is MicroDC?"))
        async for delta in chat.stream("And how do I use it?"):
            print(delta, end="", flush=True)
        print(chat.cost_usd, chat.usage.total_tokens)

    One turn runs at a time: starting a second one while the first is running raises
    ``RuntimeError`` (a stream left with ``break`` is not running: the next turn waits
    for its job to be cancelled, then starts). ``model`` may be changed between turns; the history is kept.
    """

    def __init__(
        self,
        jobs: AsyncJobs,
        model: str,
        *,
        system: Optional[str] = None,
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
        max_cost_usd: Optional[float] = None,
        messages: Optional[Iterable[ChatMessageParam]] = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"A model id is needed (e.g. 'echo-1'), got {model!r}.")
        history = _copy_messages(messages or ())
        if system is not None:
            if not isinstance(system, str):
                raise TypeError(f"system must be a string, got {type(system).__name__}.")
            if history and history[0]["role"] == "system":
                raise ValueError("Pass the system message either as system= or as messages[0], not both.")
            history.insert(0, {"role": "system", "content": system})
        job_params("llm_chat", model, method="jobs.conversation", temperature=temperature, max_tokens=max_tokens)
        self.model = model
        """The model the next turn runs on."""
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._jobs = jobs
        self._limit = check_limit(max_cost_usd)
        self._messages = history
        self._usage = ConversationUsage()
        self._cost = 0  # picodollars: what the server reported
        self._unknown_cost = 0  # picodollars: worst cases of turns whose cost is unknown
        # The turn running now: the stream it runs for (a weak reference, None for ``send``), and
        # an event set when it has ended.
        self._running: Optional[Tuple[Optional[weakref.ReferenceType[ConversationStream]], anyio.Event]] = None

    def __repr__(self) -> str:
        return (
            f"Conversation(model={self.model!r}, messages={len(self._messages)}, "
            f"cost_usd={self.cost_usd:g}, max_cost_usd={self._limit!r})"
        )

    # --- state --------------------------------------------------------------------------

    @property
    def messages(self) -> List[ChatMessageParam]:
        """The history, oldest first (a copy: change it through ``send``, ``stream`` and ``clear``)."""
        return [ChatMessageParam(role=m["role"], content=m["content"]) for m in self._messages]

    @property
    def system(self) -> Optional[str]:
        """The system message, if the conversation has one."""
        if self._messages and self._messages[0]["role"] == "system":
            return self._messages[0]["content"]
        return None

    @property
    def usage(self) -> ConversationUsage:
        """Input, output and total tokens of every job this conversation ran."""
        return self._usage

    @property
    def cost_usd(self) -> float:
        """What this conversation's jobs cost, in US dollars, as the server reported it (summed exactly)."""
        return to_usd(self._cost)

    @property
    def max_cost_usd(self) -> Optional[float]:
        """The conversation's total budget (``None``: no limit)."""
        return self._limit

    @property
    def spent_usd(self) -> float:
        """What counts against the budget: ``cost_usd`` plus the worst case of turns whose cost is unknown."""
        return to_usd(self._cost + self._unknown_cost)

    def clear(self) -> None:
        """Forget the history but keep the system message (usage and cost are kept too)."""
        self._messages = self._messages[:1] if self.system is not None else []

    # --- turns --------------------------------------------------------------------------

    @overload
    async def send(
        self, text: str, *, response_model: None = None, **options: Unpack[MutationRequestOptions]
    ) -> str: ...
    @overload
    async def send(
        self, text: str, *, response_model: Type[T], max_reasks: int = 1, **options: Unpack[MutationRequestOptions]
    ) -> T: ...
    @overload
    async def send(
        self, text: str, *, response_model: object, max_reasks: int = 1, **options: Unpack[MutationRequestOptions]
    ) -> Any: ...
    async def send(
        self,
        text: str,
        *,
        response_model: object = None,
        max_reasks: int = 1,
        **options: Unpack[MutationRequestOptions],
    ) -> Any:
        """Send ``text`` as the next user message; the reply's text once the job completed.

        With ``response_model`` (anything pydantic's ``TypeAdapter`` takes), the turn's
        job also carries the instruction for it (a system message) and the reply is
        returned validated as that type; an invalid reply is re-asked up to
        ``max_reasks`` times, each re-ask a job of its own (paid for, and checked
        against the budget before it is sent), and after the last one
        ``OutputValidationError`` is raised. The history gets the user message and the
        reply's text, and only when the turn succeeds (no instruction, no re-asks).

        Raises ``JobFailedError`` if the job fails or is cancelled, and
        ``BudgetExceededError`` (before sending) if the turn could pass ``max_cost_usd``.
        Cancelling the call cancels the job on the server. ``options`` are the request
        options of ``jobs.create`` (``timeout``, ``extra_headers``, ...).
        """
        async with self._turn():
            params = self._params(text)
            if response_model is not None:
                check_max_reasks(max_reasks)
            first = params if response_model is None else with_instruction(params, response_model)
            # The model check and the budget come before the operation: a turn refused sends nothing.
            estimate = await self._admit(first)
            with operation(self._jobs._client, first) as op:  # the GenAI span, for hooks that observe operations
                if response_model is None:
                    _, reply = await self._exchange(first, options, estimate, op)
                    value: object = reply
                else:

                    async def attempt(sent: Dict[str, Any], number: int) -> Tuple[Job, str]:
                        admitted = estimate if number == 1 else await self._admit(sent)
                        return await self._exchange(sent, reask_options(options, number), admitted, op)

                    value, _, reply = await until_valid(first, response_model, max_reasks, attempt)
            self._remember(params, reply)
            return value

    def stream(self, text: str, **options: Unpack[MutationRequestOptions]) -> ConversationStream:
        """Send ``text``; iterate the result for the reply's text as the model produces it.

        The event stream is resumed across dropped connections like any stream; the
        whole reply is appended to the history once the job completes. A stream that
        cannot resume raises ``APIConnectionError``. A stream left early cancels its
        job and leaves the history unchanged: at once with ``async with
        chat.stream(text) as deltas:``, else as soon as the stream is dropped (after a
        ``break``, on the next turn of the event loop), and the next turn waits for
        that before it starts. Nothing is sent until the stream is first iterated.
        """
        stream = ConversationStream()
        stream.start(self._stream_turn(text, options, weakref.ref(stream)))
        return stream

    async def _stream_turn(
        self, text: str, options: MutationRequestOptions, stream: weakref.ReferenceType[ConversationStream]
    ) -> AsyncGenerator[str, None]:
        async with self._turn(stream):
            params = self._params(text)
            estimate = await self._admit(params)
            # The GenAI span, for hooks that observe operations: current while this turn
            # sends and reads (`op.current()`), never across a `yield` into the caller's code.
            op = operation(self._jobs._client, params, streaming=True)
            try:
                with op.current():
                    job = await submit_turn(self._jobs, params, options)
                finished: Optional[Job] = None
                try:
                    with op.current():
                        events = await self._jobs.events(job.id)
                    async with events:
                        while finished is None:
                            with op.current():
                                event = await anext(events, None)
                            if event is None:
                                break
                            if isinstance(event, JobOutputDeltaEvent):
                                yield event.data.delta
                            elif isinstance(event, JobTerminalEvent):
                                finished = event.data
                    if finished is None:  # the stream ended without its terminal event
                        with op.current():
                            finished = await self._jobs.wait(job.id)
                finally:
                    if finished is None:
                        with op.current():
                            self._charge(await cancel_abandoned(self._jobs, job.id), estimate)
                assert finished is not None  # the try block either set it or raised
                self._charge(finished, None)
                op.finish(finished)
                self._remember(params, completed_text(finished, _UNCHANGED))
            except BaseException as exc:  # GeneratorExit too: the caller left the stream
                op.end(exc)
                raise
            op.end()

    # --- inside a turn ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _turn(
        self, stream: Optional[weakref.ReferenceType[ConversationStream]] = None
    ) -> AsyncGenerator[None, None]:
        """Marks the conversation busy for one turn, so two turns never interleave their histories.

        A stream dropped in the middle of its turn (after a ``break``) is no longer
        running: the event loop closes its generator (asyncio's async-generator
        finalizer, as for any dropped stream of the client), which cancels its job and
        ends the turn; the next turn waits for that instead of refusing to start.
        """
        while self._running is not None:
            owner, ended = self._running
            if owner is None or owner() is not None:
                raise RuntimeError(
                    "This conversation is already running a turn; await it (or finish its stream) before the next one."
                )
            await ended.wait()
        ended = anyio.Event()
        self._running = (stream, ended)
        try:
            yield
        finally:
            self._running = None
            ended.set()

    def _params(self, text: str) -> Dict[str, Any]:
        """The job parameters of a turn that sends ``text``: the history plus the new user message."""
        check_prompt(text, "message")
        messages: List[ChatMessageParam] = [*self.messages, ChatMessageParam(role="user", content=text)]
        return job_params(
            "llm_chat",
            self.model,
            method="Conversation.send",
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            messages=messages,
        )

    async def _admit(self, params: Dict[str, Any]) -> Optional[CostEstimate]:
        """Check a job before it is sent: the model serves chats and, with a budget, the job's worst case fits."""
        await require_model(self._jobs, params["model"], "llm_chat")
        if self._limit is None:
            return None
        estimate = await self._jobs.estimate_cost(params)
        check_budget(estimate, spent=self._cost + self._unknown_cost, limit_usd=self._limit)
        return estimate

    async def _exchange(
        self,
        params: Dict[str, Any],
        options: MutationRequestOptions,
        estimate: Optional[CostEstimate],
        op: OperationScope,
    ) -> Tuple[Job, str]:
        """One job of a turn, admitted already (``estimate``): submitted, waited for and paid for;
        the completed Job and its reply. ``op``, the turn's operation, is told the terminal Job."""
        job = await submit_turn(self._jobs, params, options)
        try:
            finished = await self._jobs.wait(job.id)
        except BaseException:
            self._charge(await cancel_abandoned(self._jobs, job.id), estimate)
            raise
        self._charge(finished, None)
        op.finish(finished)
        return finished, completed_text(finished, _UNCHANGED)

    def _charge(self, job: Optional[Job], estimate: Optional[CostEstimate]) -> None:
        """Add what ``job`` cost; a turn whose cost is unknown counts its worst case against the budget."""
        usage = job.usage if job is not None else None
        if usage is None:
            if estimate is not None:
                self._unknown_cost += to_picodollars(estimate.worst_case_usd, "up")
            return
        self._usage = ConversationUsage(
            input_tokens=self._usage.input_tokens + usage.input_tokens,
            output_tokens=self._usage.output_tokens + usage.output_tokens,
            total_tokens=self._usage.total_tokens + usage.total_tokens,
        )
        self._cost += to_picodollars(usage.cost_usd)

    def _remember(self, params: Dict[str, Any], reply: str) -> None:
        """A turn succeeded: the history becomes its messages plus the reply."""
        self._messages = [*params["messages"], ChatMessageParam(role="assistant", content=reply)]


class ConversationStream:
    """The reply of one streamed turn (``chat.stream(text)``), as its text deltas arrive.

    ``async for delta in chat.stream(text):`` reads it; ``async with chat.stream(text)
    as deltas:`` also closes it on the way out, so a turn left early cancels its job
    there and then. An unfinished stream that is dropped (``break`` without ``async
    with``) is closed by the event loop, as any dropped async generator is, which
    cancels its job; the conversation's next turn waits for that.
    """

    __slots__ = ("__weakref__", "_deltas")

    def __init__(self) -> None:
        self._deltas: Optional[AsyncGenerator[str, None]] = None

    def start(self, deltas: AsyncGenerator[str, None]) -> None:
        """The turn's generator (made after the stream, which it refers to weakly)."""
        self._deltas = deltas

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        assert self._deltas is not None
        return await self._deltas.__anext__()

    async def aclose(self) -> None:
        """Stop reading: cancel the job if it has not ended (the history is unchanged)."""
        if self._deltas is not None:
            await self._deltas.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[types.TracebackType]
    ) -> None:
        await self.aclose()
