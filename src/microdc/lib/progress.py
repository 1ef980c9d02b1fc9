"""A ready ``on_progress`` for ``jobs.batch`` and ``submit_many``: a live progress bar, or a log line now and then.

::

    from microdc.lib.progress import ProgressDisplay

    with ProgressDisplay() as show:          # the bar is cleaned up even on Ctrl-C
        summary = await client.jobs.batch(jobs, on_progress=show).wait()

With ``rich`` installed (``pip install 'microdc[cli]'``) and a terminal on stderr, it
draws a bar::

    jobs ━━━━━━━━━━━━━━━━━━━━━━━━╺━━━━━━━━━━━━━━━  312/500 0:00:06 305 completed, 7 failed, 32 in flight, $0.0412 of $1.00, 48.1 jobs/s, ~4 s left

Otherwise it logs that line (``INFO``, on the ``microdc.progress`` logger, under
``microdc``) every ``log_interval`` seconds and once at the end; ``MICRODC_LOG=info``
shows it.
"""

from __future__ import annotations

import time
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, List, Type, Optional

from typing_extensions import Self

if TYPE_CHECKING:
    from .batch import BatchProgress

__all__ = ["ProgressDisplay", "format_progress", "format_usd"]

logger = logging.getLogger("microdc.progress")

DEFAULT_LOG_INTERVAL = 5.0


def format_usd(amount: float) -> str:
    """``$1,234.56``, ``$0.0412``, ``$0.000003``: enough digits to see small spends move."""
    if amount == 0:
        return "$0"
    if amount >= 1:
        return f"${amount:,.2f}"
    if amount >= 0.0001:
        return f"${amount:.4f}"
    return f"${amount:.6f}"


def format_progress(progress: BatchProgress, *, totals: bool = False) -> str:
    """One line about a batch: outcomes, jobs in flight, spend, rate, time left.

    ``totals`` starts it with ``N/M finished`` (``N finished`` while the total is not
    known; the bar shows that itself).
    """
    parts: List[str] = []
    for name, count in (
        ("completed", progress.completed),
        ("failed", progress.failed),
        ("cancelled", progress.cancelled),
        ("errors", progress.error),
        ("skipped (budget)", progress.skipped_budget),
    ):
        if count or name == "completed":
            parts.append(f"{count} {name}")
    if progress.submitted:
        parts.append(f"{progress.submitted} {'in flight' if progress.wait else 'submitted'}")
    spend = format_usd(progress.spent_usd)
    if progress.cost_limit_usd is not None:
        spend += f" of {format_usd(progress.cost_limit_usd)}"
    parts.append(spend)
    parts.append(f"{progress.rate:.1f} jobs/s")
    eta = progress.eta
    if progress.done:
        parts.append(f"{progress.elapsed:.1f} s")
    elif eta is not None:
        parts.append(f"~{eta:.0f} s left")
    line = ", ".join(parts)
    if totals:
        settled = f"{progress.settled}/{progress.total}" if progress.total is not None else str(progress.settled)
        line = f"{settled} {'done' if progress.done else 'finished'}: {line}"
    return line


class ProgressDisplay:
    """An ``on_progress`` callable: a ``rich`` bar when possible, else log lines.

    Args:
      description: the label in front of the bar (or of each log line).
      use_rich: ``True`` forces the bar (``rich`` must be installed), ``False`` forces
        log lines; ``None`` (default) draws the bar when ``rich`` is installed and
        the console is a terminal.
      console: a ``rich.console.Console`` to draw on (default: one on stderr).
      log_interval: seconds between two log lines when not drawing a bar.
      log: the logger for those lines (default ``microdc.progress``).

    The bar starts on the first call and stops on the final one (``done=True``), or
    when the ``with`` block ends or :meth:`close` is called, whichever comes first.
    One display can follow several batches, one after the other.
    """

    def __init__(
        self,
        *,
        description: str = "jobs",
        use_rich: Optional[bool] = None,
        console: Any = None,
        log_interval: float = DEFAULT_LOG_INTERVAL,
        log: Optional[logging.Logger] = None,
    ) -> None:
        self.description = description
        self.log_interval = log_interval
        self._logger = log if log is not None else logger
        self._console: Any = console
        self._use_rich = use_rich
        self._bar: Any = None  # rich.progress.Progress while drawing
        self._task: Any = None
        self._last_log: Optional[float] = None

    def _want_rich(self) -> bool:
        if self._use_rich is not None:
            return self._use_rich
        try:
            from rich.console import Console
        except ImportError:
            return False
        if self._console is None:
            self._console = Console(stderr=True)
        return bool(self._console.is_terminal)

    def __call__(self, progress: BatchProgress) -> None:
        if self._bar is None and self._want_rich():
            self._start_bar(progress)
        if self._bar is not None:
            self._bar.update(
                self._task,
                total=progress.total,
                completed=progress.settled,
                detail=format_progress(progress),
            )
            if progress.done:
                self.close()
            return
        now = time.monotonic()
        if progress.done or self._last_log is None or now - self._last_log >= self.log_interval:
            self._last_log = None if progress.done else now
            self._logger.info("%s: %s", self.description, format_progress(progress, totals=True))

    def _start_bar(self, progress: BatchProgress) -> None:
        from rich.progress import (
            Progress,
            BarColumn,
            TextColumn,
            TimeElapsedColumn,
            MofNCompleteColumn,
        )

        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=self._console,
        )
        self._task = self._bar.add_task(self.description, total=progress.total, detail="")
        self._bar.start()

    def close(self) -> None:
        """Stop drawing (leaving the last state on screen); calling it again does nothing."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()
