"""``tests/api_resources/``: contract tests of every method against Steady.

For each method: a call with only the required arguments, a call with all of them,
the ``with_raw_response`` and ``with_streaming_response`` forms, and (for methods
with path parameters) an empty ID raising ``ValueError`` before anything is sent.
Argument values are the spec's ``example``s; Steady answers from the schemas (and
from the example of the event stream), and rejects any request that does not fit.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from .spec import (
    NO_EXAMPLE,
    Api,
    Lit,
    Map,
    Prim,
    Prop,
    Array,
    Nullable,
    Resource,
    TypeNode,
    Operation,
    EnumSchema,
    UnionSchema,
)
from .config import Config
from .pyrender import HEADER, Imports, camel, snake, py_literal, join_blocks
from .render_types import object_schema

TESTS_DIR = "tests/api_resources"

_PRIM_EXAMPLES = {"str": '"string"', "int": "1", "float": "0.5", "bool": "True", "datetime": '"2025-01-01T00:00:00Z"'}


def _example(api: Api, node: TypeNode) -> str:
    if isinstance(node, Prim):
        return 'b"raw file contents"' if node.name == "binary" else _PRIM_EXAMPLES[node.name]
    if isinstance(node, Lit):
        return py_literal(node.values[0])
    if isinstance(node, Array):
        return f"[{_example(api, node.item)}]"
    if isinstance(node, Map):
        return f'{{"key": {_example(api, node.value)}}}'
    if isinstance(node, Nullable):
        return _example(api, node.inner)
    schema = api.schemas[node.name]
    if isinstance(schema, EnumSchema):
        return py_literal(schema.values[0])
    fields = object_schema(api, node.name).props
    return "{" + ", ".join(f'"{p.name}": {_value(api, p)}' for p in fields if p.required) + "}"


def _value(api: Api, prop: Prop) -> str:
    return _example(api, prop.type) if prop.example is NO_EXAMPLE else py_literal(prop.example)


class _Case:
    """The argument lists of one method (one overload of a union method)."""

    def __init__(self, api: Api, op: Operation, props: List[Prop], suffix: str) -> None:
        positional = [_value(api, p) for p in op.path_params]
        self.required = positional + [f"{p.name}={_value(api, p)}" for p in props if p.required]
        self.all = self.required + [f"{p.name}={_value(api, p)}" for p in props if not p.required]
        self.empty_ids = [
            ['""' if q is p else _value(api, q) for q in op.path_params] + self.required[len(positional) :]
            for p in op.path_params
        ]
        self.suffix = suffix


class _TestWriter:
    def __init__(self, api: Api, config: Config, resource: Resource) -> None:
        self.api = api
        self.config = config
        self.resource = resource
        self.imports = Imports("microdc.types", "microdc.")
        self.imports.module("pytest")
        self.imports.add("microdc", config.client_class)

    def cases(self, op: Operation) -> List[_Case]:
        if op.body is not None and op.body.union is not None:
            union = self.api.schemas[op.body.union]
            assert isinstance(union, UnionSchema)
            return [
                _Case(self.api, op, object_schema(self.api, v).props, f"_overload_{i}")
                for i, v in enumerate(union.variants, 1)
            ]
        props = op.body.props if op.body is not None else op.query_params
        return [_Case(self.api, op, props, "")]

    def result_checks(self, op: Operation) -> Tuple[str, List[str]]:
        """The name of the call's result and the lines that check it."""
        response = op.response
        if response.kind == "binary":
            self.imports.add("microdc", "AsyncBinaryAPIResponse")
            return "content", [
                "assert isinstance(content, AsyncBinaryAPIResponse)",
                "assert isinstance(await content.read(), bytes)",
            ]
        assert response.schema is not None
        if response.kind == "sse":
            expected = self.sse_event_types(op)
            return "stream", [
                "async with stream:",
                f"    events = [await stream.__anext__() for _ in range({len(expected)})]",
                f"assert [type(event) for event in events] == [{', '.join(expected)}]",
            ]
        self.imports.generated_type(response.schema)
        if response.kind == "page":
            assert response.pagination is not None
            page = self.config.pagination[response.pagination]
            self.imports.add("microdc.pagination", page)
            return "page", [
                f"assert isinstance(page, {page})",
                f"assert all(isinstance(item, {response.schema}) for item in page.data)",
            ]
        name = snake(response.schema)
        return name, [f"assert isinstance({name}, {response.schema})"]

    def sse_event_types(self, op: Operation) -> List[str]:
        """The event classes Steady's stream (the spec's example) should parse into, in order."""
        assert op.response.schema is not None
        union = self.api.schemas[op.response.schema]
        assert isinstance(union, UnionSchema)
        by_tag: Dict[object, str] = {}
        for variant in union.variants:
            for prop in object_schema(self.api, variant).props:
                if prop.name == union.discriminator and isinstance(prop.type, Lit):
                    by_tag.update((value, variant) for value in prop.type.values)
        names = [by_tag[event[union.discriminator]] for event in op.response.sse_example]
        for name in names:
            self.imports.generated_type(name)
        return names

    def call(self, op: Operation, args: List[str], view: str = "") -> str:
        return f"client.{self.resource.name}.{view}{op.method}({', '.join(args)})"

    def tests(self, op: Operation) -> List[str]:
        out: List[str] = []
        name = op.method
        for case in self.cases(op):
            result, checks = self.result_checks(op)
            out.append(
                self.test(
                    f"test_method_{name}{case.suffix}", [f"{result} = await {self.call(op, case.required)}", *checks]
                )
            )
            if case.all != case.required:
                out.append(
                    self.test(
                        f"test_method_{name}_with_all_params{case.suffix}",
                        [f"{result} = await {self.call(op, case.all)}", *checks],
                    )
                )
            out.append(self.raw_test(op, case))
            out.append(self.streaming_test(op, case))
            for i, args in enumerate(case.empty_ids):
                param = op.path_params[i].name
                out.append(
                    self.test(
                        f"test_path_params_{name}{case.suffix}" + (f"_{param}" if len(case.empty_ids) > 1 else ""),
                        [
                            f'with pytest.raises(ValueError, match=r"Expected a non-empty value for `{param}`"):',
                            f"    await {self.call(op, args)}",
                        ],
                    )
                )
        return out

    def raw_test(self, op: Operation, case: _Case) -> str:
        result, checks = self.result_checks(op)
        # A raw answer is read whole before it is returned, except an event stream,
        # which is read (and closed) as it is iterated.
        read_whole = op.response.kind != "sse"
        lines = [
            f"response = await {self.call(op, case.required, 'with_raw_response.')}",
            f"assert response.status_code == {op.response.status}",
            'assert response.http_request.headers.get("X-Stainless-Lang") == "python"',
            *(
                [f'assert response.http_request.headers.get("{op.idempotency_header}")']
                if op.idempotency_header
                else []
            ),
            *(["assert response.is_closed"] if read_whole else []),
            f"{result} = await response.parse()",
            *checks,
            *([] if read_whole else ["assert response.is_closed"]),
        ]
        return self.test(f"test_raw_response_{op.method}{case.suffix}", lines)

    def streaming_test(self, op: Operation, case: _Case) -> str:
        result, checks = self.result_checks(op)
        lines = [
            f"async with {self.call(op, case.required, 'with_streaming_response.')} as response:",
            "    assert not response.http_response.is_stream_consumed",
            f"    {result} = await response.parse()",
            *[f"    {line}" for line in checks],
            "assert response.is_closed",
        ]
        return self.test(f"test_streaming_response_{op.method}{case.suffix}", lines)

    def test(self, name: str, lines: List[str]) -> str:
        client = self.config.client_class
        body = "".join(f"        {line}\n" for line in lines)
        return f"    async def {name}(self, client: {client}) -> None:\n{body}"

    def render(self) -> str:
        tests = [t for op in self.resource.operations for t in self.tests(op)]
        cls = f"class Test{camel(self.resource.name)}:\n" + "\n".join(tests)
        top = HEADER + "\n\nfrom __future__ import annotations\n\n" + self.imports.render()
        return join_blocks([top, f"pytestmark = pytest.mark.{self.config.tests.marker}", cls])


def _conftest(config: Config) -> str:
    tests = config.tests
    client = config.client_class
    return join_blocks(
        [
            HEADER
            + f'\n"""The `client` fixture of the contract tests: an `{client}` talking to Steady (`scripts/mock`),\n'
            + "over each transport of `tests/_transports.py` (the default client and `DefaultAioHttpClient`),\n"
            + 'with lenient (`loose`) and strict (`strict`) response validation."""\n\n'
            + "from __future__ import annotations\n\nimport os\nfrom typing import AsyncIterator\n\n"
            + f"import pytest\n\nfrom microdc import {client}\n\n"
            + "from .._transports import transport, http_client_for",
            f'base_url = os.environ.get("{tests.base_url_env}", "{tests.default_base_url}")\n'
            f'api_key = "{tests.api_key}"\n'
            '__all__ = ["client", "strict", "transport"]',
            '@pytest.fixture(params=[False, True], ids=["loose", "strict"])\n'
            "def strict(request: pytest.FixtureRequest) -> bool:\n"
            '    """Whether the client validates responses strictly."""\n'
            "    value = request.param\n"
            "    assert isinstance(value, bool)\n"
            "    return value",
            "@pytest.fixture\n"
            f"async def client(transport: str, strict: bool) -> AsyncIterator[{client}]:\n"
            f'    """An `{client}` over `transport`, lenient or strict."""\n'
            "    async with (\n"
            "        http_client_for(transport) as http_client,\n"
            f"        {client}(\n"
            "            api_key=api_key, base_url=base_url, http_client=http_client, _strict_response_validation=strict\n"
            "        ) as client,\n"
            "    ):\n"
            "        yield client",
        ]
    )


def render_tests(api: Api, config: Config) -> Dict[str, str]:
    """Every file under ``tests/api_resources/`` by its path."""
    files: Dict[str, str] = {}
    files[f"{TESTS_DIR}/__init__.py"] = HEADER + "\n"
    files[f"{TESTS_DIR}/conftest.py"] = _conftest(config)
    for resource in api.resources:
        files[f"{TESTS_DIR}/test_{resource.name}.py"] = _TestWriter(api, config, resource).render()
    return files
