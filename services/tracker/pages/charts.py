"""Bar charts as inline SVG drawn on the server: no chart library, no script, readable
without CSS. Returns geometry; the template writes the elements."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    max_value: int
    horizontal: bool
    label_width: int = 0


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def columns(points: list[tuple[str, int]], *, width: int = 640, height: int = 180,
            gap: float = 2.0, pad: int = 20) -> Chart:
    """Vertical bars, one per point (e.g. reports per day), bottom-aligned; `pad` leaves room
    at both ends for the first and last labels."""
    top = _nice_max(max((v for _, v in points), default=0))
    plot_height = height - 20  # room for the axis labels under the bars
    slot = (width - 2 * pad) / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        h = plot_height * value / top
        bars.append(Bar(label, value, x=round(pad + i * slot + gap / 2, 2),
                        y=round(plot_height - h, 2), width=round(max(slot - gap, 1), 2),
                        height=round(h, 2)))
    return Chart(width, height, bars, top, horizontal=False)


def rows(points: list[tuple[str, int]], *, width: int = 640, row_height: int = 22,
         label_width: int = 230) -> Chart:
    """Horizontal bars, one per point (e.g. reports per category), labelled on the left."""
    top = _nice_max(max((v for _, v in points), default=0))
    plot_width = width - label_width - 50  # room for the value after the bar
    bars = [Bar(label, value, x=label_width, y=i * row_height + 3,
                width=round(plot_width * value / top, 2), height=row_height - 6)
            for i, (label, value) in enumerate(points)]
    return Chart(width, max(len(points), 1) * row_height, bars, top, horizontal=True,
                 label_width=label_width)
