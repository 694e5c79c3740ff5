"""Answers an ML-infrastructure engineer checks when using gpucast for real decisions (docs/reliability.md,
"Practical answers"): each test is one question whose answer was wrong or inconsistent, asked as the user asks it."""

from __future__ import annotations

import pytest

from gpucast.chat.questions import BY_KEY, interpret
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


def test_naming_an_fp8_checkpoint_plans_fp8_weights() -> None:
    """``--model Qwen/Qwen3-235B-A22B-FP8`` (an alias of the BF16 release) planned 16-bit weights, twice the memory
    of the checkpoint named; a release published in FP8 (DeepSeek-R1) already planned FP8 without --precision."""
    workload = LLMWorkloadInput(requests_per_second=1, avg_input_tokens=1000, avg_output_tokens=200)
    h200 = GPUConfig(gpu_type="H200")
    named = plan_inference(workload, ModelConfig(model_name="Qwen/Qwen3-235B-A22B-FP8"), h200, ServingOptions())
    stated = plan_inference(
        workload, ModelConfig(model_name="qwen3-235b-a22b", precision="FP8"), h200, ServingOptions()
    )
    assert named.to_dict()["inputs"]["precision"] == "FP8"
    assert named.gpu_resources.total_gpus == stated.gpu_resources.total_gpus
    assert named.gpu_resources.weights_gb_per_gpu == stated.gpu_resources.weights_gb_per_gpu
    assert "the checkpoint named, Qwen/Qwen3-235B-A22B-FP8, is FP8" in " ".join(named.to_dict()["assumptions"])
    release = plan_inference(workload, ModelConfig(model_name="Qwen/Qwen3-235B-A22B"), h200, ServingOptions())
    assert release.to_dict()["inputs"]["precision"] == "FP16"  # the release itself is BF16
    assert release.gpu_resources.total_gpus > named.gpu_resources.total_gpus


def test_an_estimate_of_an_fp8_checkpoint_is_fp8_and_the_release_stays_16_bit() -> None:
    """The estimate reads the name as the planner does; the release's own names keep their checkpoint."""
    from gpucast.catalog import loader
    from gpucast.planning.estimate import EstimateRequest, estimate

    result = estimate(EstimateRequest(gpu="H200", num_gpus=8, model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
                                      input_tokens=1000, output_tokens=200, load="request-rate", load_value=1.0))  # fmt: skip
    assert result.to_dict()["precision"] == "FP8"
    spec = loader.resolve_model("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8")
    assert (spec.checkpoint_precision, spec.hf_id) == ("FP8", "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8")
    assert loader.resolve_model("llama-4-maverick").checkpoint_precision == ""
    assert loader.resolve_model("deepseek-r1").hf_id == "deepseek-ai/DeepSeek-R1"


def test_a_reserved_fleet_says_scaling_in_saves_nothing_on_its_commitment() -> None:
    """3-year reserved H100s: the plan priced the autoscaled floor (7 of 10 replicas) as if a commitment could be
    released at night; the warning says what the floor's price assumes. On-demand plans have no such warning."""
    workload = LLMWorkloadInput(requests_per_second=20, avg_input_tokens=2000, avg_output_tokens=300)
    model, h100 = ModelConfig(model_name="llama-3.1-70b"), GPUConfig(gpu_type="H100")
    plan = plan_inference(workload, model, h100, ServingOptions(pricing="3yr"))
    low, high = plan.gpu_resources.min_replicas, plan.gpu_resources.max_replicas
    assert low < high
    (warning,) = [w for w in plan.warnings if "reserved" in w]
    assert f"autoscaling to {low} replicas saves nothing on a commitment for {high}" in warning
    assert f"${plan.cost.monthly_gpu_cost:,.0f}/month" in warning
    assert f"${plan.cost.monthly_cost_at_min_replicas:,.0f} at min replicas" in warning
    on_demand = plan_inference(workload, model, h100, ServingOptions(pricing="on-demand"))
    assert not [w for w in on_demand.warnings if "reserved" in w]


@pytest.mark.parametrize(
    ("text", "rps"),
    [("2 million documents per day", 2e6 / 86400), ("36k files an hour", 10.0), ("600 tickets per minute", 10.0)],
)
def test_a_batch_jobs_work_items_per_period_answer_the_rate_question(text: str, rps: float) -> None:
    """'2 million documents per day' answered to "how many requests per second" was refused as "a time or an unknown
    unit", though the same words in a sentence with a task verb ("summarize 2 million documents per day") were read."""
    assert interpret(BY_KEY["rps"], text, {})["rps"] == pytest.approx(rps)


@pytest.mark.parametrize("text", ["no latency requirement", "there is no hard limit", "no strict SLA"])
def test_no_latency_requirement_answers_the_latency_question(text: str) -> None:
    """'no latency requirement' (an offline batch job) was refused ("Give one time such as '2 seconds'") while
    'no requirement' was read as the 10 s of "no limit"."""
    assert interpret(BY_KEY["latency"], text, {}) == {"ttft_ms": 10_000.0}
    assert "ttft_ms" not in interpret(BY_KEY["latency"], "no, H200", {})  # a correction of another answer


def test_a_run_shorter_than_a_minute_and_its_cost_are_said_as_they_are() -> None:
    """A 100M-token LoRA with a 36-second deadline ran 34 s on 512 H100s and printed "1 minute" (read as missing the
    deadline); a run under $10 printed "$0 / $0" for its cost."""
    from gpucast.console.render import _money
    from gpucast.wording import duration

    assert duration(34 / 3600) == "34 seconds" and duration(59.6 / 3600) == "1 minute"
    assert duration(0.3) == "18 minutes" and duration(1 / 3600) == "1 second"
    assert [_money(v) for v in (0.39, 9.994, 33.4, 40_179.2, None)] == ["$0.39", "$9.99", "$33", "$40,179", "n/a"]


def test_a_marketplace_price_without_a_range_is_said_once() -> None:
    """vast.ai's catalog rows have one marketplace price: the plan printed "$4,103 at max replicas ... (marketplace
    offers up to $4,103 at max replicas)", a range of one value."""
    import contextlib
    import io

    from gpucast.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["inference", "--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "1000", "--output-tokens", "300",
              "--gpu", "L40S", "--cloud", "vast", "--pricing", "marketplace"])  # fmt: skip
    text = out.getvalue()
    assert "Monthly GPU cost" in text and "marketplace offers up to" not in text


def test_a_report_of_a_plan_without_a_price_says_why_and_marks_no_row() -> None:
    """DeepSeek-R1 on MI300X planned on aws (no MI300X there): the report's cost table was "— / — / —" and "— × —",
    and under the alternatives "➜ marks the plan's own GPU and cloud" though no row was the plan's."""
    from gpucast.reports.markdown import render_markdown

    workload = LLMWorkloadInput(requests_per_second=2, avg_input_tokens=2000, avg_output_tokens=1000)
    plan = plan_inference(
        workload, ModelConfig(model_name="deepseek-r1"), GPUConfig(gpu_type="MI300X"), ServingOptions()
    )
    assert plan.cost is None
    text = render_markdown(plan.to_dict())
    cost = text[text.index("### Cost") : text.index("## Charts")]
    assert "| cloud / pricing | aws / on-demand |" in cost
    assert "no on-demand price for Instinct MI300X on aws: cost omitted" in cost and "— / —" not in cost
    alternatives = text[text.index("## Alternatives") :]
    assert "| Instinct MI300X | oci |" in alternatives and "➜" not in alternatives


def test_qlora_is_never_tensor_parallel() -> None:
    """QLoRA of Llama-3.1-70B on L40S planned TP=2 x DP=2 (and TP=4 on A100-80GB): no QLoRA stack splits 4-bit
    weights by tensor parallelism (PEFT, torchtune, Axolotl shard them with FSDP/ZeRO-3, as FSDP-QLoRA does). Plans
    use TP 1; a pinned TP is refused in one line; what does not fit says the GPUs that would (pipeline or ZeRO-3)."""
    from gpucast.catalog import loader
    from gpucast.core.training_search import search_parallelism
    from gpucast.errors import InfeasibleError, InputError

    llama70 = loader.resolve_model("llama-3.1-70b")
    for gpu in ("L40S", "A100-80GB", "A10G", "H100"):
        setup, perf = search_parallelism(llama70, loader.resolve_gpu(gpu), num_gpus=4, seq_len=2048,
                                         global_batch_seqs=16, method="qlora")  # fmt: skip
        assert setup.tp == 1 and perf.fits, gpu
    with pytest.raises((InputError, ValueError), match="QLoRA's 4-bit weights cannot be split by tensor parallelism"):
        search_parallelism(llama70, loader.resolve_gpu("L40S"), num_gpus=4, seq_len=2048, global_batch_seqs=16,
                           method="qlora", tp=2)  # fmt: skip
    with pytest.raises(InfeasibleError, match=r"it fits on 4 GPUs \(PP4\) or more"):
        search_parallelism(llama70, loader.resolve_gpu("A10G"), num_gpus=1, seq_len=2048, global_batch_seqs=16,
                           method="qlora")  # fmt: skip


def test_a_training_comparison_lists_an_unpriced_gpu_once_as_serving_does() -> None:
    """`compare --mode training --gpus rtx-4090,h100` listed the RTX 4090 eight times (one "n/a" row per cloud, the
    same plan) where the serving comparison lists it once; hours under 0.1 printed "0.0"."""
    from gpucast import TrainingInput, TrainingOptions
    from gpucast.training.estimate import compare_training

    run = TrainingInput(dataset_size_tokens=10_000_000, sequence_length=2048, num_epochs=1, global_batch_size=16)
    rows = compare_training(run, ModelConfig(model_name="llama-3.1-8b"), TrainingOptions(method="qlora"),
                            gpu_types=["rtx-4090", "h100"])  # fmt: skip
    unpriced = [r for r in rows if r.total_cost is None]
    assert [r.gpu_type for r in unpriced] == ["GeForce RTX 4090"]
    assert {r.gpu_type for r in rows if r.total_cost is not None} == {"H100-SXM"}


def test_a_training_plan_says_when_its_price_was_read() -> None:
    """A serving plan names its price's date and age; a training plan's cost had no date (its report read
    "(as of —)"), so a stale price went unseen."""
    import contextlib
    import io

    from gpucast import GPUConfig, TrainingInput, TrainingOptions, plan_training
    from gpucast.cli.main import main
    from gpucast.reports.markdown import render_markdown

    run = TrainingInput(dataset_size_tokens=10_000_000, sequence_length=2048, num_epochs=1, global_batch_size=16)
    plan = plan_training(run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"),
                         TrainingOptions(method="lora"))  # fmt: skip
    assert plan.cost is not None and plan.cost.price_as_of
    assert f"(as of {plan.cost.price_as_of})" in render_markdown(plan.to_dict(), alternatives=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["training", "--model", "llama-3.1-8b", "--method", "lora", "--dataset-size", "10000000",
              "--sequence-length", "2048", "--epochs", "1", "--global-batch-size", "16", "--gpu", "H100"])  # fmt: skip
    assert f"on-demand, prices as of {plan.cost.price_as_of}, " in out.getvalue()


def test_a_cached_prefix_longer_than_the_prompt_is_named_as_typed() -> None:
    """``--cached-input-tokens 5000`` with a 4,000-token prompt was refused as "--cached-input-tokens 5000.0"."""
    from gpucast.errors import InputError
    from gpucast.planning.estimate import EstimateRequest, estimate

    with pytest.raises(InputError, match=r"^--cached-input-tokens 5000 must be .* less than --input-tokens \(4000\)"):
        estimate(EstimateRequest(gpu="H100", num_gpus=1, model="llama-3.1-8b", input_tokens=4000, output_tokens=300,
                                 cached_input_tokens=5000.0, load="request-rate", load_value=5.0))  # fmt: skip


def test_fp8_and_fp4_weights_are_not_planned_on_gpus_before_ampere() -> None:
    """`compare --precisions FP8,INT4` ranked a T4 at FP8 cheapest for Llama-3.1-8B, and a 70B plan on T4s offered
    "nearest feasible: FP8: 672 x T4": no engine runs FP8 or FP4 weights below compute capability 8.0 (vLLM's
    weight-only FP8 Marlin needs Ampere). Ampere still plans them weight-only, with its warning."""
    from gpucast.errors import GpucastError
    from gpucast.planning.compare import compare_gpus

    workload = LLMWorkloadInput(requests_per_second=2, avg_input_tokens=500, avg_output_tokens=200)
    rows = compare_gpus(workload, ModelConfig(model_name="llama-3.1-8b"), ServingOptions(), clouds=["aws"],
                        precisions=["FP8", "INT4"])  # fmt: skip
    assert {r.precision for r in rows if r.gpu_type == "T4"} == {"INT4"}
    with pytest.raises(GpucastError, match="Turing GPUs run no FP8 weights"):
        plan_inference(workload, ModelConfig(model_name="llama-3.1-8b", precision="FP8"), GPUConfig(gpu_type="T4"),
                       ServingOptions())  # fmt: skip
    ampere = plan_inference(workload, ModelConfig(model_name="llama-3.1-8b", precision="FP8"),
                            GPUConfig(gpu_type="A10G"), ServingOptions())  # fmt: skip
    assert any("weight-only" in w for w in ampere.warnings)
