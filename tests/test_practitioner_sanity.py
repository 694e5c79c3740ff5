"""Regressions of the practitioner sanity sweep (2026-12-07, sixteenth session): plans an ML-infra engineer would
reject on sight — a layout whose engine cannot start, a KV cache that shrinks by the attention-DP group count when
speculation is on, and ``--explain`` formulas that give other numbers than the table beside them."""

from __future__ import annotations

import re

import pytest

from gpucast.errors import InfeasibleError, InputError
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference


def test_each_attention_dp_group_holds_the_context_window():
    """A sequence lives in one attention-DP group's pool (vLLM: one engine core per DP rank, each checking that its
    cache holds max_model_len). GLM-4.5-Air FP8 at a 131,072-token window was planned on TP=2 EP=2 DP-attention=2
    with 202,832 tokens in all, 101,416 per group: an engine that refuses to start."""
    plan = plan_inference(
        LLMWorkloadInput(1, 1000, 300),
        ModelConfig(model_name="glm-4.5-air", precision="FP8", context_window=131_072),
        GPUConfig("H100"),
    ).to_dict()
    res = plan["gpu_resources"]
    assert res["kv_cache_tokens"] // res["attention_data_parallel"] >= 131_072


def test_estimate_refuses_a_window_no_attention_dp_group_holds():
    """``estimate`` of that layout at that window is refused (vLLM 0.19; 0.34's measured sizing holds it), naming the
    groups' share."""
    request = EstimateRequest(
        gpu="H100", num_gpus=2, input_tokens=1000, output_tokens=300, load="request-rate", load_value=1.0,
        model="glm-4.5-air", tp=2, ep=2, attention_dp=2, precision="FP8", max_model_len=131_072,
        engine_version="0.19.1",
    )  # fmt: skip
    with pytest.raises(InfeasibleError, match="attention-DP groups"):
        estimate(request)


def test_speculation_keeps_the_attention_dp_groups_kv_cache():
    """The proposer's weights and KV come out of each GPU's cache, and each attention-DP group still caches its own
    sequences: Qwen3-30B-A3B on TP=2 EP=2 DP-attention=2 L40S kept 106,747 of 228,396 tokens with an MTP head (the
    per-GPU count, not times the 2 groups), so speculation planned no more capacity than none."""
    options = {"tp": 2, "ep": 2, "attention_dp": 2}
    work, model, gpu = LLMWorkloadInput(5, 1000, 300), ModelConfig(model_name="qwen3-30b-a3b"), GPUConfig("L40S")
    plain = plan_inference(work, model, gpu, ServingOptions(**options)).to_dict()["gpu_resources"]
    spec = plan_inference(
        work, model, gpu, ServingOptions(**options, speculative_tokens=2, acceptance_rate=0.7)
    ).to_dict()["gpu_resources"]
    assert spec["attention_data_parallel"] == 2
    assert 0.85 * plain["kv_cache_tokens"] <= spec["kv_cache_tokens"] < plain["kv_cache_tokens"]


def _rows(plan: dict) -> dict[str, tuple[float, str]]:
    """The explain table's memory rows: quantity -> (the first number of its value, its formula)."""
    out = {}
    for row in plan["explain"]:
        number = re.match(r"[\d,.]+", row["value"].lstrip("$"))
        if number:
            out[row["quantity"]] = (float(number.group().replace(",", "")), row["formula"])
    return out


CASES = [
    ("llama-3.1-70b", "FP16", "H100", "sglang"),
    ("llama-3.1-70b", "FP8", "H100", "trtllm"),
    ("llama-3.1-70b", "FP8", "H100", "vllm"),
    ("deepseek-r1", "FP8", "H200", "vllm"),
    ("qwen3-30b-a3b", "FP16", "L40S", "vllm"),
]


@pytest.mark.parametrize(("model", "precision", "gpu", "engine"), CASES)
def test_explain_memory_formulas_give_the_values_beside_them(model, precision, gpu, engine):
    """Each memory row's formula, applied to the rows above it, gives its value (to the table's rounding). The fixed
    text gave vLLM's "usable - weights - activations - overhead" for SGLang (activations outside the fraction) and
    TensorRT-LLM (a fraction of the free memory), "input + output/2" where TensorRT-LLM reserves the whole output,
    and no attention-DP groups in the KV capacity."""
    plan = plan_inference(
        LLMWorkloadInput(5, 1000, 300),
        ModelConfig(model_name=model, precision=precision),
        GPUConfig(gpu),
        ServingOptions(engine=engine),
    ).to_dict()
    res, inputs = plan["gpu_resources"], plan["inputs"]
    rows = _rows(plan)
    usable, usable_f = rows["usable memory per GPU"]
    weights, _ = rows["weights per GPU"]
    acts, acts_f = rows["activation peak per GPU"]
    kv, kv_f = rows["KV cache per GPU"]
    overhead = res["overhead_gb_per_gpu"] / 1.073741824
    fraction = inputs["gpu_memory_utilization"]
    graphs = rows["CUDA graphs per GPU"][0] if "CUDA graphs" in kv_f else 0.0  # vLLM 0.20+: inside the fraction
    if "kv_cache_free_gpu_mem_fraction" in kv_f:
        expected = fraction * (usable - weights - acts - overhead)
    elif "- activations" in kv_f:
        expected = usable - weights - acts - overhead - graphs
    else:
        expected = usable - weights - overhead
    assert kv == pytest.approx(expected, abs=0.03)
    total = float(re.search(r"[\d.]+", usable_f).group())
    if "in use at start" in usable_f:  # vLLM 0.34's measured sizing: less what was in use and the margin
        at_start = float(re.search(r"([\d.]+) GiB in use at start", usable_f).group(1))
        floor = float(re.search(r"max\(([\d.]+) GiB", usable_f).group(1))
        assert usable == pytest.approx(min(total * fraction, total - at_start - max(floor, 0.75 * acts)), abs=0.01)
    else:
        assert usable == pytest.approx(total if "free memory" in usable_f else total * fraction, abs=0.01)
    assert "3 hidden" in acts_f
    per_token, per_token_f = rows["KV bytes per token per GPU"]
    capacity, capacity_f = rows["KV capacity per replica"]
    groups = res["attention_data_parallel"]
    assert capacity == pytest.approx(kv * 2**30 / per_token * groups, rel=1e-3)
    assert (f"x {groups} attention-DP groups" in capacity_f) == (groups > 1)
    assert ("MLA" in per_token_f) == (model == "deepseek-r1")
    comm_f = rows["decode step: TP communication"][1]
    assert ("all-to-alls" in comm_f) == (res["expert_parallel"] > 1)
    seqs, seqs_f = rows["max concurrent sequences"]
    held = 1000 + (300 if "input + output)" in seqs_f else 150)
    assert seqs == min(capacity // held, _engine_limit(engine, res["recommended_gpu_type"], groups))


def test_the_default_context_window_stays_within_the_models_own():
    """Without --context-window the plan launched GPT-J-6B (2,048 positions) with vLLM's --max-model-len 4096, which
    vLLM refuses ("greater than the derived max_model_len"), and sized its KV cache for that window."""
    plan = plan_inference(LLMWorkloadInput(1, 500, 200), ModelConfig(model_name="gpt-j-6b"), GPUConfig("A10G"))
    assert plan.inputs["context_window"] == 2048
    assert not any("exceeds" in w for w in plan.warnings)


@pytest.mark.parametrize(("model", "window"), [("llama-3.1-8b", 200_000), ("mixtral-8x7b", 65_536)])
def test_a_context_window_beyond_the_models_is_refused(model, window):
    """An explicit window beyond the model's own was planned with a warning (an engine that refuses to start), while a
    request beyond it was already an error: both are, naming the flag (``inference`` and ``estimate``)."""
    with pytest.raises(InputError, match=f"--context-window {window:,} exceeds"):
        plan_inference(
            LLMWorkloadInput(1, 1000, 300), ModelConfig(model_name=model, context_window=window), GPUConfig("H100")
        )
    request = EstimateRequest(
        gpu="H100", num_gpus=8, input_tokens=1000, output_tokens=300, load="request-rate", load_value=1.0,
        model=model, max_model_len=window,
    )  # fmt: skip
    with pytest.raises(InputError, match=f"--max-model-len {window:,} exceeds"):
        estimate(request)


def test_the_conversation_leaves_a_short_window_to_the_planner():
    """The conversation wrote a context window of at least 4096 into every plan's config, which beyond GPT-J's 2,048
    is now refused: a request that fits 4096 leaves the window to the planner's default; a longer one still sets it."""
    from gpucast.chat.compute import inference_sections

    answers = {"intent": "inference", "model": "gpt-j-6b", "rps": 1.0, "input_tokens": 500, "output_tokens": 200}
    assert "context_window" not in inference_sections(answers)["model"]
    longer = answers | {"model": "llama-3.1-8b", "input_tokens": 8000}
    assert inference_sections(longer)["model"]["context_window"] == 8200


def test_a_cost_left_out_says_which_pricing_the_cloud_sells():
    """`--cloud vast` at the default on-demand pricing said only "cost omitted": Vast.ai sells marketplace capacity,
    and the warning now says so and names the flag (QA 2026-12-07)."""
    plan = plan_inference(
        LLMWorkloadInput(2, 1000, 200), ModelConfig(model_name="llama-3.1-8b"), GPUConfig("rtx-4090"),
        ServingOptions(cloud="vast"),
    ).to_dict()  # fmt: skip
    assert plan["cost"] is None
    assert any("vast sells it at marketplace pricing: add --pricing marketplace" in w for w in plan["warnings"])
    priced = plan_inference(
        LLMWorkloadInput(2, 1000, 200), ModelConfig(model_name="llama-3.1-8b"), GPUConfig("rtx-4090"),
        ServingOptions(cloud="vast", pricing="marketplace"),
    ).to_dict()  # fmt: skip
    assert priced["cost"]["monthly_gpu_cost"] > 0


def _engine_limit(engine: str, gpu_name: str, groups: int) -> int:
    """The engine's default sequence limit on the plan's GPU (vLLM 1024 on 70 GiB+ GPUs but A100, else 256), per
    attention-DP rank where each rank schedules its own."""
    from gpucast.catalog import loader

    spec = loader.resolve_engine(engine)
    limit = loader.default_max_num_seqs(spec, None, loader.resolve_gpu(gpu_name))
    return limit * (groups if loader.sequences_capped_per_dp_rank(spec.id) else 1)


def test_a_tp_group_wider_than_a_clouds_instances_is_unpriced_and_says_why():
    """Qwen3-30B-A3B on T4 at TP=8 on GCP, which attaches at most 4 T4 to an N1 VM: such a replica was priced as
    VMs spanned by one TP group (ranked in compare). It is unpriced, and the warning says why (not "add --pricing
    spot"). (AWS's T4 was the original case, priced only as the 1-GPU g4dn.xlarge; g4dn.metal sells 8 now.)"""
    plan = plan_inference(
        LLMWorkloadInput(5, 1000, 300), ModelConfig(model_name="qwen3-30b-a3b"), GPUConfig("T4"),
        ServingOptions(cloud="gcp", tp=8),
    ).to_dict()  # fmt: skip
    assert plan["gpu_resources"]["tensor_parallel"] > 1 and plan["cost"] is None
    assert any("does not span instances that small" in w and "--pricing" not in w for w in plan["warnings"])


def test_t4_tensor_parallel_replicas_are_priced_on_awss_multi_gpu_t4_instances():
    """AWS sells T4s four and eight to an instance (g4dn.12xlarge, g4dn.metal); with only the 1-GPU g4dn.xlarge in
    the catalog a TP=8 T4 replica was unpriced. It is priced on whole g4dn.metal nodes now."""
    plan = plan_inference(
        LLMWorkloadInput(5, 1000, 300), ModelConfig(model_name="qwen3-30b-a3b"), GPUConfig("T4"),
        ServingOptions(cloud="aws"),
    ).to_dict()  # fmt: skip
    assert plan["gpu_resources"]["tensor_parallel"] == 8
    assert plan["cost"] is not None and plan["cost"]["instance_type"] == "g4dn.metal"
