"""A response model made from a JSON Schema document, for schemas that live outside Python.

``from_json_schema(schema)`` returns a type that ``response_model=`` takes like any
other: its instruction holds the schema as given, and pydantic validates replies
against it (the schema is turned into a pydantic-core schema). Parsed values are
plain JSON values (dicts, lists, strings, numbers), as the schema describes them.

It reads what JSON Schema documents for structured outputs use: ``type`` (one or a
list), ``properties``/``required``/``additionalProperties``, ``items``/``prefixItems``
with ``minItems``/``maxItems``, ``enum``, ``const``, ``anyOf``/``oneOf``, ``allOf``
(merged), local ``$ref`` (``#/$defs/...``, ``#/definitions/...``), string
``minLength``/``maxLength``/``pattern`` and the formats ``date``, ``date-time``,
``time``, ``uuid`` and ``email``, and number bounds (``minimum``, ``maximum``, their
exclusive forms, ``multipleOf``). Other keywords are sent to the model but not checked.
"""

from __future__ import annotations

from typing import Any, Dict, List, Type, Mapping, Optional, cast

from pydantic_core import CoreSchema, core_schema

__all__ = ["JSON_SCHEMA_ATTRIBUTE", "from_json_schema"]

JSON_SCHEMA_ATTRIBUTE = "__microdc_json_schema__"
"""Where a type made by :func:`from_json_schema` keeps its schema (the instruction sends it as it is)."""

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _as_dict(value: object) -> Dict[str, Any]:
    return cast(Dict[str, Any], value) if isinstance(value, dict) else {}


class _Builder:
    """Turns one JSON Schema document into a pydantic-core schema."""

    def __init__(self, root: Dict[str, Any]) -> None:
        self.root = root
        self.definitions: Dict[str, CoreSchema] = {}

    def document(self) -> CoreSchema:
        schema = self.build(self.root)
        if self.definitions:
            return core_schema.definitions_schema(schema, list(self.definitions.values()))
        return schema

    def _resolve(self, ref: str) -> Dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref (#/...) can be followed, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = _as_dict(node).get(part.replace("~1", "/").replace("~0", "~"))
            if node is None:
                raise ValueError(f"$ref {ref!r} points at nothing in the schema")
        return _as_dict(node)

    def build(self, node: Dict[str, Any]) -> CoreSchema:
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref not in self.definitions:
                self.definitions[ref] = core_schema.any_schema()  # a placeholder while a recursive schema is built
                self.definitions[ref] = cast(CoreSchema, {**self.build(self._resolve(ref)), "ref": ref})
            rest = {k: v for k, v in node.items() if k not in ("$ref", "$defs", "definitions")}
            reference = core_schema.definition_reference_schema(ref)
            return core_schema.chain_schema([reference, self.build(rest)]) if _constrains(rest) else reference
        parts = node.get("allOf")
        if isinstance(parts, list):
            merged = {k: v for k, v in node.items() if k != "allOf"}
            schemas = [self.build(merged)] if _constrains(merged) else []
            schemas += [self.build(_as_dict(part)) for part in cast(List[object], parts)]
            return schemas[0] if len(schemas) == 1 else core_schema.chain_schema(schemas)
        if "const" in node:
            return core_schema.literal_schema([node["const"]])
        if isinstance(node.get("enum"), list):
            return core_schema.literal_schema(list(node["enum"]))
        options = node.get("anyOf") or node.get("oneOf")
        if isinstance(options, list) and options:
            return core_schema.union_schema([self.build(_as_dict(o)) for o in cast(List[object], options)])
        kind = node.get("type")
        if isinstance(kind, list):
            return core_schema.union_schema([self.build({**node, "type": k}) for k in cast(List[object], kind)])
        if kind is None:
            kind = "object" if "properties" in node else "array" if "items" in node or "prefixItems" in node else None
        return self._typed(kind, node)

    def _typed(self, kind: object, node: Dict[str, Any]) -> CoreSchema:
        if kind == "object":
            return self._object(node)
        if kind == "array":
            return self._array(node)
        if kind == "string":
            return self._string(node)
        bounds = {
            "ge": node.get("minimum"),
            "le": node.get("maximum"),
            "gt": node.get("exclusiveMinimum"),
            "lt": node.get("exclusiveMaximum"),
            "multiple_of": node.get("multipleOf"),
        }
        if kind == "integer":
            return core_schema.int_schema(**{k: v for k, v in bounds.items() if v is not None})
        if kind == "number":
            return core_schema.float_schema(allow_inf_nan=False, **{k: v for k, v in bounds.items() if v is not None})
        if kind == "boolean":
            return core_schema.bool_schema()
        if kind == "null":
            return core_schema.none_schema()
        return core_schema.any_schema()

    def _object(self, node: Dict[str, Any]) -> CoreSchema:
        properties = _as_dict(node.get("properties"))
        required = set(cast(List[str], node.get("required") or []))
        extra: object = node.get("additionalProperties", True)
        if not properties:
            values = (
                self.build(_as_dict(node.get("additionalProperties")))
                if isinstance(extra, dict)
                else core_schema.any_schema()
            )
            if extra is False:
                return core_schema.typed_dict_schema({}, extra_behavior="forbid")
            return core_schema.dict_schema(core_schema.str_schema(), values)
        fields = {
            name: core_schema.typed_dict_field(self.build(_as_dict(prop)), required=name in required)
            for name, prop in properties.items()
        }
        if extra is False:
            return core_schema.typed_dict_schema(fields, extra_behavior="forbid")
        extras = self.build(_as_dict(node.get("additionalProperties"))) if isinstance(extra, dict) else None
        return core_schema.typed_dict_schema(fields, extra_behavior="allow", extras_schema=extras)

    def _array(self, node: Dict[str, Any]) -> CoreSchema:
        lengths = {"min_length": node.get("minItems"), "max_length": node.get("maxItems")}
        lengths = {k: v for k, v in lengths.items() if v is not None}
        items: object = node.get("items")
        prefix = [self.build(_as_dict(p)) for p in cast(List[object], node.get("prefixItems") or [])]
        if prefix:
            if isinstance(items, dict):
                tail = self.build(cast(Dict[str, Any], items))
                tuple_schema = core_schema.tuple_schema([*prefix, tail], variadic_item_index=len(prefix), **lengths)
            else:
                tuple_schema = core_schema.tuple_schema(prefix, **lengths)
            return core_schema.chain_schema([tuple_schema, _to_list()])
        values = self.build(_as_dict(node.get("items"))) if isinstance(items, dict) else core_schema.any_schema()
        return core_schema.list_schema(values, **lengths)

    def _string(self, node: Dict[str, Any]) -> CoreSchema:
        limits = {
            "min_length": node.get("minLength"),
            "max_length": node.get("maxLength"),
            "pattern": node.get("pattern"),
        }
        text = core_schema.str_schema(**{k: v for k, v in limits.items() if v is not None})
        checker = _FORMATS.get(str(node.get("format")))
        return core_schema.chain_schema([text, _kept_if_valid(checker)]) if checker is not None else text


def _constrains(node: Mapping[str, Any]) -> bool:
    """Whether ``node`` says anything beyond annotations (a title, a description, a default)."""
    return any(k not in ("title", "description", "default", "examples", "$comment") for k in node)


def _to_list() -> CoreSchema:
    return core_schema.no_info_plain_validator_function(list)


def _kept_if_valid(checker: CoreSchema) -> CoreSchema:
    """``checker`` validates the string (a date, a UUID, ...); the value stays the string, as JSON has it."""
    from pydantic_core import SchemaValidator

    validator = SchemaValidator(checker)

    def check(value: str) -> str:
        validator.validate_python(value)
        return value

    return core_schema.no_info_plain_validator_function(check)


_FORMATS: Dict[str, CoreSchema] = {
    "date": core_schema.date_schema(),
    "date-time": core_schema.datetime_schema(),
    "time": core_schema.time_schema(),
    "uuid": core_schema.uuid_schema(),
    "email": core_schema.str_schema(pattern=_EMAIL),
}


def from_json_schema(schema: Mapping[str, Any], *, name: Optional[str] = None) -> Type[Any]:
    """A ``response_model`` for the JSON Schema document ``schema`` (a dict, e.g. ``json.load`` of a file).

    ::

        Invoice = from_json_schema(json.loads(Path("invoice.schema.json").read_text()))
        invoice = await client.jobs.ask("Extract the invoice: ...", model="json-1", response_model=Invoice)
        invoice["total"]  # a plain JSON value

    ``name`` names the type in messages (default: the schema's ``title``, else
    ``JsonSchema``). Raises ``ValueError`` for a schema that is not a JSON object or
    whose ``$ref`` points at nothing.
    """
    if not isinstance(schema, Mapping):
        raise ValueError(f"A JSON Schema is a JSON object, got {type(schema).__name__}.")
    document = dict(schema)
    built = _Builder(document).document()
    title = name or (document.get("title") if isinstance(document.get("title"), str) else None) or "JsonSchema"

    def get_core_schema(_cls: Any, _source: Any, _handler: Any) -> CoreSchema:
        return built

    namespace = {
        "__doc__": f"Values valid against the JSON Schema {title!r} (made by microdc.lib.structured.from_json_schema).",
        "__get_pydantic_core_schema__": classmethod(get_core_schema),
        JSON_SCHEMA_ATTRIBUTE: document,
    }
    return type(str(title), (), namespace)
