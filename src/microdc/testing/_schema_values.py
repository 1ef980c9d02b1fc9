"""Values valid against a JSON Schema, drawn from a seeded generator: what ``json-1`` answers with.

It covers what pydantic's ``json_schema()`` writes: objects (required and optional
properties, ``additionalProperties``, ``propertyNames``), ``$defs``/``$ref``,
``anyOf``/``oneOf``/``allOf``, ``enum``, ``const``, ``type`` (one or a list),
arrays (``items``, ``prefixItems``, ``minItems``/``maxItems``, ``uniqueItems``),
strings (``minLength``/``maxLength``, the formats ``date``, ``date-time``, ``time``,
``duration``, ``email``, ``uuid``, ``uri``, ``ipv4``, ``ipv6``, a ``pattern`` when
one of a few plain candidates matches it) and numbers with bounds
(``minimum``/``maximum``, their exclusive forms, ``multipleOf``).

Recursive schemas end: past :data:`MAX_DEPTH` nested values, optional properties
are left out, arrays are as short as allowed and a union takes ``null`` (or any
option that is not an object or array) when it has one.
"""

from __future__ import annotations

import re
import math
import uuid
import random
from typing import Any, Dict, List, Tuple, Callable, Optional, cast

__all__ = ["MAX_DEPTH", "SchemaValues"]

MAX_DEPTH = 6
_WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "nova", "oscar", "tango", "zulu")
_DEFAULT_SPAN = 1000


def _as_dict(value: object) -> Dict[str, Any]:
    return cast(Dict[str, Any], value) if isinstance(value, dict) else {}


class SchemaValues:
    """Draws values valid against ``root`` (a JSON Schema, ``$defs`` included) from ``rng``."""

    def __init__(self, root: Dict[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def value(self) -> Any:
        return self._value(self.root, 0)

    # --- dispatch ---------------------------------------------------------------------

    def _resolve(self, ref: str) -> Dict[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node: Any = self.root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            node = _as_dict(node).get(part.replace("~1", "/").replace("~0", "~"))
        return _as_dict(node)

    def merged(self, schema: Dict[str, Any]) -> Dict[str, Any]:
        """``schema`` with its ``$ref`` and ``allOf`` folded in (pydantic uses both to wrap a reference)."""
        merged = dict(schema)
        ref = merged.pop("$ref", None)
        parts: List[Dict[str, Any]] = [self.merged(self._resolve(ref))] if isinstance(ref, str) else []
        parts += [self.merged(_as_dict(part)) for part in cast(List[object], merged.pop("allOf", None) or [])]
        for part in parts:
            for key, value in part.items():
                merged.setdefault(key, value)
        return merged

    def _value(self, schema: object, depth: int) -> Any:
        node = self.merged(_as_dict(schema))
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return self.rng.choice(list(node["enum"]))
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            return self._value(self._pick_option([_as_dict(o) for o in options], depth), depth)
        kind = node.get("type")
        if isinstance(kind, list):
            kinds = [str(k) for k in cast(List[object], kind)]
            kind = "null" if depth >= MAX_DEPTH and "null" in kinds else self.rng.choice(kinds)
        if kind is None:
            kind = self._implied_type(node)
        draws: Dict[str, Callable[[Dict[str, Any], int], Any]] = {
            "object": self._object,
            "array": self._array,
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": self._boolean,
            "null": self._null,
        }
        return draws.get(str(kind), self._anything)(node, depth + 1)

    @staticmethod
    def _implied_type(node: Dict[str, Any]) -> str:
        if "properties" in node or "additionalProperties" in node:
            return "object"
        if "items" in node or "prefixItems" in node:
            return "array"
        return "any"

    def _pick_option(self, options: List[Dict[str, Any]], depth: int) -> Dict[str, Any]:
        usable = [o for o in options if not self._unusable_pattern(o)] or options
        if depth >= MAX_DEPTH:
            leaves = [o for o in usable if self.merged(o).get("type") not in ("object", "array")]
            if leaves:
                nulls = [o for o in leaves if o.get("type") == "null"]
                return (nulls or leaves)[0]
        return self.rng.choice(usable)

    def _unusable_pattern(self, option: Dict[str, Any]) -> bool:
        node = self.merged(option)
        pattern = node.get("pattern")
        return isinstance(pattern, str) and self._matching(pattern, node) is None

    # --- each type ---------------------------------------------------------------------

    def _null(self, _node: Dict[str, Any], _depth: int) -> None:
        return None

    def _boolean(self, _node: Dict[str, Any], _depth: int) -> bool:
        return self.rng.random() < 0.5

    def _anything(self, _node: Dict[str, Any], _depth: int) -> Any:
        return self.rng.choice(_WORDS)

    def _object(self, node: Dict[str, Any], depth: int) -> Dict[str, Any]:
        properties = _as_dict(node.get("properties"))
        required = set(cast(List[str], node.get("required") or []))
        out: Dict[str, Any] = {}
        for name, prop in properties.items():
            if name in required or (depth < MAX_DEPTH and self.rng.random() < 0.5):
                out[name] = self._value(prop, depth)
        extra = _as_dict(node.get("additionalProperties"))
        if not properties and isinstance(node.get("additionalProperties"), dict):
            low = int(node.get("minProperties", 0))
            count = low if depth >= MAX_DEPTH else self.rng.randint(low, low + 2)
            names = _as_dict(node.get("propertyNames"))
            for _ in range(count * 4):
                if len(out) >= count:
                    break
                key = self._value(names, depth) if names else self.rng.choice(_WORDS)
                out[key if isinstance(key, str) else _key_text(key)] = self._value(extra, depth)
        return out

    def _array(self, node: Dict[str, Any], depth: int) -> List[Any]:
        prefix = [self._value(item, depth) for item in cast(List[object], node.get("prefixItems") or [])]
        low = max(int(node.get("minItems", 0)), len(prefix))
        high = node.get("maxItems")
        high = int(high) if high is not None else low + 3
        if not isinstance(node.get("items"), dict):  # no items, or `false` after prefixItems (a tuple)
            return prefix
        items = _as_dict(node.get("items"))
        count = low if depth >= MAX_DEPTH else self.rng.randint(low, max(low, high))
        out = list(prefix)
        seen = {_key_text(v) for v in out}
        for _ in range(count * 8 + 8):
            if len(out) >= count:
                break
            value = self._value(items, depth)
            if node.get("uniqueItems"):
                if _key_text(value) in seen:
                    continue
                seen.add(_key_text(value))
            out.append(value)
        return out

    def _string(self, node: Dict[str, Any], _depth: int) -> str:
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            found = self._matching(pattern, node)
            if found is not None:
                return found
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt](self.rng)
        return self._text(node)

    def _text(self, node: Dict[str, Any]) -> str:
        low = int(node.get("minLength", 0))
        high = node.get("maxLength")
        text = self.rng.choice(_WORDS)
        while len(text) < low:
            text += " " + self.rng.choice(_WORDS)
        if high is not None:
            text = text[: max(int(high), low)]
            if text != text.rstrip() and len(text.rstrip()) >= low:
                text = text.rstrip()
        return text

    def _matching(self, pattern: str, node: Dict[str, Any]) -> Optional[str]:
        try:
            compiled = re.compile(pattern)
        except re.error:
            return None
        for candidate in (self._text(node), "a", "abc", "1", "123", "1.5", "A1", "abc-123", "a@b.co"):
            if compiled.search(candidate):
                return candidate
        return None

    def _integer(self, node: Dict[str, Any], _depth: int) -> int:
        low, low_open, high, high_open = _limits(node)
        first = math.floor(low) + 1 if low_open else math.ceil(low)
        last = math.ceil(high) - 1 if high_open else math.floor(high)
        step = node.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            k_first, k_last = math.ceil(first / step), math.floor(last / step)
            if k_first <= k_last:
                return int(self.rng.randint(k_first, k_last) * step)
        return self.rng.randint(first, max(first, last))

    def _number(self, node: Dict[str, Any], _depth: int) -> float:
        low, low_open, high, high_open = _limits(node)

        def inside(value: float) -> bool:
            return (value > low if low_open else value >= low) and (value < high if high_open else value <= high)

        step = node.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            multiples = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)][:64]
            fitting = [_short(m) for m in multiples if inside(_short(m))]
            if fitting:
                return self.rng.choice(fitting)
        if low == high:
            return low
        value = low + (high - low) * self.rng.uniform(0.1, 0.9)
        short = round(value, 2)
        return short if inside(short) else value


def _key_text(value: object) -> str:
    return repr(value) if not isinstance(value, str) else value


def _short(value: float) -> float:
    return float(f"{value:.12g}")


def _limits(node: Dict[str, Any]) -> Tuple[float, bool, float, bool]:
    """``(low, low is exclusive, high, high is exclusive)``; an open side spans :data:`_DEFAULT_SPAN`."""
    low, low_open = _limit(node, "minimum", "exclusiveMinimum", max)
    high, high_open = _limit(node, "maximum", "exclusiveMaximum", min)
    if low is None and high is None:
        return 0, False, _DEFAULT_SPAN, False
    if low is None:
        assert high is not None
        return (0 if high > 0 else high - _DEFAULT_SPAN), False, high, high_open
    if high is None:
        return low, low_open, low + _DEFAULT_SPAN, False
    return low, low_open, high, high_open


def _limit(node: Dict[str, Any], closed: str, open_: str, tighter: Any) -> Tuple[Optional[float], bool]:
    inclusive, exclusive = _number_or_none(node.get(closed)), _number_or_none(node.get(open_))
    if exclusive is None:
        return inclusive, False
    if inclusive is None or tighter(inclusive, exclusive) == exclusive:
        return exclusive, True
    return inclusive, False


def _number_or_none(value: object) -> Optional[float]:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1990, 2020):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


_FORMATS: Dict[str, Callable[[random.Random], str]] = {
    "date": _date,
    "date-time": lambda rng: f"{_date(rng)}T{_time(rng)}Z",
    "time": _time,
    "duration": lambda rng: f"PT{rng.randint(1, 59)}M",
    "email": lambda rng: f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}@example.com",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "uri": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "ipv4": lambda rng: f"192.0.2.{rng.randint(1, 254)}",
    "ipv6": lambda rng: f"2001:db8::{rng.randint(1, 65535):x}",
}
