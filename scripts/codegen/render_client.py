"""``src/microdc/_client_resources.py`` and ``src/microdc/_exports.py``.

The client's resources are ``cached_property``s that import their module on first
use, so ``import microdc`` loads nothing under ``resources/`` or ``types/``.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from .spec import Api
from .config import Config
from .pyrender import HEADER, Imports, docstring, join_blocks
from .render_resources import resource_class


def _relative(module: str, package: str) -> str:
    """``microdc.resources.jobs`` seen from the top of ``microdc`` → ``.resources.jobs``."""
    if module != package and not module.startswith(package + "."):
        raise ValueError(f"{module} is outside {package}")
    return "." + module[len(package) + 1 :]


def _split(ref: str, package: str) -> Tuple[str, str]:
    module, _, name = ref.partition(":")
    return _relative(module, package), name


def _property(name: str, returns: Tuple[str, str], value: str, description: str) -> str:
    module, cls = returns
    return (
        "    @cached_property\n"
        f"    def {name}(self) -> {cls}:\n"
        + docstring(description, 8)
        + f"        from {module} import {cls}\n\n"
        + f"        return {value}\n"
    )


def render_client(api: Api, config: Config) -> str:
    package = config.package
    imports = Imports("", ".")
    imports.add("functools", "cached_property")
    imports.add("typing", "TYPE_CHECKING")
    imports.runtime("_base_client", "BaseClient")
    checking: List[str] = []
    base = config.client_base_class
    views_prefix = config.client_class
    client_props: List[str] = []
    raw_props: List[str] = []
    streaming_props: List[str] = []
    for resource in api.resources:
        generated = f".resources.{resource.name}"
        cls = resource_class(resource)
        attached = _split(resource.class_ref, package)
        names = [attached, (generated, f"{cls}WithRawResponse"), (generated, f"{cls}WithStreamingResponse")]
        checking += [f"    from {module} import {name}" for module, name in names]
        client_props.append(_property(resource.name, attached, f"{attached[1]}(self)", resource.description))
        raw_props.append(_property(resource.name, names[1], f"{names[1][1]}(self._client.{resource.name})", ""))
        streaming_props.append(_property(resource.name, names[2], f"{names[2][1]}(self._client.{resource.name})", ""))
    client = (
        f"class {base}(BaseClient):\n"
        f'    """The generated half of `{config.client_class}`: its resources, attached on first use."""\n\n'
        + "\n".join(client_props)
        + "\n    @cached_property\n"
        + f"    def with_raw_response(self) -> {views_prefix}WithRawResponse:\n"
        + '        """`client.with_raw_response.<resource>.<method>(...)` returns the raw `AsyncAPIResponse`."""\n'
        + f"        return {views_prefix}WithRawResponse(self)\n\n"
        + "    @cached_property\n"
        + f"    def with_streaming_response(self) -> {views_prefix}WithStreamedResponse:\n"
        + '        """Like `with_raw_response`, as a context manager that reads the body only when asked."""\n'
        + f"        return {views_prefix}WithStreamedResponse(self)\n"
    )
    views = [
        _view(f"{views_prefix}WithRawResponse", base, "`client.with_raw_response`", raw_props),
        _view(f"{views_prefix}WithStreamedResponse", base, "`client.with_streaming_response`", streaming_props),
    ]
    exports = [base, f"{views_prefix}WithRawResponse", f"{views_prefix}WithStreamedResponse"]
    top = (
        HEADER
        + '\n"""The resources of the client (`client.jobs`, ...) and its raw/streaming views."""\n\n'
        + "from __future__ import annotations\n\n"
        + imports.render()
        + "\n\nif TYPE_CHECKING:\n"
        + "\n".join(checking)
    )
    all_line = "__all__ = [" + ", ".join(f'"{n}"' for n in exports) + "]"
    return join_blocks([top, all_line, client, *views])


def _view(name: str, base: str, what: str, props: List[str]) -> str:
    return (
        f"class {name}:\n"
        f'    """{what}: each resource\'s methods, returning the `AsyncAPIResponse`."""\n\n'
        f"    def __init__(self, client: {base}) -> None:\n"
        "        self._client = client\n\n" + "\n".join(props)
    )


def render_exports(config: Config) -> str:
    """The lazy-export table of ``microdc/__init__.py``."""
    modules: Dict[str, str] = {"resources": f"{config.package}.resources", "types": f"{config.package}.types"}
    entries = "".join(f'    "{name}": "{module}",\n' for name, module in modules.items())
    return (
        HEADER
        + '\n"""What `microdc/__init__.py` loads lazily from the generated layer.\n\n'
        + "`import microdc` imports nothing under `resources/` or `types/`; the package's\n"
        + "`__getattr__` imports these subpackages on first attribute access, so\n"
        + '`microdc.types.Job` works after a bare `import microdc`.\n"""\n\n'
        + "from typing import Dict\n\n"
        + '__all__ = ["LAZY_MODULES"]\n\n'
        + "LAZY_MODULES: Dict[str, str] = {\n"
        + entries
        + "}\n"
        + '"""`microdc.<name>` → the module to import for it."""\n'
    )
