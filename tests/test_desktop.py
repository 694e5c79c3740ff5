"""``gpucast desktop`` in real Tk windows on a private Xvfb display, driven by generated key events and button
invocations: the numbers on screen are the CLI's for the same inputs, bad input is reported beside its field,
plans go to the same history database as ``gpucast history`` reads, and come back from it."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import gpucast_exe

tk = pytest.importorskip("tkinter", reason="this Python has no Tk (tkinter): apt-get install python3-tk")

from desktop_support import pump, type_into, wait_idle, xvfb  # noqa: E402  (needs tkinter)
from gpucast.desktop.app import App  # noqa: E402

WORKLOAD = {"rps": "7.5", "input_tokens": "800", "output_tokens": "150"}
CLI_FLAGS = ["--model", "llama-3.1-8b", "--rps", "7.5", "--input-tokens", "800", "--output-tokens", "150"]


@pytest.fixture(scope="module")
def display():
    with xvfb() as name:
        yield name


@pytest.fixture
def app(display, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCAST_DESKTOP_SETTINGS", str(tmp_path / "settings.json"))
    root = tk.Tk()
    window = App(root, db=str(tmp_path / "history.db"))
    pump(root)
    yield window
    with contextlib.suppress(tk.TclError):  # unless the test closed the window itself
        root.destroy()


def cli_json(*args: str) -> object:
    done = subprocess.run([*gpucast_exe(), *args, "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fill(app: App, values: dict[str, str]) -> None:
    for name, text in values.items():
        type_into(app.inference.form.widgets[name], text)
    pump(app.root, 0.25)  # the form re-checks itself after typing pauses


def test_plan_from_typed_inputs_equals_the_cli_plan_with_charts_and_explain(app):
    fill(app, WORKLOAD)
    assert app.inference.form.errors == {}
    app.root.event_generate("<Return>")  # Enter plans
    assert app.busy  # planning runs in the worker thread
    wait_idle(app)
    plan = app.inference.view.plan
    assert plan == cli_json("inference", *CLI_FLAGS, "--cloud", "aws")
    result = app.inference.result
    titles = [result.sections.item(i, "text") for i in result.sections.get_children()]
    assert titles[:6] == ["Key figures", "GPUs and memory per GPU", "Throughput and latency per replica",
                          "Autoscaling", "Cost", "Warnings"]  # fmt: skip
    first = result.sections.get_children(result.sections.get_children()[0])[0]
    assert result.sections.item(first, "values")[0].startswith(f"{plan['gpu_resources']['total_gpus']} × ")
    throughput = result.canvases["throughput"]
    assert throughput.find_withtag("series") and len(throughput.find_withtag("marker")) == 2
    assert result.canvases["latency"].find_withtag("threshold")
    assert len(result.canvases["memory"].find_withtag("part")) == 4
    chosen = result.canvases["cost"].find_withtag("chosen")
    assert len(chosen) == 1  # the plan's own GPU x cloud among the alternatives
    assert not result.explain.get_children()  # the explain table is on demand
    result.explain_button.invoke()
    rows = [result.explain.item(i, "values") for i in result.explain.get_children()]
    assert [r[0] for r in rows] == [r["quantity"] for r in plan["explain"]]
    if shutil.which("xdotool"):  # a real top-level window on the X server
        found = subprocess.run(["xdotool", "search", "--name", "gpucast"], capture_output=True, text=True)
        assert found.stdout.strip()


def test_bad_input_shows_the_cli_message_beside_the_field_and_does_not_plan(app):
    form = app.inference.form
    fill(app, {"rps": "abc", "ttft": "-5"})
    assert form.error_labels["rps"].cget("text") == "argument --rps: invalid float value: 'abc'"
    assert form.error_labels["ttft"].cget("text") == "--ttft-slo-ms -5.0 must be greater than 0"
    type_into(form.widgets["model"], "no-such-model")
    pump(app.root, 0.25)
    assert form.errors["model"].startswith("--model 'no-such-model' is not in the catalog")
    app.root.event_generate("<Return>")
    assert not app.busy and app.inference.view is None
    assert app.status.cget("text") == "argument --rps: invalid float value: 'abc'"
    fill(app, {"rps": "10", "ttft": "2000"})
    type_into(form.widgets["model"], "llama-3.1-8b")
    pump(app.root, 0.25)
    assert form.errors == {} and form.error_labels["rps"].cget("text") == ""


def test_save_lists_in_cli_history_reopens_and_compares(app, tmp_path):
    fill(app, WORKLOAD)
    app.root.event_generate("<Return>")
    wait_idle(app)
    first = app.inference.view.plan
    app.root.event_generate("<Control-s>")
    wait_idle(app)
    assert app.status.cget("text").startswith("Plan saved as 1 in sqlite:///")
    listed = cli_json("history", "--db", str(tmp_path / "history.db"))
    assert [(p["id"], p["kind"], p["command"]) for p in listed] == [(1, "inference", "inference")]
    fill(app, {"rps": "30"})
    app.inference.buttons["plan"].invoke()
    wait_idle(app)
    app.inference.buttons["save"].invoke()
    wait_idle(app)
    app.notebook.select(app.history)  # switching to History refreshes the list
    pump(app.root)
    wait_idle(app)
    history = app.history
    assert history.list.get_children() == ("2", "1")
    history.list.selection_set("1")
    history.buttons["open"].invoke()
    wait_idle(app)
    assert app.current() is app.inference
    assert app.inference.view.plan == first
    assert app.inference.form.values()["rps"] == "7.5"
    app.notebook.select(app.history)
    pump(app.root)
    wait_idle(app)
    history.list.selection_set(("1", "2"))
    history.buttons["compare"].invoke()
    wait_idle(app)
    rows = {name: (a, b) for name, a, b in history.compare_rows}
    assert rows["capacity"][0].endswith("(7.5 req/s average)") and rows["capacity"][1].endswith("(30 req/s average)")
    assert history.compare_window is not None and history.compare_window.winfo_exists()


def test_training_tab_plans_as_the_cli_does(app):
    app.notebook.select(app.training)
    pump(app.root)
    form = app.training.form
    form.vars["method"].set("qlora")
    type_into(form.widgets["dataset"], "200000000")
    pump(app.root, 0.25)
    app.root.event_generate("<Return>")
    wait_idle(app)
    plan = app.training.view.plan
    expected = cli_json("training", "--model", "llama-3.1-8b", "--method", "qlora", "--dataset-size", "200000000",
                        "--sequence-length", "4096", "--epochs", "1", "--global-batch-size", "64", "--cloud", "aws",
                        "--pricing", "on-demand", "--precision", "BF16", "--optimize", "speed",
                        "--framework", "default")  # fmt: skip
    assert plan == expected
    assert app.training.result.canvases["memory"].find_withtag("part")


def test_export_writes_what_the_cli_exporters_write(app, tmp_path, monkeypatch):
    fill(app, WORKLOAD)
    app.root.event_generate("<Return>")
    wait_idle(app)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(app.inference.view.plan))
    app.root.event_generate("<Control-e>")
    pump(app.root)
    dialogs = [w for w in app.root.winfo_children() if isinstance(w, tk.Toplevel)]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert [f.key for f in dialog.formats] == ["json", "md", "html", "vllm", "sglang", "trtllm", "k8s"]
    for key, cli in (("vllm", ["export", "vllm", str(plan_file)]), ("k8s", ["export", "k8s", str(plan_file)])):
        target = tmp_path / f"out-{key}"
        # the native "save as" dialog is the one part not driven here: it answers with the file chosen
        monkeypatch.setattr("gpucast.desktop.app.filedialog.asksaveasfilename", lambda t=target, **_kw: str(t))
        dialog.choice.set(key)
        dialog.save_as()
        pump(app.root)
        done = subprocess.run([*gpucast_exe(), *cli], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert target.read_text() == done.stdout
        assert app.status.cget("text") == f"Exported to {target}"
        app.root.event_generate("<Control-e>")
        pump(app.root)
        dialog = next(w for w in app.root.winfo_children() if isinstance(w, tk.Toplevel))


def test_last_inputs_are_remembered_and_the_model_picker_types_ahead(app, tmp_path):
    fill(app, {"rps": "12"})
    model = app.inference.form.widgets["model"]
    type_into(model, "qwen")
    model.event_generate("<KeyRelease>", keysym="n")
    pump(app.root)
    offered = model.cget("values")
    assert offered and all("qwen" in str(name).lower() for name in offered)
    type_into(model, "llama-3.1-8b")
    app.close()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["inference"]["rps"] == "12"
    root = tk.Tk()
    again = App(root, db=str(tmp_path / "history.db"))
    try:
        assert again.inference.form.values()["rps"] == "12"
    finally:
        root.destroy()


def test_forecast_tab_draws_the_fan_chart_and_the_cli_capacity_timeline(app, tmp_path):
    history_file = str(Path(__file__).parents[1] / "data" / "traffic" / "servegen_m_small.csv")
    app.notebook.select(app.forecast)
    pump(app.root)
    form = app.forecast.form
    form.vars["history"].set(history_file)  # what the "Open…" file dialog fills in
    for name, text in (("horizon", "2d"), ("model", "llama-3.1-8b"), ("current_gpus", "20")):
        type_into(form.widgets[name], text)
    pump(app.root, 0.25)
    assert form.errors == {}
    # the CLI's forecast of the same inputs runs meanwhile (fitting takes seconds; the two share the cores)
    cli = subprocess.Popen([*gpucast_exe(), "predict", "--history", history_file, "--horizon", "2d", "--model",
                            "llama-3.1-8b", "--current-gpus", "20", "--json"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    app.root.event_generate("<Return>")
    wait_idle(app, timeout=120)
    data = app.forecast.view.data
    output, _ = cli.communicate(timeout=120)
    assert cli.returncode == 0
    expected = json.loads(output)
    assert data["capacity"] == expected["capacity"]
    assert data["exceeds_capacity_at"] == expected["exceeds_capacity_at"]
    assert [p["mean"] for p in data["forecast"]] == [p["mean"] for p in expected["forecast"]]
    fan = app.forecast.fan
    assert fan.find_withtag("band80") and fan.find_withtag("band95") and len(fan.find_withtag("series")) == 2
    rows = [app.forecast.timeline.item(i, "values") for i in app.forecast.timeline.get_children()]
    assert [(r[0], int(r[3])) for r in rows] == [(p["period_start"], p["gpus"]) for p in expected["capacity"]]
    app.root.event_generate("<Control-s>")
    wait_idle(app)
    assert app.status.cget("text").startswith("Plan saved as 1 ")
    assert cli_json("history", "--db", str(tmp_path / "history.db"))[0]["kind"] == "forecast"
    app.forecast.view = None
    app.open_plan(1)  # reopened: the stored forecast and timeline (the history it was fitted on is not stored)
    wait_idle(app)
    pump(app.root, 0.2)
    assert app.forecast.view.data == data and form.values()["horizon"] == "2d"
    assert fan.find_withtag("band80") and len(fan.find_withtag("series")) == 1


def test_a_stored_comparison_is_refused_in_one_line_not_opened_as_a_plan(app, tmp_path):
    db = str(tmp_path / "history.db")
    done = subprocess.run([*gpucast_exe(), "compare", *CLI_FLAGS, "--top", "2", "--save", "--db", db],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    app.open_plan(1)
    wait_idle(app)
    assert app.status.cget("text").startswith("history plan 1 (compare) is not a gpucast plan")
    assert app.inference.view is None
