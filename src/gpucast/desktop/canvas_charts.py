"""Charts drawn on a Tk canvas: line charts with a marked point, a stacked bar against a capacity, horizontal
bars, and a forecast fan chart. The numbers come from the plan (see :mod:`.compute`); this module only maps
them to pixels, like :mod:`gpucast.charts.svg` does for the web pages and reports.

Every item is tagged (``series``, ``marker``, ``threshold``, ``part``, ``capacity``, ``bar``, ``band80``...) so
tests can find what was drawn.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Sequence
from typing import Any

from ..charts.svg import nice_ticks

PALETTE = ("#1f6fb4", "#e8772e", "#2e9c4a", "#c73a3a", "#8056b3", "#8c5a45", "#d0559c", "#6f7780")
FONT = ("TkDefaultFont", 9)
TITLE_FONT = ("TkDefaultFont", 10, "bold")
MARGIN = (64, 44, 18, 44)  # left, top, right, bottom
CHAR_PX = 6.5  # mean width of a label character at FONT, to cut labels that would not fit


def label(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:,.10g}" if value == int(value) else f"{value:,.3g}"


def size(canvas: tk.Canvas) -> tuple[int, int]:
    """The canvas's drawable size: its size on screen once laid out, its requested size before."""
    if canvas.winfo_ismapped() and canvas.winfo_width() > 1:
        return canvas.winfo_width(), canvas.winfo_height()
    return int(canvas.cget("width")), int(canvas.cget("height"))


class Axes:
    """Linear data -> pixel mapping of a canvas's plot area, with gridlines and tick labels."""

    def __init__(self, canvas: tk.Canvas, x_range: tuple[float, float], y_range: tuple[float, float],
                 title: str, x_label: str = "", y_label: str = "") -> None:  # fmt: skip
        self.canvas = canvas
        width, height = size(canvas)
        left, top, right, bottom = MARGIN
        self.box = (left, top, width - right, height - bottom)
        self.x_ticks = nice_ticks(*x_range)
        self.y_ticks = nice_ticks(min(0.0, y_range[0]), y_range[1])
        self.x0, self.x1 = self.x_ticks[0], self.x_ticks[-1]
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]
        canvas.create_text(8, 6, text=title, anchor="nw", font=TITLE_FONT, tags=("title",))
        x_a, y_a, x_b, y_b = self.box
        for tick in self.y_ticks:
            y = self.py(tick)
            canvas.create_line(x_a, y, x_b, y, fill="#e3e3e3", tags=("grid",))
            canvas.create_text(x_a - 6, y, text=label(tick), anchor="e", font=FONT, tags=("tick",))
        for tick in self.x_ticks:
            x = self.px(tick)
            canvas.create_line(x, y_b, x, y_b + 4, fill="#777777", tags=("grid",))
            canvas.create_text(x, y_b + 6, text=label(tick), anchor="n", font=FONT, tags=("tick",))
        canvas.create_rectangle(x_a, y_a, x_b, y_b, outline="#999999", tags=("frame",))
        if x_label:
            canvas.create_text((x_a + x_b) / 2, y_b + 22, text=x_label, anchor="n", font=FONT, tags=("label",))
        if y_label:
            canvas.create_text(8, y_a - 6, text=y_label, anchor="sw", font=FONT, tags=("label",))

    def px(self, x: float) -> float:
        x_a, _, x_b, _ = self.box
        return x_a + (x - self.x0) / ((self.x1 - self.x0) or 1.0) * (x_b - x_a)

    def py(self, y: float) -> float:
        _, y_a, _, y_b = self.box
        return y_b - (y - self.y0) / ((self.y1 - self.y0) or 1.0) * (y_b - y_a)


def line_chart(
    canvas: tk.Canvas,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    marker: tuple[float, float, str] | None = None,
    thresholds: Sequence[tuple[float, str]] = (),
) -> Axes:
    """Lines (name, points), an optional marked point (x, y, text) and horizontal threshold lines (y, text)."""
    canvas.delete("all")
    xs = [x for _, points in series for x, _ in points] or [0.0, 1.0]
    ys = [y for _, points in series for _, y in points] + [y for y, _ in thresholds] or [0.0, 1.0]
    axes = Axes(canvas, (min(xs), max(xs)), (min(ys), max(ys)), title, x_label, y_label)
    for index, (name, points) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        coords = [c for x, y in points for c in (axes.px(x), axes.py(y))]
        if len(coords) >= 4:
            canvas.create_line(*coords, fill=color, width=2, tags=("series", f"series:{name}"))
        x_b, y_a = axes.box[2], axes.box[1]
        canvas.create_text(x_b - 4, y_a + 6 + 14 * index, text=name, anchor="ne", fill=color, font=FONT,
                           tags=("legend",))  # fmt: skip
    for y, text in thresholds:
        canvas.create_line(axes.box[0], axes.py(y), axes.box[2], axes.py(y), fill=PALETTE[3], dash=(4, 3),
                           tags=("threshold",))  # fmt: skip
        canvas.create_text(axes.box[0] + 4, axes.py(y) - 2, text=text, anchor="sw", fill=PALETTE[3], font=FONT,
                           tags=("threshold",))  # fmt: skip
    if marker is not None:
        x, y, text = marker
        cx, cy = axes.px(x), axes.py(y)
        canvas.create_oval(cx - 5, cy - 5, cx + 5, cy + 5, fill=PALETTE[3], outline="black", tags=("marker",))
        right_half = cx > (axes.box[0] + axes.box[2]) / 2
        canvas.create_text(
            cx, cy - 8, text=text, anchor="se" if right_half else "sw", font=FONT, tags=("marker", "marker-text")
        )
    return axes


def stacked_bar(canvas: tk.Canvas, parts: Sequence[tuple[str, float]], capacity: float, *, title: str,
                unit: str = "GB") -> None:  # fmt: skip
    """One horizontal bar of parts (name, value) against a capacity line (a GPU's memory)."""
    canvas.delete("all")
    width, height = size(canvas)
    left, top, right = MARGIN[0], MARGIN[1] + 10, width - MARGIN[2]
    total = sum(v for _, v in parts)
    scale = (right - left) / max(capacity, total, 1e-9)
    canvas.create_text(8, 6, text=title, anchor="nw", font=TITLE_FONT, tags=("title",))
    x = float(left)
    bar_bottom = top + 36
    for index, (name, value) in enumerate(parts):
        color = PALETTE[index % len(PALETTE)]
        x_end = x + value * scale
        canvas.create_rectangle(x, top, x_end, bar_bottom, fill=color, outline="white", tags=("part", f"part:{name}"))
        y = bar_bottom + 16 + 16 * index
        canvas.create_rectangle(left, y, left + 10, y + 10, fill=color, outline="", tags=("legend",))
        canvas.create_text(left + 14, y + 5, text=f"{name} {value:,.2f} {unit}", anchor="w", font=FONT,
                           tags=("legend",))  # fmt: skip
        x = x_end
    cap_x = left + capacity * scale
    canvas.create_line(cap_x, top - 8, cap_x, bar_bottom + 8, fill="black", width=2, tags=("capacity",))
    cap_text = f"GPU memory {capacity:,.1f} {unit}"
    if cap_x > width / 2:
        canvas.create_text(cap_x, top - 10, text=cap_text, anchor="se", font=FONT, tags=("capacity",))
    else:
        canvas.create_text(cap_x, top - 10, text=cap_text, anchor="sw", font=FONT, tags=("capacity",))
    canvas.create_text(left, bar_bottom + 24 + 16 * len(parts), text=f"used {total:,.1f} of {capacity:,.1f} {unit}",
                       anchor="nw",
                       font=FONT, tags=("total",))  # fmt: skip
    del height


def bar_chart(canvas: tk.Canvas, bars: Sequence[Any], *, title: str, unit: str) -> None:
    """Horizontal bars (objects with ``label``, ``value``, ``chosen``), the chosen one outlined and marked."""
    canvas.delete("all")
    width, height = size(canvas)
    canvas.create_text(8, 6, text=title, anchor="nw", font=TITLE_FONT, tags=("title",))
    if not bars:
        canvas.create_text(width / 2, height / 2, text="no priced alternatives", font=FONT, tags=("empty",))
        return
    left, top, right = int(min(240, width * 0.42)), 30, width - 90
    row = max(12.0, min(24.0, (height - top - 10) / len(bars)))
    fits = max(8, int((left - 10) / CHAR_PX))  # characters of a label that fit left of the bars
    top_value = max(b.value for b in bars) or 1.0
    for index, bar in enumerate(bars):
        y = top + index * row
        x_end = left + bar.value / top_value * (right - left)
        color = PALETTE[3] if bar.chosen else PALETTE[0]
        tags = ("bar", "chosen") if bar.chosen else ("bar",)
        canvas.create_rectangle(left, y + 2, x_end, y + row - 2, fill=color, outline="black" if bar.chosen else "",
                                width=2 if bar.chosen else 1, tags=tags)  # fmt: skip
        text = ("➜ " if bar.chosen else "") + bar.label
        if len(text) > fits:
            text = text[: fits - 1] + "…"
        canvas.create_text(left - 6, y + row / 2, text=text, anchor="e", font=FONT, tags=("bar-label",))
        canvas.create_text(x_end + 4, y + row / 2, text=f"{bar.value:,.0f} {unit}", anchor="w", font=FONT,
                           tags=("bar-value",))  # fmt: skip


def fan_chart(canvas: tk.Canvas, fan: Any) -> None:
    """History, forecast mean and its 80%/95% bands against time (``gpucast.forecast.plot.FanData``)."""
    canvas.delete("all")
    times = list(fan.past_times) + list(fan.times)
    if not times:
        return
    origin = times[0]

    def hours(t: Any) -> float:
        return float((t - origin).total_seconds() / 3600.0)

    values = list(fan.past) + list(fan.hi95) + list(fan.lo95)
    axes = Axes(canvas, (0.0, hours(times[-1])), (min(values), max(values)), fan.title,
                f"hours since {origin:%Y-%m-%d %H:%M}", "req/s")  # fmt: skip
    for low, high, color, tag in ((fan.lo95, fan.hi95, "#cfe0f1", "band95"), (fan.lo80, fan.hi80, "#9fc2e4", "band80")):
        upper = [(axes.px(hours(t)), axes.py(v)) for t, v in zip(fan.times, high, strict=True)]
        lower = [(axes.px(hours(t)), axes.py(v)) for t, v in zip(fan.times, low, strict=True)]
        polygon = [c for point in upper + lower[::-1] for c in point]
        if len(polygon) >= 6:
            canvas.create_polygon(*polygon, fill=color, outline="", tags=(tag,))
    for name, ts, ys, color in (("history", fan.past_times, fan.past, "#444444"),
                                ("forecast mean", fan.times, fan.mean, PALETTE[0])):  # fmt: skip
        coords = [c for t, v in zip(ts, ys, strict=True) for c in (axes.px(hours(t)), axes.py(v))]
        if len(coords) >= 4:
            canvas.create_line(*coords, fill=color, width=2, tags=("series", f"series:{name}"))
    x_b, y_a = axes.box[2], axes.box[1]
    for index, (text, color) in enumerate((("history", "#444444"), ("forecast mean", PALETTE[0]),
                                           ("80% interval", "#6f9fcf"), ("95% interval", "#9fc2e4"))):  # fmt: skip
        canvas.create_text(x_b - 4, y_a + 6 + 14 * index, text=text, anchor="ne", fill=color, font=FONT,
                           tags=("legend",))  # fmt: skip
