"""How jobs, files and models look for people: ``name  value`` fields, and table rows.

``--json`` prints the objects themselves (``to_dict(mode="json")``); these are
the other output, one function per shape.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, List, Tuple, cast

if TYPE_CHECKING:
    from ...types.job import Job
    from ...types.file import File
    from ...types.model import Model
    from ...types.job_status import JobStatus
    from ...types.file_deleted import FileDeleted
    from ...types.download_token import DownloadToken

__all__ = [
    "FILE_COLUMNS",
    "JOB_COLUMNS",
    "MODEL_COLUMNS",
    "deleted_fields",
    "file_fields",
    "file_row",
    "job_fields",
    "job_row",
    "model_fields",
    "model_row",
    "progress",
    "result_text",
    "status_fields",
    "token_fields",
    "when",
]

JOB_COLUMNS = ["id", "type", "model", "status", "progress", "created", "cost"]
FILE_COLUMNS = ["id", "filename", "bytes", "purpose", "created"]
MODEL_COLUMNS = ["id", "job types", "context", "dimensions", "input $/M", "output $/M"]


def when(value: object) -> str:
    """A time to the second, or ``-`` when not set."""
    if value is None:
        return "-"
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat(timespec="seconds")) if callable(isoformat) else str(value)


def progress(value: float) -> str:
    return f"{value:.0%}"


def _cost(job: Job) -> str:
    from ..progress import format_usd

    return format_usd(job.usage.cost_usd) if job.usage is not None else "-"


def result_text(job: Job) -> str:
    """The job's output for people: text, the chat answer, or a summary of embeddings."""
    from ...types.document_result import DocumentResult
    from ...types.llm_chat_result import LLMChatResult
    from ...types.llm_embed_result import LLMEmbedResult
    from ...types.llm_complete_result import LLMCompleteResult

    result = job.result
    if result is None:
        return "-"
    if isinstance(result, LLMCompleteResult):
        return result.text
    if isinstance(result, LLMChatResult):
        return result.message.content
    if isinstance(result, LLMEmbedResult):
        return f"{len(result.embeddings)} embedding(s) of {result.dimensions} dimensions"
    if isinstance(result, DocumentResult):  # pyright: ignore[reportUnnecessaryIsInstance]
        return f"{result.text}\n({result.page_count} page(s))"
    return json.dumps(cast(Any, result).to_dict(mode="json"))


def job_fields(job: Job) -> List[Tuple[str, str]]:
    usage = job.usage
    return [
        ("id", job.id),
        ("type", str(job.type)),
        ("model", job.model),
        ("status", str(job.status)),
        ("priority", str(job.priority)),
        ("progress", progress(job.progress)),
        ("created_at", when(job.created_at)),
        ("started_at", when(job.started_at)),
        ("completed_at", when(job.completed_at)),
        ("acknowledged", "yes" if job.acknowledged else "no"),
        ("metadata", ", ".join(f"{k}={v}" for k, v in job.metadata.items()) or "-"),
        (
            "usage",
            f"{usage.input_tokens} in + {usage.output_tokens} out tokens, {_cost(job)}" if usage is not None else "-",
        ),
        ("error", f"{job.error.code}: {job.error.message}" if job.error is not None else "-"),
        ("result", result_text(job)),
    ]


def status_fields(found: JobStatus) -> List[Tuple[str, str]]:
    return [
        ("id", found.id),
        ("status", str(found.status)),
        ("progress", progress(found.progress)),
        ("updated_at", when(found.updated_at)),
    ]


def job_row(job: Job) -> List[str]:
    return [job.id, str(job.type), job.model, str(job.status), progress(job.progress), when(job.created_at), _cost(job)]


def file_fields(file: File) -> List[Tuple[str, str]]:
    return [
        ("id", file.id),
        ("filename", file.filename),
        ("bytes", str(file.bytes)),
        ("content_type", file.content_type),
        ("purpose", str(file.purpose)),
        ("sha256", file.sha256),
        ("created_at", when(file.created_at)),
        ("token", file.token),
    ]


def token_fields(made: DownloadToken) -> List[Tuple[str, str]]:
    return [("file_id", made.file_id), ("token", made.token), ("url", made.url), ("expires_at", when(made.expires_at))]


def deleted_fields(deleted: FileDeleted) -> List[Tuple[str, str]]:
    return [("id", deleted.id), ("deleted", "yes" if deleted.deleted else "no")]


def file_row(file: File) -> List[str]:
    return [file.id, file.filename, str(file.bytes), str(file.purpose), when(file.created_at)]


def _dimensions(model: Model) -> str:
    return str(model.embedding_dimensions) if model.embedding_dimensions is not None else "-"


def model_row(model: Model) -> List[str]:
    return [
        model.id,
        ",".join(str(job_type) for job_type in model.job_types),
        str(model.context_window),
        _dimensions(model),
        f"{model.pricing.input_per_million_tokens:g}",
        f"{model.pricing.output_per_million_tokens:g}",
    ]


def model_fields(model: Model) -> List[Tuple[str, str]]:
    output = model.max_output_tokens
    return [
        ("id", model.id),
        ("job_types", ", ".join(str(job_type) for job_type in model.job_types)),
        ("context_window", str(model.context_window)),
        ("max_output_tokens", str(output) if output is not None else "-"),
        ("embedding_dimensions", _dimensions(model)),
        ("input_price", f"${model.pricing.input_per_million_tokens:g} per million tokens"),
        ("output_price", f"${model.pricing.output_per_million_tokens:g} per million tokens"),
    ]
