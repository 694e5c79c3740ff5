"""The planning tabs: a form on the left, its result on the right; "Plan" (Enter) computes in the worker thread.

:class:`PlanTab` serves the inference and training forms (both end in a plan dict and a :class:`ResultView`);
:class:`ForecastTab` opens a history file and shows the forecast's fan chart and capacity timeline.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from datetime import datetime
from tkinter import ttk
from typing import Any

from . import canvas_charts
from .compute import Bar, ForecastView, PlanView
from .fields import Field
from .forms import Form
from .host import Host
from .result_view import ResultView, tree


def _buttons(parent: tk.Misc, tab: Any, app: Host) -> dict[str, ttk.Button]:
    row = ttk.Frame(parent)
    row.pack(fill="x", pady=6)
    buttons = {
        "plan": ttk.Button(row, text="Plan  (Enter)", command=tab.plan),
        "save": ttk.Button(row, text="Save  (Ctrl+S)", command=app.save),
        "export": ttk.Button(row, text="Export…  (Ctrl+E)", command=app.export_dialog),
    }
    for button in buttons.values():
        button.pack(side="left", padx=(0, 4))
    return buttons


class PlanTab(ttk.Frame):
    """The inference or training form and its result."""

    def __init__(self, parent: tk.Misc, app: Host, kind: str, fields: tuple[Field, ...],
                 check: Callable[[dict[str, Any]], None], compute: Callable[[dict[str, str]], PlanView],
                 values: dict[str, str]) -> None:  # fmt: skip
        super().__init__(parent)
        self.app, self.kind, self.compute = app, kind, compute
        self.view: PlanView | None = None
        left = ttk.Frame(self, padding=4)
        left.pack(side="left", fill="y")
        self.form = Form(left, fields, check, values)
        self.form.pack(fill="x")
        self.buttons = _buttons(left, self, app)
        self.result = ResultView(self, serving=kind == "inference")
        self.result.pack(side="left", fill="both", expand=True)

    def plan(self) -> None:
        """Check the form; when it is clean, plan in the worker thread (the window stays responsive)."""
        if not self.form.validate():
            self.app.set_status(next(iter(self.form.errors.values()), self.form.general), error=True)
            return
        values = self.form.values()
        self.result.clear("Planning…")
        self.app.run_worker(lambda: self.compute(values), lambda view: self.shown(view, values), self.failed)

    def shown(self, view: PlanView, values: dict[str, str] | None = None) -> None:
        self.view = view
        self.result.show(view)
        if values is not None:
            self.app.remember(self.kind, values)
        self.app.set_status(view.report.title)

    def failed(self, message: str) -> None:
        self.view = None
        self.result.clear(f"No plan: {message}")
        self.form.general_label.configure(text=message)
        self.app.set_status(message, error=True)

    def saved_result(self) -> tuple[str, str, dict[str, Any] | None, Any] | None:
        """(command, kind, sections, result) to store, or None without a plan."""
        if self.view is None:
            return None
        return self.kind, self.kind, self.view.sections, self.view.plan


class ForecastTab(ttk.Frame):
    """``gpucast predict`` in a window: a history file in, the fan chart and the capacity timeline out."""

    def __init__(self, parent: tk.Misc, app: Host, fields: tuple[Field, ...],
                 check: Callable[[dict[str, Any]], None], compute: Callable[[dict[str, str]], ForecastView],
                 values: dict[str, str]) -> None:  # fmt: skip
        super().__init__(parent)
        self.app, self.compute = app, compute
        self.kind = "forecast"
        self.view: ForecastView | None = None
        left = ttk.Frame(self, padding=4)
        left.pack(side="left", fill="y")
        self.form = Form(left, fields, check, values)
        self.form.pack(fill="x")
        self.buttons = _buttons(left, self, app)
        self.buttons["export"].configure(state="disabled")  # forecasts export as JSON through Save / the history
        right = ttk.Frame(self, padding=4)
        right.pack(side="left", fill="both", expand=True)
        self.summary = tree(right, ("value",), (560,), show="tree headings", height=7)
        self.summary.heading("#0", text="forecast")
        self.fan = tk.Canvas(right, width=940, height=300, background="white", highlightthickness=0)
        self.fan.pack(fill="x", pady=4)
        lower = ttk.Frame(right)
        lower.pack(fill="both", expand=True)
        table = ttk.Frame(lower)
        table.pack(side="left", fill="y")
        columns = ("period", "peak req/s", "replicas", "GPUs", "GPU", "$/month")
        self.timeline = tree(table, columns, (90, 90, 70, 60, 90, 90), height=8)
        self.timeline_chart = tk.Canvas(lower, width=300, height=220, background="white", highlightthickness=0)
        self.timeline_chart.pack(side="left", fill="both", expand=True, padx=4)
        self.bars: list[Bar] = []
        self._redraw: str | None = None
        right.bind("<Configure>", lambda _e: self._schedule_draw())

    def _schedule_draw(self) -> None:
        if self._redraw is not None:
            self.after_cancel(self._redraw)
        self._redraw = self.after(120, self.draw)

    def draw(self) -> None:
        """The fan chart and the capacity timeline at the canvases' current size."""
        self._redraw = None
        if self.view is None:
            return
        canvas_charts.fan_chart(self.fan, self.view.fan)
        canvas_charts.bar_chart(self.timeline_chart, self.bars, title="GPUs per period", unit="GPUs")

    def plan(self) -> None:
        if not self.form.validate():
            self.app.set_status(next(iter(self.form.errors.values()), self.form.general), error=True)
            return
        values = self.form.values()
        self.app.set_status("Forecasting… (fitting the ensemble takes a few seconds)")
        self.app.run_worker(lambda: self.compute(values), lambda view: self.shown(view, values), self.failed)

    def shown(self, view: ForecastView, values: dict[str, str] | None = None) -> None:
        self.view = view
        for widget in (self.summary, self.timeline):
            widget.delete(*widget.get_children())
        for name, value in view.summary:
            self.summary.insert("", "end", text=name, values=(value,))
        for warning in view.warnings:
            self.summary.insert("", "end", text="warning", values=(warning,))
        bars = []
        for period in view.timeline:
            cost = period.get("monthly_cost")
            self.timeline.insert("", "end", values=(
                period["period_start"], f"{period['peak_rps']:,.2f}", period["replicas"], period["gpus"],
                period["gpu_type"], "n/a" if cost is None else f"${cost:,.0f}"))  # fmt: skip
            bars.append(Bar(str(period["period_start"]), float(period["gpus"])))
        self.bars = bars
        self.draw()
        if values is not None:
            self.app.remember("forecast", values)
        self.app.set_status(f"Forecast of {view.data['unique_id']}: {len(view.data['forecast'])} steps")

    def failed(self, message: str) -> None:
        self.view = None
        self.form.general_label.configure(text=message)
        self.app.set_status(message, error=True)

    def saved_result(self) -> tuple[str, str, dict[str, Any] | None, Any] | None:
        if self.view is None:
            return None
        return "predict", "forecast", self.view.sections, self.view.data


def fan_of_data(data: dict[str, Any]) -> Any:
    """A fan chart of a stored forecast (its JSON holds the forecast, not the history it was fitted on)."""
    from ..forecast.plot import FanData

    points = data.get("forecast", [])
    return FanData(
        title=f"gpucast forecast: {data.get('unique_id', '')} ({data.get('scenario', '')})", past_times=[], past=[],
        times=[datetime.strptime(p["timestamp"], "%Y-%m-%dT%H:%M:%SZ") for p in points],
        mean=[p["mean"] for p in points], lo80=[p["lo80"] for p in points], hi80=[p["hi80"] for p in points],
        lo95=[p["lo95"] for p in points], hi95=[p["hi95"] for p in points],
    )  # fmt: skip
