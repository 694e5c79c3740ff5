"""Answers an ML-infrastructure engineer checks when using gpucast for real decisions (docs/reliability.md,
"Practical answers"): each test is one question whose answer was wrong or inconsistent, asked as the user asks it."""

from __future__ import annotations

from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.inference import plan_inference

LONG_PROMPTS = LLMWorkloadInput(requests_per_second=0.5, avg_input_tokens=100_000, avg_output_tokens=1000)
LLAMA_70B_FP8 = ModelConfig(model_name="llama-3.1-70b", precision="FP8")


def test_pinning_the_pipeline_depth_the_planner_chose_keeps_its_plan() -> None:
    """100k-token prompts on H200: the planner chooses TP=8 x PP=2 (128 GPUs); ``--pp 2`` planned TP=4 x PP=2 with
    536 GPUs at 4x the cost, because the search stopped at the first pipelined layout meeting the SLOs, which with PP
    pinned is the narrowest TP, not the deepest pipeline of full-node TP the rule was written for."""
    options = {"ttft_slo_ms": 15_000.0}
    free = plan_inference(LONG_PROMPTS, LLAMA_70B_FP8, GPUConfig(gpu_type="H200"), ServingOptions(**options))
    assert (free.gpu_resources.tensor_parallel, free.gpu_resources.pipeline_parallel) == (8, 2)
    pinned = plan_inference(LONG_PROMPTS, LLAMA_70B_FP8, GPUConfig(gpu_type="H200"), ServingOptions(pp=2, **options))
    assert pinned.gpu_resources.tensor_parallel == 8
    assert pinned.gpu_resources.total_gpus == free.gpu_resources.total_gpus
    assert pinned.cost.monthly_gpu_cost == free.cost.monthly_gpu_cost
