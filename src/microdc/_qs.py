"""Query strings: how parameters become ``?a=1&status=queued,running``."""

from __future__ import annotations

from typing import List, Tuple, Mapping, Sequence, cast
from urllib.parse import urlencode

from typing_extensions import Literal

from ._types import Omit, NotGiven

__all__ = ["ArrayFormat", "Querystring"]

ArrayFormat = Literal["comma", "repeat", "brackets"]


class Querystring:
    """Turns a mapping into a query string.

    ``array_format`` says how lists are written: ``"comma"`` (``status=a,b``, what
    the MicroDC API reads), ``"repeat"`` (``status=a&status=b``) or ``"brackets"``
    (``status[]=a&status[]=b``). Booleans are written ``true``/``false``; ``None``,
    ``NOT_GIVEN`` and ``omit`` values are left out.
    """

    __slots__ = ("array_format",)

    def __init__(self, *, array_format: ArrayFormat = "comma") -> None:
        self.array_format: ArrayFormat = array_format

    def stringify(self, params: Mapping[str, object]) -> str:
        return urlencode(self.stringify_items(params))

    def stringify_items(self, params: Mapping[str, object]) -> List[Tuple[str, str]]:
        items: List[Tuple[str, str]] = []
        for key, value in params.items():
            if value is None or isinstance(value, (NotGiven, Omit)):
                continue
            if isinstance(value, (list, tuple)):
                values = [_primitive(v) for v in cast(Sequence[object], value)]
                if self.array_format == "comma":
                    items.append((key, ",".join(values)))
                else:
                    name = f"{key}[]" if self.array_format == "brackets" else key
                    items.extend((name, v) for v in values)
            else:
                items.append((key, _primitive(value)))
        return items


def _primitive(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
