"""Helpers of the desktop tests: a private Xvfb display per test module, and driving Tk with generated events."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import tkinter as tk
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

KEYSYMS = {".": "period", "-": "minus", " ": "space", "/": "slash", "_": "underscore", ",": "comma"}


def free_display() -> int:
    """A display number no X server uses on this machine (no lock file, no socket)."""
    for number in range(90, 400):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :399")


@contextmanager
def xvfb() -> Iterator[str]:
    """Start Xvfb on a free display, point $DISPLAY at it for the block, stop it after (skip without Xvfb)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the desktop window tests need a display")
    for _attempt in range(5):
        number = free_display()
        process = subprocess.Popen([exe, f":{number}", "-screen", "0", "1440x960x24", "-nolisten", "tcp"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while process.poll() is None and not Path(f"/tmp/.X11-unix/X{number}").exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if process.poll() is None and Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        process.kill()
        process.wait()
    else:
        raise RuntimeError("Xvfb did not start")
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    try:
        yield f":{number}"
    finally:
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pump(root: tk.Misc, seconds: float = 0.0) -> None:
    """Run the Tk loop for a while (pending events, timers)."""
    end = time.monotonic() + seconds
    while True:
        root.update()
        if time.monotonic() >= end:
            return
        time.sleep(0.01)


def wait_idle(app: object, timeout: float = 60.0) -> None:
    """Run the Tk loop until the app's worker has handed its result back."""
    root = app.root  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while app.busy:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise TimeoutError("the desktop worker did not finish")
        root.update()
        time.sleep(0.01)
    root.update()


def type_into(widget: tk.Widget, text: str) -> None:
    """Replace a field's text by key events: focus it, BackSpace over its text, then type ``text``."""
    widget.focus_force()
    widget.update()
    current = widget.get()  # type: ignore[attr-defined]
    widget.icursor("end")  # type: ignore[attr-defined]
    for _ in current:
        widget.event_generate("<KeyPress>", keysym="BackSpace")
    for char in text:
        widget.event_generate("<KeyPress>", keysym=KEYSYMS.get(char, char))
    widget.update()
