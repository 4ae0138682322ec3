"""Geometry of the transparency page's stacked bar chart (drawn as inline SVG by the template).

Plain numbers in, rectangles out: no markup is built here, so Jinja's escaping covers
every label that reaches the page.
"""

from __future__ import annotations

from dataclasses import dataclass

# Colour-blind-safe palette (Okabe–Ito), in the order actions are stacked.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#999999",
    "#8C510A",
    "#01665E",
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    series: str
    month: str
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, int], ...]  # (y, value) gridlines
    labels: tuple[tuple[float, str], ...]  # (x centre, month)
    legend: tuple[tuple[str, str], ...]  # (series, colour)
    total: int


def _step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return max(1, top // 5)


def stacked_bars(
    months: list[str], series: dict[str, list[int]], *, width: int = 720, height: int = 260
) -> Chart:
    """One bar per month, stacked by series (in the given order of keys), scaled to the max."""
    left, right, top, bottom = 44, 8, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(months))]
    peak = max(totals, default=0)
    step = _step(peak or 1)
    axis_max = max(step, -(-peak // step) * step)
    slot = plot_w / max(1, len(months))
    bar_w = slot * 0.7
    colours = {name: PALETTE[n % len(PALETTE)] for n, name in enumerate(series)}
    bars: list[Bar] = []
    for i, month in enumerate(months):
        y = float(top + plot_h)
        for name, values in series.items():
            value = values[i]
            if not value:
                continue
            h = plot_h * value / axis_max
            y -= h
            bars.append(
                Bar(
                    round(left + i * slot + (slot - bar_w) / 2, 1),
                    round(y, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    colours[name],
                    name,
                    month,
                    value,
                )
            )
    ticks = tuple(
        (round(top + plot_h - plot_h * v / axis_max, 1), v) for v in range(0, axis_max + 1, step)
    )
    labels = tuple((round(left + i * slot + slot / 2, 1), m) for i, m in enumerate(months))
    return Chart(
        width,
        height,
        top,
        top + plot_h,
        tuple(bars),
        ticks,
        labels,
        tuple(colours.items()),
        sum(totals),
    )
