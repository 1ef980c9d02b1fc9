"""``Prompt``: a reusable prompt with ``{name}`` placeholders, a model, and optionally a response model.

A prompt without ``system`` runs as one ``llm_complete`` job; with ``system``, as an
``llm_chat`` job of two messages (the system message, then the rendered template).
The template follows ``str.format``: ``{name}`` is a placeholder, ``{{`` and ``}}``
are literal braces (so a JSON example in a template doubles its braces). The system
message is sent as written.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any, Dict, Type, Generic, TypeVar, Optional, FrozenSet, cast, overload

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC

__all__ = ["Prompt"]

T = TypeVar("T")
_M = TypeVar("_M")


def _placeholders(template: str) -> FrozenSet[str]:
    names: set[str] = set()
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"The template is not a valid format string ({exc}); write a literal brace as {{{{ or }}}}."
        ) from None
    for _, field, _, _ in fields:
        if field is None:
            continue
        name = field.split(".", 1)[0].split("[", 1)[0]
        if not name.isidentifier():
            raise ValueError(
                f"The template has the placeholder {{{field}}}; use named placeholders such as {{text}} "
                "(a literal brace is written {{ or }})."
            )
        names.add(name)
    return frozenset(names)


class Prompt(Generic[T]):
    """A reusable prompt: ``template`` with ``{name}`` placeholders, run on ``model``.

    ::

        extract = Prompt("Extract the invoice in: {text}", model="json-1", response_model=Invoice, max_tokens=400)
        invoice = await extract.ask(client, text=email_body)            # an Invoice
        async with client.jobs.batch(
            (extract.params(text=t) for t in emails), response_model=extract.response_model
        ) as run: ...

    Without ``system`` it runs as one ``llm_complete`` job; with it, as an ``llm_chat``
    job whose messages are ``system`` and the rendered template. ``temperature`` and
    ``max_tokens`` are those of the job.
    """

    __slots__ = ("_max_tokens", "_model", "_names", "_response_model", "_system", "_temperature", "_template")

    @overload
    def __init__(
        self: Prompt[str],
        template: str,
        *,
        model: str,
        system: Optional[str] = None,
        response_model: None = None,
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
    ) -> None: ...
    @overload
    def __init__(
        self: Prompt[_M],
        template: str,
        *,
        model: str,
        system: Optional[str] = None,
        response_model: Type[_M],
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
    ) -> None: ...
    @overload
    def __init__(
        self: Prompt[Any],
        template: str,
        *,
        model: str,
        system: Optional[str] = None,
        response_model: object,
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
    ) -> None: ...
    def __init__(
        self,
        template: str,
        *,
        model: str,
        system: Optional[str] = None,
        response_model: object = None,
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
    ) -> None:
        from ._schema import adapter_for
        from ..jobs._ask import job_params

        if not isinstance(template, str) or not template.strip():
            raise ValueError(
                f"A prompt needs a template: a non-empty string with {{name}} placeholders, got {template!r}."
            )
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"A model id is needed (e.g. 'echo-1'), got {model!r}.")
        if system is not None and not isinstance(system, str):
            raise TypeError(f"system must be a string, got {type(system).__name__}.")
        job_params("llm_complete", model, method="Prompt", temperature=temperature, max_tokens=max_tokens)
        if response_model is not None:
            adapter_for(response_model)  # a response model pydantic cannot build fails here, not on first use
        self._template = template
        self._names = _placeholders(template)
        self._model = model
        self._system = system
        self._response_model = response_model
        self._temperature = temperature
        self._max_tokens = max_tokens

    @property
    def template(self) -> str:
        """The template, with its ``{name}`` placeholders."""
        return self._template

    @property
    def model(self) -> str:
        """The model each run uses."""
        return self._model

    @property
    def system(self) -> Optional[str]:
        """The system message (``None``: runs are ``llm_complete`` jobs)."""
        return self._system

    @property
    def response_model(self) -> Optional[Type[T]]:
        """The type each answer is validated as; ``None``: answers are text."""
        return cast(Optional[Type[T]], self._response_model)

    @property
    def temperature(self) -> float:
        """The sampling temperature of each job."""
        return self._temperature

    @property
    def max_tokens(self) -> Optional[int]:
        """The output limit of each job (``None``: the model's)."""
        return self._max_tokens

    @property
    def placeholders(self) -> FrozenSet[str]:
        """The names the template needs, ``{"text"}`` for ``"Summarise: {text}"``."""
        return self._names

    def __repr__(self) -> str:
        model = getattr(self._response_model, "__name__", None) or repr(self._response_model)
        return f"Prompt({self._template!r}, model={self._model!r}, response_model={model})"

    def render(self, /, **values: object) -> str:
        """The template with ``values`` filled in.

        A placeholder without a value raises ``KeyError``, a value without a
        placeholder ``TypeError``, each naming them, before anything is sent.
        """
        missing = sorted(self._names - values.keys())
        if missing:
            raise KeyError(
                f"The prompt needs a value for {', '.join(missing)}: pass {', '.join(f'{n}=...' for n in missing)}."
            )
        unknown = sorted(values.keys() - self._names)
        if unknown:
            have = ", ".join(sorted(self._names)) or "none"
            raise TypeError(f"The prompt has no placeholder {', '.join(unknown)} (its placeholders: {have}).")
        return self._template.format_map(values)

    def params(self, /, **values: object) -> Dict[str, Any]:
        """The ``jobs.create`` parameters of one run with ``values`` (instruction not included).

        Give them to ``jobs.batch(..., response_model=prompt.response_model)`` or
        ``jobs.create(**prompt.params(...))``.
        """
        from ..jobs._ask import job_params

        text = self.render(**values)
        if self._system is None:
            return job_params(
                "llm_complete",
                self._model,
                method="Prompt.params",
                temperature=self._temperature,
                max_tokens=self._max_tokens,
                prompt=text,
            )
        messages = [{"role": "system", "content": self._system}, {"role": "user", "content": text}]
        return job_params(
            "llm_chat",
            self._model,
            method="Prompt.params",
            temperature=self._temperature,
            max_tokens=self._max_tokens,
            messages=messages,
        )

    async def ask(self, client: AsyncMicroDC, /, **values: object) -> T:
        """Run the prompt once with ``values``: the reply's text, or a ``response_model`` value.

        Goes through ``client.jobs.ask`` (no ``system``) or a one-turn
        ``client.jobs.conversation`` (with it), so it re-asks and raises as they do.
        """
        text = self.render(**values)
        jobs = client.jobs
        if self._system is None:
            answer: object = await jobs.ask(
                text,
                model=self._model,
                temperature=self._temperature,
                max_tokens=self._max_tokens,
                response_model=self._response_model,
            )
        else:
            chat = jobs.conversation(
                self._model, system=self._system, temperature=self._temperature, max_tokens=self._max_tokens
            )
            answer = await chat.send(text, response_model=self._response_model)
        return cast(T, answer)
