"""``gpucast desktop``: the planner in a native window (standard-library Tkinter/ttk; no extra dependency).

An adapter like the CLI, the conversation and the web pages: its forms become the same config sections the CLI's
flags become, validated by the same input checks, planned by the same application functions, saved to the same
history database and exported by the same exporters. Started by the CLI only (``gpucast desktop``).

Modules: :mod:`.launch` (the command: Tk and a display, or one line and exit 2), :mod:`.app` (the window, worker
thread, shortcuts), :mod:`.tabs` and :mod:`.forms` (forms and their results), :mod:`.result_view`,
:mod:`.canvas_charts`, :mod:`.history_view`; without widgets: :mod:`.fields` and :mod:`.forms_spec` (form text ->
sections -> checks), :mod:`.compute` (sections -> plans and chart data), :mod:`.history`, :mod:`.exporting`,
:mod:`.settings`.
"""
