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
WIDTH = 720
BAR_HEIGHT = 16
BAR_GAP = 4
GROUP_GAP = 14
TOP = 56
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
        """The chart as a standalone SVG document (it scales to the width it is shown at)."""
        series = list(dict.fromkeys(bar.series for group in self.groups for bar in group.bars))
        for name in series:
            self._colour(name)
        bars = [bar for group in self.groups for bar in group.bars]
        label_width = max([_text_width(g.label, 12) * 1.08 for g in self.groups] + [0]) + 16  # bold
        value_width = max([_text_width(bar.label, 11) for bar in bars] + [0]) + 12
        top_value = max([bar.value for bar in bars] + [self.target[0] if self.target else 0])
        plot_width = WIDTH - label_width - value_width
        scale = plot_width / top_value if top_value > 0 else 0.0
        legend, y = self._legend(series)
        plot_top = y
        body: List[str] = []
        for group in self.groups:
            group_height = len(group.bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
            body.append(_text(label_width - 10, y + group_height / 2 + 4, group.label, anchor="end", weight="600"))
            for bar in group.bars:
                width = max(1.0, bar.value * scale)
                body.append(
                    f'<rect x="{label_width}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                    f'fill="{self._colour(bar.series)}"><title>{escape(bar.series)}: {escape(bar.label)}</title></rect>'
                )
                body.append(_text(label_width + width + 5, y + BAR_HEIGHT - 4, bar.label, size=11))
                y += BAR_HEIGHT + BAR_GAP
            y += GROUP_GAP
        height = y + 24
        if self.target is not None:
            x = label_width + self.target[0] * scale
            body.append(
                f'<line x1="{x:.1f}" y1="{plot_top - 6}" x2="{x:.1f}" y2="{y - GROUP_GAP + 4}" stroke="currentColor" '
                'stroke-width="1.5" stroke-dasharray="5 4"/>'
            )
            body.append(
                _text(
                    min(x, WIDTH - _text_width(self.target[1], 11) / 2),
                    y - GROUP_GAP + 18,
                    self.target[1],
                    anchor="middle",
                    size=11,
                )
            )
        head = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" height="{height:.0f}" '
            f'role="img" aria-label="{escape(self.title)}" font-family="{escape(FONT)}" fill="currentColor">',
            f"<title>{escape(self.title)}</title>",
            _text(0, 18, self.title, size=15, weight="600"),
            _text(0, 36, self.unit, size=11),
        ]
        return "\n".join([*head, *legend, *body, "</svg>"]) + "\n"

    def _legend(self, series: List[str]) -> Tuple[List[str], float]:
        """Legend entries laid out in rows that fit the width; returns them and the y below them."""
        if len(series) < 2:
            return [], TOP
        out: List[str] = []
        x, y = 0.0, TOP + 4
        for name in series:
            width = 17 + _text_width(name, 11) + 18
            if x + width > WIDTH and x > 0:
                x, y = 0.0, y + 18
            out.append(f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{self._colour(name)}"/>')
            out.append(_text(x + 17, y, name, size=11))
            x += width
        return out, y + 18


def _text_width(text: str, size: int) -> float:
    """An estimate of the text's width in a sans-serif font (no font metrics at hand)."""
    return len(text) * size * 0.58


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, weight: str = "400") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )
