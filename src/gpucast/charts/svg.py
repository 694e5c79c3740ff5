"""Charts as inline SVG, drawn on the server: no JavaScript library and no CDN, so the pages work offline
and the charts also appear in saved pages and screenshots.

Three shapes cover the pages: a stacked bar (memory per GPU), line charts with a marked operating point and
threshold lines (throughput and latency against concurrency) and horizontal bars (GPU x cloud comparison,
plans side by side). Each ``<svg>`` carries ``data-chart`` and ``data-points`` attributes (what it shows, how
many marks), so tests can check that a chart was drawn with data. Every label passes through
:func:`html.escape`. Standard library only: the web pages, the HTML/Markdown reports and anything else draw the
same charts without the server's packages; :class:`Svg` is a ``str`` that Jinja2 treats as already-safe
markup through its ``__html__`` method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape as _html_escape


class Svg(str):
    """Finished SVG markup: a ``str`` whose ``__html__`` tells Jinja2's autoescape not to escape it again."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def escape(text: object) -> str:
    """Text for SVG element content or a quoted attribute (``& < > " '`` escaped)."""
    return _html_escape(str(text), quote=True)


PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#84cc16", "#ec4899", "#64748b")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Series:
    """One line: a name and its (x, y) points."""

    name: str
    points: Sequence[tuple[float, float]]
    color: str = PALETTE[0]


@dataclass(frozen=True)
class Marker:
    """A marked point (the plan's operating point) with a label."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Threshold:
    """A horizontal dashed line (an SLO) with a label."""

    y: float
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    group: str = ""  # bars of one group share a colour (the cloud, the plan)
    note: str = ""


@dataclass
class _Frame:
    width: int
    height: int
    left: int = 64
    right: int = 20
    top: int = 28
    bottom: int = 44
    parts: list[str] = field(default_factory=list)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k) covering [low, high]; a non-finite range has the one tick 0."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def fmt(value: float) -> str:
    """Short number labels: 12.3k, 4.5M, 0.25 (and — for a missing value)."""
    if not math.isfinite(value):
        return "—"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e4:
        return f"{value / 1e3:.3g}k"
    if size >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def labelled(value: float, unit: str) -> str:
    """A value with its unit: ``12.3k tok/s``; money as the pages and reports write it, ``$40,200`` or
    ``$40,200/mo`` for the units ``$`` and ``$/...`` (never ``40.2k $`` beside ``5,434 $``)."""
    if unit.startswith("$") and math.isfinite(value):
        return f"${value:,.0f}{unit[1:]}"
    return f"{fmt(value)} {unit}"


def _svg(frame: _Frame, kind: str, points: int, title: str) -> Svg:
    head = (
        f'<svg class="chart" data-chart="{escape(kind)}" data-points="{points}" viewBox="0 0 {frame.width} '
        f'{frame.height}" width="{frame.width}" height="{frame.height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}><title>{escape(title)}</title>'
    )
    return Svg(head + "".join(frame.parts) + "</svg>")


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    marker: Marker | None = None,
    thresholds: Sequence[Threshold] = (),
    width: int = 560,
    height: int = 300,
) -> Svg:
    """Lines over a shared x axis (linear), y from 0; the marker and thresholds are drawn on top."""
    frame = _Frame(width, height)
    xs = [x for s in series for x, _ in s.points] or [0.0, 1.0]
    ys = [y for s in series for _, y in s.points if math.isfinite(y)] + [t.y for t in thresholds]
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs))
    y_ticks = nice_ticks(0.0, max(ys or [1.0]) * 1.05)
    x0, x1, y1 = x_ticks[0], x_ticks[-1], y_ticks[-1]

    def px(x: float) -> float:
        return frame.left + (x - x0) / (x1 - x0) * frame.plot_w

    def py(y: float) -> float:
        return frame.top + frame.plot_h - min(max(y, 0.0), y1) / y1 * frame.plot_h

    _axes(frame, x_ticks, y_ticks, px, py, x_label, y_label, title)
    drawn = 0
    for s in series:
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points if math.isfinite(y))
        drawn += len(s.points)
        frame.parts.append(
            f'<polyline class="series" points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>'
        )
    for t in thresholds:
        y = py(t.y)
        frame.parts.append(
            f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ef4444" '
            f'stroke-dasharray="5 4"/><text x="{frame.left + 6}" y="{y - 4:.1f}" text-anchor="start" '
            f'fill="#b91c1c">{escape(t.label)}</text>'
        )
    if marker is not None:
        mx, my = px(marker.x), py(marker.y)
        anchor = "end" if mx > frame.left + frame.plot_w * 0.6 else "start"
        dx = -8 if anchor == "end" else 8
        frame.parts.append(
            f'<circle class="operating-point" cx="{mx:.1f}" cy="{my:.1f}" r="6" fill="#111827" stroke="#fff" '
            f'stroke-width="2"/><text x="{mx + dx:.1f}" y="{my - 10:.1f}" text-anchor="{anchor}" font-weight="600">'
            f"{escape(marker.label)}</text>"
        )
    if len(series) > 1:
        _legend(frame, [(s.name, s.color) for s in series])
    return _svg(frame, "line", drawn, title)


def _axes(
    frame: _Frame, x_ticks: list[float], y_ticks: list[float], px: object, py: object, x_label: str, y_label: str,
    title: str,
) -> None:  # fmt: skip
    assert callable(px) and callable(py)
    bottom = frame.top + frame.plot_h
    parts = frame.parts
    parts.append(f'<text x="{frame.left}" y="16" font-weight="600" font-size="13">{escape(title)}</text>')
    for y in y_ticks:
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            f'stroke="#e5e7eb"/><text x="{frame.left - 6}" y="{py(y) + 4:.1f}" text-anchor="end" fill="#4b5563">'
            f"{fmt(y)}</text>"
        )
    for x in x_ticks:
        parts.append(
            f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#9ca3af"/>'
            f'<text x="{px(x):.1f}" y="{bottom + 17}" text-anchor="middle" fill="#4b5563">{fmt(x)}</text>'
        )
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w}" y1="{bottom}" y2="{bottom}" stroke="#9ca3af"/>'
        f'<text x="{frame.left + frame.plot_w / 2:.1f}" y="{frame.height - 6}" text-anchor="middle" fill="#374151">'
        f'{escape(x_label)}</text><text transform="translate(14 {frame.top + frame.plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="#374151">{escape(y_label)}</text>'
    )


def _legend(frame: _Frame, entries: list[tuple[str, str]]) -> None:
    x = frame.left + 8
    for name, color in entries:
        frame.parts.append(
            f'<rect x="{x}" y="{frame.top + 4}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{frame.top + 13}" fill="#374151">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)


def _short(label: str, limit: int = 36) -> str:
    """Long catalog names (RTX PRO 6000 Blackwell Server Edition) would run off the left edge."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def stacked_bar(
    parts: Sequence[tuple[str, float]], *, title: str, capacity: float, unit: str = "GB", width: int = 560
) -> Svg:
    """One horizontal bar split into parts (memory per GPU), on a scale to ``capacity`` (the GPU's memory)."""
    frame = _Frame(width, 120, left=16, right=16, top=28, bottom=30)
    total = max(capacity, sum(v for _, v in parts), 1e-9)
    x = float(frame.left)
    y, h = frame.top + 8, 28
    frame.parts.append(f'<text x="{frame.left}" y="16" font-weight="600" font-size="13">{escape(title)}</text>')
    frame.parts.append(
        f'<rect x="{frame.left}" y="{y}" width="{frame.plot_w}" height="{h}" fill="#f3f4f6" stroke="#d1d5db"/>'
    )
    legend = []
    for i, (name, value) in enumerate(parts):
        w = max(value, 0.0) / total * frame.plot_w
        color = PALETTE[i % len(PALETTE)]
        frame.parts.append(
            f'<rect class="part" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h}" fill="{color}">'
            f"<title>{escape(name)}: {value:.1f} {unit}</title></rect>"
        )
        if w > 44:
            frame.parts.append(
                f'<text x="{x + w / 2:.1f}" y="{y + 18}" text-anchor="middle" fill="#fff">{value:.1f}</text>'
            )
        legend.append((f"{name} {value:.1f} {unit}", color))
        x += w
    lx = frame.left
    for name, color in legend:
        frame.parts.append(
            f'<rect x="{lx}" y="{y + h + 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{y + h + 23}" fill="#374151">{escape(name)}</text>'
        )
        lx += 22 + int(6.4 * len(name))
    frame.parts.append(
        f'<text x="{frame.left + frame.plot_w}" y="16" text-anchor="end" fill="#4b5563">of {capacity:.1f} {unit}</text>'
    )
    return _svg(frame, "stacked-bar", len(parts), title)


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str, width: int = 560, highlight: int | None = None) -> Svg:
    """Horizontal bars, one per row, longest scale from 0; ``highlight`` outlines one bar (the chosen plan)."""
    row = 22
    frame = _Frame(width, 44 + row * max(len(bars), 1), left=250, right=80, top=26, bottom=18)
    high = max([b.value for b in bars if math.isfinite(b.value)] or [1.0]) or 1.0
    groups: dict[str, str] = {}
    frame.parts.append(f'<text x="8" y="16" font-weight="600" font-size="13">{escape(title)}</text>')
    for i, b in enumerate(bars):
        color = groups.setdefault(b.group, PALETTE[len(groups) % len(PALETTE)])
        y = frame.top + i * row
        w = max(b.value, 0.0) / high * frame.plot_w if math.isfinite(b.value) else 0.0
        stroke = ' stroke="#111827" stroke-width="2"' if i == highlight else ""
        frame.parts.append(
            f'<text x="{frame.left - 6}" y="{y + 14}" text-anchor="end" fill="#374151">{escape(_short(b.label))}</text>'
            f'<rect class="bar" x="{frame.left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{color}"{stroke}>'
            f"<title>{escape(b.label)}: {escape(labelled(b.value, unit))} {escape(b.note)}</title></rect>"
            f'<text x="{frame.left + w + 4:.1f}" y="{y + 14}" fill="#111827">{escape(labelled(b.value, unit))}</text>'
        )
    if len(groups) > 1:
        x = frame.left
        legend_y = frame.top + len(bars) * row + 4
        for name, color in groups.items():
            frame.parts.append(
                f'<rect x="{x}" y="{legend_y}" width="10" height="10" fill="{color}"/>'
                f'<text x="{x + 14}" y="{legend_y + 9}" fill="#374151">{escape(name)}</text>'
            )
            x += 30 + 7 * len(name)
        frame.height += 12
    return _svg(frame, "bars", len(bars), title)
