"""The Performance page and ``benchmarks/figures/``: every figure the page names is drawn from the
committed JSON, every committed figure is on the page, each says which run it comes from, and what
a benchmark's ``--figures`` writes is what ``benchmarks/report.py`` draws."""

from __future__ import annotations

import re
import json
from pathlib import Path

import pytest
from benchmarks import compression
from benchmarks.report import machine_markdown, compression_figure, performance_figures

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "performance.md"


def _markers() -> list[str]:
    return re.findall(r"<!-- figure: ([a-z_]+) -->", PAGE.read_text(encoding="utf-8"))


def test_every_figure_the_page_names_is_drawn_from_the_committed_json() -> None:
    drawn = performance_figures()
    assert _markers(), "the Performance page names no figure"
    assert [name for name in _markers() if name not in drawn] == []


def test_every_figure_the_committed_json_draws_is_on_the_page() -> None:
    assert sorted(set(performance_figures()) - set(_markers())) == []


@pytest.mark.parametrize("name", ["sse_decode", "compression", "batch"])
def test_a_figure_of_a_single_benchmark_says_which_run_it_comes_from(name: str) -> None:
    _, table = performance_figures()[name]
    captions = [part for part in table.split("\n\n") if part.startswith("`uv run python -m benchmarks.")]
    assert len(captions) == 1, table
    assert " cores, " in captions[0]


def test_the_client_figures_say_which_run_and_machine_they_come_from() -> None:
    assert "<!-- benchmark-machine -->" in PAGE.read_text(encoding="utf-8")
    machine = machine_markdown()
    assert "- **Command:** `python -m benchmarks" in machine
    assert re.search(r"- \*\*Machine:\*\* .+, \d+ cores, ", machine), machine


def test_what_compression_figures_writes_is_what_the_page_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compression, "FIGURES", tmp_path / "benchmarks" / "figures" / "compression.json")
    compression.FIGURES.parent.mkdir(parents=True)
    row = compression.Row(
        answer="page of 100 jobs",
        wire_bytes_identity=150_000,
        wire_bytes_gzip=45_000,
        cpu_us_identity=4_000.4,
        cpu_us_gzip=4_600.6,
        zlib_us=401.2,
        wall_us_identity=7_000.0,
        wall_us_gzip=12_500.0,
    )
    compression.write_figures([row], requests=50, reps=2, command="--requests 50 --reps 2", load=(1.5, 1.25))
    svg, table = compression_figure(json.loads(compression.FIGURES.read_text(encoding="utf-8")))
    assert "| page of 100 jobs | 150,000 → 45,000 (30%) | 4,000 → 4,601 µs (+601 µs, +15%) | 401 µs |" in table
    assert "7.0 → 12.5 ms" in table
    assert "`uv run python -m benchmarks.compression --requests 50 --reps 2`" in table
    assert "load average 1.5 at the start, 1.2 at the end" in table
    assert svg.startswith("<svg")
    assert "4,601 µs (45,000 B, 30%)" in svg
