"""``gpucast export vllm|sglang|trtllm``: launch commands from stored plans (golden files) and the checks that
make the golden files trustworthy — every number comes from the plan and every flag from the engine catalog
(catalog/engine_flags.toml, names checked against each engine's docs for the stated release)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import gpucast_exe
from golden.golden_files import INFERENCE, TRAINING, check, load, plan_path
from gpucast.errors import InputError
from gpucast.export import launch_for, load_plan
from gpucast.export.plan_file import load_engine_flags

ENGINES = ("vllm", "sglang", "trtllm")


def _flags(argv: list[str]) -> dict[str, str]:
    """--flag value pairs of an argv ('' for a switch)."""
    out: dict[str, str] = {}
    for i, word in enumerate(argv):
        if word.startswith("--"):
            nxt = argv[i + 1] if i + 1 < len(argv) else ""
            out[word] = "" if nxt.startswith("--") else nxt
    return out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", INFERENCE)
def test_launch_command_matches_golden(name: str, engine: str) -> None:
    check(f"engine/{name}.{engine}.sh", launch_for(load(name), engine).shell())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", INFERENCE)
def test_numbers_come_from_the_plan(name: str, engine: str) -> None:
    plan = load(name)
    launch = launch_for(plan, engine)
    names = load_engine_flags()[engine].flags
    got = _flags(launch.argv)
    res, thr, inputs = plan["gpu_resources"], plan["throughput"], plan["inputs"]
    assert got[names["tensor_parallel"]] == str(res["tensor_parallel"])
    assert got[names["pipeline_parallel"]] == str(res["pipeline_parallel"])
    assert got[names["max_num_seqs"]] == str(thr["concurrency_per_replica"])  # the SLO-meeting concurrency
    assert got[names["max_model_len"]] == str(inputs["context_window"])
    assert float(got[names["memory_fraction"]]) == pytest.approx(inputs["gpu_memory_utilization"])
    assert launch.model.count("/") == 1  # a Hugging Face repository id from the catalog


@pytest.mark.parametrize("engine", ENGINES)
def test_every_flag_is_in_the_engine_catalog(engine: str) -> None:
    spec = load_engine_flags()[engine]
    known = {f for f in spec.flags.values() if f} | {w for w in spec.always if w.startswith("--")}
    known |= {spec.model_flag, spec.config_file_flag} - {""}
    for name in INFERENCE:
        emitted = {w for w in launch_for(load(name), engine).args if w.startswith("--")}
        assert emitted <= known, emitted - known


def test_precisions_map_to_quantization_and_kv_dtype() -> None:
    fp16 = _flags(launch_for(load("h100-llama-3.1-70b"), "vllm").argv)
    assert fp16["--dtype"] == "float16" and "--quantization" not in fp16 and "--kv-cache-dtype" not in fp16
    fp8 = _flags(launch_for(load("h200-deepseek-v3-fp8"), "vllm").argv)
    assert fp8["--quantization"] == "fp8" and fp8["--kv-cache-dtype"] == "fp8"
    sgl = _flags(launch_for(load("h200-deepseek-v3-fp8"), "sglang").argv)
    assert sgl["--kv-cache-dtype"] == "fp8_e4m3" and sgl["--chunked-prefill-size"] == "8192"
    assert "--enable-metrics" in sgl  # SGLang exports Prometheus metrics only when asked
    trt = launch_for(load("h200-deepseek-v3-fp8"), "trtllm")
    assert trt.config_file == {"kv_cache_config": {"dtype": "fp8"}, "enable_chunked_prefill": True}
    assert _flags(trt.argv)["--extra_llm_api_options"] == trt.engine.config_file_path
    assert any("pre-quantized FP8 checkpoint" in note for note in trt.notes)


def test_vllm_command_for_the_70b_plan_reads_as_documented() -> None:
    text = launch_for(load("h100-llama-3.1-70b"), "vllm").shell()
    assert "vllm serve meta-llama/Llama-3.1-70B-Instruct \\\n" in text
    assert "  --tensor-parallel-size 4 \\\n" in text and "  --max-num-seqs 256 \\\n" in text
    assert "  --enable-chunked-prefill \\\n  --max-num-batched-tokens 8192\n" in text


def test_another_engine_than_planned_is_noted() -> None:
    plan = load("h100-llama-3.1-70b")
    assert not any("sized for" in n for n in launch_for(plan, "vllm").notes)
    assert any("re-plan with --engine sglang" in n for n in launch_for(plan, "sglang").notes)


@pytest.mark.parametrize("name", TRAINING)
def test_training_plan_is_refused(name: str) -> None:
    with pytest.raises(InputError, match="needs an inference plan; this is a training plan"):
        launch_for(load(name), "vllm")


def test_engine_without_launch_flags_is_refused() -> None:
    with pytest.raises(InputError, match="no launch flags"):
        launch_for(load("h100-llama-3.1-70b"), "lmdeploy")
    with pytest.raises(InputError, match="choose one of vllm, sglang, trtllm"):
        launch_for(load("h100-llama-3.1-70b"), "nonsense")


def test_bad_plan_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_plan(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="is not JSON"):
        load_plan(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"rows": []}), encoding="utf-8")
    with pytest.raises(InputError, match="is not a gpucast plan"):
        load_plan(tmp_path / "other.json")
    (tmp_path / "part.json").write_text(json.dumps({"kind": "inference", "inputs": {}}), encoding="utf-8")
    with pytest.raises(InputError, match="without model, gpu_resources"):
        load_plan(tmp_path / "part.json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "vllm", "missing.json"], "does not exist"),
        (["export", "sglang", "{training}"], "needs an inference plan"),
        (["export", "vllm"], "give a plan file"),
        (["export", "k8s", "{inference}", "--engine", "nonsense"], "no launch flags"),
        (["report", "missing.json"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    paths = {"{training}": str(plan_path("lora-llama-3.1-8b")), "{inference}": str(plan_path("h100-llama-3.1-70b"))}
    result = _run(*[paths.get(a, a) for a in args])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_from_planning_flags_equals_from_plan_file(tmp_path: Path) -> None:
    flags = ["--model", "llama-3.1-8b", "--rps", "3", "--input-tokens", "400", "--output-tokens", "150", "--gpu-type",
             "L40S"]  # fmt: skip
    planned = _run("inference", *flags, "--output", str(tmp_path / "plan.json"))
    assert planned.returncode == 0, planned.stderr
    from_file = _run("export", "sglang", str(tmp_path / "plan.json"))
    from_flags = _run("export", "sglang", *flags)
    assert from_file.returncode == 0 and from_flags.returncode == 0, from_flags.stderr
    assert from_file.stdout == from_flags.stdout
    assert "--tp-size 1" in from_file.stdout


def test_cli_json_and_output_file(tmp_path: Path) -> None:
    result = _run("export", "trtllm", str(plan_path("h200-deepseek-v3-fp8")), "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["engine"] == "trtllm" and data["version"] == "1.0.0" and data["argv"][0] == "trtllm-serve"
    assert data["config_file"]["kv_cache_config"]["dtype"] == "fp8"
    out = tmp_path / "launch.sh"
    written = _run("export", "vllm", str(plan_path("h100-llama-3.1-70b")), "--output", str(out))
    assert written.returncode == 0 and f"written to {out}" in written.stdout
    assert out.read_text(encoding="utf-8") == launch_for(load("h100-llama-3.1-70b"), "vllm").shell()
