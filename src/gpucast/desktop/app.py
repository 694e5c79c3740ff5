"""The window: Inference, Training, Forecast and History tabs, a status line, a worker thread, shortcuts.

Planning runs in a worker thread and hands its result back through a queue the Tk loop polls, so the window never
freezes and Tk is only ever touched from the main thread. Enter plans, Ctrl+S saves the result to the history,
Ctrl+E exports it. The forms' last values are remembered in the settings file (:mod:`.settings`).
"""

from __future__ import annotations

import queue
import threading
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import filedialog, ttk
from typing import Any, cast

from ..errors import GpucastError
from ..wording import shorten_quoted
from . import forms_spec, history
from .compute import forecast_values, plan_inference_values, plan_training_values, view_of_plan
from .exporting import formats_for, write_export
from .fields import off_form, values_from_sections
from .history_view import HistoryTab
from .settings import form_values, load_settings, save_settings
from .tabs import ForecastTab, PlanTab, fan_of_data

POLL_MS = 40  # how often the Tk loop looks for the worker's result
TABS = ("inference", "training", "forecast", "history")


class App:
    def __init__(self, root: tk.Tk, *, db: str | None = None, settings_file: Path | None = None) -> None:
        self.root = root
        self.db = db
        self.settings_file = settings_file
        self.settings = load_settings(settings_file)
        self.busy = False
        self._results: queue.Queue[tuple[bool, Any, Callable[[Any], None], Callable[[str], None]]] = queue.Queue()
        root.title("gpucast: capacity planning for LLM serving and training")
        root.geometry(self.settings.get("geometry") or "1420x900")
        root.minsize(1100, 700)
        self.notebook = ttk.Notebook(root)
        self.notebook.pack(fill="both", expand=True)
        remembered = {tab: form_values(self.settings, tab) for tab in TABS}
        self.inference = PlanTab(self.notebook, self, "inference", forms_spec.inference_fields(),
                                 forms_spec.check_inference, plan_inference_values, remembered["inference"])  # fmt: skip
        self.training = PlanTab(self.notebook, self, "training", forms_spec.training_fields(),
                                forms_spec.check_training, plan_training_values, remembered["training"])  # fmt: skip
        self.forecast = ForecastTab(self.notebook, self, forms_spec.forecast_fields(), forms_spec.check_forecast,
                                    forecast_values, remembered["forecast"])  # fmt: skip
        self.history = HistoryTab(self.notebook, self)
        for tab, text in ((self.inference, "Inference"), (self.training, "Training"), (self.forecast, "Forecast"),
                          (self.history, "History")):  # fmt: skip
            self.notebook.add(tab, text=text)
        self.tabs: list[Any] = [self.inference, self.training, self.forecast, self.history]
        self.status = ttk.Label(root, anchor="w", padding=(6, 2), relief="sunken")
        self.status.pack(fill="x", side="bottom")
        self.set_status(f"Ready. Plans are saved to {self.db_label()}.")
        root.bind("<Return>", lambda _e: self.plan_current())
        root.bind("<KP_Enter>", lambda _e: self.plan_current())
        root.bind("<Control-s>", lambda _e: self.save())
        root.bind("<Control-e>", lambda _e: self.export_dialog())
        self.notebook.bind("<<NotebookTabChanged>>", self._tab_changed)
        root.protocol("WM_DELETE_WINDOW", self.close)

    # -- helpers -------------------------------------------------------------------------------------------------
    def db_label(self) -> str:
        try:
            from ..store.db import resolve_url

            return resolve_url(self.db)
        except ImportError:
            return "the database (needs gpucast[store])"

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.configure(text=text, foreground="#b00020" if error else "")

    def failed(self, message: str) -> None:
        self.set_status(message, error=True)

    def current(self) -> Any:
        return self.tabs[int(cast(Any, self.notebook).index("current"))]

    def _tab_changed(self, _event: object) -> None:
        if self.current() is self.history:
            self.history.refresh()

    def remember(self, tab: str, values: dict[str, str]) -> None:
        self.settings[tab] = values
        save_settings(self.settings, self.settings_file)

    # -- the worker ------------------------------------------------------------------------------------------------
    def run_worker(self, job: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> bool:
        """Run ``job`` in a thread; ``done(result)`` or ``failed(one line)`` then run in the Tk thread."""
        if self.busy:
            self.set_status("Still working on the last request…")
            return False
        self.busy = True
        self.root.configure(cursor="watch")

        def work() -> None:
            try:
                self._results.put((True, job(), done, failed))
            except GpucastError as error:
                self._results.put((False, shorten_quoted(str(error)), done, failed))
            except Exception as error:  # an internal error: one line in the window, not a dead worker
                self._results.put((False, f"internal error: {type(error).__name__}: {error}", done, failed))

        threading.Thread(target=work, name="gpucast-desktop-worker", daemon=True).start()
        self.root.after(POLL_MS, self._poll)
        return True

    def _poll(self) -> None:
        try:
            ok, value, done, failed = self._results.get_nowait()
        except queue.Empty:
            self.root.after(POLL_MS, self._poll)
            return
        self.busy = False
        self.root.configure(cursor="")
        (done if ok else failed)(value)

    # -- actions ----------------------------------------------------------------------------------------------------
    def plan_current(self) -> None:
        tab = self.current()
        if isinstance(tab, (PlanTab, ForecastTab)):
            tab.plan()
        elif tab is self.history:
            self.history.open_selected()

    def save(self) -> None:
        """Ctrl+S: store the current tab's result in the history database."""
        tab = self.current()
        found = tab.saved_result() if isinstance(tab, (PlanTab, ForecastTab)) else None
        if found is None:
            self.set_status("Nothing to save yet: plan first (Enter)", error=True)
            return
        command, kind, sections, result = found
        db = self.db
        self.run_worker(lambda: history.save(db, command=command, kind=kind, sections=sections, result=result),
                        lambda saved: self.set_status(f"Plan saved as {saved.plan_id} in {saved.url}"),
                        self.failed)  # fmt: skip

    def open_plan(self, plan_id: int) -> None:
        """Open a stored plan in its tab: the form it came from (when the desktop saved it) and its result."""
        db = self.db

        def job() -> tuple[dict[str, Any], Any]:
            record = history.record(db, plan_id)
            if record["kind"] in ("inference", "training"):
                from ..export.plan_file import check_plan

                check_plan(record["result"], f"history plan {plan_id} ({record['command']})")
                return record, view_of_plan(record["result"], (record.get("inputs") or {}).get("sections"))
            return record, None

        self.run_worker(job, self._opened, self.failed)

    def _opened(self, found: tuple[dict[str, Any], Any]) -> None:
        record, view = found
        sections = (record.get("inputs") or {}).get("sections") or {}
        if record["kind"] == "forecast":
            result = record["result"]
            if not isinstance(result, dict) or "forecast" not in result:
                self.set_status(f"Plan {record['id']} is a fleet forecast: see `gpucast history show`", error=True)
                return
            cast(Any, self.notebook).select(self.forecast)
            if sections:
                self.forecast.form.set_values(values_from_sections(self.forecast.form.fields, sections))
            from .compute import ForecastView, forecast_summary

            self.forecast.shown(ForecastView(result, fan_of_data(result), forecast_summary(result),
                                             list(result.get("capacity", [])), list(result.get("warnings", [])),
                                             sections))  # fmt: skip
        else:
            tab = self.inference if record["kind"] == "inference" else self.training
            cast(Any, self.notebook).select(tab)
            if sections:
                inference = tab is self.inference
                values = (
                    forms_spec.inference_values(sections)
                    if inference
                    else values_from_sections(tab.form.fields, sections)
                )
                tab.form.set_values(values)
            tab.shown(view)
            hidden = off_form(tab.form.fields, sections)
            if hidden:  # planning again from the form would drop them: say so
                self.set_status(f"Opened plan {record['id']} ({record['kind']}, {record['created_at'][:16]}); not on "
                                f"the form, so planning again drops: {', '.join(hidden)}")  # fmt: skip
                return
        self.set_status(f"Opened plan {record['id']} ({record['kind']}, {record['created_at'][:16]})")

    def export_dialog(self) -> None:
        """Ctrl+E: pick a format and a file; the text is the CLI exporter's."""
        tab = self.current()
        view = getattr(tab, "view", None)
        if not isinstance(tab, PlanTab) or view is None:
            self.set_status("Nothing to export: plan first (Enter) on the Inference or Training tab", error=True)
            return
        ExportDialog(self, view.plan)

    def export(self, plan: dict[str, Any], key: str, path: str | Path) -> None:
        try:
            written = write_export(plan, key, path)
        except GpucastError as error:
            self.failed(str(error))
            return
        self.set_status(f"Exported to {written}")

    def close(self) -> None:
        self.settings["geometry"] = self.root.geometry()
        for name, tab in (("inference", self.inference), ("training", self.training), ("forecast", self.forecast)):
            self.settings[name] = tab.form.values()
        save_settings(self.settings, self.settings_file)
        self.root.destroy()


class ExportDialog(tk.Toplevel):
    """The formats the plan has, and a file to write the chosen one to."""

    def __init__(self, app: App, plan: dict[str, Any]) -> None:
        super().__init__(app.root)
        self.app, self.plan = app, plan
        self.title("gpucast: export")
        self.transient(app.root)
        self.formats = formats_for(str(plan.get("kind", "inference")))
        self.choice = tk.StringVar(self, value=self.formats[0].key)
        ttk.Label(self, text="Export the plan as", padding=6).pack(anchor="w")
        for option in self.formats:
            ttk.Radiobutton(self, text=option.label, value=option.key, variable=self.choice).pack(anchor="w", padx=12)
        row = ttk.Frame(self, padding=6)
        row.pack(fill="x")
        ttk.Button(row, text="Save as…", command=self.save_as).pack(side="left")
        ttk.Button(row, text="Cancel", command=self.destroy).pack(side="left", padx=4)
        self.bind("<Escape>", lambda _e: self.destroy())

    def save_as(self) -> None:
        chosen = next(f for f in self.formats if f.key == self.choice.get())
        path = filedialog.asksaveasfilename(parent=self, defaultextension=chosen.suffix,
                                            initialfile=f"plan{chosen.suffix}")  # fmt: skip
        if path:
            self.app.export(self.plan, chosen.key, path)
            self.destroy()
