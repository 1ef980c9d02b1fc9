"""Hand-written helpers, never touched by ``scripts/generate``.

How they reach users: the generated client's ``jobs`` property returns
:class:`microdc.lib.jobs.AsyncJobs`, a subclass of the generated
``AsyncJobsResource`` that adds ``wait``, ``create_and_wait``, ``as_completed``,
``submit``, ``batch`` and ``submit_many``. The generator is told so in
``scripts/codegen/config.yml`` (``resource_classes``), so regenerating never
drops them and nothing generated is edited by hand.

* :mod:`microdc.lib.jobs` — the ``client.jobs`` extensions: ``AsyncJobs``, the builders
  (``LLMComplete``, ``LLMChat``, ``LLMEmbed``, ``DocumentCall``), waiting and cost estimates
* :mod:`microdc.lib.retry` — ``disable_retry_delays`` for tests (the policy is ``microdc.RetryPolicy``)
* :mod:`microdc.lib.hooks` — request/response/retry/error hooks and their records
* :mod:`microdc.lib.metrics` — ``Metrics``, a hook set that counts calls, latency, tokens and cost
* :mod:`microdc.lib.otel` — ``Tracing``, OpenTelemetry spans (extra ``microdc[otel]``)
* :mod:`microdc.lib.rate_limit` — ``RateLimit``, shared by a client and its copies
* :mod:`microdc.lib.structured` — structured outputs: ``instruction``, ``extract_json``, ``Prompt``,
  ``OutputValidationError``, ``from_json_schema`` (used by ``ask``, ``send``, ``parse`` and ``batch``)
* :mod:`microdc.lib.batch` — the batch engine: ``jobs.batch`` (streaming, any size, SQLite state, shards) and ``submit_many``
* :mod:`microdc.lib.progress` — ``ProgressDisplay``, a ready ``on_progress`` (a ``rich`` bar, or log lines)
* :mod:`microdc.lib.cli` — the ``microdc`` command (extra ``microdc[cli]``)
"""

from __future__ import annotations

from .jobs import CostEstimate
from .jobs.builders import LLMChat, LLMEmbed, JobBuilder, LLMComplete, DocumentCall

__all__ = ["CostEstimate", "DocumentCall", "JobBuilder", "LLMChat", "LLMComplete", "LLMEmbed"]
