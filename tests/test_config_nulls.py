"""A null in a JSON config means "not given" for every key: the default, as if the key were left out. It was the
default for some keys (``model.precision``) and an error for others (``workload.growth_rate``, ``serving.cloud``:
"--cloud None is not one of ...")."""

from __future__ import annotations

import json

import pytest

from gpucast.cli.main import main
from gpucast.inputs.json_config import SECTIONS, template, validate_config


def test_every_null_key_and_section_is_left_out():
    raw = {"mode": None, "serving": None, **{s: dict.fromkeys(keys) for s, keys in SECTIONS.items() if s != "serving"}}
    assert validate_config(raw) == {s: {} for s in SECTIONS if s != "serving"}


def _plan(tmp_path, config, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    code = main(["forecast", "--config", str(path), "--json"])
    captured = capsys.readouterr()
    return code, captured


@pytest.mark.parametrize(
    ("section", "key"),
    [("workload", "growth_rate"), ("workload", "peak_load_multiplier"), ("serving", "cloud"),
     ("serving", "min_replicas"), ("serving", "engine"), ("gpu", "target_gpu_utilization")],
)  # fmt: skip
def test_a_null_key_plans_as_if_left_out(tmp_path, capsys, section, key):
    config = template("inference")
    config["model"] = {"model_name": "llama-3.1-8b"}
    config[section].pop(key, None)
    code, left_out = _plan(tmp_path, config, capsys)
    assert code == 0, left_out.err
    config[section][key] = None
    code, null = _plan(tmp_path, config, capsys)
    assert code == 0, null.err
    assert json.loads(left_out.out) == json.loads(null.out)  # a plan holds no clock time


def test_a_null_required_key_is_reported_missing(tmp_path, capsys):
    config = template("inference")
    config["workload"]["requests_per_second"] = None
    code, captured = _plan(tmp_path, config, capsys)
    assert code == 2 and "--rps is required (or workload.requests_per_second in --config)" in captured.err
