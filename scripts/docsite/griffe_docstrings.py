"""A griffe extension (mkdocs.yml, mkdocstrings' ``extensions``): the SDK's docstrings as Markdown.

The docstrings are Google style (``Args:``) with a few reST habits that read well in
source and in ``help()``: ``::`` before an indented example, and Sphinx roles such as
:class:`FakeMicroDC`. On the site, ``::`` ending a line becomes ``:`` (a line that is
only ``::`` goes), so the indented example below it renders as code, and a role
becomes plain inline code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj|const):`~?([^`]+)`")
_LITERAL = re.compile(r"(?m)^([ \t]*)::[ \t]*\n|(?<=\S)::[ \t]*$")


def as_markdown(text: str) -> str:
    """The docstring with reST roles and ``::`` markers rewritten for Markdown."""
    text = _ROLE.sub(lambda m: f"``{m.group(1)}``", text)
    return _LITERAL.sub(lambda m: "" if m.group(1) is not None else ":", text)


class ReSTHabits(griffe.Extension):
    """Rewrite every loaded docstring with :func:`as_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **_: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = as_markdown(obj.docstring.value)
