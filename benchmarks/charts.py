"""SVG bar charts for the documentation's Performance page, drawn by hand (no plotting library).

One chart kind is enough for every figure: horizontal bars in groups (a scenario, an
import, a batch size), one bar per series (a client variant), each labelled with its
value. A dashed line may mark a target. The SVG uses the reader's own sans-serif
font and the page's text colour, so it reads in the light and the dark theme alike.
"""

from __future__ import annotations

from html import escape
from typing import Dict, List, Tuple, Optional, Sequence
from dataclasses import field, dataclass

__all__ = ["Bar", "BarChart", "Group"]

# Colour-blind-safe palette (Okabe-Ito), one colour per series name, in order of first use.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
WIDTH = 760
LABEL_WIDTH = 190
VALUE_WIDTH = 96
BAR_HEIGHT = 16
BAR_GAP = 4
GROUP_GAP = 14
TOP = 44
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


@dataclass(frozen=True)
class Bar:
    """One bar: the series it belongs to, its value, and the text shown after it."""

    series: str
    value: float
    label: str


@dataclass(frozen=True)
class Group:
    """A labelled group of bars."""

    label: str
    bars: Sequence[Bar]


@dataclass
class BarChart:
    """Horizontal grouped bars with a legend; ``target`` draws a dashed line at that value."""

    title: str
    unit: str
    groups: List[Group]
    target: Optional[Tuple[float, str]] = None
    colours: Dict[str, str] = field(default_factory=dict)

    def _colour(self, series: str) -> str:
        if series not in self.colours:
            self.colours[series] = PALETTE[len(self.colours) % len(PALETTE)]
        return self.colours[series]

    def svg(self) -> str:
        """The chart as a standalone SVG document."""
        series = list(dict.fromkeys(bar.series for group in self.groups for bar in group.bars))
        for name in series:
            self._colour(name)
        top_value = max(
            [bar.value for group in self.groups for bar in group.bars] + [self.target[0] if self.target else 0]
        )
        plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH
        scale = plot_width / top_value if top_value > 0 else 0.0
        legend_rows = (len(series) + 3) // 4
        y = TOP + legend_rows * 18
        body: List[str] = []
        for group in self.groups:
            group_height = len(group.bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
            body.append(_text(LABEL_WIDTH - 10, y + group_height / 2 + 4, group.label, anchor="end", weight="600"))
            for bar in group.bars:
                width = max(1.0, bar.value * scale)
                body.append(
                    f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                    f'fill="{self._colour(bar.series)}"><title>{escape(bar.series)}: {escape(bar.label)}</title></rect>'
                )
                body.append(_text(LABEL_WIDTH + width + 5, y + BAR_HEIGHT - 4, bar.label, size=11))
                y += BAR_HEIGHT + BAR_GAP
            y += GROUP_GAP
        height = y + 24
        if self.target is not None:
            x = LABEL_WIDTH + self.target[0] * scale
            first = TOP + legend_rows * 18 - 6
            body.append(
                f'<line x1="{x:.1f}" y1="{first}" x2="{x:.1f}" y2="{y - GROUP_GAP + 4}" stroke="currentColor" '
                'stroke-width="1.5" stroke-dasharray="5 4"/>'
            )
            body.append(_text(x, y - GROUP_GAP + 18, self.target[1], anchor="middle", size=11))
        legend: List[str] = []
        for index, name in enumerate(series):
            lx = LABEL_WIDTH + (index % 4) * 140
            ly = TOP - 6 + (index // 4) * 18
            legend.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{self._colour(name)}"/>')
            legend.append(_text(lx + 17, ly, name, size=11))
        head = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
            f'height="{height:.0f}" role="img" aria-label="{escape(self.title)}" '
            f'font-family="{escape(FONT)}" fill="currentColor" style="color: var(--md-typeset-color, #222)">',
            f"<title>{escape(self.title)}</title>",
            _text(0, 18, self.title, size=15, weight="600"),
            _text(WIDTH, 18, self.unit, anchor="end", size=11),
        ]
        return "\n".join([*head, *legend, *body, "</svg>"]) + "\n"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, weight: str = "400") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )
