"""Job builders: assemble a job step by step, check it, then submit it.

::

    call = LLMChat("echo-1").set_system("Be brief.").add_user_message("Hi")
    job = await client.jobs.submit(call)          # validate() runs first

Each builder takes the settings every job has (``priority``, ``timeout_seconds``,
``metadata``); adders return the builder so calls chain; ``validate()`` raises a
``ValueError`` naming the field at fault; ``to_params()`` gives the keyword
arguments of ``client.jobs.create``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union, Mapping, ClassVar, Iterable, Optional

from typing_extensions import Self, Unpack, TypedDict

from ..._spec import TEMPERATURE_DEFAULT, JOB_PRIORITY_DEFAULT, EMBED_NORMALIZE_DEFAULT, TIMEOUT_SECONDS_DEFAULT

if TYPE_CHECKING:
    from ...types.file import File
    from ...types.job_priority import JobPriority

__all__ = ["DocumentCall", "JobBuilder", "LLMChat", "LLMComplete", "LLMEmbed"]


class JobSettings(TypedDict, total=False):
    """What every job takes besides its model and content."""

    priority: JobPriority
    """``"low"``, ``"normal"`` (the default) or ``"high"``."""

    timeout_seconds: int
    """The job fails with code ``timeout`` past this many seconds (1 to 86400; default 300)."""

    metadata: Optional[Mapping[str, str]]
    """Up to 16 string keys and values, returned on the job."""


class JobBuilder:
    """What every builder shares: the model and the common job settings."""

    type: str

    # The builder's main input and the adder that sets it, for ``validate()`` to suggest.
    _INPUT: ClassVar[Tuple[str, str]] = ("", "")

    def __init__(
        self,
        model: str,
        *,
        priority: JobPriority = JOB_PRIORITY_DEFAULT,
        timeout_seconds: int = TIMEOUT_SECONDS_DEFAULT,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.model = model
        self.priority: JobPriority = priority
        self.timeout_seconds = timeout_seconds
        self.metadata: Dict[str, str] = dict(metadata or {})

    def set_metadata(self, key: str, value: str) -> Self:
        """Set one metadata key (at most 16 keys, strings only); returns the builder."""
        self.metadata[key] = value
        return self

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that the API would refuse.

        The rules are openapi.yml's, through the generated ``JobCreateParams`` (the
        same check ``client.jobs.create`` makes), so they are never copied here.
        """
        from ..._param_check import first_problem
        from ...types.job_create_params import JobCreateParams

        name = type(self).__name__
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"{name}.model must be a model id such as 'echo-1', got {self.model!r}")
        problem = first_problem(JobCreateParams, self.to_params(), tag=self.type)
        if problem is None:
            return
        field, adder = self._INPUT
        if problem.path == field and problem.value in (None, []):
            raise ValueError(f"{name}.{field} is not set: use {adder}()")
        raise ValueError(f"{name}.{problem.path}: {problem.message}, got {problem.value!r}")

    def to_params(self) -> Dict[str, Any]:
        """The keyword arguments of ``client.jobs.create`` for this job."""
        params: Dict[str, Any] = {
            "type": self.type,
            "model": self.model,
            "priority": self.priority,
            "timeout_seconds": self.timeout_seconds,
        }
        if self.metadata:
            params["metadata"] = dict(self.metadata)
        return params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_params()!r})"


class _SamplingBuilder(JobBuilder):
    def __init__(
        self,
        model: str,
        *,
        temperature: float = TEMPERATURE_DEFAULT,
        max_tokens: Optional[int] = None,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, **settings)
        self.temperature = temperature
        self.max_tokens = max_tokens

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


class LLMComplete(_SamplingBuilder):
    """A text completion of ``prompt``."""

    type = "llm_complete"
    _INPUT = ("prompt", "set_prompt")

    def __init__(
        self,
        model: str,
        *,
        prompt: Optional[str] = None,
        temperature: float = TEMPERATURE_DEFAULT,
        max_tokens: Optional[int] = None,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, temperature=temperature, max_tokens=max_tokens, **settings)
        self.prompt = prompt

    def set_prompt(self, prompt: str) -> Self:
        """Set the text to complete; returns the builder."""
        self.prompt = prompt
        return self

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["prompt"] = self.prompt
        return params


class LLMChat(_SamplingBuilder):
    """A chat completion over ``messages``."""

    type = "llm_chat"
    _INPUT = ("messages", "add_user_message")

    def __init__(
        self,
        model: str,
        *,
        messages: Optional[Iterable[Mapping[str, str]]] = None,
        temperature: float = TEMPERATURE_DEFAULT,
        max_tokens: Optional[int] = None,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, temperature=temperature, max_tokens=max_tokens, **settings)
        self.messages: List[Dict[str, str]] = [dict(message) for message in messages or ()]

    def set_system(self, content: str) -> Self:
        """Set the system message (replacing an earlier one), always first."""
        self.messages = [m for m in self.messages if m.get("role") != "system"]
        self.messages.insert(0, {"role": "system", "content": content})
        return self

    def add_user_message(self, content: str) -> Self:
        """Append a ``user`` message; returns the builder."""
        self.messages.append({"role": "user", "content": content})
        return self

    def add_assistant_message(self, content: str) -> Self:
        """Append an ``assistant`` message (an earlier reply); returns the builder."""
        self.messages.append({"role": "assistant", "content": content})
        return self

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["messages"] = [dict(m) for m in self.messages]
        return params


class LLMEmbed(JobBuilder):
    """Embeddings of ``texts``."""

    type = "llm_embed"
    _INPUT = ("texts", "add_text")

    def __init__(
        self,
        model: str,
        *,
        texts: Optional[Iterable[str]] = None,
        normalize: bool = EMBED_NORMALIZE_DEFAULT,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, **settings)
        self.texts: List[str] = list(texts or ())
        self.normalize = normalize

    def add_text(self, text: str) -> Self:
        """Append one text to embed; returns the builder."""
        self.texts.append(text)
        return self

    def add_texts(self, texts: Iterable[str]) -> Self:
        """Append several texts to embed, in order; returns the builder."""
        self.texts.extend(texts)
        return self

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["texts"] = list(self.texts)
        params["normalize"] = self.normalize
        return params


class DocumentCall(JobBuilder):
    """Processing of uploaded files (by their file tokens), optionally with an ``instruction``."""

    type = "document"
    _INPUT = ("file_tokens", "add_file")

    def __init__(
        self,
        model: str,
        *,
        instruction: Optional[str] = None,
        file_tokens: Optional[Iterable[Union[str, File]]] = None,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, **settings)
        self.instruction = instruction
        self.file_tokens: List[str] = []
        self.add_files(file_tokens or ())

    def add_file(self, file: Union[str, File]) -> Self:
        """Add a file by its token, or a ``File`` from ``files.upload`` (its ``token`` is used)."""
        self.file_tokens.append(file if isinstance(file, str) else file.token)
        return self

    def add_files(self, files: Iterable[Union[str, File]]) -> Self:
        """Add several files (tokens or ``File`` objects) in order; returns the builder."""
        for file in files:
            self.add_file(file)
        return self

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["file_tokens"] = list(self.file_tokens)
        if self.instruction is not None:
            params["instruction"] = self.instruction
        return params
