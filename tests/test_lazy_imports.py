"""`import microdc` stays cheap: the generated layer and the helpers load on first use."""

from __future__ import annotations

import sys
import json
import subprocess

_PROBE = """
import json, sys
import microdc
loaded = sorted(m for m in sys.modules if m.startswith(("microdc", "pydantic.main")))
microdc.types.Job
microdc.LLMChat
after = sorted(m for m in sys.modules if m.startswith("microdc"))
print(json.dumps({"loaded": loaded, "after": after}))
"""


def _probe() -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True, timeout=60)
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


def test_import_microdc_loads_no_resources_types_lib_or_testing() -> None:
    loaded = _probe()["loaded"]
    assert "microdc" in loaded
    heavy = ("microdc.resources", "microdc.types", "microdc.lib", "microdc.testing")
    assert [m for m in loaded if m.startswith(heavy)] == []


def test_generated_types_and_helpers_load_on_first_use() -> None:
    after = _probe()["after"]
    assert "microdc.types.job" in after
    assert "microdc.lib.jobs.builders" in after


def test_import_microdc_defines_no_pydantic_model() -> None:
    # Building pydantic's BaseModel machinery costs more than the rest of `import microdc`;
    # the parse layer loads on the first answer or on `microdc.BaseModel`.
    loaded = _probe()["loaded"]
    assert [
        m for m in loaded if m in ("pydantic.main", "microdc._models", "microdc._response", "microdc.pagination")
    ] == []


def test_lazily_loaded_public_classes_still_present_as_microdc() -> None:
    import microdc

    for name in ("BaseModel", "AsyncAPIResponse", "AsyncBinaryAPIResponse", "AsyncStream"):
        assert getattr(microdc, name).__module__ == "microdc"
