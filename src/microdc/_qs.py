"""Query strings and form fields: how parameters become ``?a=1&status=queued,running``.

The rules, the ones openai-python and anthropic-sdk-python follow except where the
MicroDC API reads lists differently:

* a nested mapping becomes bracketed keys: ``{"a": {"b": "c"}}`` -> ``a[b]=c`` (any depth);
  an empty mapping sends nothing;
* a list (or tuple, set) is written as ``array_format`` says: ``"comma"``
  (``status=a,b``, what the MicroDC API reads, and the client's), ``"repeat"``
  (``status=a&status=b``) or ``"brackets"`` (``status[]=a&status[]=b``, how
  multipart bodies send lists); a list inside a comma list is flattened into it,
  and a mapping inside a list becomes bracketed keys;
* ``None``, ``NOT_GIVEN`` and ``omit`` are left out, as values and as list items;
* booleans are ``true``/``false``, enums their value, dates and times ISO 8601,
  bytes their UTF-8 text; an empty string or list is sent empty (``a=``).

Nothing is ever written as a Python repr: a value of any other type raises
``TypeError`` naming its key, before anything is sent.
"""

from __future__ import annotations

import enum
import uuid
import decimal
import datetime
from typing import Any, List, Tuple, Mapping, Callable, Iterable, cast
from urllib.parse import urlencode

from typing_extensions import Literal

from ._types import Omit, NotGiven

__all__ = ["ArrayFormat", "Querystring", "primitive_text"]

ArrayFormat = Literal["comma", "repeat", "brackets"]

_LISTS = (list, tuple, set, frozenset)
_TEXT_TYPES = (int, float, decimal.Decimal, uuid.UUID)


class Querystring:
    """Turns a mapping into a query string (or into the name/value pairs of form fields)."""

    __slots__ = ("array_format",)

    def __init__(self, *, array_format: ArrayFormat = "comma") -> None:
        if array_format not in ("comma", "repeat", "brackets"):
            raise ValueError(f"array_format must be 'comma', 'repeat' or 'brackets', got {array_format!r}")
        self.array_format: ArrayFormat = array_format

    def stringify(self, params: Mapping[str, object]) -> str:
        """The encoded query string (no leading ``?``)."""
        return urlencode(self.stringify_items(params))

    def stringify_items(self, params: Mapping[str, object]) -> List[Tuple[str, str]]:
        """The ``(name, value)`` pairs of ``params``, values as text."""
        items: List[Tuple[str, str]] = []
        for key, value in params.items():
            kind = type(value)
            if kind is str:  # the common cases first, without the general walk
                items.append((key, cast(str, value)))
            elif kind is int:
                items.append((key, str(value)))
            else:
                self._walk(items, key, value, primitive_text)
        return items

    def fields(self, params: Mapping[str, object]) -> List[Tuple[str, object]]:
        """The ``(name, value)`` pairs of ``params`` with each leaf value as it is (bytes stay bytes)."""
        items: List[Tuple[str, object]] = []
        for key, value in params.items():
            self._walk(items, key, value, _leaf)
        return items

    def _walk(self, items: List[Tuple[str, Any]], key: str, value: object, leaf: Callable[[str, object], Any]) -> None:
        if value is None or isinstance(value, (NotGiven, Omit)):
            return
        if isinstance(value, _LISTS):
            values = cast(Iterable[object], value)
            if self.array_format == "comma":
                texts: List[str] = []
                nested: List[object] = []
                _comma_values(key, values, texts, nested)
                if texts or not nested:
                    items.append((key, ",".join(texts)))
                for mapping in nested:  # a mapping has no comma form: bracketed keys
                    self._walk(items, key, mapping, leaf)
            else:
                name = f"{key}[]" if self.array_format == "brackets" else key
                for item in values:
                    self._walk(items, name, item, leaf)
        elif isinstance(value, Mapping):
            for sub, item in cast(Mapping[object, object], value).items():
                self._walk(items, f"{key}[{_name(key, sub)}]", item, leaf)
        else:
            items.append((key, leaf(key, value)))


def _comma_values(key: str, values: Iterable[object], texts: List[str], nested: List[object]) -> None:
    """The texts of a comma list's scalars, nested lists flattened in; its mappings into ``nested``."""
    for item in values:
        if type(item) is str:
            texts.append(item)
        elif item is None or isinstance(item, (NotGiven, Omit)):
            continue
        elif isinstance(item, _LISTS):
            _comma_values(key, cast(Iterable[object], item), texts, nested)
        elif isinstance(item, Mapping):
            nested.append(cast(object, item))
        else:
            texts.append(primitive_text(key, item))


def primitive_text(key: str, value: object) -> str:
    """``value`` (a scalar) as the text the API reads; ``TypeError`` for a value that has none."""
    kind = type(value)
    if kind is str:
        return cast(str, value)
    if kind is int:
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return primitive_text(key, value.value)
    if isinstance(value, _TEXT_TYPES):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    raise TypeError(
        f"Query parameter {key!r} is a {type(value).__name__}, which has no query-string form; "
        "pass a str, int, float, bool, date/datetime, enum, list or mapping (or convert it to a str)"
    )


def _leaf(key: str, value: object) -> object:
    """A form field's value: bytes as they are, any other scalar as its text."""
    return value if isinstance(value, bytes) else primitive_text(key, value)


def _name(key: str, name: object) -> str:
    if isinstance(name, str):
        return name
    if isinstance(name, int) and not isinstance(name, bool):
        return str(name)
    raise TypeError(f"Query parameter {key!r} has a key of type {type(name).__name__}; mapping keys must be str")
