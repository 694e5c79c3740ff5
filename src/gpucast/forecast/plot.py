"""Fan charts of a forecast: the recent history, the forecast mean and its 80%/95% intervals.

Two outputs, chosen by the file's suffix: ``.html`` is a self-contained page with an inline SVG (axes, hourly
ticks per day, a legend; no script, no CDN, so it opens offline), and ``.png`` is drawn by matplotlib (needs the
``[forecast]`` extra; its Agg backend needs no display). Both show at most ``HISTORY_DAYS`` of history before the
forecast so the forecast stays readable.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..extras import install_hint
from .result import ForecastResult

HISTORY_DAYS = 14
FORMATS = (".html", ".htm", ".png")


@dataclass(frozen=True)
class FanData:
    """What a fan chart draws: history (timestamps, values) and the forecast's mean and bands."""

    title: str
    past_times: list[datetime]
    past: list[float]
    times: list[datetime]
    mean: list[float]
    lo80: list[float]
    hi80: list[float]
    lo95: list[float]
    hi95: list[float]


def fan_data(history: Any, result: ForecastResult) -> FanData:
    """Collect the series to draw from a History (its frame) and a forecast (levels 80 and 95 must be present)."""
    frame = history.frame[history.frame["unique_id"] == result.unique_id]
    if len(frame):
        cutoff = frame["ds"].iloc[-1] - timedelta(days=HISTORY_DAYS)
        frame = frame[frame["ds"] > cutoff]
    pts = result.forecast
    return FanData(
        title=f"gpucast forecast: {result.unique_id} ({result.scenario})",
        past_times=[t.to_pydatetime().replace(tzinfo=None) for t in frame["ds"]],
        past=[float(v) for v in frame["y"]],
        times=[datetime.strptime(p.timestamp, "%Y-%m-%dT%H:%M:%SZ") for p in pts],
        mean=[p.mean for p in pts],
        lo80=[p.lo80 for p in pts],
        hi80=[p.hi80 for p in pts],
        lo95=[p.lo95 for p in pts],
        hi95=[p.hi95 for p in pts],
    )


def write_fan_chart(path: Path, history: Any, result: ForecastResult) -> None:
    """Write the fan chart to ``path`` (.html/.htm or .png); a clear error for any other suffix or a write failure."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--plot {str(path)!r}: the file must end in one of {', '.join(FORMATS)}")
    data = fan_data(history, result)
    try:
        if suffix == ".png":
            _write_png(path, data)
        else:
            path.write_text(fan_chart_html(data), encoding="utf-8")
    except OSError as error:
        raise InputError(f"--plot {str(path)!r} cannot be written: {error.strerror}") from error


def _nice_step(top: float) -> float:
    """A round tick step giving about 5 ticks up to ``top`` (1, 2 or 5 times a power of ten)."""
    raw = max(top, 1e-9) / 5
    power = 10.0 ** math.floor(math.log10(raw))
    return next(f * power for f in (1, 2, 5, 10) if raw <= f * power)


def fan_chart_html(data: FanData) -> str:
    """A standalone HTML page with the fan chart as inline SVG: y axis in req/s, x ticks at midnight UTC."""
    width, height, left, bottom, top_pad = 960.0, 360.0, 70.0, 40.0, 10.0
    times = data.past_times + data.times
    if not times:
        raise InputError("nothing to plot: the history and the forecast are empty")
    start, end = times[0], times[-1]
    span = max((end - start).total_seconds(), 1.0)
    top = max([*data.past, *data.hi95, 1e-9]) * 1.05
    plot_w, plot_h = width - left - 10, height - bottom - top_pad

    def x(t: datetime) -> float:
        return left + (t - start).total_seconds() / span * plot_w

    def y(v: float) -> float:
        return top_pad + plot_h - v / top * plot_h

    def line(ts: list[datetime], vs: list[float]) -> str:
        return " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(ts, vs, strict=True))

    def band(lo: list[float], hi: list[float]) -> str:
        upper = [f"{x(t):.1f},{y(v):.1f}" for t, v in zip(data.times, hi, strict=True)]
        lower = [f"{x(t):.1f},{y(v):.1f}" for t, v in reversed(list(zip(data.times, lo, strict=True)))]
        return " ".join(upper + lower)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%">']
    step = _nice_step(top)
    tick = 0.0
    while tick <= top:
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:,.6g}</text>')
        tick += step
    day = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    every = max(1, round(span / 86_400 / 12))  # at most ~12 date labels
    count = 0
    while day <= end:
        if count % every == 0:
            parts.append(f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top_pad}" y2="{y(0):.1f}" stroke="#f4f4f4"/>')
            label = day.strftime("%m-%d")
            parts.append(f'<text x="{x(day):.1f}" y="{height - 22}" font-size="11" text-anchor="middle">{label}</text>')
        day += timedelta(days=1)
        count += 1
    if data.times:
        parts += [
            f'<polygon points="{band(data.lo95, data.hi95)}" fill="#c6dbef"/>',
            f'<polygon points="{band(data.lo80, data.hi80)}" fill="#6baed6"/>',
            f'<polyline points="{line(data.times, data.mean)}" fill="none" stroke="#08519c" stroke-width="1.5"/>',
        ]
    if data.past:
        parts.append(f'<polyline points="{line(data.past_times, data.past)}" fill="none" stroke="#333"/>')
    parts += [
        f'<line x1="{left}" x2="{left}" y1="{top_pad}" y2="{y(0):.1f}" stroke="#888"/>',
        f'<line x1="{left}" x2="{width - 10}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>',
        f'<text x="14" y="{top_pad + plot_h / 2:.0f}" font-size="12" transform="rotate(-90 14 {top_pad + plot_h / 2:.0f})"'
        ' text-anchor="middle">requests/s</text>',
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" font-size="12" text-anchor="middle">date (UTC)</text>',
        "</svg>",
    ]
    title = html.escape(data.title)
    peak = max(data.hi80, default=0.0)
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{title}</title>"
        "<body style='font-family:sans-serif;max-width:1000px;margin:auto'>"
        f"<h1 style='font-size:1.3em'>{title}</h1>"
        "<p>History (grey), forecast mean (dark blue), 80% interval (blue) and 95% interval (light blue); "
        f"highest upper-80% bound {peak:,.2f} req/s.</p>" + "".join(parts) + "</body></html>"
    )


def _write_png(path: Path, data: FanData) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(f"--plot FILE.png needs matplotlib; {install_hint('forecast')} (or use FILE.html)") from None
    import numpy as np

    times = np.array(data.times, dtype="datetime64[s]")
    past_times = np.array(data.past_times, dtype="datetime64[s]")
    fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
    try:
        if data.times:
            ax.fill_between(times, data.lo95, data.hi95, color="#c6dbef", label="95% interval", linewidth=0)
            ax.fill_between(times, data.lo80, data.hi80, color="#6baed6", label="80% interval", linewidth=0)
            ax.plot(times, data.mean, color="#08519c", linewidth=1.3, label="forecast mean")
        if data.past:
            ax.plot(past_times, data.past, color="#333333", linewidth=0.9, label="history")
        ax.set_title(data.title)
        ax.set_ylabel("requests/s")
        ax.set_xlabel("date (UTC)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
