"""``microdc models list|get``: the models the service runs, what they serve and cost."""

from __future__ import annotations

from typing import TYPE_CHECKING, List

import click

from ._help import documented
from ._common import settings as get_settings, json_option, to_jsonable, run_with_client
from ._output import show_one, echo_json, echo_table, show_fields
from ._render import MODEL_COLUMNS, model_row, model_fields

if TYPE_CHECKING:
    from ..._client import AsyncMicroDC
    from ...types.model import Model

__all__ = ["models"]


@documented("microdc models list", "microdc models get echo-1", done="it worked")
@click.group()
def models() -> None:
    """The models the service runs, and what they cost."""


@documented(
    "microdc models list",
    "microdc --json models list | jq -r '.[] | select(.job_types | index(\"llm_chat\")) | .id'",
    done="the models are listed",
)
@models.command("list")
@json_option
@click.pass_context
def list_models(ctx: click.Context, as_json: bool) -> None:
    """List the models: job types, context window, price per million tokens."""
    current = get_settings(ctx, as_json)

    async def call(client: AsyncMicroDC) -> List[Model]:
        return [model async for model in client.models.list()]

    found = run_with_client(current, call)
    if current.json:
        echo_json([to_jsonable(model) for model in found])
    else:
        echo_table(MODEL_COLUMNS, [model_row(model) for model in found])


@documented(
    "microdc models get echo-1",
    "microdc --json models get embed-1 | jq .embedding_dimensions",
    done="the model is shown",
)
@models.command("get")
@click.argument("model_id")
@json_option
@click.pass_context
def get(ctx: click.Context, model_id: str, as_json: bool) -> None:
    """Show a model: the job types it serves, its limits and its prices."""
    show_one(get_settings(ctx, as_json), lambda client: client.models.retrieve(model_id), show_fields(model_fields))
