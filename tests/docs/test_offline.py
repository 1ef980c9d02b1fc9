"""The offline check of the built site (``scripts/docsite/offline.py``, run after every build)
finds each way a page could fetch something from another host, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts.docsite.offline import find_external_urls

LOADS = [
    ("page.html", '<script src="https://cdn.example.org/mermaid@11/dist/mermaid.min.js"></script>'),
    ("page.html", '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'),
    ("page.html", "<img src=//cdn.example.org/logo.png>"),
    ("style.css", '@import "https://cdn.example.org/theme.css";'),
    ("style.css", "@font-face { src: url(https://fonts.gstatic.com/s/roboto.woff2) }"),
    ("style.css", "body { background: url('//cdn.example.org/bg.png') }"),
    ("app.js", 'var s = document.createElement("script"); s.src = "https://cdn.example.org/lib.js";'),
    ("app.js", 'el.setAttribute("href", "https://cdn.example.org/x.css")'),
]
STAYS = [
    ("page.html", '<a href="https://github.com/pydantic/httpcore2">httpcore2</a>'),
    ("page.html", '<a class="md-source" title="Go to repository" href="https://example.org/repo">repo</a>'),
    ("page.html", '<script src="../assets/javascripts/mermaid.min.js"></script><link href="/assets/x.css">'),
    ("style.css", "body { background: url(../images/bg.png) } @import 'local.css';"),
    ("app.js", 'const ns = "http://www.w3.org/2000/svg"; // a namespace, never fetched'),
    ("notes.txt", '<script src="https://cdn.example.org/ignored.js">'),  # not HTML, CSS or JS
]


@pytest.mark.parametrize(("name", "text"), LOADS)
def test_a_resource_from_another_host_is_found(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(f"first line\n{text}\n")
    found = find_external_urls(tmp_path)
    assert len(found) == 1
    assert found[0].path == name
    assert found[0].line == 2
    assert "//" in found[0].url


@pytest.mark.parametrize(("name", "text"), STAYS)
def test_links_local_resources_and_plain_strings_are_not_reported(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert find_external_urls(tmp_path) == []


def test_the_sites_own_address_is_not_another_host(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text('<link rel="canonical" href="http://127.0.0.1:8001/guides/jobs/">')
    assert find_external_urls(tmp_path, site_url="http://127.0.0.1:8001/") == []
    assert len(find_external_urls(tmp_path)) == 1
