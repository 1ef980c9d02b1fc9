"""``api.md`` (types and methods per resource, Stainless layout) and ``.stats.yml``."""

from __future__ import annotations

from typing import Dict, List

from .spec import Api, Resource, Operation, ObjectSchema
from .config import Config
from .pyrender import HEADER, snake, type_module, param_type_name
from .render_types import TYPES_DIR, refs, closure, params_class, request_props
from .render_resources import RESOURCES_DIR

MD_HEADER = "<!-- " + HEADER.lstrip("# ") + " -->"


def _resource_types(api: Api) -> Dict[str, List[str]]:
    """The public types each resource introduces (a type shared by two goes to the first)."""
    claimed: set[str] = set()
    by_resource: Dict[str, List[str]] = {}
    for resource in api.resources:
        roots = [op.response.schema for op in resource.operations if op.response.schema is not None]
        names = closure(api, roots)
        request_roots = [ref for op in resource.operations for p in request_props(api, op) for ref in refs(p.type)]
        for name in closure(api, request_roots):
            names.append(param_type_name(name) if isinstance(api.schemas[name], ObjectSchema) else name)
        by_resource[resource.name] = sorted(n for n in dict.fromkeys(names) if n not in claimed)
        claimed.update(names)
    return by_resource


def _link(name: str) -> str:
    return f'<a href="./{TYPES_DIR}/{type_module(name)}.py">{name}</a>'


def _returns(op: Operation, config: Config) -> str:
    response = op.response
    if response.kind == "binary":
        return "AsyncBinaryAPIResponse"
    assert response.schema is not None
    if response.kind == "sse":
        return f"AsyncStream[{_link(response.schema)}]"
    if response.kind == "page":
        assert response.pagination is not None
        page = config.pagination[response.pagination]
        return f'<a href="./src/microdc/pagination.py">{page}</a>[{_link(response.schema)}]'
    return _link(response.schema)


def _method_line(api: Api, resource: Resource, op: Operation, config: Config) -> str:
    args = [p.name for p in op.path_params]
    if op.body is not None or op.query_params:
        module = snake(params_class(api, op))
        args.append(f'\\*\\*<a href="./{TYPES_DIR}/{module}.py">params</a>')
    call = f'<a href="./{RESOURCES_DIR}/{resource.name}.py">{op.method}</a>({", ".join(args)})'
    title = f"{op.http_method} {op.path}"
    return f'- <code title="{title}">client.{resource.name}.{call} -> {_returns(op, config)}</code>'


def render_api_md(api: Api, config: Config) -> str:
    sections = [MD_HEADER]
    types = _resource_types(api)
    for resource in api.resources:
        lines = [f"# {resource.title}"]
        if types[resource.name]:
            lines += ["", "Types:", "", "```python", "from microdc.types import ("]
            lines += [f"    {name}," for name in types[resource.name]]
            lines += [")", "```"]
        lines += ["", "Methods:", ""]
        lines += [_method_line(api, resource, op, config) for op in resource.operations]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def render_stats(api: Api, *, spec_hash: str, config_hash: str) -> str:
    return (
        f"{HEADER}\n"
        f"configured_endpoints: {len(api.operations)}\n"
        f"openapi_spec_url: openapi.yml\n"
        f"openapi_spec_hash: {spec_hash}\n"
        f"config_hash: {config_hash}\n"
    )
