"""Charts as inline SVG geometry, computed here and drawn by ``charts.html`` (no script)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bar:
    """One bar: its position and size in SVG units, its label and the value it shows."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Chart:
    """A bar chart: the bars, the drawing's size and a title for screen readers."""

    bars: list[Bar]
    width: int
    height: int
    title: str
    horizontal: bool
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x, label) on the axis


def histogram(counts: list[int], title: str, width: int = 360, height: int = 170) -> Chart:
    """Return vertical bars for a distribution over equal buckets of 0-100 %."""
    n = max(len(counts), 1)
    top, bottom, left = 18, 30, 18  # room for the centred 0% and 100% labels
    plot_height = height - top - bottom
    slot = (width - 2 * left) / n
    peak = max(counts, default=0) or 1
    bars = []
    for i, count in enumerate(counts):
        bar_height = plot_height * count / peak
        x = left + i * slot + 2
        low, high = round(100 * i / n), round(100 * (i + 1) / n)
        bars.append(
            Bar(
                x,
                top + plot_height - bar_height,
                slot - 4,
                bar_height,
                f"{low}–{high}%",
                count,
                x + (slot - 4) / 2,
                top + plot_height - bar_height - 4,
            )
        )
    step = 2 if n > 5 else 1
    ticks = [(left + i * slot, f"{round(100 * i / n)}%") for i in range(0, n + 1, step)]
    return Chart(bars, width, height, title, horizontal=False, ticks=ticks)


def bar_list(items: list[tuple[str, int]], title: str, width: int = 360) -> Chart:
    """Return horizontal bars, one row per labelled count, longest first as given."""
    row, label_height = 34, 14
    peak = max((count for _, count in items), default=0) or 1
    plot_width = width - 50
    bars = []
    for i, (label, count) in enumerate(items):
        y = i * row + label_height + 2
        length = max(plot_width * count / peak, 2)
        bars.append(
            Bar(
                0,
                y,
                length,
                row - label_height - 6,
                label,
                count,
                length + 6,
                y + (row - label_height - 6) / 2 + 4,
            )
        )
    return Chart(bars, width, max(len(items) * row, row), title, horizontal=True)
