"""The desktop's logic without a window: form text -> the CLI's messages, sections and plans; exports equal to the
CLI's; remembered settings; and ``gpucast desktop`` without Tk or without a display (one line, exit 2)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import gpucast_exe
from gpucast.desktop import compute, forms_spec
from gpucast.desktop.exporting import export_text, formats_for
from gpucast.desktop.fields import check_form, convert, sections_from_values, values_from_sections
from gpucast.desktop.settings import form_values, load_settings, save_settings
from gpucast.errors import InputError

FIELDS = forms_spec.inference_fields()
DEFAULTS = {f.name: f.default for f in FIELDS}
BASE = ["inference", "--model", "llama-3.1-8b", "--rps", "10", "--input-tokens", "500", "--output-tokens", "200"]


def cli_error(*args: str) -> str:
    """The CLI's one error line, without its "gpucast: error: " prefix and "(see ... --help)" suffix."""
    done = subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    line = done.stderr.strip()
    assert "\n" not in line
    return re.sub(r" \(see `gpucast [a-z-]+ --help`\)$", "", line.removeprefix("gpucast: error: "))


@pytest.mark.parametrize(
    ("field", "text", "flag"),
    [("rps", "abc", "--rps"), ("input_tokens", "5.5", "--input-tokens"), ("ttft", "-5", "--ttft-slo-ms"),
     ("peak", "0.5", "--peak-multiplier"), ("model", "no-such-model", "--model"), ("tp", "3", "--tp")],
)  # fmt: skip
def test_a_bad_field_gets_the_cli_message_for_the_same_flag(field, text, flag):
    errors, general = check_form(FIELDS, DEFAULTS | {field: text}, forms_spec.check_inference)
    assert general == ""
    assert list(errors) == [field]
    args = list(BASE)
    if flag in args:
        args[args.index(flag) + 1] = text
    else:
        args += [flag, text]
    assert errors[field] == cli_error(*args)


def test_every_bad_field_is_reported_at_once():
    values = DEFAULTS | {"rps": "x", "output_tokens": "0", "itl": "nan"}
    errors, _ = check_form(FIELDS, values, forms_spec.check_inference)
    assert set(errors) == {"rps", "output_tokens", "itl"}
    assert errors["output_tokens"] == "avg_output_tokens (--output-tokens) 0 must be greater than 0"


def test_form_text_becomes_the_cli_sections():
    sections = forms_spec.inference_sections(sections_from_values(FIELDS, DEFAULTS | {"gpu": "H100"}))
    assert sections == {
        "model": {"model_name": "llama-3.1-8b"},
        "gpu": {"gpu_type": "H100"},
        "serving": {"cloud": "aws", "pricing": "on-demand", "ttft_slo_ms": 2000.0, "itl_slo_ms": 100.0,
                    "slo_percentile": "99", "engine": "vllm", "require_slo": True},
        "workload": {"requests_per_second": 10.0, "avg_input_tokens": 500, "avg_output_tokens": 200,
                     "peak_load_multiplier": 1.5, "growth_rate": 0.0},
    }  # fmt: skip
    given = {k: v for k, v in DEFAULTS.items() if v not in ("", "default")}
    assert forms_spec.inference_values(sections) == given | {"gpu": "H100"}
    assert "allow_infeasible" not in values_from_sections(FIELDS, sections | {"serving": {}})
    assert convert(FIELDS[0], "  ") is None
    with pytest.raises(InputError, match="argument --rps: invalid float value: 'ten'"):
        sections_from_values(FIELDS, DEFAULTS | {"rps": "ten"})


def test_cheapest_cloud_is_the_cloud_of_compare_s_cheapest_row():
    view = compute.plan_inference_values(DEFAULTS | {"cloud": "cheapest", "gpu": "H100-SXM"})
    done = subprocess.run([*gpucast_exe(), "compare", *BASE[1:], "--gpus", "H100-SXM", "--json"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    rows = [r for r in json.loads(done.stdout) if r["meets_latency_sla"] and r["monthly_cost"] is not None]
    assert view.plan["cost"]["cloud"] == rows[0]["cloud"]
    assert view.plan["gpu_resources"]["recommended_gpu_type"] == "H100-SXM"


def test_config_json_replaces_the_catalog_model(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 2048, "num_hidden_layers": 16,
                                  "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 8192,
                                  "vocab_size": 128256, "max_position_embeddings": 131072}))  # fmt: skip
    values = DEFAULTS | {"model_config": str(config)}
    assert check_form(FIELDS, forms_spec.chosen_values(values), forms_spec.check_inference) == ({}, "")
    view = compute.plan_inference_values(values)
    assert view.plan["inputs"]["model"] == tmp_path.name
    assert view.chosen is not None and view.alternatives  # the curve and the comparison re-read the config.json
    assert export_text(view.plan, "md").startswith(f"# Serving plan: {tmp_path.name} on ")
    missing = forms_spec.chosen_values(DEFAULTS | {"model_config": str(tmp_path / "missing.json")})
    errors, _ = check_form(FIELDS, missing, forms_spec.check_inference)
    assert errors["model_config"].startswith(f"--model-config '{tmp_path / 'missing.json'}' cannot be read")


def test_exports_are_the_cli_exporters_output(tmp_path):
    plan = compute.plan_inference_values(DEFAULTS).plan
    path = tmp_path / "plan.json"
    path.write_text(export_text(plan, "json"))
    assert json.loads(path.read_text()) == plan
    for key, args in (("md", ["report", str(path)]), ("html", ["report", str(path), "--format", "html"]),
                      ("sglang", ["export", "sglang", str(path)])):  # fmt: skip
        done = subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert export_text(plan, key) == done.stdout
    training = {f.key for f in formats_for("training")}
    assert "vllm" not in training and {"json", "md", "k8s"} <= training
    with pytest.raises(
        InputError, match=r"export 'pdf' is not available for an inference plan \(accepted: json, md, html, vllm"
    ):
        export_text(plan, "pdf")


def test_settings_round_trip_and_a_broken_file_is_no_settings(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "desktop.json"
    monkeypatch.setenv("GPUCAST_DESKTOP_SETTINGS", str(path))
    assert load_settings() == {}
    assert save_settings({"inference": {"rps": "12", "bad": 3}})
    assert form_values(load_settings(), "inference") == {"rps": "12"}
    path.write_text("{not json")
    assert load_settings() == {}
    monkeypatch.delenv("GPUCAST_DESKTOP_SETTINGS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    from gpucast.desktop.settings import settings_path

    assert settings_path() == tmp_path / "xdg" / "gpucast" / "desktop.json"


def test_type_ahead_puts_names_starting_with_the_text_first():
    names = ("llama-3.1-8b", "meta-llama-70b", "qwen2.5-7b")
    assert forms_spec.matches(names, "LLA") == ["llama-3.1-8b", "meta-llama-70b"]
    assert forms_spec.matches(names, "") == list(names)


def test_without_a_display_the_command_says_so_in_one_line_and_exits_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([*gpucast_exe(), "desktop"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("gpucast: error: the desktop app needs a display (no $DISPLAY")


def test_without_tk_the_command_names_the_package_to_install():
    code = "import sys; sys.modules['tkinter'] = None; from gpucast.cli.main import main; sys.exit(main(['desktop']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "the desktop app needs Tk" in done.stderr and "python3-tk" in done.stderr


def test_a_reopened_plans_inputs_the_form_lacks_are_named():
    """A plan saved by ``gpucast inference --max-num-seqs 300 --dp-attention 8 --save`` reopens with a form that
    has neither field: planning again from it would give another plan, so the status line names them; a plan made
    from the form has nothing to name."""
    from gpucast.cli.args import sections_from_args
    from gpucast.cli.main import build_parser
    from gpucast.desktop.fields import off_form

    args = build_parser().parse_args([*BASE, "--gpu", "H200", "--max-num-seqs", "300", "--dp-attention", "8"])
    assert off_form(FIELDS, sections_from_args(args)) == ["--dp-attention 8", "--max-num-seqs 300"]
    form = forms_spec.inference_sections(sections_from_values(FIELDS, DEFAULTS | {"gpu": "H100"}))
    assert off_form(FIELDS, form) == []
