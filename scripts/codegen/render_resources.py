"""``src/microdc/resources/<resource>.py``: one ``Async<Resource>Resource`` per resource.

Each operation becomes one method: path parameters positional, everything else
keyword-only, optional ones ``Optional[T] | NotGiven = NOT_GIVEN`` (``None`` means
"not sent"), and the per-request options as ``**options: Unpack[RequestOptions]``
(``MutationRequestOptions`` when the operation takes an ``Idempotency-Key``). A body
that is a union gets one ``@overload`` per variant. Arguments are checked by a
``params_validator`` of the operation's params TypedDict before anything is sent.
"""

from __future__ import annotations

from typing import Dict, List, Tuple
from dataclasses import dataclass

from .spec import Api, Lit, Prop, Resource, Operation, SpecError, UnionSchema
from .pyrender import HEADER, Imports, Annotator, camel, snake, docstring, join_blocks, optional_param
from .render_types import is_file, params_class, object_schema, form_params_class

RESOURCES_DIR = "src/microdc/resources"


def resource_class(resource: Resource) -> str:
    return f"Async{camel(resource.name)}Resource"


@dataclass
class _Arg:
    name: str
    annotation: str
    description: str
    required: bool


def _args(props: List[Prop], ann: Annotator) -> List[_Arg]:
    args = [_Arg(p.name, ann.param(p.type), p.description, p.required) for p in props]
    return [a for a in args if a.required] + [a for a in args if not a.required]


def _signature(positional: List[_Arg], keywords: List[_Arg], options: str, returns: str, imports: Imports) -> str:
    parts = ["self"] + [f"{a.name}: {a.annotation}" for a in positional]
    if keywords:
        parts.append("*")
    for arg in keywords:
        parts.append(
            f"{arg.name}: {arg.annotation}"
            if arg.required
            else f"{arg.name}: {optional_param(arg.annotation, imports)}"
        )
    imports.add("typing_extensions", "Unpack")
    imports.runtime("_types", options)
    parts.append(f"**options: Unpack[{options}]")
    # No magic trailing comma: ruff keeps a short signature on one line.
    return "(" + ", ".join(parts) + f") -> {returns}:\n"


def _method_doc(op: Operation, args: List[_Arg], lead: str = "") -> str:
    text = op.summary
    for paragraph in (lead, op.description):
        if paragraph:
            text += "\n\n" + paragraph
    documented = [a for a in args if a.description]
    if documented:
        text += "\n\nArgs:"
        for arg in documented:
            first, *rest = arg.description.splitlines()
            text += f"\n  {arg.name}: {first}" + "".join(f"\n      {line}" for line in rest)
    return docstring(text, 8)


def _path_expr(op: Operation, imports: Imports) -> str:
    path = op.path
    if not op.path_params:
        return f'"{path}"'
    imports.runtime("_utils", "path_param")
    for param in op.path_params:
        path = path.replace(f"{{{param.name}}}", f"{{path_param('{param.name}', {param.name})}}")
    return f'f"{path}"'


def _values(names: List[str]) -> str:
    return "{" + ", ".join(f'"{n}": {n}' for n in names) + "}"


def _validator(op: Operation) -> str:
    return f"_validate_{op.method}"


class _ResourceWriter:
    def __init__(self, api: Api, resource: Resource, page_classes: Dict[str, str]) -> None:
        self.api = api
        self.resource = resource
        self.page_classes = page_classes
        self.imports = Imports("..types", "..")
        self.ann = Annotator(api, self.imports)
        self.validators: List[str] = []

    # ------------------------------------------------------------------ pieces

    def returns(self, op: Operation) -> str:
        response = op.response
        if response.kind == "binary":
            self.imports.runtime("_response", "AsyncBinaryAPIResponse")
            return "AsyncBinaryAPIResponse"
        assert response.schema is not None
        self.imports.generated_type(response.schema)
        if response.kind == "sse":
            self.imports.runtime("_streaming", "AsyncStream")
            return f"AsyncStream[{response.schema}]"
        if response.kind == "page":
            assert response.pagination is not None
            page = self.page_classes[response.pagination]
            self.imports.add("..pagination", "AsyncPaginator", page)
            return f"AsyncPaginator[{response.schema}, {page}[{response.schema}]]"
        return response.schema

    def validate_line(self, op: Operation, names: List[str], target: str) -> str:
        if not names:
            return ""
        multipart = op.body is not None and op.body.kind == "multipart"
        validated = form_params_class(self.api, op) if multipart else params_class(self.api, op)
        self.imports.runtime("_utils", "params_validator")
        self.imports.add(f"..types.{snake(params_class(self.api, op))}", validated)
        self.validators.append(f"{_validator(op)} = params_validator({validated})")
        return f'        {target} = {_validator(op)}("{op.resource}.{op.method}", {_values(names)})\n'

    def call(self, op: Operation, verb_args: List[str]) -> str:
        response = op.response
        path = _path_expr(op, self.imports)
        lines = ""
        if response.kind in ("sse", "binary"):
            accept = "text/event-stream" if response.kind == "sse" else "application/octet-stream"
            lines += f'        options["extra_headers"] = {{"Accept": "{accept}", **(options.get("extra_headers") or {{}})}}\n'
        # The spec's path for the hooks (`CallInfo.path`); a path without parameters is its own.
        template = [f'path_template="{op.path}"'] if op.path_params else []
        if response.kind == "page":
            assert response.schema is not None
            assert response.pagination is not None
            item, page = response.schema, self.page_classes[response.pagination]
            args = [path, *template, f"page={page}[{item}]", f"model={item}", *verb_args, "options=options"]
            return lines + f"        return self._get_api_list({', '.join(args)})\n"
        if response.kind == "sse":
            if op.http_method != "get":
                raise SpecError(f"{op.http_method.upper()} {op.path}: only GET event streams are supported")
            verb = "_get_events"
            args = [path, *template, f"item_type={response.schema}", f"sse_cls=AsyncStream[{response.schema}]"]
        elif response.kind == "binary":
            verb = "_request"
            args = [f'"{op.http_method.upper()}"', path, *template, "cast_to=AsyncBinaryAPIResponse"]
        else:
            verb = "_request"
            args = [f'"{op.http_method.upper()}"', path, *template, f"cast_to={response.schema}"]
        return lines + f"        return await self.{verb}({', '.join([*args, *verb_args, 'options=options'])})\n"

    # ------------------------------------------------------------------ methods

    def method(self, op: Operation) -> str:
        if op.body is not None and op.body.union is not None:
            return self.union_method(op)
        positional = [_Arg(p.name, self.ann.param(p.type), p.description, True) for p in op.path_params]
        props = op.body.props if op.body is not None else op.query_params
        keywords = _args(props, self.ann)
        returns = self.returns(op)
        is_async = op.response.kind != "page"
        head = f"    {'async ' if is_async else ''}def {op.method}" + _signature(
            positional, keywords, op.options_type, returns, self.imports
        )
        body = _method_doc(op, positional + keywords)
        verb_args: List[str] = []
        if op.body is not None and op.body.kind == "multipart":
            files = [p.name for p in props if is_file(p)]
            fields = [p.name for p in props if p.name not in files]
            body += self.validate_line(op, fields, "form")
            if fields:
                verb_args.append("body=form")
            verb_args.append("files={" + ", ".join(f'"{f}": {f}' for f in files) + "}")
        elif op.body is not None:
            body += self.validate_line(op, [p.name for p in props], "body")
            verb_args.append("body=body")
        elif props:
            body += self.validate_line(op, [p.name for p in props], "query")
            verb_args.append("query=query")
        return head + body + self.call(op, verb_args)

    def union_method(self, op: Operation) -> str:
        assert op.body is not None
        assert op.body.union is not None
        union = self.api.schemas[op.body.union]
        assert isinstance(union, UnionSchema)
        self.imports.add("typing", "overload")
        returns = self.returns(op)
        positional = [_Arg(p.name, self.ann.param(p.type), p.description, True) for p in op.path_params]
        blocks: List[str] = []
        merged: Dict[str, Tuple[str, int]] = {}
        tags: List[str] = []
        for variant in union.variants:
            schema = object_schema(self.api, variant)
            variant_args = _args(schema.props, self.ann)
            for prop in schema.props:
                if prop.name == union.discriminator:
                    if not isinstance(prop.type, Lit):
                        raise SpecError(f"{variant}.{union.discriminator} must be a const")
                    tags.extend(str(v) for v in prop.type.values)
            for arg in variant_args:
                known = merged.get(arg.name)
                if known is not None and known[0] != arg.annotation and arg.name != union.discriminator:
                    raise SpecError(f"{union.name}: {arg.name!r} has different types in different variants")
                merged[arg.name] = (arg.annotation, (known[1] if known else 0) + int(arg.required))
            head = (
                "    @overload\n    async def "
                + op.method
                + _signature(positional, variant_args, op.options_type, returns, self.imports)
            )
            blocks.append(head + _method_doc(op, positional + variant_args, lead=schema.description))
        everywhere = len(union.variants)
        keywords: List[_Arg] = []
        for name, (annotation, required_in) in merged.items():
            if name == union.discriminator:
                annotation = self.ann.literal(tags)
            keywords.append(_Arg(name, annotation, "", required_in == everywhere))
        keywords = [a for a in keywords if a.required] + [a for a in keywords if not a.required]
        impl = f"    async def {op.method}" + _signature(positional, keywords, op.options_type, returns, self.imports)
        impl += self.validate_line(op, [a.name for a in keywords], "body")
        blocks.append(impl + self.call(op, ["body=body"]))
        return "\n".join(blocks)

    # ------------------------------------------------------------------ classes

    def render(self) -> str:
        resource = self.resource
        cls = resource_class(resource)
        self.imports.add("functools", "cached_property")
        self.imports.runtime("_resource", "AsyncAPIResource")
        methods = [self.method(op) for op in resource.operations]
        main = (
            f"class {cls}(AsyncAPIResource):\n"
            + docstring(resource.description, 4)
            + "\n    @cached_property\n"
            + f"    def with_raw_response(self) -> {cls}WithRawResponse:\n"
            + '        """Each method returns the raw `AsyncAPIResponse` (status, headers, `await parse()`)."""\n'
            + f"        return {cls}WithRawResponse(self)\n\n"
            + "    @cached_property\n"
            + f"    def with_streaming_response(self) -> {cls}WithStreamingResponse:\n"
            + '        """Like `with_raw_response`, as a context manager that reads the body only when asked."""\n'
            + f"        return {cls}WithStreamingResponse(self)\n\n"
            + "\n\n".join(methods)
        )
        views = [self.view(cls, "WithRawResponse", "raw"), self.view(cls, "WithStreamingResponse", "streamed")]
        exports = [cls, f"{cls}WithRawResponse", f"{cls}WithStreamingResponse"]
        all_line = "__all__ = [" + ", ".join(f'"{n}"' for n in exports) + "]"
        summary = f'"""`client.{resource.name}`: {resource.description or resource.title}"""'
        top = HEADER + f"\n{summary}\n\nfrom __future__ import annotations\n\n" + self.imports.render()
        return join_blocks([top, all_line, "\n".join(self.validators), main, *views])

    def view(self, cls: str, suffix: str, mode: str) -> str:
        what = "raw `AsyncAPIResponse`" if mode == "raw" else "`AsyncAPIResponse` context manager"
        # The views wrap the methods of a copy of the resource whose answers come back
        # raw (read) or unread: the mode is that copy's typed attribute, never a keyword.
        response_mode = "raw" if mode == "raw" else "unread"
        self.imports.runtime("_resource", "with_response_mode")
        lines = [
            f"class {cls}{suffix}:\n",
            f'    """`client.{self.resource.name}.with_{"raw" if mode == "raw" else "streaming"}_response`: '
            f'the same methods, returning the {what}."""\n\n',
            f"    def __init__(self, {self.resource.name}: {cls}) -> None:\n",
            f'        answering = with_response_mode({self.resource.name}, "{response_mode}")\n',
        ]
        for op in self.resource.operations:
            kind = "page" if op.response.kind == "page" else "response"
            wrapper = f"async_to_{mode}_{kind}_wrapper"
            self.imports.runtime("_response", wrapper)
            lines.append(f"        self.{op.method} = {wrapper}(answering.{op.method})\n")
        return "".join(lines)


def render_resources(api: Api, page_classes: Dict[str, str]) -> Dict[str, str]:
    """Every file under ``src/microdc/resources/`` by its path."""
    files: Dict[str, str] = {}
    init: List[str] = []
    for resource in api.resources:
        writer = _ResourceWriter(api, resource, page_classes)
        files[f"{RESOURCES_DIR}/{resource.name}.py"] = writer.render()
        cls = resource_class(resource)
        for name in (cls, f"{cls}WithRawResponse", f"{cls}WithStreamingResponse"):
            init.append(f"from .{resource.name} import {name} as {name}")
    files[f"{RESOURCES_DIR}/__init__.py"] = HEADER + "\n\n" + "\n".join(init) + "\n"
    return files
