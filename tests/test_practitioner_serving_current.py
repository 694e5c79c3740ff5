"""Regressions of the practitioner serving sweep on current deployments (2026-12-07, seventeenth session): Blackwell
Ultra memory sized from the marketed GB instead of what the driver reports, and a request alone on an attention-DP
layout planned as if its attention were spread over every GPU of the replica (a 100k-token prompt prefilled faster
on DP-attention=8 than on TP=8, so long-context plans chose 16-GPU DP-attention replicas), and GB200 NVL72 trays
priced only at TP=4."""

from __future__ import annotations

import pytest

from gpucast.catalog.loader import load_gpus, load_prices
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference


@pytest.mark.parametrize(
    ("gpu", "mib"), [("b300", 275_040), ("gb300", 284_208), ("gb200", 189_471), ("l40", 46_068), ("l20", 46_068)]
)
def test_blackwell_memory_is_what_nvidia_smi_reports(gpu: str, mib: int):
    """Catalog memory is the driver's total where known (gpus.toml header). B300 was 288 GiB (the marketed 288 GB;
    nvidia-smi 275,040 MiB = 268.6 GiB, NVIDIA's aiconfigurator b300_sxm.yaml): 7% more KV cache than exists."""
    assert load_gpus()[gpu].memory_gib == pytest.approx(mib / 1024, abs=0.01)


def _alone(num_gpus: int = 8, **layout: int) -> dict:
    """One 100k-token request on ``num_gpus`` x H100 (gpt-oss-120b, MXFP4), nothing else in flight."""
    request = EstimateRequest(
        gpu="H100", num_gpus=num_gpus, input_tokens=100_000, output_tokens=2000, load="concurrency", load_value=1,
        model="gpt-oss-120b", **layout,
    )  # fmt: skip
    return estimate(request).to_dict()


def test_a_long_prompt_alone_is_not_prefilled_faster_on_attention_dp():
    """Each attention-DP rank schedules and attends its own requests (SGLang's DP-attention guide; vLLM's DP ranks
    are engine cores): a request alone runs its attention on its group's GPUs (here one), the experts on all eight.
    Before: TP=8 EP=8 DP-attention=8 gave TTFT 752 ms, TP=8 947 ms (one GPU alone: 5,085 ms)."""
    tp = _alone(tp=8)["ttft_ms"]
    dp = _alone(tp=8, ep=8, attention_dp=8)["ttft_ms"]
    one = _alone(num_gpus=1, tp=1)["ttft_ms"]
    assert tp < dp < one


def test_a_sequence_alone_reads_its_whole_kv_on_one_attention_dp_group():
    """A decode step waits for the busiest group; one sequence's KV cache sits whole in one group, not 1/8 of it in
    each. Llama-4-Scout FP8 at a 100k context: ITL alone was barely above TP=8's."""
    common = {"gpu": "H100", "num_gpus": 8, "input_tokens": 100_000, "output_tokens": 2000, "load": "concurrency",
              "load_value": 1, "model": "llama-4-scout", "precision": "FP8"}  # fmt: skip
    tp = estimate(EstimateRequest(**common, tp=8, ep=8)).to_dict()["itl_ms"]
    dp = estimate(EstimateRequest(**common, tp=8, ep=8, attention_dp=8)).to_dict()["itl_ms"]
    assert dp > 1.5 * tp


def test_a_tp_group_spans_gb200_trays_of_one_nvlink_rack():
    """GB200 NVL72 is sold as 4-GPU trays (OCI BM.GPU.GB200.4) whose NVLink reaches all 72 GPUs of the rack (OCI
    launches them as one "GPU memory cluster"); the rule that keeps TP groups off small instances (their all-reduces
    would cross Ethernet) priced only TP=4 there: DeepSeek-R1 at 20 req/s was 32 x TP=4 = 128 GPUs, $1.5M a month."""
    domains = {(p.instance_type, p.nvlink_domain_gpus) for p in load_prices() if p.nvlink_domain_gpus}
    assert domains == {("BM.GPU.GB200.4", 72)}  # not a slice of an 8-GPU board (Lambda's 2 x B200)
    plan = plan_inference(
        LLMWorkloadInput(20, 2000, 1000), ModelConfig(model_name="deepseek-r1"), GPUConfig("GB200"),
        ServingOptions(cloud="oci"),
    ).to_dict()  # fmt: skip
    assert plan["gpu_resources"]["min_gpus_per_replica"] >= 8
    assert plan["gpu_resources"]["total_gpus"] <= 32
    assert any("one NVLink domain (OCI: one GPU memory cluster)" in w for w in plan["warnings"])


def test_speculation_slower_at_batch_1_is_not_called_faster():
    """A MoE target's k+1 verified tokens route to more experts than one token, so at batch 1 speculation can be
    slower (gpt-oss-120b on H100, k=3 at 0.7: 0.68x); the verdict said "0.68x faster tokens at batch 1"."""
    plan = plan_inference(
        LLMWorkloadInput(5, 2000, 1000), ModelConfig(model_name="gpt-oss-120b"), GPUConfig("H100"),
        ServingOptions(speculative_tokens=3, acceptance_rate=0.7),
    ).to_dict()["speculative"]  # fmt: skip
    assert plan["itl_speedup_at_batch_1"] < 1.0
    assert "faster tokens at batch 1" not in plan["note"] and "slower at batch 1" in plan["note"]


def test_a_fleet_of_near_empty_replicas_is_named():
    """Llama-4-Scout FP8 with 100k-token prompts at the default TTFT p99 of 2 s on H100 (TP=8: 1.8 s alone) planned
    441-662 replicas for 1 req/s ($26.6M a month), each serving 1% of what it can, without a word; the plan says the
    target sits at the request's own latency. A plan at ordinary load says nothing of it."""
    work, h100 = LLMWorkloadInput(1, 100_000, 2000), GPUConfig("H100")
    plan = plan_inference(work, ModelConfig(model_name="llama-4-scout", precision="FP8", context_window=131_072), h100)
    assert any(w.startswith("the SLOs leave each replica") for w in plan.to_dict()["warnings"])
    ordinary = plan_inference(LLMWorkloadInput(5, 1000, 300), ModelConfig(model_name="llama-3.1-8b"), h100)
    assert not any(w.startswith("the SLOs leave") for w in ordinary.to_dict()["warnings"])
