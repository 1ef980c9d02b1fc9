"""Response models and how answers become them.

Every answer is parsed in one pass from bytes by pydantic-core (``validate_json``).
That pass is strict about types, so when it fails, and the client is lenient (the
default), the same data is built again field by field: each field that validates
is kept validated, each one that does not is kept as the raw JSON value. A wrong
type or an enum value this SDK does not know yet therefore never raises; the
fast path costs nothing extra when the answer fits the schema, which is nearly
always. With ``_strict_response_validation=True`` the first failure raises
``APIResponseValidationError`` instead.
"""

from __future__ import annotations

import json
import typing
from typing import Any, Dict, Type, Union, TypeVar, Callable, Optional, cast
from functools import cache

import pydantic
import typing_extensions
from pydantic import ConfigDict
from pydantic.fields import FieldInfo
from typing_extensions import Literal, get_args, get_origin

__all__ = ["BaseModel", "PropertyInfo", "construct_type", "parse_json", "parse_python"]

_T = TypeVar("_T")


class BaseModel(pydantic.BaseModel):
    """The base of every response object.

    Unknown fields are kept (``obj.model_extra``); ``obj.model_fields_set`` tells a
    field the API left out from one it sent as ``null``; ``obj._request_id`` is the
    ``x-request-id`` of the answer it came from.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=(), defer_build=True)

    # Not a pydantic PrivateAttr: one of those makes pydantic run a Python post-init
    # for every instance, nested ones included (a third of the CPU of parsing a page).
    @property
    def _request_id(self) -> Optional[str]:
        """The ``x-request-id`` of the answer this object came from (top-level objects only)."""
        private = self.__pydantic_private__
        return None if private is None else private.get("_request_id")

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> Dict[str, object]:
        """The object as a dict, with the field names the API uses.

        By default fields the API did not send are left out (``exclude_unset``);
        ``mode="json"`` turns datetimes and the like into JSON-safe values.
        """
        return self.model_dump(
            mode=mode,
            by_alias=True,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=False,  # a leniently kept off-schema value is expected, not worth a warning
        )

    def to_json(
        self,
        *,
        indent: Optional[int] = 2,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> str:
        """The object as a JSON string, with the field names the API uses."""
        return self.model_dump_json(
            indent=indent,
            by_alias=True,
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


# --------------------------------------------------------------------------- parsing


@cache
def _validators(typ: Any) -> tuple[Callable[[Union[str, bytes]], Any], Callable[[Any], Any]]:
    validator: Any
    if isinstance(typ, type) and issubclass(typ, pydantic.BaseModel):
        typ.model_rebuild()
        validator = typ.__pydantic_validator__
    else:
        validator = pydantic.TypeAdapter(cast(Any, typ)).validator
    return validator.validate_json, validator.validate_python


def parse_json(typ: Type[_T], data: bytes, *, strict: bool) -> _T:
    """Parse ``data`` (JSON bytes) as ``typ``.

    Raises ``ValueError`` for bytes that are not JSON, or for JSON that is not an
    object when ``typ`` is a model (leniency keeps odd fields, not a wrong whole);
    when ``strict``, ``pydantic.ValidationError`` for JSON that does not fit ``typ``.
    """
    validate_json, _ = _validators(cast(Any, typ))
    try:
        return cast(_T, validate_json(data))
    except pydantic.ValidationError as exc:
        if strict or _is_json_error(exc):
            if _is_json_error(exc):
                raise ValueError(f"the answer is not valid JSON: {exc.errors()[0]['msg']}") from None
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


def parse_python(typ: Type[_T], value: object, *, strict: bool) -> _T:
    """Build ``typ`` from an already decoded JSON value, leniently unless ``strict``."""
    _, validate_python = _validators(cast(Any, typ))
    try:
        return cast(_T, validate_python(value))
    except pydantic.ValidationError:
        if strict:
            raise
    return cast(_T, construct_type(typ, value))


def _is_json_error(exc: pydantic.ValidationError) -> bool:
    return exc.error_count() == 1 and exc.errors()[0]["type"] == "json_invalid"


def construct_type(typ: Any, value: object) -> Any:
    """Build ``typ`` from ``value`` without raising: what fits is validated, the rest kept raw."""
    if value is None:
        return None
    origin = get_origin(typ)
    if origin is typing_extensions.Annotated or origin is typing.Annotated:
        inner, *metadata = get_args(typ)
        discriminator = next(
            (m.discriminator for m in metadata if isinstance(getattr(m, "discriminator", None), str)), None
        )
        if discriminator is not None and isinstance(value, dict):
            return _construct_tagged(get_args(inner), discriminator, cast(Dict[str, object], value))
        return construct_type(inner, value)
    if isinstance(typ, type) and issubclass(typ, BaseModel):
        if not isinstance(value, dict):
            return value
        return _construct_model(typ, cast(Dict[str, object], value))
    if origin is Union:
        return _construct_union([arg for arg in get_args(typ) if arg is not type(None)], value)
    if origin in (list, typing.List) and isinstance(value, list):
        (item_type,) = get_args(typ) or (Any,)
        return [_lenient(item_type, item) for item in cast(typing.List[object], value)]
    if origin in (dict, typing.Dict) and isinstance(value, dict):
        args = get_args(typ)
        item_type = args[1] if len(args) == 2 else Any
        return {key: _lenient(item_type, item) for key, item in cast(Dict[str, object], value).items()}
    return value


def _lenient(typ: Any, value: object) -> Any:
    if typ is Any:
        return value
    _, validate_python = _validators(typ)
    try:
        return validate_python(value)
    except pydantic.ValidationError:
        return construct_type(typ, value)


def _construct_model(model: Type[BaseModel], value: Dict[str, object]) -> BaseModel:
    fields: Dict[str, object] = {}
    fields_set: set[str] = set()
    known: set[str] = set()
    for name, field in model.model_fields.items():
        key = field.alias or name
        known.add(key)
        if key in value:
            fields[name] = _lenient_field(field, value[key])
            fields_set.add(name)
    for key, item in value.items():
        if key not in known:
            fields[key] = item
    return model.model_construct(_fields_set=fields_set, **fields)


def _lenient_field(field: FieldInfo, value: object) -> Any:
    discriminator = field.discriminator
    if isinstance(discriminator, str) and isinstance(value, dict):
        # pydantic moves the metadata of `Annotated[Union[...], PropertyInfo(discriminator=...)]`
        # off a field's annotation, so the tag is read from the field itself.
        _, validate_python = _validators(cast(Any, field.annotation))
        try:
            return validate_python(value)
        except pydantic.ValidationError:
            variants = tuple(arg for arg in get_args(field.annotation) if arg is not type(None))
            return _construct_tagged(variants, discriminator, cast(Dict[str, object], value))
    return _lenient(field.annotation, value)


def _construct_tagged(variants: tuple[Any, ...], discriminator: str, value: Dict[str, object]) -> Any:
    tag = value.get(discriminator)
    for variant in variants:
        if isinstance(variant, type) and issubclass(variant, BaseModel):
            field = variant.model_fields.get(discriminator)
            if field is not None and tag in get_args(field.annotation):
                return _construct_model(variant, value)
    return _construct_union(list(variants), value)


def _construct_union(variants: typing.List[Any], value: object) -> Any:
    for variant in variants:
        _, validate_python = _validators(variant)
        try:
            return validate_python(value)
        except pydantic.ValidationError:
            continue
    models = [v for v in variants if isinstance(v, type) and issubclass(v, BaseModel)]
    if models and isinstance(value, dict):
        return _construct_model(models[0], cast(Dict[str, object], value))
    if len(variants) == 1:
        return construct_type(variants[0], value)
    return value
