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
    known |= {v for k, v in spec.prefix_caching.items() if k in ("on", "off") and v}
    known |= {v for k, v in spec.speculative.items() if (k == "flag" or k.endswith("_flag")) and v}
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


def test_agent_plans_state_prefix_caching_as_planned() -> None:
    on, off = load("h100-agent-llama-3.1-8b"), load("l40s-agent-no-cache-eagle")
    assert on["agent"]["prefix_caching"] is True and off["agent"]["prefix_caching"] is False
    assert "--enable-prefix-caching" in launch_for(on, "vllm").args
    assert "--no-enable-prefix-caching" in launch_for(off, "vllm").args
    assert "--disable-radix-cache" not in launch_for(on, "sglang").args  # RadixAttention is on by default
    assert "--disable-radix-cache" in launch_for(off, "sglang").args
    assert launch_for(on, "trtllm").config_file["kv_cache_config"] == {"enable_block_reuse": True}
    assert launch_for(off, "trtllm").config_file["kv_cache_config"] == {"enable_block_reuse": False}
    plain = launch_for(load("h100-llama-3.1-70b"), "vllm")  # no agent section: the engine default, unstated
    assert not {"--enable-prefix-caching", "--no-enable-prefix-caching"} & set(plain.args)


def test_speculative_plans_carry_k_and_the_proposer() -> None:
    mtp = load("h200-deepseek-v3-fp8-mtp")
    k = mtp["speculative"]["draft_tokens"]
    vllm = json.loads(_flags(launch_for(mtp, "vllm").argv)["--speculative-config"])
    assert vllm == {"method": "deepseek_mtp", "num_speculative_tokens": k}
    sgl = _flags(launch_for(mtp, "sglang").argv)
    assert (sgl["--speculative-algorithm"], sgl["--speculative-num-steps"], sgl["--speculative-eagle-topk"],
            sgl["--speculative-num-draft-tokens"]) == ("EAGLE", str(k), "1", str(k + 1))  # fmt: skip
    assert "--speculative-draft-model-path" not in sgl  # MTP layers are in the checkpoint
    trt = launch_for(mtp, "trtllm").config_file["speculative_config"]
    assert trt == {"decoding_type": "MTP", "num_nextn_predict_layers": k}
    eagle = load("l40s-agent-no-cache-eagle")  # Llama has no MTP layers: an EAGLE-3 head, named by a placeholder
    assert json.loads(_flags(launch_for(eagle, "vllm").argv)["--speculative-config"])["method"] == "eagle3"
    trt = launch_for(eagle, "trtllm")
    assert trt.config_file["speculative_config"]["decoding_type"] == "Eagle"
    assert any("replace <eagle3-draft-model>" in note for note in trt.notes)


def test_draft_model_speculation_is_noted_where_the_engine_cannot_run_it() -> None:
    plan = load("h200-deepseek-v3-fp8-mtp")
    plan["inputs"]["draft_model"] = "llama-3.2-1b"
    vllm = launch_for(plan, "vllm")
    assert "--speculative-config" not in vllm.args and any("not available in vLLM 0.10.2" in n for n in vllm.notes)
    sgl = _flags(launch_for(plan, "sglang").argv)
    assert sgl["--speculative-algorithm"] == "STANDALONE"
    assert sgl["--speculative-draft-model-path"] == "meta-llama/Llama-3.2-1B-Instruct"


def test_disaggregated_plan_names_the_pools() -> None:
    plan = load("h100-agent-llama-3.1-8b")
    d = plan["disaggregation"]
    text = launch_for(plan, "vllm").shell()
    assert "needs separate prefill and decode deployments" in text
    assert f"({d['prefill_instances']} prefill + {d['decode_instances']} decode instances of " in text
