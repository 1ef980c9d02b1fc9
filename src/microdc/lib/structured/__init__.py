"""Structured outputs: ask for a value of a type, get that value back (PRODUCT.md §2.5).

::

    class Invoice(pydantic.BaseModel):
        number: str
        total: float

    invoice = await client.jobs.ask("Extract the invoice: ...", model="json-1", response_model=Invoice)
    reply = await chat.send("And the next one?", response_model=Invoice)
    invoice = client.jobs.parse(job, Invoice)                      # a completed llm_complete/llm_chat job

How a structured call goes:

1. :func:`instruction` (one sentence and the compact JSON Schema of the type) is
   appended to an ``llm_complete`` prompt, or sent as a system message of an
   ``llm_chat`` job;
2. the reply's JSON is found (:func:`extract_json`: the first ```` ```json ````
   block, else the outermost object or array) and validated by pydantic;
3. an invalid reply is re-asked up to ``max_reasks`` times: a new job with the
   original request, the reply and the errors; after the last,
   :class:`OutputValidationError` is raised. Each re-ask is a job like any other:
   it is paid for, and a budget is checked before it is sent.

:class:`Prompt` keeps a template, a model and a response model together for reuse;
:func:`from_json_schema` makes a response model of a JSON Schema document.
This package never sends anything itself: ``client.jobs`` does.
"""

from __future__ import annotations

from ._errors import OutputValidationError
from ._prompt import Prompt
from ._extract import extract_json
from ._validate import reask_params, validate_reply, describe_errors
from ._instruction import instruction, with_instruction
from ._json_schema import from_json_schema

__all__ = [
    "OutputValidationError",
    "Prompt",
    "describe_errors",
    "extract_json",
    "from_json_schema",
    "instruction",
    "reask_params",
    "validate_reply",
    "with_instruction",
]

Prompt.__module__ = "microdc"
