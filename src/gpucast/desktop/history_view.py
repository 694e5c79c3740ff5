"""The History tab: the plans in the database (newest first), open one, compare two side by side."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from . import history
from .host import Host
from .result_view import tree

COLUMNS = ("id", "created", "kind", "command", "GPU", "GPUs", "$/month", "by")


def row_values(record: dict[str, Any]) -> tuple[Any, ...]:
    """One history row as ``gpucast history`` prints it."""
    cost = record.get("monthly_cost")
    return (record["id"], str(record["created_at"])[:16].replace("T", " "), record["kind"], record["command"],
            record.get("gpu_type") or "—", record.get("total_gpus") or "—",
            "—" if cost is None else f"${cost:,.0f}", record.get("created_by") or "")  # fmt: skip


class HistoryTab(ttk.Frame):
    def __init__(self, parent: tk.Misc, app: Host) -> None:
        super().__init__(parent, padding=6)
        self.app = app
        top = ttk.Frame(self)
        top.pack(fill="x", pady=(0, 4))
        self.buttons = {
            "refresh": ttk.Button(top, text="Refresh", command=self.refresh),
            "open": ttk.Button(top, text="Open", command=self.open_selected),
            "compare": ttk.Button(top, text="Compare two side by side", command=self.compare_selected),
        }
        for button in self.buttons.values():
            button.pack(side="left", padx=(0, 4))
        self.where = ttk.Label(top, foreground="#666666")
        self.where.pack(side="left", padx=8)
        self.list = tree(self, COLUMNS, (50, 150, 80, 90, 120, 60, 90, 100), height=20)
        self.list.configure(selectmode="extended")
        self.list.bind("<Double-1>", lambda _e: self.open_selected())
        self.compare_window: tk.Toplevel | None = None
        self.compare_rows: list[tuple[str, str, str]] = []

    def refresh(self) -> None:
        self.app.run_worker(lambda: history.records(self.app.db), self.listed, self.app.failed)

    def listed(self, records: list[dict[str, Any]]) -> None:
        self.list.delete(*self.list.get_children())
        for record in records:
            self.list.insert("", "end", iid=str(record["id"]), values=row_values(record))
        self.where.configure(text=f"{len(records)} plan(s) in {self.app.db_label()}")

    def selected(self) -> list[int]:
        return [int(iid) for iid in self.list.selection()]

    def open_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            self.app.set_status("Select one plan to open", error=True)
            return
        self.app.open_plan(chosen[0])

    def compare_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) != 2:
            self.app.set_status("Select two plans (Ctrl+click) to compare them", error=True)
            return
        a, b = sorted(chosen)
        db = self.app.db

        def job() -> tuple[int, int, list[tuple[str, str, str]], list[dict[str, Any]]]:
            left, right = history.record(db, a), history.record(db, b)
            kinds = {left["kind"], right["kind"]}
            rows = history.side_by_side(left["result"], right["result"]) if kinds <= {"inference", "training"} else []
            return a, b, rows, history.differences(db, a, b)

        self.app.run_worker(job, self.compared, self.app.failed)

    def compared(self, found: tuple[int, int, list[tuple[str, str, str]], list[dict[str, Any]]]) -> None:
        a, b, rows, diffs = found
        self.compare_rows = rows
        if self.compare_window is not None and self.compare_window.winfo_exists():
            self.compare_window.destroy()
        window = tk.Toplevel(self)
        window.title(f"gpucast: plan {a} vs plan {b}")
        window.geometry("1100x640")
        self.compare_window = window
        ttk.Label(window, text=f"Plan {a} and plan {b} side by side", padding=4).pack(anchor="w")
        side = tree(window, ("quantity", f"plan {a}", f"plan {b}"), (330, 360, 360), height=16)
        for name, left, right in rows:
            tags = ("differs",) if left != right else ()
            side.insert("", "end", values=(name, left, right), tags=tags)
        side.tag_configure("differs", background="#fff3cd")
        ttk.Label(window, text=f"{len(diffs)} field(s) differ (gpucast history diff {a} {b})", padding=4).pack(
            anchor="w"
        )
        changed = tree(window, ("field", f"plan {a}", f"plan {b}"), (380, 330, 330), height=8)
        for diff in diffs:
            changed.insert("", "end", values=(diff["field"], str(diff["a"]), str(diff["b"])))
        self.app.set_status(f"Compared plan {a} with plan {b}: {len(diffs)} field(s) differ")
