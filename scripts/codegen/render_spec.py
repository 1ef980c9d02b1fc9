"""``src/microdc/_spec.py``: the spec's enums and limits as named constants.

Hand-written code (``lib/``, ``testing/``) imports these instead of copying values
out of openapi.yml. A schema opts in with ``x-microdc-constant: NAME``:

* an enum → ``NAME`` (its values, in order); ``x-microdc-subsets`` adds named subsets,
  each with a ``Literal`` type of its values too (``TERMINAL_JOB_STATES`` →
  ``TerminalJobState``), for hand-written types built on them;
* a number → ``NAME_RANGE`` (``minimum``, ``maximum``), or ``NAME_MIN`` / ``NAME_MAX``;
* a string → ``NAME_MIN_LENGTH`` / ``NAME_MAX_LENGTH``; an array → ``NAME_MIN_ITEMS`` /
  ``NAME_MAX_ITEMS``; an object → ``NAME_MAX_KEYS``;
* any of them → ``NAME_DEFAULT`` when it has a ``default``.

The same name may appear on several schemas (``timeout_seconds`` of each job type)
only if they agree, so a limit changed in one place and not another fails here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple, Mapping, Iterator, cast

from .spec import SpecError
from .pyrender import HEADER, docstring, py_literal

SPEC_MODULE = "src/microdc/_spec.py"

_LENGTH_SUFFIXES = {
    "string": (("minLength", "MIN_LENGTH"), ("maxLength", "MAX_LENGTH")),
    "array": (("minItems", "MIN_ITEMS"), ("maxItems", "MAX_ITEMS")),
    "object": (("minProperties", "MIN_KEYS"), ("maxProperties", "MAX_KEYS")),
}


def _schemas(node: Any, where: str) -> Iterator[Tuple[str, Mapping[str, Any]]]:
    """Every mapping in the document that carries ``x-microdc-constant``, with its location."""
    if isinstance(node, dict):
        mapping = cast(Mapping[str, Any], node)
        if "x-microdc-constant" in mapping:
            yield where, mapping
        for key, value in mapping.items():
            yield from _schemas(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        items: List[Any] = node  # pyright: ignore[reportUnknownVariableType]
        for index, item in enumerate(items):
            label = cast(Mapping[str, Any], item).get("name", index) if isinstance(item, dict) else index
            yield from _schemas(item, f"{where}[{label}]")


def _constants(name: str, schema: Mapping[str, Any], where: str) -> List[Tuple[str, object, str]]:
    """``(constant, value, annotation)`` for one schema that names itself ``name``."""
    if not name.isidentifier() or name.upper() != name:
        raise SpecError(f"{where}: x-microdc-constant {name!r} must be an UPPER_CASE identifier")
    found: List[Tuple[str, object, str]] = []
    if "enum" in schema:
        values = tuple(cast(List[object], schema["enum"]))
        found.append((name, values, _enum_annotation(values)))
        subsets = cast(Mapping[str, List[object]], schema.get("x-microdc-subsets") or {})
        for subset, members in subsets.items():
            unknown = [m for m in members if m not in values]
            if unknown:
                raise SpecError(f"{where}: x-microdc-subsets {subset}: {unknown} are not values of the enum")
            found.append((subset, tuple(members), f"Tuple[{_alias_name(subset)}, ...]"))
        return found
    kind = schema.get("type")
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        scalar = "int" if kind == "integer" else "float"
        if low is not None and high is not None:
            found.append((f"{name}_RANGE", (low, high), f"Tuple[{scalar}, {scalar}]"))
        elif low is not None:
            found.append((f"{name}_MIN", low, scalar))
        elif high is not None:
            found.append((f"{name}_MAX", high, scalar))
    for keyword, suffix in _LENGTH_SUFFIXES.get(str(kind), ()):
        if keyword in schema:
            found.append((f"{name}_{suffix}", schema[keyword], "int"))
    if "default" in schema:
        default = schema["default"]
        # A string default (of an enum, say) keeps its literal type: ``Final`` alone.
        found.append((f"{name}_DEFAULT", default, "" if isinstance(default, str) else type(default).__name__))
    if not found:
        raise SpecError(f"{where}: x-microdc-constant {name!r} names a schema without values, limits or default")
    return found


def _enum_annotation(values: Tuple[object, ...]) -> str:
    return f"Tuple[{_literal_type(values)}, ...]"


def _literal_type(values: Tuple[object, ...]) -> str:
    return f"Literal[{', '.join(py_literal(v) for v in values)}]"


def _alias_name(subset: str) -> str:
    """The ``Literal`` type of a subset: ``TERMINAL_JOB_STATES`` → ``TerminalJobState``."""
    singular = subset[:-1] if subset.endswith("S") else subset
    return "".join(word.capitalize() for word in singular.split("_"))


def _aliases(doc: Mapping[str, Any]) -> Dict[str, Tuple[str, Tuple[object, ...]]]:
    """The subsets' ``Literal`` types: ``{alias: (subset, values)}``."""
    found: Dict[str, Tuple[str, Tuple[object, ...]]] = {}
    for _, schema in _schemas(doc, ""):
        subsets = cast(Mapping[str, List[object]], schema.get("x-microdc-subsets") or {})
        for subset, members in subsets.items():
            found[_alias_name(subset)] = (subset, tuple(members))
    return found


def render_spec(doc: Mapping[str, Any]) -> Dict[str, str]:
    """``src/microdc/_spec.py`` from the parsed openapi.yml."""
    constants: Dict[str, Tuple[object, str, str]] = {}
    for where, schema in _schemas(doc, ""):
        for const, value, annotation in _constants(str(schema["x-microdc-constant"]), schema, where):
            seen = constants.get(const)
            if seen is not None and seen[0] != value:
                raise SpecError(f"{where}: {const} is {value!r} here but {seen[0]!r} at {seen[2]}")
            if seen is None:
                constants[const] = (value, annotation, where)
    aliases = _aliases(doc)
    blocks = [
        f'{HEADER}\n"""The enums and limits of openapi.yml, for hand-written code (``lib/``, ``testing/``).\n\n'
        "Each constant comes from a schema marked ``x-microdc-constant`` (see\n"
        '``scripts/codegen/render_spec.py``); its docstring says where."""\n\n'
        "from typing import Tuple\n\nfrom typing_extensions import Final, Literal, TypeAlias",
        "__all__ = [" + ", ".join(f'"{name}"' for name in sorted([*constants, *aliases])) + "]",
    ]
    if aliases:
        blocks.append(
            "\n".join(
                f"{name}: TypeAlias = {_literal_type(values)}\n{docstring(f'The values of ``{subset}``, as a type.', 0)}"
                for name, (subset, values) in sorted(aliases.items())
            )
        )
    lines: List[str] = []
    for const in sorted(constants):
        value, annotation, where = constants[const]
        final = f"Final[{annotation}]" if annotation else "Final"
        lines.append(f"{const}: {final} = {_literal(value)}\n{docstring(f'openapi.yml: `{where}`', 0)}")
    blocks.append("\n".join(lines))
    source = "\n\n\n".join(block.strip("\n") for block in blocks) + "\n"
    if not aliases:
        source = source.replace("Final, Literal, TypeAlias", "Final, Literal")
        if "Literal[" not in "".join(lines):
            source = source.replace(
                "from typing_extensions import Final, Literal", "from typing_extensions import Final"
            )
    return {SPEC_MODULE: source}


def _literal(value: object) -> str:
    """Python source for a constant: JSON values, with tuples for the spec's lists."""
    if isinstance(value, tuple):
        items = [py_literal(item) for item in cast(Tuple[object, ...], value)]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return py_literal(value)
