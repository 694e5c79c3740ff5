"""A form of :class:`~.fields.Field` rows: label, entry or picker, and the field's error beside it.

The form re-checks itself a moment after each keystroke with the planner's own validation (``check``, see
:func:`~.fields.check_form`), so a bad value shows the CLI's message next to the field while the user types.
Pickers: read-only comboboxes for choices, an editable one with type-ahead for the catalog model, a file button
for a config.json or a history file.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from functools import partial
from tkinter import filedialog, ttk
from typing import Any

from .fields import Field, check_form
from .forms_spec import chosen_values, matches

CHECK_DELAY_MS = 150  # re-check after typing pauses this long
ERROR_COLOR = "#b00020"
FILE_FIELDS = {"model_config": (("Hugging Face config", "*.json"), ("all files", "*")),
               "history": (("history", "*.csv *.tsv *.json *.jsonl *.ndjson *.parquet"), ("all files", "*"))}  # fmt: skip


class Form(ttk.Frame):
    """Fields in a grid; ``errors`` holds each field's current message, ``general`` one about no single field."""

    def __init__(self, parent: tk.Misc, fields: tuple[Field, ...], check: Callable[[dict[str, Any]], None],
                 values: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(parent, padding=6)
        self.fields = fields
        self.check = check
        self.vars: dict[str, tk.StringVar] = {}
        self.widgets: dict[str, tk.Widget] = {}
        self.error_labels: dict[str, ttk.Label] = {}
        self.errors: dict[str, str] = {}
        self.general = ""
        self._pending: str | None = None
        given = values or {}
        for row, field in enumerate(fields):
            self._row(row, field, given.get(field.name, field.default))
        self.general_label = ttk.Label(self, foreground=ERROR_COLOR, wraplength=520, justify="left")
        self.general_label.grid(row=len(fields), column=0, columnspan=3, sticky="w", pady=(6, 0))
        self.columnconfigure(2, weight=1)
        self.validate()

    def _row(self, row: int, field: Field, text: str) -> None:
        var = tk.StringVar(self, value=text, name=f"{self!s}.{field.name}".replace(".", "_"))
        self.vars[field.name] = var
        ttk.Label(self, text=field.label).grid(row=row, column=0, sticky="w", padx=(0, 6), pady=1)
        holder = ttk.Frame(self)
        holder.grid(row=row, column=1, sticky="we", pady=1)
        widget: tk.Widget
        if field.kind == "bool":
            widget = ttk.Checkbutton(holder, variable=var, onvalue="1", offvalue="0")
        elif field.choices and field.name not in ("model",):
            widget = ttk.Combobox(holder, textvariable=var, values=list(field.choices), state="readonly", width=20)
        elif field.choices:
            widget = ttk.Combobox(holder, textvariable=var, values=list(field.choices), width=20)
            widget.bind("<KeyRelease>", partial(self._type_ahead, widget, field), add="+")
        else:
            widget = ttk.Entry(holder, textvariable=var, width=22)
        widget.pack(side="left", fill="x", expand=True)
        if field.name in FILE_FIELDS:
            button = ttk.Button(holder, text="Open…", width=6, command=partial(self.browse, field.name))
            button.pack(side="left", padx=(3, 0))
        self.widgets[field.name] = widget
        message = ttk.Label(self, foreground=ERROR_COLOR, wraplength=250, justify="left", text=field.hint)
        message.grid(row=row, column=2, sticky="w", padx=(6, 0))
        self.error_labels[field.name] = message
        var.trace_add("write", lambda *_: self.schedule_check())

    def _type_ahead(self, widget: ttk.Combobox, field: Field, _event: object = None) -> None:
        """Narrow the model picker's list to the names that match what is typed (starts-with first)."""
        widget.configure(values=matches(field.choices, widget.get())[:40])

    def browse(self, name: str) -> None:
        path = filedialog.askopenfilename(parent=self, filetypes=FILE_FIELDS[name])
        if path:
            self.vars[name].set(path)

    def values(self) -> dict[str, str]:
        return {name: var.get() for name, var in self.vars.items()}

    def set_values(self, values: dict[str, str]) -> None:
        """Fill the form (fields not named keep their defaults) and check it."""
        for field in self.fields:
            self.vars[field.name].set(values.get(field.name, field.default))
        self.validate()

    def schedule_check(self) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
        self._pending = self.after(CHECK_DELAY_MS, self.validate)

    def validate(self) -> bool:
        """Check the form now; show each message beside its field. True when nothing is wrong."""
        self._pending = None
        self.errors, self.general = check_form(self.fields, chosen_values(self.values()), self.check)
        for field in self.fields:
            label = self.error_labels[field.name]
            text = self.errors.get(field.name)
            label.configure(text=text or field.hint, foreground=ERROR_COLOR if text else "#666666")
        self.general_label.configure(text=self.general)
        return not self.errors and not self.general
