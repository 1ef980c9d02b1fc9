"""Every Python snippet of the guides and of *Getting started* runs against the embedded fake.

The collector (``_snippets.py``) says why it is our own and what a page may rely on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._snippets import DOCS, pages, run_page, snippets


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(DOCS).as_posix())
def test_every_snippet_of_the_page_runs_against_the_fake(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MICRODC_API_KEY", "MICRODC_BASE_URL", "MICRODC_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace = run_page(page)
    assert "fake" in namespace, f"{page.name}: no snippet made a FakeMicroDC, so nothing ran against the fake"


def test_every_guide_has_snippets_and_every_skipped_one_says_why() -> None:
    for page in pages():
        found = snippets(page)
        assert any(s.not_run is None for s in found), f"{page.name} has no snippet that runs"
        for snippet in found:
            assert snippet.not_run is None or snippet.not_run.strip(), (
                f"{snippet.page}:{snippet.line}: say why it is not run"
            )


def test_a_failing_snippet_fails_the_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nfrom microdc.testing import FakeMicroDC\nfake = FakeMicroDC()\nclient = fake.client()\n```\n\n"
        "```python\njob = await client.jobs.retrieve('job_nope')\n```\n"
    )
    from microdc import NotFoundError

    with pytest.raises(NotFoundError):
        run_page(page)
