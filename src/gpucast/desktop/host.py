"""What the tabs need from the window (:class:`~.app.App`): the worker thread, the status line, saving, exports
and the history. A protocol, so the tabs do not import the window that holds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Host(Protocol):
    db: str | None

    def run_worker(self, job: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> bool:
        """Run ``job`` off the Tk thread; ``done(result)`` or ``failed(message)`` back on it."""
        ...

    def set_status(self, text: str, *, error: bool = False) -> None: ...

    def failed(self, message: str) -> None: ...

    def remember(self, tab: str, values: dict[str, str]) -> None: ...

    def save(self) -> None: ...

    def export_dialog(self) -> None: ...

    def open_plan(self, plan_id: int) -> None: ...

    def db_label(self) -> str: ...
