"""The built site loads nothing from elsewhere: find every external URL a page would fetch.

A browser fetches what HTML names in ``src=`` and ``href=`` (of ``<link>``, ``<script>``,
``<img>``, ...) and what CSS names in ``@import`` and ``url()``; scripts build the same
strings. So every ``.html``, ``.css`` and ``.js`` file of the site is scanned for an
absolute ``http(s)://`` or protocol-relative ``//`` URL in those four places.

The exception is a navigation link, ``<a href="https://...">``: following it is the
reader's choice, and loads nothing while the page is viewed.
"""

from __future__ import annotations

import re
from typing import List, Iterator, Optional, NamedTuple
from pathlib import Path

__all__ = ["ExternalURL", "find_external_urls"]

_EXTERNAL = r"(?:https?:)?//[^\s\"'<>()]+"
# src= / href= with the URL quoted or bare, in HTML attributes and in script strings
# (`s.src="https://..."`, `setAttribute("href", ...)` is covered by the quoted form below).
_ATTRIBUTE = re.compile(r"""\b(src|href|srcset|poster|data)\s*=\s*["']?\s*(""" + _EXTERNAL + ")", re.IGNORECASE)
_SET_ATTRIBUTE = re.compile(r"""setAttribute\(\s*["'](src|href)["']\s*,\s*["'](""" + _EXTERNAL + ")", re.IGNORECASE)
_CSS_URL = re.compile(r"""(url)\(\s*["']?\s*(""" + _EXTERNAL + ")", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""(@import)\s+["']\s*(""" + _EXTERNAL + ")", re.IGNORECASE)
_ANCHOR_START = re.compile(r"<a\b[^<>]*$", re.IGNORECASE)
_SCANNED = (".html", ".css", ".js")


class ExternalURL(NamedTuple):
    """One URL the site would fetch from elsewhere: the file, the line, where it was named, the URL."""

    path: str
    line: int
    context: str
    url: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.context} {self.url}"


def _in_anchor(text: str, start: int) -> bool:
    tag_start = text.rfind("<", 0, start)
    return tag_start != -1 and _ANCHOR_START.match(text, tag_start, start) is not None


def _scan_text(text: str, path: str, own: Optional[str]) -> Iterator[ExternalURL]:
    for pattern in (_ATTRIBUTE, _SET_ATTRIBUTE, _CSS_URL, _CSS_IMPORT):
        for match in pattern.finditer(text):
            if match.group(1).lower() == "href" and _in_anchor(text, match.start()):
                continue  # <a href>: a link the reader may follow, not something the page loads
            if own and match.group(2).startswith(own):
                continue  # the site itself (its canonical URLs, when mkdocs.yml has a site_url)
            line = text.count("\n", 0, match.start()) + 1
            yield ExternalURL(path, line, match.group(1), match.group(2))


def find_external_urls(site_dir: Path, site_url: Optional[str] = None) -> List[ExternalURL]:
    """Every external URL in ``src``/``href``/``@import``/``url()`` of the site's HTML, CSS and JS.

    URLs under ``site_url`` (the site's own address, e.g. ``mkdocs serve``'s) are the site's.
    """
    own = site_url.rstrip("/") + "/" if site_url else None
    found: List[ExternalURL] = []
    for file in sorted(site_dir.rglob("*")):
        if file.suffix not in _SCANNED or not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        found.extend(_scan_text(text, file.relative_to(site_dir).as_posix(), own))
    return found
