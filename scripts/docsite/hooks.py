"""mkdocs hooks (``hooks:`` in mkdocs.yml): what the site needs beyond Markdown.

* ``assets/javascripts/mermaid.min.js``: the Mermaid that ``scripts/docs`` took from
  its npm package (``MICRODC_DOCS_MERMAID``), so diagrams draw with no CDN.
* The Performance page: ``<!-- figure: NAME -->`` becomes the SVG chart that
  ``benchmarks/report.py`` draws from ``benchmarks/figures/*.json`` (inline, so it
  takes the theme's colours; also written as ``performance/NAME.svg``) with its table;
  ``<!-- benchmark-machine -->`` and ``<!-- benchmark-targets -->`` become the
  run's machine and targets.
* After the build: no page may load anything from another host
  (:mod:`scripts.docsite.offline`), and no element may carry Material's own
  ``mermaid`` class (Material would then fetch Mermaid from a CDN).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Dict, Tuple
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report import machine_markdown, targets_markdown, performance_figures  # noqa: E402
from scripts.docsite.offline import find_external_urls  # noqa: E402

MERMAID_DEST = "assets/javascripts/mermaid.min.js"
_FIGURE = re.compile(r"<!-- figure: ([a-z_]+) -->")
_figures: Dict[str, Tuple[str, str]] = {}


def _mermaid_source() -> Path:
    configured = os.environ.get("MICRODC_DOCS_MERMAID")
    candidates = [Path(configured)] if configured else sorted((ROOT / "build" / "docs-vendor").glob("mermaid-*.min.js"))
    for candidate in candidates:
        path = candidate if candidate.is_absolute() else ROOT / candidate
        if path.is_file():
            return path
    raise PluginError("Mermaid is missing: build the site with ./scripts/docs, which fetches it from its npm package")


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, MERMAID_DEST, abs_src_path=str(_mermaid_source())))
    _figures.clear()
    _figures.update(performance_figures())
    for name, (svg, _) in _figures.items():
        files.append(File.generated(config, f"performance/{name}.svg", content=svg))
    return files


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if "<!-- figure: " not in markdown and "<!-- benchmark-" not in markdown:
        return markdown

    def figure(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in _figures:
            raise PluginError(f"{page.file.src_uri}: no figure {name!r} (benchmarks/figures/ draws {sorted(_figures)})")
        svg, table = _figures[name]
        return f'<figure class="benchmark-chart" markdown="0">\n{svg.strip()}\n</figure>\n\n{table}\n'

    markdown = _FIGURE.sub(figure, markdown)
    markdown = markdown.replace("<!-- benchmark-machine -->", machine_markdown())
    return markdown.replace("<!-- benchmark-targets -->", targets_markdown())


def on_post_build(config: Any) -> None:
    site = Path(config["site_dir"])
    external = find_external_urls(site, config.get("site_url"))
    if external:
        listed = "\n".join(f"  {url}" for url in external[:20])
        raise PluginError(f"the built site would load {len(external)} resource(s) from other hosts:\n{listed}")
    for page in site.rglob("*.html"):
        if re.search(r"""class=["'](?:[^"']*\s)?mermaid[\s"']""", page.read_text(encoding="utf-8")):
            raise PluginError(
                f"{page.relative_to(site)}: an element with class 'mermaid' makes Material fetch Mermaid from a CDN"
            )
