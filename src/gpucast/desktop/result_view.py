"""The result of a plan: the CLI plan's sections in a tree, the charts on canvases, and the explain table on demand.

The sections are the report's (:class:`gpucast.reports.content.Report`: the key figures, GPU resources and memory,
throughput and latency, scaling, cost, warnings and risks, alternatives, assumptions and sources), so the window,
``gpucast report`` and the web page describe a plan in the same words.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any, cast

from ..wording import token_slo_label
from . import canvas_charts
from .compute import PlanView, memory_parts

CHART_SIZE = (330, 240)  # the smallest a chart is drawn; they grow with the window


def plan_sections(view: PlanView) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section title, rows of (quantity, value)) in the order the CLI prints a plan."""
    report = view.report
    plan = view.plan
    sections: list[tuple[str, list[tuple[str, str]]]] = [("Key figures", list(report.key_figures))]
    sections += [(table.title, [(row[0], row[1]) for row in table.rows]) for table in report.tables[1:]]
    warnings = list(plan.get("warnings", []))
    risks = [r for r in report.risks if r not in warnings]
    sections.append(("Warnings", [("warning", w) for w in warnings] or [("—", "none")]))
    sections.append(("Risks", [("risk", r) for r in risks] or [("—", "none found")]))
    sections.append(("Assumptions and sources", [("assumption", a) for a in report.assumptions]
                     + [("source", s) for s in report.sources]))  # fmt: skip
    sections.append(("Inputs", [(row[0], row[1]) for row in report.tables[0].rows]))
    return sections


def explain_rows(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``--explain``'s table: every intermediate quantity, its value and its formula."""
    return [(str(r.get("quantity", "")), str(r.get("value", "")), str(r.get("formula", "")))
            for r in plan.get("explain", [])]  # fmt: skip


def tree(parent: tk.Misc, columns: tuple[str, ...], widths: tuple[int, ...], *, show: str = "headings",
         height: int = 12) -> ttk.Treeview:  # fmt: skip
    """A Treeview with a vertical scrollbar, packed in ``parent``."""
    frame = ttk.Frame(parent)
    frame.pack(fill="both", expand=True)
    widget = ttk.Treeview(frame, columns=columns, show=show, height=height)  # type: ignore[arg-type]
    for column, width in zip(columns, widths, strict=True):
        widget.heading(column, text=column)
        widget.column(column, width=width, stretch=column == columns[-1], anchor="w")
    if show == "tree headings":
        widget.column("#0", width=270, stretch=False)
    bar = ttk.Scrollbar(frame, orient="vertical", command=widget.yview)
    widget.configure(yscrollcommand=bar.set)
    widget.pack(side="left", fill="both", expand=True)
    bar.pack(side="left", fill="y")
    return widget


class ResultView(ttk.Frame):
    """Summary line over a notebook: Plan (sections), Charts, Alternatives, Explain."""

    def __init__(self, parent: tk.Misc, *, serving: bool = True) -> None:
        super().__init__(parent, padding=4)
        self.view: PlanView | None = None
        self.summary = ttk.Label(self, text="No plan yet: fill the form and press Plan (Enter).", wraplength=900,
                                 justify="left")  # fmt: skip
        self.summary.pack(fill="x", pady=(0, 4))
        self.summary.bind("<Configure>", lambda e: self.summary.configure(wraplength=max(300, e.width - 8)))
        self.notebook = ttk.Notebook(self)
        self.notebook.pack(fill="both", expand=True)
        plan_tab, charts_tab, alternatives_tab, explain_tab = (ttk.Frame(self.notebook) for _ in range(4))
        for frame, text in ((plan_tab, "Plan"), (charts_tab, "Charts"), (alternatives_tab, "Alternatives"),
                            (explain_tab, "Explain")):  # fmt: skip
            self.notebook.add(frame, text=text)
        self.sections = tree(plan_tab, ("value",), (640,), show="tree headings", height=24)
        self.sections.heading("#0", text="quantity")
        self.canvases: dict[str, tk.Canvas] = {}
        names = ("throughput", "latency", "memory", "cost") if serving else ("memory", "cost")
        for index, name in enumerate(names):
            canvas = tk.Canvas(charts_tab, width=CHART_SIZE[0], height=CHART_SIZE[1], background="white",
                               highlightthickness=0)  # fmt: skip
            canvas.grid(row=index // 2, column=index % 2, padx=3, pady=3, sticky="nsew")
            charts_tab.rowconfigure(index // 2, weight=1)
            charts_tab.columnconfigure(index % 2, weight=1)
            self.canvases[name] = canvas
        self._redraw: str | None = None
        charts_tab.bind("<Configure>", lambda _e: self._schedule_redraw())
        self.alternatives = tree(alternatives_tab, ("GPU", "cloud", "GPUs", "TP", "replicas", "$/month",
                                                    "$/M tokens", "SLOs"), (170, 60, 50, 40, 70, 90, 90, 60))  # fmt: skip
        self.alternatives_note = ttk.Label(alternatives_tab, wraplength=800)
        self.alternatives_note.pack(fill="x")
        self.explain_button = ttk.Button(explain_tab, text="Show how the numbers were computed",
                                         command=self.show_explain)  # fmt: skip
        self.explain_button.pack(anchor="w", pady=4)
        self.explain = tree(explain_tab, ("quantity", "value", "formula"), (220, 160, 520), height=22)

    def clear(self, message: str) -> None:
        self.view = None
        self.summary.configure(text=message)
        for widget in (self.sections, self.alternatives, self.explain):
            widget.delete(*widget.get_children())
        for canvas in self.canvases.values():
            canvas.delete("all")

    def show(self, view: PlanView) -> None:
        """Fill every tab from a plan (the explain table waits for its button)."""
        self.clear(view.report.summary or view.report.title)
        self.view = view
        for title, rows in plan_sections(view):
            section = self.sections.insert("", "end", text=title, open=True)
            for name, value in rows:
                self.sections.insert(section, "end", text=name, values=(value,))
        self._alternatives(view)
        self._charts(view)

    def _alternatives(self, view: PlanView) -> None:
        table = view.report.alternatives
        self.alternatives_note.configure(text=view.report.alternatives_note if table is None else table.title)
        if table is None:
            return
        columns = table.headers
        self.alternatives.configure(columns=columns)
        for column in columns:
            self.alternatives.heading(column, text=column)
        for row in table.rows:
            self.alternatives.insert("", "end", values=row)

    def _charts(self, view: PlanView) -> None:
        plan = view.plan
        if view.chosen is not None:
            chosen = view.chosen
            canvas_charts.line_chart(
                self.canvases["throughput"], [("output tokens/s", [(p.concurrency, p.tokens_per_s) for p in view.curve])],
                title="Throughput per replica vs concurrency", x_label="requests in flight per replica",
                y_label="output tokens/s",
                marker=(chosen.concurrency, chosen.tokens_per_s,
                        f"plan: {chosen.concurrency:.0f} → {chosen.tokens_per_s:,.0f} tok/s"),
            )  # fmt: skip
            canvas_charts.line_chart(
                self.canvases["latency"], [("ITL ms", [(p.concurrency, p.itl_ms) for p in view.curve]),
                                           ("TTFT ms", [(p.concurrency, p.ttft_ms) for p in view.curve])],
                title="Latency vs concurrency (means)", x_label="requests in flight per replica",
                y_label="milliseconds", marker=(chosen.concurrency, chosen.itl_ms, f"plan: ITL {chosen.itl_ms:.0f} ms"),
                thresholds=[(view.itl_slo_ms, token_slo_label(view.slo_percentile, view.itl_slo_ms))]
                if view.itl_slo_ms else [],
            )  # fmt: skip
        parts, capacity, title = memory_parts(plan)
        canvas_charts.stacked_bar(self.canvases["memory"], parts, capacity, title=title)
        unit = "$/mo" if view.kind == "inference" else "$ total"
        title = "Monthly cost by GPU and cloud" if view.kind == "inference" else "Training cost by GPU and cloud"
        canvas_charts.bar_chart(self.canvases["cost"], view.alternatives, title=f"{title} (cheapest first)", unit=unit)

    def _schedule_redraw(self) -> None:
        """Redraw the charts at the new size once resizing pauses."""
        if self._redraw is not None:
            self.after_cancel(self._redraw)
        self._redraw = self.after(120, self._redraw_now)

    def _redraw_now(self) -> None:
        self._redraw = None
        if self.view is not None:
            for canvas in self.canvases.values():
                canvas.delete("all")
            self._charts(self.view)

    def show_explain(self) -> None:
        """``--explain``: fill the table of intermediate quantities (on demand: it is long)."""
        self.explain.delete(*self.explain.get_children())
        if self.view is None:
            return
        for row in explain_rows(self.view.plan):
            self.explain.insert("", "end", values=row)
        cast(Any, self.notebook).select(3)
