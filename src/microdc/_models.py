"""Response models and how answers become them.

Every answer is parsed in one pass from bytes by pydantic-core, in strict mode: a
value of the wrong JSON type fails the pass instead of being converted (``"19"`` is
not taken for 19, nor ``false`` for 0). A float field takes any JSON number, and
keeps an integer a float cannot hold exactly (past 2**53) as an exact ``int``
(``BaseModel.__get_pydantic_core_schema__``). When the pass fails and the client is
lenient (the default), the answer is built again from the decoded JSON
(:func:`construct_type`):

* each part that fits its type is validated, and each part that does not is kept
  exactly as sent;
* a field the answer leaves out reads as its default, else ``None``, and stays out
  of ``model_fields_set``;
* a union takes the variant strict parsing would: a discriminated one the variant
  its tag names (read under the tag field's alias), any other the variant the value
  fits best, counted in pydantic's own errors; the value is kept raw only where no
  variant has its shape.

The fast path costs nothing extra when the answer fits the schema, which is nearly
always. With ``_strict_response_validation=True`` the first failure raises
``APIResponseValidationError`` instead.
"""

from __future__ import annotations

import json
import typing
from types import UnionType
from typing import Any, Dict, List, Type, Tuple, Union, TypeVar, Callable, Optional, cast
from functools import cache

import pydantic
import pydantic_core
import typing_extensions
from pydantic import ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, SchemaValidator, core_schema
from pydantic.fields import FieldInfo
from typing_extensions import Literal, get_args, get_origin
from pydantic.json_schema import JsonSchemaValue

__all__ = [
    "BaseModel",
    "PropertyInfo",
    "check_cast_type",
    "construct_type",
    "json_validator",
    "parse_json",
    "python_validator",
]

_T = TypeVar("_T")

# The largest integers a float holds exactly are below 2**53 in size.
_EXACT_FLOAT_LIMIT = 2**53


class BaseModel(pydantic.BaseModel):
    """The base of every response object.

    Unknown fields are kept (``obj.model_extra``); ``obj.model_fields_set`` tells a
    field the API left out from one it sent as ``null`` (both read as ``None``);
    ``obj._request_id`` is the ``x-request-id`` of the answer it came from.
    ``str(obj)`` and ``repr(obj)`` read ``Job(id='job_1', ...)``.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=(), defer_build=True)

    # Not a pydantic PrivateAttr: one of those makes pydantic run a Python post-init
    # for every instance, nested ones included (a third of the CPU of parsing a page).
    @property
    def _request_id(self) -> Optional[str]:
        """The ``x-request-id`` of the answer this object came from (top-level objects only)."""
        private = self.__pydantic_private__
        return None if private is None else private.get("_request_id")

    def __str__(self) -> str:
        return self.__repr__()

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Type[Any], handler: GetCoreSchemaHandler, /) -> CoreSchema:
        # Float fields take JSON integers only while a float holds them exactly (see `_exact_float`).
        return cast(CoreSchema, _map_floats(handler(source)))

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> Dict[str, object]:
        """The object as a dict.

        Args:
            mode: ``"json"`` turns datetimes and the like into JSON-safe values.
            use_api_names: key by the names the API uses (``"from"``), not the Python
                attribute names (``from_``).
            exclude_unset: leave out the fields the API did not send.
            exclude_defaults: leave out fields whose value is their default.
            exclude_none: leave out fields whose value is ``None``.
        """
        return self.model_dump(
            mode=mode,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=False,  # a leniently kept off-schema value is expected, not worth a warning
        )

    def to_json(
        self,
        *,
        indent: Optional[int] = 2,
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> str:
        """The object as a JSON string (``indent=None`` for one line); the other arguments as for :meth:`to_dict`."""
        return self.model_dump_json(
            indent=indent,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=False,
        )


def set_request_id(obj: BaseModel, request_id: Optional[str]) -> None:
    """Record the answer's request id on a parsed object (see ``BaseModel._request_id``)."""
    private = obj.__pydantic_private__
    if private is None:
        object.__setattr__(obj, "__pydantic_private__", {"_request_id": request_id})
    else:
        private["_request_id"] = request_id


def PropertyInfo(*, discriminator: str) -> Any:
    """Metadata for ``Annotated[Union[...], PropertyInfo(discriminator="type")]``."""
    return pydantic.Field(discriminator=discriminator)


# --------------------------------------------------------------------------- cast types


def check_cast_type(typ: object, *, build: bool = True) -> None:
    """Raise ``TypeError`` if ``typ`` holds a pydantic model that is not a ``microdc.BaseModel``.

    Such a model would come back as itself when the answer fits and as a plain
    ``dict`` when it does not, so the type of a call's result would depend on the data.
    With ``build`` (for a type the answer is parsed as whole, not an event stream's
    item type), the parser for ``typ`` is built too, and a type pydantic refuses
    raises ``TypeError`` as well.
    """
    foreign = _foreign_model(typ, set())
    if foreign is not None:
        where = "is" if isinstance(typ, type) and typ is foreign else f"holds {foreign.__qualname__},"
        raise TypeError(
            f"cast_to={_type_name(typ)} {where} a plain pydantic.BaseModel; answers are parsed only into "
            "microdc models (kept whole even when a field is off-schema). "
            f"Declare it as `class {foreign.__name__}(microdc.BaseModel)`."
        )
    if build and (get_origin(typ) is not None or (isinstance(typ, type) and issubclass(typ, BaseModel))):
        # Built now (and kept), so a type pydantic refuses fails before the request is sent.
        try:
            _validator(typ)
        except (pydantic.PydanticUserError, TypeError) as exc:
            raise TypeError(f"cast_to={_type_name(typ)} cannot be parsed: {exc}") from None


def _foreign_model(typ: object, seen: set[int]) -> Optional[type]:
    if id(typ) in seen:
        return None
    seen.add(id(typ))
    if isinstance(typ, typing_extensions.TypeAliasType):
        return _foreign_model(typ.__value__, seen)
    if isinstance(typ, type):
        if issubclass(typ, pydantic.BaseModel) and not issubclass(typ, BaseModel):
            return typ
        return None
    for arg in get_args(typ):
        found = _foreign_model(arg, seen)
        if found is not None:
            return found
    return None


def _type_name(typ: object) -> str:
    return typ.__qualname__ if isinstance(typ, type) else repr(typ)


# --------------------------------------------------------------------------- validators


def _map_floats(node: Any) -> Any:
    """A copy of a core schema in which every unconstrained float keeps JSON integers exact (``_exact_float``)."""
    if isinstance(node, dict):
        schema = cast(Dict[str, Any], node)
        if schema.get("metadata", {}).get(_EXACT_FLOAT_MARK):
            return schema
        if schema.get("type") == "float" and not any(k in schema for k in ("lt", "gt", "le", "ge", "multiple_of")):
            return _exact_float(schema)
        return {key: _map_floats(value) for key, value in schema.items()}
    if isinstance(node, list):
        return [_map_floats(item) for item in cast(List[Any], node)]  # type: ignore[redundant-cast]
    return node


_EXACT_FLOAT_MARK = "microdc_exact_float"


def _exact_float(schema: Dict[str, Any]) -> core_schema.CoreSchema:
    # From JSON, a float field takes any number, and an integer a float cannot hold exactly
    # (past 2**53) stays an exact int; the range check first keeps the usual case one step.
    # Python values (`Job(progress=...)`) are validated as pydantic always does.
    in_range = {**schema, "lt": _EXACT_FLOAT_LIMIT, "gt": -_EXACT_FLOAT_LIMIT}
    return core_schema.json_or_python_schema(
        json_schema=core_schema.union_schema(
            [cast(Any, in_range), core_schema.int_schema(), cast(Any, schema)], mode="left_to_right"
        ),
        python_schema=cast(Any, schema),
        metadata={_EXACT_FLOAT_MARK: True, "pydantic_js_functions": [_number_json_schema]},
    )


def _number_json_schema(schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    # A JSON Schema `number`, as the API's schema says: the union is how the parser stays exact.
    return handler(schema["python_schema"])


@cache
def _validator(typ: Any) -> SchemaValidator:
    if isinstance(typ, type) and issubclass(typ, pydantic.BaseModel):
        typ.model_rebuild()
        return typ.__pydantic_validator__  # type: ignore[return-value]
    # A model inside is validated by its own validator, whose schema BaseModel already maps.
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(cast(Any, typ))
    adapter.rebuild()  # a type holding a model inherits its deferred build
    return SchemaValidator(_map_floats(adapter.core_schema))


def json_validator(typ: Any) -> Callable[[Union[str, bytes]], Any]:
    """The fast pass for ``typ``: JSON text parsed strictly (raises ``pydantic.ValidationError``).

    What it rejects, the lenient client builds with :func:`construct_type`, and the
    strict one reports.
    """
    validator = _validator(typ)

    def validate(data: Union[str, bytes]) -> Any:
        return validator.validate_json(data, strict=True)

    return validate


def python_validator(typ: Any) -> Callable[[object], Any]:
    """A function checking Python values already built by the parser (e.g. an event's envelope) as ``typ``."""
    return _validator(typ).validate_python


# --------------------------------------------------------------------------- parsing


def parse_json(typ: Type[_T], data: bytes, *, strict: bool) -> _T:
    """Parse ``data`` (JSON bytes) as ``typ``.

    Raises ``ValueError`` for bytes that are not JSON, or for JSON that is not an
    object when ``typ`` is a model (leniency keeps odd fields, not a wrong whole);
    when ``strict``, ``pydantic.ValidationError`` for JSON that does not fit ``typ``.
    """
    try:
        return cast(_T, _validator(cast(Any, typ)).validate_json(data, strict=True))
    except pydantic.ValidationError as exc:
        if _is_json_error(exc):
            raise ValueError(f"the answer is not valid JSON: {exc.errors()[0]['msg']}") from None
        if strict:
            raise
    value: object = json.loads(data)
    kind = _json_kind(value)
    if kind != "an object" and isinstance(typ, type) and issubclass(typ, pydantic.BaseModel):
        raise ValueError(f"the answer is {kind}, not an object")
    return cast(_T, construct_type(typ, value))


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    return "a JSON number"


def _is_json_error(exc: pydantic.ValidationError) -> bool:
    return exc.error_count() == 1 and exc.errors()[0]["type"] == "json_invalid"


# --------------------------------------------------------------------------- the lenient build


def construct_type(typ: Any, value: object) -> Any:
    """Build ``typ`` from a decoded JSON ``value`` without raising: what fits is validated, the rest kept as sent."""
    if value is None or isinstance(value, pydantic.BaseModel):  # null, or a part the parser already built
        return value
    typ = _unalias(typ)
    origin = get_origin(typ)
    if origin is typing_extensions.Annotated or origin is typing.Annotated:
        inner, *metadata = get_args(typ)
        discriminator = next(
            (m.discriminator for m in metadata if isinstance(getattr(m, "discriminator", None), str)), None
        )
        if discriminator is not None and isinstance(value, dict):
            return _construct_tagged(inner, discriminator, cast(Dict[str, object], value))
        return construct_type(inner, value)
    if isinstance(typ, type) and issubclass(typ, BaseModel):
        return _construct_model(typ, cast(Dict[str, object], value)) if isinstance(value, dict) else value
    if origin is Union or origin is UnionType:
        return _construct_union(_variants(typ), value)
    if origin in (list, typing.List) and isinstance(value, list):
        (item_type,) = get_args(typ) or (Any,)
        return [_lenient(item_type, item) for item in cast(List[object], value)]
    if origin in (dict, typing.Dict) and isinstance(value, dict):
        args = get_args(typ)
        item_type = args[1] if len(args) == 2 else Any
        return {key: _lenient(item_type, item) for key, item in cast(Dict[str, object], value).items()}
    return value


def _unalias(typ: Any) -> Any:
    while isinstance(typ, typing_extensions.TypeAliasType):
        typ = typ.__value__
    return typ


def _validate(typ: Any, raw: bytes) -> Any:
    """``raw`` (a value encoded again as JSON) as ``typ``, by the same rules as the fast pass."""
    return _validator(typ).validate_json(raw, strict=True)


def _lenient(typ: Any, value: object) -> Any:
    if typ is Any or value is None or isinstance(value, pydantic.BaseModel):
        return value
    try:
        return _validate(typ, pydantic_core.to_json(value))
    except pydantic.ValidationError:
        return construct_type(typ, value)


class _ModelField:
    """How the lenient build reads one field: its JSON key(s), type, tag and what it reads as when left out."""

    __slots__ = ("annotation", "discriminator", "field", "keys", "name")

    def __init__(self, name: str, field: FieldInfo) -> None:
        alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
        self.name = name
        self.field = field
        self.keys: Tuple[str, ...] = (alias, name) if alias is not None and alias != name else (name,)
        self.annotation: Any = field.annotation
        discriminator = field.discriminator
        self.discriminator = discriminator if isinstance(discriminator, str) else None

    def missing(self, values: Dict[str, object]) -> object:
        """What the field reads as when the answer leaves it out: its default, else ``None``."""
        if self.field.is_required():
            return None
        return self.field.get_default(call_default_factory=True, validated_data=values)

    def value(self, raw: object) -> Any:
        if self.discriminator is not None and isinstance(raw, dict):
            # pydantic moves the metadata of `Annotated[Union[...], PropertyInfo(discriminator=...)]`
            # off a field's annotation, so the tag is read from the field itself.
            try:
                return _validate(_tagged_annotation(self.annotation, self.discriminator), pydantic_core.to_json(raw))
            except pydantic.ValidationError:
                return _construct_tagged(self.annotation, self.discriminator, cast(Dict[str, object], raw))
        return _lenient(self.annotation, raw)


@cache
def _tagged_annotation(annotation: Any, discriminator: str) -> Any:
    return typing_extensions.Annotated[annotation, pydantic.Field(discriminator=discriminator)]


@cache
def _model_plan(model: Type[BaseModel]) -> Tuple[Tuple[_ModelField, ...], Any, bool]:
    """The fields of ``model``, the type of its extra fields, and whether it keeps them."""
    fields = tuple(_ModelField(name, field) for name, field in model.model_fields.items())
    return fields, _extra_type(model), model.model_config.get("extra") == "allow"


def _extra_type(model: Type[BaseModel]) -> Any:
    """The value type of ``__pydantic_extra__: Dict[str, T]`` when the model declares one, else ``Any``."""
    # pydantic keeps the resolved annotation (2.12 and later); older versions resolve it here.
    annotation = getattr(getattr(model, "__pydantic_extra_info__", None), "annotation", None)
    if annotation is None:
        try:
            annotation = typing.get_type_hints(model).get("__pydantic_extra__")
        except Exception:  # an annotation that cannot be resolved here: extra fields are kept as sent
            return Any
    args = get_args(annotation)
    return args[1] if len(args) == 2 else Any


def _construct_model(model: Type[BaseModel], value: Dict[str, object]) -> BaseModel:
    fields, extra_type, keeps_extra = _model_plan(model)
    values: Dict[str, object] = {}
    fields_set: set[str] = set()
    used: set[str] = set()
    for field in fields:
        for key in field.keys:
            if key in value:
                values[field.name] = field.value(value[key])
                fields_set.add(field.name)
                used.add(key)
                break
        else:
            values[field.name] = field.missing(values)
    extra: Optional[Dict[str, object]] = None
    if keeps_extra:
        extra = {key: _lenient(extra_type, item) for key, item in value.items() if key not in used}
    # What `model_construct` does, without its keyword arguments: a field named `cls` is fine here.
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", extra)
    if model.__pydantic_post_init__:
        obj.model_post_init(None)
    else:
        object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _variants(union: Any) -> List[Any]:
    """The variants of a union, nested unions flattened, ``None`` left out."""
    variants: List[Any] = []
    for arg in get_args(_unalias(union)):
        arg = _unalias(arg)
        if arg is type(None):
            continue
        if get_origin(arg) in (Union, UnionType):
            variants.extend(_variants(arg))
        else:
            variants.append(arg)
    return variants


def _construct_tagged(union: Any, discriminator: str, value: Dict[str, object]) -> Any:
    variants = _variants(union)
    for variant in variants:
        model = _unannotated(variant)
        if isinstance(model, type) and issubclass(model, BaseModel):
            for field in _model_plan(model)[0]:
                if field.name == discriminator:
                    tag = next((value[key] for key in field.keys if key in value), None)
                    if tag in _literal_values(field.annotation):
                        return _lenient(variant, value)
    return _construct_union(variants, value)


def _unannotated(typ: Any) -> Any:
    typ = _unalias(typ)
    while get_origin(typ) is typing_extensions.Annotated or get_origin(typ) is typing.Annotated:
        typ = _unalias(get_args(typ)[0])
    return typ


def _literal_values(annotation: Any) -> Tuple[object, ...]:
    annotation = _unalias(annotation)
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(v for arg in get_args(annotation) for v in _literal_values(arg))


def _construct_union(variants: List[Any], value: object) -> Any:
    """The variant strict parsing would take; among those that do not fit, the one with the fewest errors."""
    if len(variants) == 1:
        return _lenient(variants[0], value)
    raw = pydantic_core.to_json(value)
    shape = _json_shape(value)
    best: Any = None
    best_score: Optional[Tuple[int, int]] = None
    for variant in variants:
        try:
            return _validate(variant, raw)
        except pydantic.ValidationError as exc:
            if _shape(variant) not in (None, shape):
                continue
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            score = (len(errors), sum(1 for e in errors if e["type"] == "missing"))
            if best_score is None or score < best_score:
                best, best_score = variant, score
    if best_score is None:
        return value
    return construct_type(best, value)


def _json_shape(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "scalar"


@cache
def _shape(annotation: Any) -> Optional[str]:
    """The JSON shape a type takes (``None``: any, or it cannot tell)."""
    typ: Any = _unalias(annotation)
    origin = get_origin(typ)
    if origin is typing_extensions.Annotated or origin is typing.Annotated:
        return _shape(get_args(typ)[0])
    if isinstance(typ, type) and issubclass(typ, (pydantic.BaseModel, dict)):
        return "object"
    if typing_extensions.is_typeddict(cast(Any, typ)):
        return "object"
    if isinstance(typ, type) and issubclass(typ, (list, tuple, set, frozenset)):
        return "array"
    if isinstance(origin, type):
        return _shape(origin)
    if origin is Literal or typ in (str, int, float, bool):
        return "scalar"
    return None
