"""microdc.lib.progress: the rich bar, the log-line fallback, and the formatting they share."""

from __future__ import annotations

import io
import logging
from typing import Any, Dict

import pytest
from rich.console import Console

from microdc.lib.batch import BatchProgress
from microdc.lib.progress import ProgressDisplay, format_usd, format_progress


def progress(**overrides: Any) -> BatchProgress:
    values: Dict[str, Any] = {
        "total": 500,
        "pending": 150,
        "submitted": 38,
        "completed": 305,
        "failed": 7,
        "cancelled": 0,
        "error": 0,
        "skipped_budget": 0,
        "spent_usd": 0.0412,
        "cost_limit_usd": 1.0,
        "elapsed": 6.5,
        "rate": 48.0,
    }
    values.update(overrides)
    return BatchProgress(**values)


def test_format_usd_keeps_small_spends_visible() -> None:
    assert format_usd(0) == "$0"
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0.0412) == "$0.0412"
    assert format_usd(0.0000036) == "$0.000004"


def test_format_progress_says_what_matters() -> None:
    line = format_progress(progress(), totals=True)
    assert line == "312/500 finished: 305 completed, 7 failed, 38 in flight, $0.0412 of $1.00, 48.0 jobs/s, ~4 s left"
    final = progress(pending=0, submitted=0, completed=480, failed=4, skipped_budget=16, done=True, cost_limit_usd=None)
    assert format_progress(final) == "480 completed, 4 failed, 16 skipped (budget), $0.0412, 48.0 jobs/s, 6.5 s"


def test_an_unknown_total_shows_the_count_and_no_eta() -> None:
    unknown = progress(total=None)
    assert format_progress(unknown, totals=True).startswith("312 finished: 305 completed")
    assert unknown.eta is None


def test_counts_and_eta() -> None:
    current = progress()
    assert current.finished == 312
    assert current.counts["submitted"] == 38
    assert current.eta == pytest.approx(188 / 48)
    assert progress(rate=0).eta is None
    assert progress(wait=False).settled == 350


def test_the_bar_draws_on_a_terminal_and_stops_on_the_final_call() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    display = ProgressDisplay(console=console, description="batch")
    display(progress(pending=500, submitted=0, completed=0, failed=0, spent_usd=0.0))
    display(progress())
    display(progress(pending=0, submitted=0, completed=493, failed=7, done=True))
    display.close()  # a second stop is harmless
    text = out.getvalue()
    assert "batch" in text
    assert "500/500" in text
    assert "493 completed, 7 failed" in text


def test_without_a_terminal_it_logs_every_few_seconds_and_at_the_end(caplog: pytest.LogCaptureFixture) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    display = ProgressDisplay(console=console, log_interval=60)
    with caplog.at_level(logging.INFO, logger="microdc.progress"):
        display(progress(completed=1))
        display(progress(completed=2))  # within the interval: not logged
        display(progress(completed=500, pending=0, submitted=0, failed=0, done=True))
    lines = [record.getMessage() for record in caplog.records if record.name == "microdc.progress"]
    assert len(lines) == 2
    assert lines[0].startswith("jobs: 8/500 finished: 1 completed")
    assert lines[1].startswith("jobs: 500/500 done: 500 completed")


def test_use_rich_false_forces_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="microdc.progress"), ProgressDisplay(use_rich=False) as display:
        display(progress(done=True))
    assert any("finished" in r.getMessage() or "done" in r.getMessage() for r in caplog.records)
