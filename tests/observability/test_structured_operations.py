"""Structured calls (``response_model=``) as operations: one GenAI span over every job a call ran,
its re-asks and the validation of each reply included. Against microdc.testing's ``json-1`` over
loopback, on both transports, in virtual time."""

from __future__ import annotations

from typing import List

import pytest
import pydantic
from opentelemetry.trace import StatusCode

from microdc import OutputValidationError
from microdc.testing import Faults
from microdc.lib.otel import Telemetry
from microdc.lib.hooks import OperationEndInfo

from ._served import Otel, otel, served, attributes, histogram_points
from .._transports import transport

__all__ = ["otel", "transport"]  # fixtures, imported for pytest

SUBMIT = "POST /api/v1/jobs/submit"


class Invoice(pydantic.BaseModel):
    number: str
    total: float = pydantic.Field(ge=0)


class Ends:
    """A hook set that keeps the end record of every operation."""

    def __init__(self) -> None:
        self.ended: List[OperationEndInfo] = []

    def on_operation_start(self, info: object) -> None:
        pass

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.ended.append(info)


def telemetry(otel: Otel) -> Telemetry:
    return Telemetry(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)


async def test_a_structured_ask_reasked_once_is_one_span_with_the_usage_of_both_jobs(
    otel: Otel, transport: str
) -> None:
    ends = Ends()
    async with served(transport, [telemetry(otel), ends]) as s:
        s.fake.faults = Faults(invalid_output_rate=1.0, max_faults=1)  # the first reply is invalid
        invoice = await s.client.jobs.ask("Extract the invoice.", model="json-1", response_model=Invoice)
        first, reask = s.fake.jobs.values()

    assert isinstance(invoice, Invoice)
    (end,) = ends.ended
    assert [job.id for job in end.jobs] == [first["id"], reask["id"]]
    assert end.job is end.jobs[-1]
    assert end.error is None

    (span,) = [span for span in otel.finished() if span.name == "text_completion json-1"]
    attrs = attributes(span)
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.response.id"] == reask["id"]  # the reply that validated
    assert attrs["gen_ai.usage.input_tokens"] == first["usage"]["input_tokens"] + reask["usage"]["input_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == first["usage"]["output_tokens"] + reask["usage"]["output_tokens"]
    assert attrs["microdc.job.cost_usd"] == pytest.approx(first["usage"]["cost_usd"] + reask["usage"]["cost_usd"])
    # Both jobs' requests are the span's children; the model check before the call is not.
    children = [child.name for child in otel.children(span)]
    assert children.count(SUBMIT) == 2
    assert "GET /api/v1/models/{model_id}" not in children
    tokens = {
        str(dict(point.attributes or {})["gen_ai.token.type"]): int(point.sum)
        for point in histogram_points(otel, "gen_ai.client.token.usage")
    }
    assert tokens == {"input": attrs["gen_ai.usage.input_tokens"], "output": attrs["gen_ai.usage.output_tokens"]}


async def test_a_structured_send_still_invalid_after_its_reasks_ends_its_span_with_the_error(
    otel: Otel, transport: str
) -> None:
    ends = Ends()
    async with served(transport, [telemetry(otel), ends]) as s:
        s.fake.faults = Faults(invalid_output_rate=1.0)  # every reply is invalid
        conv = s.client.jobs.conversation("json-1")
        with pytest.raises(OutputValidationError) as raised:
            await conv.send("Extract the invoice.", response_model=Invoice, max_reasks=1)
        assert conv.messages == []

    (end,) = ends.ended
    assert end.error is raised.value
    assert (len(end.jobs), end.cancelled) == (2, False)
    assert end.job is not None
    assert end.job.id == raised.value.job.id
    (span,) = [span for span in otel.finished() if span.name == "chat json-1"]
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["error.type"] == "microdc.OutputValidationError"
    assert [child.name for child in otel.children(span)].count(SUBMIT) == 2
