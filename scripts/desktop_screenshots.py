"""Screenshots of ``gpucast desktop``'s tabs for docs/desktop.md: docs/screenshots/desktop-*.png.

    python scripts/desktop_screenshots.py            # starts its own Xvfb when $DISPLAY is not set
    python scripts/desktop_screenshots.py --out DIR  # write elsewhere

It opens the real window over a throwaway database and settings file, fills each form the way the tests do,
plans, and grabs the window with Pillow's ImageGrab (X11). The tests never run it: the PNGs are committed.
Needs Tk and, without a display, Xvfb (apt-get install xvfb).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
HISTORY = ROOT / "data" / "traffic" / "servegen_m_small.csv"


def start_xvfb() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    exe = shutil.which("Xvfb")
    if exe is None:
        sys.exit("no $DISPLAY and no Xvfb (apt-get install xvfb)")
    number = next(n for n in range(90, 400) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    process = subprocess.Popen([exe, f":{number}", "-screen", "0", "1440x960x24", "-nolisten", "tcp"])
    for _ in range(200):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{number}"
    return process


def settle(app: Any, seconds: float = 0.6) -> None:
    deadline = time.monotonic() + 120
    while app.busy and time.monotonic() < deadline:
        app.root.update()
        time.sleep(0.02)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.root.update()
        time.sleep(0.02)


def grab(window: tk.Misc, path: Path) -> None:
    from PIL import ImageGrab

    window.update()
    x, y = window.winfo_rootx(), window.winfo_rooty()
    box = (x, y, x + window.winfo_width(), y + window.winfo_height())
    ImageGrab.grab(bbox=box, xdisplay=os.environ["DISPLAY"]).save(path)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    try:
        with tempfile.TemporaryDirectory() as folder:
            os.environ["GPUCAST_DESKTOP_SETTINGS"] = str(Path(folder) / "settings.json")
            from gpucast.desktop.app import App

            root = tk.Tk(className="gpucast")
            app = App(root, db=str(Path(folder) / "history.db"))
            root.geometry("1420x900+0+0")
            shoot(app, out)
            root.destroy()
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()
    return 0


def shoot(app: Any, out: Path) -> None:
    settle(app)
    form = app.inference.form
    for name, value in (("model", "llama-3.1-70b"), ("precision", "FP8"), ("rps", "20"), ("input_tokens", "1500"),
                        ("output_tokens", "300")):  # fmt: skip
        form.vars[name].set(value)
    settle(app)
    app.inference.plan()
    settle(app)
    grab(app.root, out / "desktop-inference.png")
    app.inference.result.notebook.select(1)
    settle(app)
    grab(app.root, out / "desktop-charts.png")
    app.save()
    settle(app)
    form.vars["rps"].set("60")
    app.inference.result.notebook.select(0)
    settle(app)
    app.inference.plan()
    settle(app)
    app.save()
    settle(app)
    form.vars["rps"].set("abc")
    form.vars["ttft"].set("-5")
    settle(app)
    grab(app.root, out / "desktop-validation.png")
    form.vars["rps"].set("20")
    form.vars["ttft"].set("2000")
    app.notebook.select(app.training)
    app.training.form.vars["method"].set("qlora")
    settle(app)
    app.training.plan()
    settle(app)
    app.training.result.notebook.select(1)
    settle(app)
    grab(app.root, out / "desktop-training.png")
    app.notebook.select(app.forecast)
    for name, value in (("history", str(HISTORY)), ("horizon", "7d"), ("model", "llama-3.1-8b"),
                        ("current_gpus", "30")):  # fmt: skip
        app.forecast.form.vars[name].set(value)
    settle(app)
    app.forecast.plan()
    settle(app, 1.0)
    grab(app.root, out / "desktop-forecast.png")
    app.notebook.select(app.history)
    settle(app)
    app.history.list.selection_set(("1", "2"))
    settle(app)
    grab(app.root, out / "desktop-history.png")
    app.history.compare_selected()
    settle(app, 1.0)
    window = app.history.compare_window
    window.geometry("1100x640+0+0")
    settle(app)
    grab(window, out / "desktop-compare.png")


if __name__ == "__main__":
    sys.exit(main())
