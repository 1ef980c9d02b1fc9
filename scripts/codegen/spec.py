"""The API as the generator sees it: openapi.yml read into a small typed model.

Only the parts of OpenAPI 3.1 that openapi.yml uses are understood; anything else
raises :class:`SpecError` naming the place, so the generator never guesses.
"""

from __future__ import annotations

import keyword
from typing import Any, Dict, List, Tuple, Union, Mapping, Optional, cast
from dataclasses import field, dataclass

from .config import Config

# ----------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Prim:
    """A scalar: ``str``, ``int``, ``float``, ``bool``, ``datetime`` or ``binary`` (a file)."""

    name: str


@dataclass(frozen=True)
class Lit:
    """A constant or an inline enum."""

    values: Tuple[Union[str, int, bool], ...]


@dataclass(frozen=True)
class Ref:
    """A component schema."""

    name: str


@dataclass(frozen=True)
class Array:
    item: TypeNode


@dataclass(frozen=True)
class Map:
    """An object with string keys and values of one type."""

    value: TypeNode


@dataclass(frozen=True)
class Nullable:
    inner: TypeNode


TypeNode = Union[Prim, Lit, Ref, Array, Map, Nullable]

NO_EXAMPLE = object()


@dataclass
class Prop:
    """A property of an object schema, or a query/path/form parameter."""

    name: str
    type: TypeNode
    required: bool
    description: str
    example: object = NO_EXAMPLE
    secret: bool = False
    constraints: Tuple[Tuple[str, object], ...] = ()
    """The value's limits as ``pydantic.Field`` arguments, e.g. ``(("ge", 1), ("le", 86400))``."""


@dataclass
class ObjectSchema:
    name: str
    description: str
    props: List[Prop]


@dataclass
class EnumSchema:
    name: str
    description: str
    values: List[str]


@dataclass
class UnionSchema:
    """A ``oneOf`` of object schemas with a discriminator."""

    name: str
    description: str
    variants: List[str]
    discriminator: str


Schema = Union[ObjectSchema, EnumSchema, UnionSchema]

# ----------------------------------------------------------------------------- operations


@dataclass
class Body:
    """A request body: ``json`` or ``multipart``; ``union`` names a oneOf schema, else ``props``."""

    kind: str
    props: List[Prop] = field(default_factory=lambda: [])
    union: Optional[str] = None


@dataclass
class Response:
    """The 2xx answer: ``json`` (``schema``), ``page`` (items ``schema``), ``sse`` or ``binary``."""

    kind: str
    status: int
    schema: Optional[str] = None
    pagination: Optional[str] = None
    sse_example: List[Mapping[str, Any]] = field(default_factory=lambda: [])


@dataclass
class Operation:
    resource: str
    method: str
    http_method: str
    path: str
    summary: str
    description: str
    path_params: List[Prop]
    query_params: List[Prop]
    body: Optional[Body]
    response: Response
    options_type: str
    idempotency_header: Optional[str] = None
    """The header that carries the ``idempotency_key`` option, when the operation takes one."""


@dataclass
class Resource:
    name: str
    title: str
    singular: str
    description: str
    class_ref: str
    operations: List[Operation]


@dataclass
class Api:
    schemas: Dict[str, Schema]
    resources: List[Resource]

    @property
    def operations(self) -> List[Operation]:
        return [op for resource in self.resources for op in resource.operations]


class SpecError(Exception):
    """openapi.yml uses something the generator does not understand."""


# ----------------------------------------------------------------------------- loading

_HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class _Loader:
    def __init__(self, doc: Mapping[str, Any], config: Config) -> None:
        self.doc = doc
        self.config = config
        self.components: Mapping[str, Any] = doc.get("components", {})

    def resolve(self, node: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
        ref = node.get("$ref")
        if ref is None:
            return node
        prefix = f"#/components/{kind}/"
        if not ref.startswith(prefix):
            raise SpecError(f"unsupported $ref {ref!r} (expected {prefix}...)")
        return self.resolve(self.components[kind][ref[len(prefix) :]], kind)

    # ------------------------------------------------------------------ schemas

    def type_node(self, schema: Mapping[str, Any], where: str) -> TypeNode:
        ref = schema.get("$ref")
        if ref is not None:
            return Ref(ref.rsplit("/", 1)[-1])
        if "const" in schema:
            return Lit((schema["const"],))
        if "enum" in schema:
            return Lit(tuple(schema["enum"]))
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants is not None:
            others = [v for v in variants if v.get("type") != "null"]
            if len(variants) == 2 and len(others) == 1:
                return Nullable(self.type_node(others[0], where))
            raise SpecError(f"{where}: an inline union must be `anyOf: [X, {{type: 'null'}}]`; name it instead")
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = cast(List[str], kind)
            others = [k for k in kinds if k != "null"]
            if len(kinds) != 2 or len(others) != 1:
                raise SpecError(f"{where}: unsupported type list {kind}")
            return Nullable(self.type_node({**schema, "type": others[0]}, where))
        if kind == "string":
            fmt = str(schema.get("format", ""))
            return Prim({"date-time": "datetime", "binary": "binary"}.get(fmt, "str"))
        if kind in ("integer", "number", "boolean"):
            return Prim({"integer": "int", "number": "float", "boolean": "bool"}[kind])
        if kind == "array":
            return Array(self.type_node(schema["items"], f"{where}[]"))
        if kind == "object" and "properties" not in schema and isinstance(schema.get("additionalProperties"), dict):
            return Map(self.type_node(schema["additionalProperties"], f"{where}{{}}"))
        raise SpecError(f"{where}: unsupported inline schema {dict(schema)!r}; make it a component")

    def props(self, schema: Mapping[str, Any], where: str) -> List[Prop]:
        if schema.get("type") != "object":
            raise SpecError(f"{where}: expected an object schema")
        required = set(schema.get("required", []))
        props: List[Prop] = []
        for name, prop in schema.get("properties", {}).items():
            check_identifier(name, where)
            props.append(
                Prop(
                    name=name,
                    type=self.type_node(prop, f"{where}.{name}"),
                    required=name in required,
                    description=self.description(prop),
                    example=prop.get("example", NO_EXAMPLE),
                    secret=bool(prop.get("x-microdc-secret", False)),
                    constraints=constraints(prop, f"{where}.{name}"),
                )
            )
        missing = required - {p.name for p in props}
        if missing:
            raise SpecError(f"{where}: required {sorted(missing)} not in properties")
        return props

    def description(self, schema: Mapping[str, Any]) -> str:
        """A schema's description; for a bare ``$ref``, the referenced schema's."""
        text = schema.get("description")
        if text is None and "$ref" in schema:
            text = self.resolve(schema, "schemas").get("description")
        return (text or "").strip()

    def schema(self, name: str) -> Schema:
        raw = self.components["schemas"][name]
        description = (raw.get("description") or "").strip()
        if "oneOf" in raw:
            discriminator = raw.get("discriminator", {}).get("propertyName")
            if discriminator is None:
                raise SpecError(f"schema {name}: a oneOf needs a discriminator")
            variants = [v["$ref"].rsplit("/", 1)[-1] for v in raw["oneOf"]]
            return UnionSchema(name, description, variants, discriminator)
        if raw.get("type") == "string" and "enum" in raw:
            return EnumSchema(name, description, list(raw["enum"]))
        return ObjectSchema(name, description, self.props(raw, f"schema {name}"))

    # ------------------------------------------------------------------ operations

    def parameter(self, raw: Mapping[str, Any], where: str) -> Prop:
        param = self.resolve(raw, "parameters")
        name = param["name"]
        check_identifier(name, where)
        is_array = param.get("in") == "query" and param["schema"].get("type") == "array"
        if is_array and (param.get("style", "form") != "form" or param.get("explode", True)):
            raise SpecError(f"{where}: query array {name!r} must be `style: form, explode: false` (comma-separated)")
        return Prop(
            name=name,
            type=self.type_node(param["schema"], f"{where} {name}"),
            required=bool(param.get("required", False)),
            description=(param.get("description") or "").strip(),
            example=param.get("example", NO_EXAMPLE),
            secret=bool(param.get("x-microdc-secret", False)),
            constraints=constraints(param["schema"], f"{where} {name}"),
        )

    def operation(self, path: str, http_method: str, raw: Mapping[str, Any], shared: List[Any]) -> Operation:
        where = f"{http_method.upper()} {path}"
        path_params: List[Prop] = []
        query_params: List[Prop] = []
        options_type = "RequestOptions"
        idempotency_header: Optional[str] = None
        for raw_param in [*shared, *raw.get("parameters", [])]:
            param = self.resolve(raw_param, "parameters")
            location = param.get("in")
            if location == "header":
                managed = param.get("x-microdc-client-managed")
                if managed not in self.config.client_managed_headers:
                    raise SpecError(f"{where}: header {param['name']!r} needs a known x-microdc-client-managed")
                options = self.config.client_managed_headers[managed]
                if options != "RequestOptions":
                    options_type = options
                if managed == "idempotency_key":
                    idempotency_header = param["name"]
            elif location == "path":
                path_params.append(self.parameter(raw_param, where))
            elif location == "query":
                query_params.append(self.parameter(raw_param, where))
            else:
                raise SpecError(f"{where}: unsupported parameter location {location!r}")
        body = self.body(raw.get("requestBody"), where)
        if body is not None and query_params:
            raise SpecError(f"{where}: both a body and query parameters are not supported")
        description = (raw.get("description") or "").strip()
        return Operation(
            resource=raw["x-microdc-resource"],
            method=raw["x-microdc-method"],
            http_method=http_method,
            path=path,
            summary=(raw.get("summary") or "").strip(),
            description=description,
            path_params=path_params,
            query_params=query_params,
            body=body,
            response=self.response(raw, where),
            options_type=options_type,
            idempotency_header=idempotency_header,
        )

    def body(self, raw: Optional[Mapping[str, Any]], where: str) -> Optional[Body]:
        if raw is None:
            return None
        content: Mapping[str, Any] = raw["content"]
        if list(content) == ["application/json"]:
            schema = content["application/json"]["schema"]
            if "$ref" in schema and isinstance(self.schema(schema["$ref"].rsplit("/", 1)[-1]), UnionSchema):
                return Body("json", union=schema["$ref"].rsplit("/", 1)[-1])
            return Body("json", props=self.props(self.resolve(schema, "schemas"), f"{where} body"))
        if list(content) == ["multipart/form-data"]:
            schema = self.resolve(content["multipart/form-data"]["schema"], "schemas")
            return Body("multipart", props=self.props(schema, f"{where} body"))
        raise SpecError(f"{where}: unsupported request content {list(content)}")

    def response(self, raw: Mapping[str, Any], where: str) -> Response:
        successes = [(int(code), r) for code, r in raw["responses"].items() if str(code).startswith("2")]
        if len(successes) != 1:
            raise SpecError(f"{where}: expected exactly one 2xx response")
        status, response = successes[0]
        content: Mapping[str, Any] = self.resolve(response, "responses").get("content", {})
        if list(content) == ["text/event-stream"]:
            media = content["text/event-stream"]
            return Response("sse", status, schema=_ref_name(media["schema"], where), sse_example=media["example"])
        if list(content) == ["application/octet-stream"]:
            return Response("binary", status)
        if list(content) != ["application/json"]:
            raise SpecError(f"{where}: unsupported response content {list(content)}")
        schema_name = _ref_name(content["application/json"]["schema"], where)
        pagination = raw.get("x-microdc-pagination")
        if pagination is None:
            return Response("json", status, schema=schema_name)
        if pagination not in self.config.pagination:
            raise SpecError(f"{where}: unknown x-microdc-pagination {pagination!r}")
        envelope = self.components["schemas"][schema_name]
        item = _ref_name(envelope["properties"]["data"]["items"], f"{where} {schema_name}.data")
        return Response("page", status, schema=item, pagination=pagination)


def _ref_name(schema: Mapping[str, Any], where: str) -> str:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        raise SpecError(f"{where}: expected a $ref to a component schema")
    return ref.rsplit("/", 1)[-1]


# JSON Schema's limits and the ``pydantic.Field`` argument each becomes.
_LIMITS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_length",
    "maxItems": "max_length",
    "minProperties": "min_length",
    "maxProperties": "max_length",
}
# Limits the generated validators do not check: a spec using one fails to generate.
_UNSUPPORTED_LIMITS = ("pattern", "multipleOf", "uniqueItems", "minContains", "maxContains")


def constraints(schema: Mapping[str, Any], where: str) -> Tuple[Tuple[str, object], ...]:
    """The limits of one property or parameter (not of the schemas it references)."""
    found: List[Tuple[str, object]] = []
    for limit, argument in _LIMITS.items():
        if limit in schema:
            value = schema[limit]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"{where}: {limit} must be a number, got {value!r}")
            found.append((argument, value))
    unsupported = [limit for limit in _UNSUPPORTED_LIMITS if limit in schema]
    if unsupported:
        raise SpecError(f"{where}: {unsupported} are not checked by the generated validators; use another limit")
    return tuple(found)


def check_identifier(name: str, where: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise SpecError(f"{where}: {name!r} is not a usable Python name")


def load_api(doc: Mapping[str, Any], config: Config) -> Api:
    """Read the parsed openapi.yml into an :class:`Api`."""
    loader = _Loader(doc, config)
    schemas = {name: loader.schema(name) for name in loader.components.get("schemas", {})}
    tags = {tag["name"]: (tag.get("description") or "").strip() for tag in doc.get("tags", [])}
    by_resource: Dict[str, List[Operation]] = {name: [] for name in config.resources}
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for http_method in _HTTP_METHODS:
            if http_method in item:
                op = loader.operation(path, http_method, item[http_method], shared)
                if op.resource not in by_resource:
                    raise SpecError(f"{http_method.upper()} {path}: resource {op.resource!r} is not in config.yml")
                by_resource[op.resource].append(op)
    resources = [
        Resource(
            name=name,
            title=settings.title,
            singular=settings.singular,
            description=tags.get(name, ""),
            class_ref=settings.class_ref,
            operations=by_resource[name],
        )
        for name, settings in config.resources.items()
    ]
    return Api(schemas=schemas, resources=resources)
