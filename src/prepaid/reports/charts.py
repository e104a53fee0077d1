"""Charts as SVG drawn on the server: no JavaScript, no CDN, no float.

Values are integers (fen or centi-units). Coordinates are computed in tenths of a pixel with
integer arithmetic (the one rounding rule, ROUND_HALF_UP) and written with one decimal.
Each bar carries a ``<title>`` with its exact value, which browsers show as a tooltip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape

from prepaid.core.money import round_half_up

WIDTH = 800
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 30, 44  # margins in pixels
GRID_LINES = 4
BAR_LIMIT = 62  # more points than this are drawn as a line
COLOURS = ("#2f6fb0", "#d9822b", "#3a9a5b", "#a4478f")


def _px(tenths: int) -> str:
    """Tenths of a pixel as SVG text: 1234 → "123.4"."""
    sign = "-" if tenths < 0 else ""
    whole, part = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{part}"


def nice_ceiling(value: int) -> int:
    """The top of the axis: the smallest (1, 2 or 5 × 10ⁿ) × GRID_LINES at or above
    ``value``, so that every grid line falls on a round figure."""
    needed = max(1, (value + GRID_LINES - 1) // GRID_LINES)
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            if multiple * magnitude >= needed:
                return multiple * magnitude * GRID_LINES
        magnitude *= 10


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    colour: str = COLOURS[0]


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    formatter: Callable[[int], str],
    unit: str = "",
    heading: str | None = None,
) -> str:
    """A bar chart (a line for long series) of one series of integer values; ``heading`` is
    the title as the page's language writes it with the unit (default ``title (unit)``)."""
    values = list(series.values)
    top = nice_ceiling(max([v for v in values if v > 0], default=0))
    bottom = min(0, min(values, default=0))
    plot_w = (WIDTH - LEFT - RIGHT) * 10
    plot_h = (HEIGHT - TOP - BOTTOM) * 10
    span = top - bottom

    def y(value: int) -> int:
        return TOP * 10 + plot_h - round_half_up((value - bottom) * plot_h, span)

    if heading is None:
        heading = f"{title} ({unit})" if unit else title
    parts = [_open(heading), _axes(top, bottom, y, formatter)]
    count = max(len(values), 1)
    slot = plot_w // count
    if len(values) <= BAR_LIMIT:
        bar = max(slot * 7 // 10, 10)
        for index, (label, value) in enumerate(zip(labels, values, strict=True)):
            x = LEFT * 10 + index * slot + (slot - bar) // 2
            y0, y1 = y(max(value, 0)), y(min(value, 0))
            parts.append(
                f'<rect x="{_px(x)}" y="{_px(y0)}" width="{_px(bar)}" '
                f'height="{_px(max(y1 - y0, 0))}" fill="{series.colour}">'
                f"<title>{escape(label)}: {escape(formatter(value))} {escape(unit)}</title>"
                "</rect>"
            )
    else:
        points = " ".join(
            f"{_px(LEFT * 10 + i * slot + slot // 2)},{_px(y(v))}" for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{series.colour}" stroke-width="2"/>'
        )
        for index, (label, value) in enumerate(zip(labels, values, strict=True)):
            cx = LEFT * 10 + index * slot + slot // 2
            parts.append(
                f'<circle cx="{_px(cx)}" cy="{_px(y(value))}" r="2" '
                f'fill="{series.colour}"><title>{escape(label)}: '
                f"{escape(formatter(value))} {escape(unit)}</title></circle>"
            )
    parts.append(_x_labels(labels, slot))
    parts.append("</svg>")
    return "\n".join(parts)


def _open(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="report-chart">'
        f"<title>{escape(title)}</title>"
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>'
    )


def _axes(top: int, bottom: int, y: Callable[[int], int], formatter: Callable[[int], str]) -> str:
    lines = []
    step = (top - bottom) // GRID_LINES if top > bottom else 1
    for n in range(GRID_LINES + 1):
        value = bottom + n * step
        level = y(value)
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_px(level)}" '
            f'y2="{_px(level)}" stroke="#ddd"/>'
        )
        lines.append(
            f'<text x="{LEFT - 6}" y="{_px(level + 40)}" font-size="11" '
            f'text-anchor="end">{escape(_tick(formatter(value)))}</text>'
        )
    return "\n".join(lines)


def _tick(text: str) -> str:
    """Axis ticks are round figures: “500.00” reads better as “500”."""
    return text[:-3] if text.endswith(".00") else text


def _x_labels(labels: Sequence[str], slot: int) -> str:
    if not labels:
        return ""
    widest = max(len(label) for label in labels)
    needed = widest * 70 + 80  # tenths of a pixel: ~7 px per character and a gap
    every = max(1, (needed + slot - 1) // max(slot, 1))
    texts = []
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT * 10 + index * slot + slot // 2
        texts.append(
            f'<text x="{_px(x)}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return "\n".join(texts)


def stack(charts: Sequence[str]) -> str:
    """Several charts one above the other, as one SVG document."""
    inner = []
    for index, chart in enumerate(charts):
        inner.append(
            chart.replace(
                'width="100%" role="img"',
                f'y="{index * HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img"',
                1,
            )
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} '
        f'{max(1, len(charts)) * HEIGHT}" width="100%">' + "\n".join(inner) + "</svg>"
    )
