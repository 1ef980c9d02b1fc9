"""The site's docstring rewriting (``scripts/docsite/griffe_docstrings.py``): reST habits become Markdown."""

from __future__ import annotations

from scripts.docsite.griffe_docstrings import as_markdown


def test_a_sphinx_role_becomes_inline_code() -> None:
    assert as_markdown("See :class:`~microdc.testing.FakeMicroDC` and :meth:`ManualClock.advance`.") == (
        "See ``microdc.testing.FakeMicroDC`` and ``ManualClock.advance``."
    )


def test_a_double_colon_after_text_becomes_one_and_the_example_stays_a_code_block() -> None:
    assert as_markdown("Use it like so::\n\n    x = 1\n") == "Use it like so:\n\n    x = 1\n"


def test_a_line_that_is_only_a_double_colon_goes() -> None:
    assert as_markdown("The client.\n\n::\n\n    async with x: ...\n") == "The client.\n\n\n    async with x: ...\n"


def test_a_double_colon_inside_a_line_is_left_alone() -> None:
    assert as_markdown("Slices like a[::2] and x::y stay.") == "Slices like a[::2] and x::y stay."
