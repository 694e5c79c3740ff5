"""Flag definitions shared by ``forecast``, ``inference`` and ``compare``, and the merge of
a JSON config with flags (flags win). Defaults live in the input dataclasses, not here, so
a flag left out never overrides a config value."""

from __future__ import annotations

import argparse
from typing import Any

from ..console.flags import token_count
from ..inputs.flag_map import FLAG_TO_CONFIG
from .training_args import shape_from_args

LENGTH_PROFILE_HELP = (
    "request lengths as a distribution: sharegpt, lmsys-chat, mlperf-openorca, mlperf-mixtral, cnn-dailymail, "
    "long-doc, agent, or a CSV of input_tokens,output_tokens per request (replaces --input-tokens/--output-tokens)"
)


def add_seed_flags(parser: argparse.ArgumentParser) -> None:
    """The original forecast.py flags, with the same names and meanings."""
    seed = parser.add_argument_group("workload and model (seed flags)")
    seed.add_argument("--rps", type=float, help="average requests per second")
    seed.add_argument("--input-tokens", type=token_count, help="average input (prompt) tokens per request")
    seed.add_argument("--output-tokens", type=token_count, help="average output (generated) tokens per request")
    seed.add_argument("--model-size", type=float, help="model size in billions (maps to a representative dense model)")
    seed.add_argument(
        "--precision",
        help="FP32, FP16, BF16, FP8, INT8, INT4, FP4 (= NVFP4) or MXFP4 (default: the published checkpoint's, e.g. FP8 for "
        "DeepSeek-R1/V3 or a name ending in -FP8, else FP16)",
    )
    seed.add_argument("--context-window", type=token_count, help="max tokens per sequence (default 4096)")
    seed.add_argument(
        "--batch-size", type=int, help="cap on concurrent sequences per replica (default: planner chooses)"
    )
    seed.add_argument("--gpu-type", "--gpu", dest="gpu_type", help="GPU type (default: cheapest that meets the SLOs)")
    seed.add_argument(
        "--cost", action="store_const", const=True, help="include cost (always included; kept for compatibility)"
    )
    seed.add_argument("--output", help="write the plan as JSON to this file")
    seed.add_argument("--config", help="JSON config file (seed schema); flags override it")
    seed.add_argument(
        "--generate-config", choices=["inference", "training"], help="print (or --output) a config template"
    )
    seed.add_argument(
        "--target-gpu-utilization", type=float, help="planned share of capacity at average load (default 0.7)"
    )
    seed.add_argument(
        "--cloud", help="one provider, e.g. aws, gcp, azure, lambda (default aws; see `gpucast prices list`)"
    )
    seed.add_argument("--peak-multiplier", type=float, help="peak / average traffic (default 1.5)")
    seed.add_argument("--growth-rate", type=float, help="expected traffic growth in percent (default 0)")
    seed.add_argument("--target-latency", type=float, help="end-to-end latency target per request, ms")
    train = parser.add_argument_group("training (seed flags)")
    train.add_argument("--dataset-size", type=token_count, help="dataset size in tokens")
    train.add_argument("--sequence-length", type=token_count, help="training sequence length")
    train.add_argument("--epochs", type=int, help="number of epochs")
    train.add_argument("--global-batch-size", type=int, help="global batch size in sequences")
    train.add_argument("--micro-batch-size", type=int, help="micro batch size per GPU")
    train.add_argument("--gradient-accumulation-steps", type=int, help="gradient accumulation steps")
    train.add_argument("--optimizer", help="Adam, AdamW, Adafactor or SGD")
    train.add_argument("--gradient-checkpointing", action="store_const", const=True, help="recompute activations")


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """gpucast's training additions (``forecast --mode training`` and ``training``)."""
    extra = parser.add_argument_group("training method, sharding and GPUs (gpucast)")
    extra.add_argument("--method", help="full, lora or qlora (default full)")
    extra.add_argument("--lora-rank", type=int, help="LoRA rank (default 16)")
    extra.add_argument(
        "--lora-targets",
        type=lambda v: tuple(x.strip() for x in v.split(",") if x.strip()),
        help="e.g. q,k,v,o (default)",
    )
    extra.add_argument("--optimizer-8bit", action="store_const", const=True, help="8-bit optimizer states")
    extra.add_argument(
        "--master-weights", help="fp32: FP32 master weights and optimizer states (default); bf16: pure BF16 training"
    )
    extra.add_argument("--zero", type=int, help="ZeRO stage 0-3 (default: searched)")
    extra.add_argument("--fsdp", dest="zero", action="store_const", const=3, help="FSDP full shard (= ZeRO-3)")
    extra.add_argument("--recompute", help="activation recomputation none, selective or full (default: searched)")
    extra.add_argument(
        "--no-flash-attention",
        dest="flash_attention",
        action="store_const",
        const=False,
        help="attention without flash",
    )
    extra.add_argument("--num-gpus", type=int, help="GPUs to use (default: the fewest that fit, or --deadline-hours)")
    extra.add_argument("--dp", type=int, help="pin data parallelism: GPUs = TP x PP x DP (TP, PP default 1)")
    extra.add_argument("--deadline-hours", type=float, help="finish within this many hours: find the GPUs needed")
    extra.add_argument("--optimize", help="speed or cost (default speed)")
    extra.add_argument(
        "--framework",
        help="software stack: default, megatron, composer, torchtune or hf, or a name such as nemo, torchtitan, "
        "deepspeed, peft, axolotl, unsloth (docs/fine-tune.md)",
    )


def add_common_plan_flags(parser: argparse.ArgumentParser) -> None:
    """gpucast's additions: model by name, SLOs, pricing, sharding, engine limits, output."""
    extra = parser.add_argument_group("model, SLOs, pricing and engine (gpucast)")
    extra.add_argument("--model", help="catalog model name, alias or Hugging Face id (see `gpucast models`)")
    extra.add_argument("--model-config", help="path to a Hugging Face config.json")
    extra.add_argument("--kv-precision", help="KV-cache precision (default: 16-bit activations dtype)")
    extra.add_argument(
        "--ttft-slo-ms", type=float, help="time-to-first-token target, ms (default 2000, at --slo-percentile)"
    )
    extra.add_argument(
        "--itl-slo-ms",
        type=float,
        help="token latency target, ms (default 100): the mean ITL at --slo-percentile mean, else that percentile "
        "of the per-request TPOT, (E2E - TTFT) / (output - 1) (MLPerf's TPOT)",
    )
    extra.add_argument("--length-profile", help=LENGTH_PROFILE_HELP)
    extra.add_argument(
        "--pricing",
        help="on-demand, spot, 1yr, 3yr or marketplace, a comma list of them, or all: the cheapest wins "
        "(default on-demand)",
    )
    add_price_flags(parser)
    extra.add_argument(
        "--slo-percentile",
        help="statistic the latency targets bound: mean, 50, 90, 95 or 99 (default 99: SLOs are stated as p99)",
    )
    extra.add_argument("--safety-margin", type=float, help="extra capacity over peak, fraction (default 0.25)")
    extra.add_argument("--min-replicas", type=int, help="minimum replicas for availability (default 2)")
    extra.add_argument("--tp", type=int, help="pin tensor parallelism (default: searched)")
    extra.add_argument("--pp", type=int, help="pin pipeline parallelism (default: searched)")
    extra.add_argument("--ep", type=int, help="pin expert parallelism of a MoE model, 1 = none (default: searched)")
    extra.add_argument(
        "--dp-attention", type=int, help="pin attention data parallelism of a MoE model, 1 = none (default: searched)"
    )
    extra.add_argument(
        "--gpu-memory-utilization", type=float, help="engine memory fraction (default: the engine's, vLLM 0.90)"
    )
    extra.add_argument(
        "--max-num-seqs",
        type=int,
        help="engine cap on concurrent sequences, per attention-DP rank where each rank has its own scheduler (vLLM, "
        "TensorRT-LLM), as the engine's flag (default: the engine's for the GPU, vLLM 256, 1024 on GPUs of 70 GiB+ but "
        "A100s)",
    )
    extra.add_argument("--engine", help="serving engine: vllm, sglang, trtllm, lmdeploy or nim (default vllm)")
    extra.add_argument(
        "--engine-version",
        help="engine release, e.g. 0.7.3 (default: the current one); releases older than an engine's current "
        "DeepSeek-V3/R1 kernels (vLLM 0.8.0, SGLang 0.4.4, TensorRT-LLM 0.18) are modelled with the early kernels",
    )
    extra.add_argument(
        "--allow-infeasible",
        dest="require_slo",
        action="store_const",
        const=False,
        help="when no load meets the SLOs, print the closest plan (sized at saturation) instead of exiting 2",
    )
    extra.add_argument("--json", action="store_true", help="print the plan as JSON")
    extra.add_argument("--explain", action="store_true", help="show every intermediate quantity and its formula")
    add_agent_flags(parser)


def add_price_flags(parser: argparse.ArgumentParser) -> None:
    """Where to rent (issue 28): providers, region, the service's tier, how old prices may be."""
    where = parser.add_argument_group("where GPUs are rented (see `gpucast prices list`)")
    where.add_argument("--clouds", help="comma-separated providers to search, or all (default: --cloud alone)")
    where.add_argument("--region", help="only prices of this region (default: every region of the providers)")
    where.add_argument(
        "--criticality", help="the service's tier (tier1, tier2, tier3): tiers 1-2 never get spot/marketplace"
    )
    where.add_argument(
        "--price-max-age-days", type=int, help="warn when the plan's prices are older than this (default 90)"
    )


def add_agent_flags(parser: argparse.ArgumentParser) -> None:
    """Agent workloads (config section ``agent``) and the serving options that change capacity."""
    agent = parser.add_argument_group("agent workloads: tasks of several LLM calls over a growing context")
    agent.add_argument("--tasks-per-second", type=float, help="agent tasks per second (replaces --rps)")
    agent.add_argument("--calls-per-task", type=float, help="mean LLM calls per task (default 1)")
    agent.add_argument("--calls-distribution", help="fixed (default) or geometric calls per task")
    agent.add_argument("--max-calls-per-task", type=int, help="cap on calls per task (max turns)")
    agent.add_argument(
        "--shared-prefix-tokens", type=token_count, help="system prompt + tool definitions shared by all calls"
    )
    agent.add_argument("--context-growth-tokens", type=token_count, help="new tokens per call: user turn, tool results")
    agent.add_argument("--think-time-s", type=float, help="mean seconds between a call's end and the next (tools)")
    agent.add_argument("--no-prefix-caching", dest="prefix_caching", action="store_const", const=False,
                       help="the engine does not reuse cached prefixes")  # fmt: skip
    agent.add_argument(
        "--prefix-cache-gib", type=float, help="KV memory per GPU for cached prefixes (default: free KV)"
    )
    agent.add_argument("--task-slo-ms", type=float, help="time to complete a task, ms")
    spec = parser.add_argument_group("speculative decoding and disaggregated serving")
    spec.add_argument("--speculative-tokens", type=int, help="draft tokens per round, k (default 0: off)")
    spec.add_argument("--acceptance-rate", type=float, help="per-token draft acceptance rate, 0-1")
    spec.add_argument("--draft-model", help="mtp (MTP/EAGLE head, default) or a catalog model name")
    spec.add_argument("--disaggregation", action="store_const", const=True,
                      help="also size separate prefill and decode pools (DistServe) and compare")  # fmt: skip
    spec.add_argument("--kv-transfer-gb-s", type=float, help="prefill->decode KV link per GPU, GB/s (default 50)")


def sections_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Config file sections overlaid with every flag the user gave."""
    from ..inputs.json_config import load_config
    from ..inputs.sections import agent_into_workload

    sections: dict[str, Any] = load_config(args.config) if getattr(args, "config", None) else {}
    for dest, (section, key) in FLAG_TO_CONFIG.items():
        value = getattr(args, dest, None)
        if value is not None:
            sections.setdefault(section, {})[key] = value
    if (
        "model" in sections
        and sum(k in sections["model"] for k in ("model_name", "model_config_path", "model_size_billions")) > 1
    ):
        # a flag naming the model replaces the config's way of naming it; a flag given as 0 or '' is given too
        # (`--model llama-3.1-8b --model-size 0` dropped the size unsaid, as if only one were given)
        chosen = [
            k
            for k in ("model_name", "model_config_path", "model_size_billions")
            if getattr(args, _dest(k), None) is not None
        ]
        if len(chosen) == 1:
            for k in ("model_name", "model_config_path", "model_size_billions"):
                if k != chosen[0]:
                    sections["model"].pop(k, None)
    shape = shape_from_args(args)
    if shape is not None:
        sections.setdefault("model", {})["shape"] = shape
    return agent_into_workload(sections)


def _dest(key: str) -> str:
    return {"model_name": "model", "model_config_path": "model_config", "model_size_billions": "model_size"}[key]


def add_estimate_flags(parser: argparse.ArgumentParser) -> None:
    """``gpucast estimate``: one deployment, one load."""
    what = parser.add_argument_group("deployment")
    model = what.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="catalog model name, alias or Hugging Face id")
    model.add_argument("--model-config", help="path to a Hugging Face config.json")
    what.add_argument("--gpu", "--gpu-type", dest="gpu", required=True, help="GPU type (see `gpucast gpus`)")
    what.add_argument("--num-gpus", type=int, required=True, help="GPUs in total; beyond TP x PP they are replicas")
    what.add_argument("--tp", type=int, help="tensor parallelism (default: smallest that fits)")
    what.add_argument("--pp", type=int, default=1, help="pipeline parallelism (default 1)")
    what.add_argument(
        "--ep", type=int, default=1, help="expert-parallel groups of a MoE model among the TP GPUs (default 1: none)"
    )
    what.add_argument(
        "--dp-attention",
        type=int,
        default=1,
        help="attention data-parallel groups of a MoE model among the TP GPUs (default 1: none)",
    )
    what.add_argument(
        "--precision",
        help="FP32, FP16, BF16, FP8, INT8, INT4, FP4 (= NVFP4) or MXFP4 (default: the published checkpoint's, e.g. FP8 for "
        "DeepSeek-R1/V3 or a name ending in -FP8, else BF16)",
    )
    what.add_argument("--kv-precision", help="KV-cache precision (default: 16-bit activation dtype)")
    what.add_argument("--engine", default="vllm", help="vllm, sglang, trtllm, lmdeploy or nim (default vllm)")
    what.add_argument("--engine-version", help="engine release, e.g. 0.7.3 (default: the current one)")
    what.add_argument("--gpu-memory-utilization", type=float, help="engine memory fraction (default per engine)")
    what.add_argument("--max-model-len", type=token_count, help="max tokens per sequence (default input + output)")
    what.add_argument("--max-num-seqs", type=int, help="engine cap on concurrent sequences, per attention-DP rank "
                      "for vLLM and TensorRT-LLM as their flag (default per engine)")  # fmt: skip
    shape = parser.add_argument_group("requests and load")
    shape.add_argument("--input-tokens", type=token_count, help="input tokens per request (or --length-profile)")
    shape.add_argument("--output-tokens", type=token_count, help="output tokens per request (or --length-profile)")
    shape.add_argument("--length-profile", help=LENGTH_PROFILE_HELP)
    shape.add_argument(
        "--cached-input-tokens", type=float, default=0.0,
        help="prompt tokens per request served from the prefix cache (default 0): only the rest is prefilled",
    )  # fmt: skip
    spec = parser.add_argument_group("speculative decoding (as `inference` takes it)")
    spec.add_argument("--speculative-tokens", type=int, help="draft tokens per round, k (default 0: off)")
    spec.add_argument("--acceptance-rate", type=float, help="per-token draft acceptance rate, 0-1")
    spec.add_argument("--draft-model", help="mtp (MTP/EAGLE head, default) or a catalog model name")
    load = shape.add_mutually_exclusive_group(required=True)
    load.add_argument("--concurrency", type=float, help="requests in flight across all replicas (closed loop)")
    load.add_argument("--request-rate", type=float, help="Poisson arrivals, requests/s across all replicas (open loop)")
    load.add_argument("--max-throughput", action="store_true", help="as many requests as the KV cache allows")
    load.add_argument("--slo-capacity", action="store_true", help="the most traffic the deployment serves within the "
                      "SLOs below: the largest request rate meeting them, as `inference` sizes replicas")  # fmt: skip
    slos = parser.add_argument_group("SLOs (with --slo-capacity)")
    slos.add_argument("--ttft-slo-ms", type=float, help="time-to-first-token target, ms (default 2000)")
    slos.add_argument("--itl-slo-ms", type=float, help="token latency target, ms (default 100; at a percentile the "
                      "per-request TPOT's)")  # fmt: skip
    slos.add_argument("--slo-percentile", help="statistic the targets bound: mean, 50, 90, 95 or 99 (default 99)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def request_from_args(args: argparse.Namespace) -> Any:
    from ..planning.estimate import EstimateRequest

    if args.max_throughput:
        load, value = "max-throughput", None
    elif args.slo_capacity:
        load, value = "slo-capacity", None
    elif args.concurrency is not None:
        load, value = "concurrency", args.concurrency
    else:
        load, value = "request-rate", args.request_rate
    from ..errors import InputError
    from ..inputs.types import check_speculation_given

    check_speculation_given(vars(args))
    if args.length_profile is None:
        for flag, given in (("--input-tokens", args.input_tokens), ("--output-tokens", args.output_tokens)):
            if given is None:
                raise InputError(f"{flag} is required (or --length-profile NAME|FILE)")
    return EstimateRequest(
        gpu=args.gpu,
        num_gpus=args.num_gpus,
        # with a profile the flags are optional (its means replace them); a given 0 stays 0 and is refused
        input_tokens=1 if args.input_tokens is None else args.input_tokens,
        output_tokens=1 if args.output_tokens is None else args.output_tokens,
        length_profile=args.length_profile,
        load=load,
        load_value=value,
        model=args.model,
        model_config=args.model_config,
        tp=args.tp,
        pp=args.pp,
        ep=args.ep,
        attention_dp=args.dp_attention,
        precision=args.precision,
        kv_precision=args.kv_precision,
        engine=args.engine,
        engine_version=args.engine_version,
        gpu_memory_utilization=args.gpu_memory_utilization,
        max_model_len=args.max_model_len,
        max_num_seqs=args.max_num_seqs,
        speculative_tokens=args.speculative_tokens or 0,
        acceptance_rate=args.acceptance_rate,
        draft_model="mtp" if args.draft_model is None else args.draft_model,
        cached_input_tokens=args.cached_input_tokens,
        ttft_slo_ms=args.ttft_slo_ms,
        itl_slo_ms=args.itl_slo_ms,
        slo_percentile=args.slo_percentile,
    )
