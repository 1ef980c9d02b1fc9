"""The ``microdc.testing`` package: what it exports, and that it stays optional."""

from __future__ import annotations

import sys
import subprocess

import microdc.testing


def test_exports_are_pinned_and_claim_the_public_module() -> None:
    assert sorted(microdc.testing.__all__) == [
        "Clock",
        "FakeMicroDC",
        "Faults",
        "IN_PROCESS_BASE_URL",
        "InProcessTransport",
        "JobDuration",
        "ManualClock",
        "MonotonicClock",
        "RecordedRequest",
    ]
    for name in microdc.testing.__all__:
        value = getattr(microdc.testing, name)
        if isinstance(value, type):
            assert value.__module__ == "microdc.testing", name


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_import_microdc_does_not_load_the_fake_or_starlette() -> None:
    result = _run(
        "import sys, microdc; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn') or m == 'microdc.testing'))"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_missing_extra_says_how_to_install_it() -> None:
    result = _run("import sys; sys.modules['starlette'] = None; import microdc.testing")

    assert result.returncode != 0
    assert (
        "ImportError: microdc.testing needs the testing extra (starlette): pip install 'microdc[testing]'"
        in result.stderr
    )
