"""``src/microdc/types/``: a module per response model, alias and params TypedDict.

* a component object reachable from a 2xx answer → a pydantic model (``job.py``);
* a component object used inside a request body → a TypedDict (``chat_message_param.py``);
* an enum → a ``Literal`` alias; a ``oneOf`` with a discriminator → an
  ``Annotated[Union[...], PropertyInfo(discriminator=...)]`` alias;
* the arguments of each operation with a body or query → ``<resource><Method>Params``.
"""

from __future__ import annotations

from typing import Dict, List, Tuple, Iterable

from .spec import (
    Api,
    Map,
    Ref,
    Prim,
    Prop,
    Array,
    Nullable,
    TypeNode,
    Operation,
    SpecError,
    EnumSchema,
    UnionSchema,
    ObjectSchema,
)
from .pyrender import (
    HEADER,
    Imports,
    Annotator,
    camel,
    snake,
    docstring,
    py_literal,
    join_blocks,
    type_module,
    param_type_name,
)

TYPES_DIR = "src/microdc/types"


# ----------------------------------------------------------------------------- what to emit


TYPES_DOCSTRING = '''"""The API\'s types, from openapi.yml: response models (``microdc.BaseModel``), params ``TypedDict``s and enums.

Each field\'s docstring is its ``description`` in openapi.yml. Nothing here is imported
by ``import microdc``; ``microdc.types`` loads on first use.
"""'''


def refs(node: TypeNode) -> Iterable[str]:
    if isinstance(node, Ref):
        yield node.name
    elif isinstance(node, (Array, Map)):
        yield from refs(node.item if isinstance(node, Array) else node.value)
    elif isinstance(node, Nullable):
        yield from refs(node.inner)


def closure(api: Api, roots: Iterable[str]) -> List[str]:
    """``roots`` and every schema they reach, in first-seen order."""
    seen: Dict[str, None] = {}
    stack = list(roots)[::-1]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen[name] = None
        schema = api.schemas[name]
        if isinstance(schema, ObjectSchema):
            stack.extend(ref for prop in schema.props[::-1] for ref in list(refs(prop.type))[::-1])
        elif isinstance(schema, UnionSchema):
            stack.extend(schema.variants[::-1])
    return list(seen)


def response_schemas(api: Api) -> List[str]:
    """Schemas the SDK parses answers into (models, enums, unions)."""
    return closure(api, [op.response.schema for op in api.operations if op.response.schema is not None])


def request_props(api: Api, op: Operation) -> List[Prop]:
    """Every property an operation's request can carry (all variants of a union body)."""
    if op.body is None:
        return list(op.query_params)
    if op.body.union is None:
        return list(op.body.props)
    union = api.schemas[op.body.union]
    assert isinstance(union, UnionSchema)
    return [prop for variant in union.variants for prop in object_schema(api, variant).props]


def request_schemas(api: Api) -> List[str]:
    """Schemas used inside requests: enums (shared with answers) and objects (as ``...Param``)."""
    roots = [ref for op in api.operations for prop in request_props(api, op) for ref in refs(prop.type)]
    return closure(api, roots)


def object_schema(api: Api, name: str) -> ObjectSchema:
    schema = api.schemas[name]
    if not isinstance(schema, ObjectSchema):
        raise SpecError(f"{name}: expected an object schema")
    return schema


def params_class(api: Api, op: Operation) -> str:
    singular = next(r.singular for r in api.resources if r.name == op.resource)
    return f"{camel(singular)}{camel(op.method)}Params"


def form_params_class(api: Api, op: Operation) -> str:
    return params_class(api, op).replace("Params", "FormParams")


def has_params(op: Operation) -> bool:
    return op.body is not None or bool(op.query_params)


# ----------------------------------------------------------------------------- rendering


def _module(imports: Imports, exports: List[str], blocks: List[str]) -> str:
    all_line = "__all__ = [" + ", ".join(f'"{name}"' for name in exports) + "]"
    return join_blocks([HEADER + "\n\n" + imports.render(), all_line, *blocks])


def _model(api: Api, schema: ObjectSchema) -> str:
    imports = Imports(".", "..")
    ann = Annotator(api, imports)
    imports.runtime("_models", "BaseModel")
    lines = [f"class {schema.name}(BaseModel):\n", docstring(schema.description, 4)]
    for prop in schema.props:
        node = prop.type
        nullable = isinstance(node, Nullable)
        annotation = ann.model(node.inner if isinstance(node, Nullable) else node)
        default = ""
        if nullable or not prop.required:
            imports.add("typing", "Optional")
            annotation, default = f"Optional[{annotation}]", "None"
        if prop.secret:
            imports.add("pydantic", "Field")
            default = "Field(default=None, repr=False)" if default else "Field(repr=False)"
        value = f" = {default}" if default else ""
        lines.append(f"\n    {prop.name}: {annotation}{value}\n{docstring(prop.description, 4)}")
    return _module(imports, [schema.name], ["".join(lines)])


def _alias(name: str, value: str, description: str) -> str:
    return f"{name}: TypeAlias = {value}\n{docstring(description, 0)}"


def _enum(api: Api, schema: EnumSchema) -> str:
    imports = Imports(".", "..")
    imports.add("typing_extensions", "TypeAlias")
    literal = Annotator(api, imports).literal(schema.values)
    return _module(imports, [schema.name], [_alias(schema.name, literal, schema.description)])


def _union_value(imports: Imports, names: List[str], discriminator: str) -> str:
    imports.add("typing", "Union")
    imports.add("typing_extensions", "Annotated", "TypeAlias")
    imports.runtime("_models", "PropertyInfo")
    return f'Annotated[Union[{", ".join(names)}], PropertyInfo(discriminator="{discriminator}")]'


def _union(schema: UnionSchema) -> str:
    imports = Imports(".", "..")
    for variant in schema.variants:
        imports.generated_type(variant)
    value = _union_value(imports, schema.variants, schema.discriminator)
    return _module(imports, [schema.name], [_alias(schema.name, value, schema.description)])


def typed_dict(name: str, props: List[Prop], description: str, ann: Annotator, base: str = "TypedDict") -> str:
    ann.imports.add("typing_extensions", "TypedDict")
    lines = [f"class {name}({base}, total=False):\n", docstring(description, 4)]
    for prop in props:
        annotation = ann.param(prop.type)
        if prop.constraints:
            # The spec's limits, checked by the argument validators (``_utils.params_validator``).
            ann.imports.add("typing_extensions", "Annotated")
            ann.imports.add("pydantic", "Field")
            limits = ", ".join(f"{name}={py_literal(value)}" for name, value in prop.constraints)
            annotation = f"Annotated[{annotation}, Field({limits})]"
        if prop.required:
            ann.imports.add("typing_extensions", "Required")
            annotation = f"Required[{annotation}]"
        lines.append(f"\n    {prop.name}: {annotation}\n{docstring(prop.description, 4)}")
    if not props:
        lines.append("    pass\n")
    return "".join(lines)


def _param_type(api: Api, schema: ObjectSchema) -> str:
    imports = Imports(".", "..")
    name = param_type_name(schema.name)
    return _module(imports, [name], [typed_dict(name, schema.props, schema.description, Annotator(api, imports))])


def _operation_params(api: Api, op: Operation) -> Tuple[str, List[str]]:
    """The ``<resource><Method>Params`` module of ``op`` and the names it exports."""
    imports = Imports(".", "..")
    ann = Annotator(api, imports)
    name = params_class(api, op)
    call = f"`client.{op.resource}.{op.method}()`"
    if op.body is not None and op.body.union is not None:
        union = api.schemas[op.body.union]
        assert isinstance(union, UnionSchema)
        blocks = [
            typed_dict(v, object_schema(api, v).props, object_schema(api, v).description, ann) for v in union.variants
        ]
        blocks.append(_alias(name, _union_value(imports, union.variants, union.discriminator), union.description))
        return _module(imports, [name, *union.variants], blocks), [name, *union.variants]
    if op.body is not None and op.body.kind == "multipart":
        files = [p for p in op.body.props if is_file(p)]
        fields = [p for p in op.body.props if not is_file(p)]
        if not fields:
            return _module(imports, [name], [typed_dict(name, files, f"The arguments of {call}.", ann)]), [name]
        form = form_params_class(api, op)
        blocks = [
            typed_dict(form, fields, f"The form fields of {call}, checked before the upload starts.", ann),
            typed_dict(name, files, f"The arguments of {call}: the form fields and the file.", ann, base=form),
        ]
        return _module(imports, [name, form], blocks), [name, form]
    props = op.body.props if op.body is not None else op.query_params
    return _module(imports, [name], [typed_dict(name, props, f"The arguments of {call}.", ann)]), [name]


def is_file(prop: Prop) -> bool:
    return isinstance(prop.type, Prim) and prop.type.name == "binary"


def render_types(api: Api) -> Dict[str, str]:
    """Every file under ``src/microdc/types/`` by its path."""
    files: Dict[str, str] = {}
    exports: List[Tuple[str, str]] = []

    def add(module: str, content: str, names: Iterable[str]) -> None:
        if f"{TYPES_DIR}/{module}.py" in files:
            raise SpecError(f"two types want the module types/{module}.py")
        files[f"{TYPES_DIR}/{module}.py"] = content
        exports.extend((module, n) for n in names)

    for name in response_schemas(api):
        schema = api.schemas[name]
        if isinstance(schema, ObjectSchema):
            add(type_module(name), _model(api, schema), [name])
        elif isinstance(schema, EnumSchema):
            add(type_module(name), _enum(api, schema), [name])
        else:
            add(type_module(name), _union(schema), [name])
    emitted = set(response_schemas(api))
    for name in request_schemas(api):
        schema = api.schemas[name]
        if isinstance(schema, EnumSchema):
            if name not in emitted:
                add(type_module(name), _enum(api, schema), [name])
        elif isinstance(schema, ObjectSchema):
            add(type_module(param_type_name(name)), _param_type(api, schema), [param_type_name(name)])
    for op in api.operations:
        if has_params(op):
            content, names = _operation_params(api, op)
            add(snake(params_class(api, op)), content, names)

    init = [f"from .{module} import {name} as {name}" for module, name in sorted(exports, key=lambda e: e[1])]
    files[f"{TYPES_DIR}/__init__.py"] = HEADER + "\n" + TYPES_DOCSTRING + "\n\n" + "\n".join(init) + "\n"
    return files
