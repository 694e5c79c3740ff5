"""``gpucast export vllm|sglang|trtllm``: launch commands from stored plans (golden files) and the checks that
make the golden files trustworthy — every number comes from the plan and every flag from the engine catalog
(catalog/engine_flags.toml, names checked against each engine's docs for the stated release)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import gpucast_exe
from golden.golden_files import INFERENCE, TRAINING, check, load, plan_path
from gpucast.errors import InputError
from gpucast.export import launch_for, load_plan
from gpucast.export.engine_args import LaunchOptions
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
    stages = int(res["pipeline_parallel"]) if engine == "trtllm" else 1  # max_batch_size caps each PP microbatch
    seqs = -(-max(1, int(thr["concurrency_per_replica"])) // stages)
    assert got[names["max_num_seqs"]] == str(seqs)  # the SLO-meeting concurrency
    assert got[names["max_model_len"]] == str(inputs["context_window"])
    assert float(got[names["memory_fraction"]]) == pytest.approx(inputs["gpu_memory_utilization"])
    if name != "h100-size-70b":  # a --model-size stand-in has no checkpoint (test_stand_in_model_is_warned)
        assert launch.model.count("/") == 1  # a Hugging Face repository id from the catalog


@pytest.mark.parametrize("engine", ENGINES)
def test_every_flag_is_in_the_engine_catalog(engine: str) -> None:
    spec = load_engine_flags()[engine]
    known = {f for f in spec.flags.values() if f} | {w for w in spec.always if w.startswith("--")}
    known |= {spec.model_flag, spec.config_file_flag, spec.served_model_flag} - {""}
    known |= {v for k, v in spec.prefix_caching.items() if k in ("on", "off") and v}
    known |= {v for k, v in spec.speculative.items() if (k == "flag" or k.endswith("_flag")) and v}
    for name in INFERENCE:
        emitted = {w for w in launch_for(load(name), engine).args if w.startswith("--")}
        assert emitted <= known, emitted - known


def test_precisions_map_to_quantization_and_kv_dtype() -> None:
    # issue 25 item 6: the default 16-bit precision is the checkpoint's own dtype (BF16 for Llama 3.1), not float16
    fp16 = _flags(launch_for(load("h100-llama-3.1-70b"), "vllm").argv)
    assert fp16["--dtype"] == "auto" and "--quantization" not in fp16 and "--kv-cache-dtype" not in fp16
    assert _flags(launch_for(load("h100-llama-3.1-70b"), "sglang").argv)["--dtype"] == "auto"
    fp8 = _flags(launch_for(load("l4-llama-3.1-8b-fp8"), "vllm").argv)  # a BF16 checkpoint quantized on the fly
    assert fp8["--quantization"] == "fp8"
    deepseek = _flags(launch_for(load("h200-deepseek-v3-fp8"), "vllm").argv)  # DeepSeek-V3 is released in FP8
    assert "--quantization" not in deepseek and deepseek["--kv-cache-dtype"] == "fp8"
    sgl = _flags(launch_for(load("h200-deepseek-v3-fp8"), "sglang").argv)
    assert sgl["--kv-cache-dtype"] == "fp8_e4m3" and sgl["--chunked-prefill-size"] == "8192"
    assert "--enable-metrics" in sgl  # SGLang exports Prometheus metrics only when asked
    trt = launch_for(load("h200-deepseek-v3-fp8"), "trtllm")
    assert trt.config_file == {"kv_cache_config": {"dtype": "fp8", "free_gpu_memory_fraction": 0.9}}  # chunked
    # prefill once, as the CLI switch; the fraction repeated where the file sets kv_cache_config
    assert _flags(trt.argv)["--config"] == trt.engine.config_file_path  # 1.2: --config (was --extra_llm_api_options)
    assert trt.argv.count("--enable_chunked_prefill") == 1
    assert not any("pre-quantized" in note for note in trt.notes)  # item 8: the checkpoint is FP8 already
    old = launch_for(load("h200-deepseek-v3-fp8"), "trtllm", LaunchOptions(version="1.0.0"))
    assert _flags(old.argv)["--extra_llm_api_options"] == old.engine.config_file_path
    assert old.config_file["enable_chunked_prefill"] is True and "--enable_chunked_prefill" not in old.argv


@pytest.mark.parametrize("engine", ENGINES)
def test_a_kv_precision_the_engine_flags_cannot_state_is_warned(engine: str) -> None:
    """A plan counted with an INT4 KV cache (4x the tokens of BF16) was exported with no KV flag and no word: the
    engine would run a BF16 cache, a quarter of the plan's capacity. FP8 and the 16-bit default are stated or implied."""
    from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig
    from gpucast.planning.inference import plan_inference

    def launch(kv: str | None) -> Any:
        plan = plan_inference(
            LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
            ModelConfig(model_name="llama-3.1-8b", kv_precision=kv),
            GPUConfig(gpu_type="H100"),
        )
        return launch_for(plan.to_dict(), engine)

    assert any("KV cache at INT4" in w and "--kv-precision FP8" in w for w in launch("INT4").warnings)
    for kv in (None, "BF16", "FP16", "FP8"):
        assert not any("KV cache" in w for w in launch(kv).warnings), kv


def test_vllm_command_for_the_70b_plan_reads_as_documented() -> None:
    text = launch_for(load("h100-llama-3.1-70b"), "vllm").shell()
    assert "vllm serve meta-llama/Llama-3.1-70B-Instruct \\\n" in text
    assert "# vLLM 0.34.0 (gpucast's default is the current stable release" in text  # the release is stated
    assert "  --served-model-name llama-3.1-70b \\\n" in text
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
    ("section", "key", "value", "message"),
    [
        ("gpu_resources", "tensor_parallel", "x", 'gpu_resources.tensor_parallel is "x", not integer'),
        ("throughput", "concurrency_per_replica", float("nan"), "throughput.concurrency_per_replica is nan"),
        ("scaling", "recommended_min_replicas", None, "scaling.recommended_min_replicas is null, not integer"),
        ("inputs", "context_window", [1], "inputs.context_window is [1], not integer"),
    ],
)
def test_a_plan_file_with_a_wrong_value_is_one_line_exit_2(tmp_path: Path, section, key, value, message) -> None:
    """A hand-edited plan (TP "x", NaN, null replicas, a list for the context) was a traceback (exit 1) from whichever
    exporter or report read the value first; every golden plan still loads."""
    for name in [*INFERENCE, *TRAINING]:
        load_plan(plan_path(name))
    plan = load("h100-llama-3.1-70b")
    plan[section][key] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        load_plan(path)
    for command in (["export", "vllm"], ["export", "k8s"], ["report", "--no-alternatives"]):
        result = _run(*command, str(path))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gpucast: error: ") and message in lines[0], lines


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
    assert data["engine"] == "trtllm" and data["version"] == "1.2.1" and data["argv"][0] == "trtllm-serve"
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
    assert launch_for(on, "trtllm").config_file["kv_cache_config"]["enable_block_reuse"] is True
    assert launch_for(off, "trtllm").config_file["kv_cache_config"]["enable_block_reuse"] is False
    plain = launch_for(load("h100-llama-3.1-70b"), "vllm")  # no agent section: the engine default, unstated
    assert not {"--enable-prefix-caching", "--no-enable-prefix-caching"} & set(plain.args)


def test_speculative_plans_carry_k_and_the_proposer() -> None:
    mtp = load("h200-deepseek-v3-fp8-mtp")
    k = mtp["speculative"]["draft_tokens"]
    vllm = json.loads(_flags(launch_for(mtp, "vllm").argv)["--speculative-config"])
    assert vllm == {"method": "mtp", "num_speculative_tokens": k}  # issue 25: deepseek_mtp is a deprecated alias
    old = _flags(launch_for(mtp, "vllm", LaunchOptions(version="0.10.2")).argv)  # 0.10.2 had only the per-model name
    assert json.loads(old["--speculative-config"])["method"] == "deepseek_mtp"
    sgl = _flags(launch_for(mtp, "sglang").argv)
    assert (sgl["--speculative-algorithm"], sgl["--speculative-num-steps"], sgl["--speculative-eagle-topk"],
            sgl["--speculative-num-draft-tokens"]) == ("EAGLE", str(k), "1", str(k + 1))  # fmt: skip
    assert "--speculative-draft-model-path" not in sgl  # MTP layers are in the checkpoint
    trt = launch_for(mtp, "trtllm").config_file["speculative_config"]
    assert trt == {"decoding_type": "MTP", "num_nextn_predict_layers": k}
    eagle = load("l40s-agent-no-cache-eagle")  # Llama has no MTP layers: an EAGLE-3 head gpucast cannot name
    for engine in ENGINES:  # without --speculative-model: speculative decoding off, no placeholder, a note says why
        off = launch_for(eagle, engine)
        assert "<" not in " ".join(off.argv) and "speculative_config" not in off.config_file
        assert not {"--speculative-config", "--speculative-algorithm"} & set(off.args)
        assert any("speculative decoding is OFF" in n and "--speculative-model HF_ID" in n for n in off.notes)
    head = "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B"
    on = json.loads(
        _flags(launch_for(eagle, "vllm", LaunchOptions(speculative_model=head)).argv)["--speculative-config"]
    )
    assert on == {"method": "eagle3", "num_speculative_tokens": 3, "model": head}
    trt = launch_for(eagle, "trtllm", LaunchOptions(speculative_model=head))
    assert trt.config_file["speculative_config"] == {"decoding_type": "Eagle3", "max_draft_len": 3,
                                                     "speculative_model": head}  # fmt: skip


def test_draft_model_speculation_is_noted_where_the_engine_cannot_run_it() -> None:
    plan = load("h200-deepseek-v3-fp8-mtp")
    plan["inputs"]["draft_model"] = "llama-3.2-1b"
    vllm = launch_for(plan, "vllm", LaunchOptions(version="0.10.2"))
    assert "--speculative-config" not in vllm.args and any("not available in vLLM 0.10.2" in n for n in vllm.notes)
    current = json.loads(_flags(launch_for(plan, "vllm").argv)["--speculative-config"])  # 0.34 runs draft models
    assert current == {
        "method": "draft_model",
        "num_speculative_tokens": 2,
        "model": "meta-llama/Llama-3.2-1B-Instruct",
    }
    sgl = _flags(launch_for(plan, "sglang").argv)
    assert sgl["--speculative-algorithm"] == "STANDALONE"
    assert sgl["--speculative-draft-model-path"] == "meta-llama/Llama-3.2-1B-Instruct"


def test_disaggregated_plan_names_the_pools() -> None:
    plan = load("h100-agent-llama-3.1-8b")
    d = plan["disaggregation"]
    text = launch_for(plan, "vllm").shell()
    assert "this command is one unified replica; `gpucast export k8s` writes the two pools" in text
    assert f"({d['prefill_instances']} prefill + {d['decode_instances']} decode instances of " in text


def test_pool_roles_carry_the_kv_transfer_settings() -> None:
    plan = load("h100-disagg-llama-3.1-8b")
    assert plan["disaggregation"]["winner"] == "disaggregated"
    prefill = _flags(launch_for(plan, "vllm", LaunchOptions(role="prefill")).argv)
    assert json.loads(prefill["--kv-transfer-config"]) == {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
    decode = _flags(launch_for(plan, "sglang", LaunchOptions(role="decode")).argv)
    assert decode["--disaggregation-mode"] == "decode" and decode["--disaggregation-transfer-backend"] == "nixl"
    assert decode["--max-running-requests"] == str(int(plan["disaggregation"]["decode_batch"]))
    trt = launch_for(plan, "trtllm", LaunchOptions(role="prefill")).config_file
    assert trt["cache_transceiver_config"] == {"backend": "DEFAULT"}
    assert _run("export", "vllm", str(plan_path("h100-disagg-llama-3.1-8b")), "--role", "decode").returncode == 0


def _moe(ep: int, dp: int) -> dict[str, Any]:
    plan = load("h200-deepseek-v3-fp8")
    plan["gpu_resources"] |= {"expert_parallel": ep, "attention_data_parallel": dp}
    return plan


def test_moe_plans_get_expert_and_attention_data_parallel_options() -> None:
    """Issue 25 item 9: the plan's EP and DP-attention sizes become each engine's own options (names checked against
    the parsers by test_export_engine_cli.py)."""
    plain = launch_for(load("h200-deepseek-v3-fp8"), "vllm")  # plans without the fields: plain TP, as before
    assert "--enable-expert-parallel" not in plain.args
    vllm = _flags(launch_for(_moe(8, 8), "vllm").argv)
    assert "--enable-expert-parallel" in vllm
    assert (vllm["--tensor-parallel-size"], vllm["--data-parallel-size"]) == ("1", "8")  # TP x DP = 8 GPUs
    sgl = _flags(launch_for(_moe(8, 8), "sglang").argv)
    assert (sgl["--tp-size"], sgl["--ep-size"], sgl["--attn-dp-size"]) == ("8", "8", "8")
    old = _flags(launch_for(_moe(8, 8), "sglang", LaunchOptions(version="0.5.9")).argv)
    assert old["--dp-size"] == "8" and "--enable-dp-attention" in old
    trt = launch_for(_moe(8, 8), "trtllm")
    assert _flags(trt.argv)["--ep_size"] == "8" and trt.config_file["enable_attention_dp"] is True
    old_trt = launch_for(_moe(8, 8), "trtllm", LaunchOptions(version="1.0.0")).config_file
    assert old_trt["moe_expert_parallel_size"] == 8
    ep_only = _flags(launch_for(_moe(8, 1), "vllm").argv)
    assert "--enable-expert-parallel" in ep_only and "--data-parallel-size" not in ep_only


def test_max_sequences_are_split_over_attention_dp_ranks_where_the_engine_caps_each_rank() -> None:
    """Consistency sweep 2026-12-06: vLLM's --max-num-seqs and TensorRT-LLM's --max_batch_size cap EACH attention DP
    rank (one scheduler per rank), so exporting the replica's concurrency let 8 ranks run 8x the sequences the plan
    sized; SGLang divides --max-running-requests by its DP size itself and takes the replica's total."""
    plan = _moe(8, 8)
    concurrency = int(plan["throughput"]["concurrency_per_replica"])
    per_rank = str(-(-concurrency // 8))
    assert _flags(launch_for(plan, "vllm").argv)["--max-num-seqs"] == per_rank
    assert _flags(launch_for(plan, "trtllm").argv)["--max_batch_size"] == per_rank
    assert _flags(launch_for(plan, "sglang").argv)["--max-running-requests"] == str(concurrency)
    four = _moe(8, 4)  # vLLM: 4 DP ranks of TP 2; TensorRT-LLM's attention DP spans all 8 TP ranks
    assert _flags(launch_for(four, "vllm").argv)["--max-num-seqs"] == str(-(-concurrency // 4))
    assert _flags(launch_for(four, "trtllm").argv)["--max_batch_size"] == per_rank
    assert _flags(launch_for(_moe(8, 1), "vllm").argv)["--max-num-seqs"] == str(concurrency)  # EP alone: one rank


def test_engine_version_defaults_to_current_and_rejects_unknown() -> None:
    plan = load("h100-llama-3.1-70b")
    assert {e: launch_for(plan, e).engine.version for e in ENGINES} == {"vllm": "0.34.0", "sglang": "0.5.23",
                                                                        "trtllm": "1.2.1"}  # fmt: skip
    assert launch_for(plan, "vllm", LaunchOptions(version="v0.10.2")).engine.image == "vllm/vllm-openai:v0.10.2"
    with pytest.raises(
        InputError, match=re.escape("--engine-version '0.9.9': gpucast knows vLLM releases 0.34.0, 0.10.2")
    ):
        launch_for(plan, "vllm", LaunchOptions(version="0.9.9"))


def test_infeasible_plan_is_refused() -> None:
    plan = load("h100-llama-3.1-70b")
    plan["throughput"]["meets_latency_sla"] = False
    with pytest.raises(InputError, match="does not meet its latency SLOs"):
        launch_for(plan, "vllm")


def test_infeasible_plan_file_exits_2(tmp_path: Path) -> None:
    plan = load("h100-llama-3.1-70b")
    plan["throughput"]["meets_latency_sla"] = False
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    for target in ("vllm", "k8s", "helm"):
        result = _run("export", target, str(path))
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "does not meet its latency SLOs" in result.stderr and not result.stdout


def test_stand_in_model_is_warned_unless_a_checkpoint_is_given() -> None:
    path = str(plan_path("h100-size-70b"))
    warned = _run("export", "vllm", path)
    assert warned.returncode == 0
    assert "warning: the plan's model is a --model-size stand-in" in warned.stderr
    assert "vllm serve dense-70b" in warned.stdout and "'Dense-70B" not in warned.stdout  # issue 23's quoted name
    given = _run("export", "vllm", path, "--served-model", "meta-llama/Llama-3.3-70B-Instruct")
    assert given.returncode == 0 and "stand-in" not in given.stderr + given.stdout
    assert "vllm serve meta-llama/Llama-3.3-70B-Instruct" in given.stdout
    assert "--served-model-name meta-llama/Llama-3.3-70B-Instruct" in given.stdout


def test_report_of_a_stand_in_plan() -> None:
    """Issue 23's rough edge: `report` on a --model-size plan re-plans from the size, not from a catalog name."""
    result = _run("report", str(plan_path("h100-size-70b")), "--no-alternatives")
    assert result.returncode == 0, result.stderr
    assert "Dense-70B" in result.stdout
