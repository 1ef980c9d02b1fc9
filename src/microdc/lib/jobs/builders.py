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

from typing import TYPE_CHECKING, Any, Dict, List, Union, Mapping, Iterable, Optional

from typing_extensions import Self, Unpack, Literal, TypedDict

if TYPE_CHECKING:
    from ...types.file import File

__all__ = ["DocumentCall", "JobBuilder", "LLMChat", "LLMComplete", "LLMEmbed"]

Priority = Literal["low", "normal", "high"]
_PRIORITIES = ("low", "normal", "high")
_ROLES = ("system", "user", "assistant")
MAX_METADATA_KEYS = 16
MAX_TIMEOUT_SECONDS = 86400
MAX_EMBED_TEXTS = 2048


class JobSettings(TypedDict, total=False):
    """What every job takes besides its model and content."""

    priority: Priority
    """``"low"``, ``"normal"`` (the default) or ``"high"``."""

    timeout_seconds: int
    """The job fails with code ``timeout`` past this many seconds (1 to 86400; default 300)."""

    metadata: Optional[Mapping[str, str]]
    """Up to 16 string keys and values, returned on the job."""


class JobBuilder:
    """What every builder shares: the model and the common job settings."""

    type: str

    def __init__(
        self,
        model: str,
        *,
        priority: Priority = "normal",
        timeout_seconds: int = 300,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.model = model
        self.priority: Priority = priority
        self.timeout_seconds = timeout_seconds
        self.metadata: Dict[str, str] = dict(metadata or {})

    def set_metadata(self, key: str, value: str) -> Self:
        self.metadata[key] = value
        return self

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that the API would refuse."""
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"{type(self).__name__}.model must be a non-empty string, got {self.model!r}")
        if self.priority not in _PRIORITIES:
            raise ValueError(f"{type(self).__name__}.priority must be one of {_PRIORITIES}, got {self.priority!r}")
        timeout = self.timeout_seconds
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
            raise ValueError(
                f"{type(self).__name__}.timeout_seconds must be an integer from 1 to {MAX_TIMEOUT_SECONDS}, got {timeout!r}"
            )
        if len(self.metadata) > MAX_METADATA_KEYS:
            raise ValueError(
                f"{type(self).__name__}.metadata may hold at most {MAX_METADATA_KEYS} keys, got {len(self.metadata)}"
            )
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"{type(self).__name__}.metadata must map strings to strings, got {key!r}: {value!r}")

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
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, **settings)
        self.temperature = temperature
        self.max_tokens = max_tokens

    def validate(self) -> None:
        super().validate()
        name = type(self).__name__
        temperature = self.temperature
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
            raise ValueError(f"{name}.temperature must be a number from 0 to 2, got {temperature!r}")
        max_tokens = self.max_tokens
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise ValueError(f"{name}.max_tokens must be an integer of at least 1, got {max_tokens!r}")

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


class LLMComplete(_SamplingBuilder):
    """A text completion of ``prompt``."""

    type = "llm_complete"

    def __init__(
        self,
        model: str,
        *,
        prompt: Optional[str] = None,
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, temperature=temperature, max_tokens=max_tokens, **settings)
        self.prompt = prompt

    def set_prompt(self, prompt: str) -> Self:
        self.prompt = prompt
        return self

    def validate(self) -> None:
        super().validate()
        if not isinstance(self.prompt, str) or not self.prompt:
            raise ValueError(f"LLMComplete.prompt must be a non-empty string (use set_prompt), got {self.prompt!r}")

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["prompt"] = self.prompt
        return params


class LLMChat(_SamplingBuilder):
    """A chat completion over ``messages``."""

    type = "llm_chat"

    def __init__(
        self,
        model: str,
        *,
        messages: Optional[Iterable[Mapping[str, str]]] = None,
        temperature: float = 0.7,
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
        self.messages.append({"role": "user", "content": content})
        return self

    def add_assistant_message(self, content: str) -> Self:
        self.messages.append({"role": "assistant", "content": content})
        return self

    def validate(self) -> None:
        super().validate()
        if not self.messages:
            raise ValueError("LLMChat.messages must hold at least one message (use add_user_message)")
        for index, message in enumerate(self.messages):
            if message.get("role") not in _ROLES:
                raise ValueError(f"LLMChat.messages[{index}].role must be one of {_ROLES}, got {message.get('role')!r}")
            if not isinstance(message.get("content"), str):
                raise ValueError(f"LLMChat.messages[{index}].content must be a string")

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["messages"] = [dict(m) for m in self.messages]
        return params


class LLMEmbed(JobBuilder):
    """Embeddings of ``texts``."""

    type = "llm_embed"

    def __init__(
        self,
        model: str,
        *,
        texts: Optional[Iterable[str]] = None,
        normalize: bool = True,
        **settings: Unpack[JobSettings],
    ) -> None:
        super().__init__(model, **settings)
        self.texts: List[str] = list(texts or ())
        self.normalize = normalize

    def add_text(self, text: str) -> Self:
        self.texts.append(text)
        return self

    def add_texts(self, texts: Iterable[str]) -> Self:
        self.texts.extend(texts)
        return self

    def validate(self) -> None:
        super().validate()
        if not 1 <= len(self.texts) <= MAX_EMBED_TEXTS:
            raise ValueError(f"LLMEmbed.texts must hold 1 to {MAX_EMBED_TEXTS} strings, got {len(self.texts)}")
        for index, text in enumerate(self.texts):
            if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"LLMEmbed.texts[{index}] must be a string, got {type(text).__name__}")
        if not isinstance(self.normalize, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"LLMEmbed.normalize must be a bool, got {self.normalize!r}")

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["texts"] = list(self.texts)
        params["normalize"] = self.normalize
        return params


class DocumentCall(JobBuilder):
    """Processing of uploaded files (by their file tokens), optionally with an ``instruction``."""

    type = "document"

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
        for file in files:
            self.add_file(file)
        return self

    def validate(self) -> None:
        super().validate()
        if not self.file_tokens:
            raise ValueError("DocumentCall.file_tokens must hold at least one file token (use add_file)")
        for index, token in enumerate(self.file_tokens):
            if not isinstance(token, str) or not token:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"DocumentCall.file_tokens[{index}] must be a non-empty string")
        if self.instruction is not None and not isinstance(self.instruction, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"DocumentCall.instruction must be a string, got {type(self.instruction).__name__}")

    def to_params(self) -> Dict[str, Any]:
        params = super().to_params()
        params["file_tokens"] = list(self.file_tokens)
        if self.instruction is not None:
            params["instruction"] = self.instruction
        return params
