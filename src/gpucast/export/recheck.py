"""The command that re-checks a plan: ``gpucast estimate`` for a serving plan (its own deployment at its planned
peak rate), ``gpucast training-estimate`` for a training plan (its chosen parallelism and batch).

Why: the planner is the inverse of ``estimate`` (issue 17) — a configuration's capacity is the largest open-loop
rate whose ``estimate --request-rate`` point meets the SLOs — so a plan's TTFT and ITL at its planned peak are what
that command prints for the plan's fleet. Stating the command lets a reader check the plan with the estimator
instead of trusting it: every flag comes from the plan file (the model, GPU, layout, precisions, engine and its
release, memory fraction, sequence cap, context window, request shape or length profile, speculative decoding, and
for an agent plan its mean prompt per call and the prompt tokens the prefix cache serves).
"""

from __future__ import annotations

import shlex
from typing import Any

from ..catalog import loader
from ..errors import GpucastError, InputError
from ..planning.estimate_request import plan_request_shape
from .plan_file import check_plan, percentile_latencies


def estimate_argv(plan: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(``gpucast estimate ...`` argv, notes) for a serving plan dict; InputError for a plan it cannot re-state."""
    if check_plan(plan) == "training":
        return training_estimate_argv(plan)
    inputs, res, thr = plan["inputs"], plan["gpu_resources"], plan["throughput"]
    needed = [f"{name}.{key}" for name, section, keys in (
        ("throughput", thr, ("planned_rps_per_replica", "estimated_ttft_ms", "estimated_itl_ms")),
        ("gpu_resources", res, ("max_replicas", "total_gpus", "tensor_parallel", "pipeline_parallel",
                                "recommended_gpu_type")),
        ("inputs", inputs, ("model", "precision", "kv_precision", "engine", "gpu_memory_utilization",
                            "context_window", "avg_input_tokens", "avg_output_tokens")),
        ("inputs", inputs, ("acceptance_rate", "draft_model") if inputs.get("speculative_tokens") else ()),
    ) for key in keys if section.get(key) is None]  # fmt: skip
    if needed:
        raise InputError(f"the plan file has no {', '.join(needed)} (written by an older gpucast): re-run the "
                         "planning command to re-check it")  # fmt: skip
    try:  # a plan made with --model-size names a representative shape, --model-config a file: no catalog model
        loader.resolve_model(str(inputs.get("model") or ""), "--model")
    except GpucastError as error:
        raise InputError("this plan names no catalog model (it was made with --model-size or --model-config), "
                         "which `gpucast estimate --model` needs") from error  # fmt: skip
    rate = float(thr["planned_rps_per_replica"]) * int(res["max_replicas"])
    argv = ["gpucast", "estimate", "--model", str(inputs["model"]), "--gpu", str(res["recommended_gpu_type"]),
            "--num-gpus", str(res["total_gpus"]), "--tp", str(res["tensor_parallel"]),
            "--pp", str(res["pipeline_parallel"])]  # fmt: skip
    for flag, key in (("--ep", "expert_parallel"), ("--dp-attention", "attention_data_parallel")):
        if int(res.get(key) or 1) > 1:
            argv += [flag, str(res[key])]
    argv += ["--precision", str(inputs["precision"]), "--kv-precision", str(inputs["kv_precision"]),
             "--engine", str(inputs["engine"])]  # fmt: skip
    if inputs.get("engine_version"):
        argv += ["--engine-version", str(inputs["engine_version"])]
    argv += ["--gpu-memory-utilization", f"{float(inputs['gpu_memory_utilization']):g}",
             "--max-model-len", str(inputs["context_window"])]  # fmt: skip
    if inputs.get("max_num_seqs"):
        argv += ["--max-num-seqs", str(inputs["max_num_seqs"])]
    pinned = _pinned_sequences_note(inputs, str(res["recommended_gpu_type"]))
    notes = [f"the plan's fleet at its planned peak: {thr['planned_rps_per_replica']:.4g} req/s per replica x "
             f"{res['max_replicas']} replicas; it should print TTFT {thr['estimated_ttft_ms']:,.0f} ms and ITL "
             f"{thr['estimated_itl_ms']:,.1f} ms (the means)"]  # fmt: skip
    if pinned:
        notes.append(pinned)
    at = percentile_latencies(plan)
    if at is not None:
        q, ttft, tpot = at
        fields = [_percentile_field("ttft", q, ttft, thr["estimated_ttft_ms"], ".0f"),
                  _percentile_field("tpot", q, tpot, thr["estimated_itl_ms"], ".1f")]  # fmt: skip
        below = any("at most" in f for f in fields)
        clamped = ": the plan states the mean where the percentile is below it" if below else ""
        notes[0] += (f", and with --json {fields[0]} and {fields[1]} (what the p{q} SLOs bound; never below the "
                     f"means{clamped})")  # fmt: skip
    shape = plan_request_shape(plan)
    if "length_profile" in shape:
        argv += ["--length-profile", str(shape["length_profile"])]
    else:
        argv += ["--input-tokens", str(shape["input_tokens"]), "--output-tokens", str(shape["output_tokens"])]
    if "cached_input_tokens" in shape:
        argv += ["--cached-input-tokens", f"{shape['cached_input_tokens']:.6g}"]
        notes.append("an agent plan: one call of the mean prompt, its cached part served from the prefix cache")
    if "speculative_tokens" in shape:
        argv += ["--speculative-tokens", str(shape["speculative_tokens"]),
                 "--acceptance-rate", f"{float(shape['acceptance_rate']):g}", "--draft-model", str(shape["draft_model"])]  # fmt: skip
    if plan.get("disaggregation"):
        notes.append("the unified plan's replicas; the disaggregated pools are sized in the plan's own section")
    argv += ["--request-rate", f"{rate:.6g}"]
    return argv, notes


def default_sequences(inputs: dict[str, Any], gpu_type: str) -> int | None:
    """The engine's default sequence cap on the plan's GPU (vLLM 1024 on GPUs of 70 GiB+ but A100s, else 256), for
    the plan's release; None where the plan names an engine or GPU the catalog does not know."""
    try:
        engine = loader.resolve_engine(str(inputs.get("engine") or "vllm"))
        gpu = loader.resolve_gpu(gpu_type)
    except GpucastError:
        return None
    return loader.default_max_num_seqs(engine, inputs.get("engine_version"), gpu)


def stated_cap_note(inputs: dict[str, Any], gpu_type: str) -> str | None:
    """Where a plan file states a sequence cap that is not the engine's default on its GPU, what that cap is and
    what the default is. Plan files written before vLLM's large-GPU default was applied (2026-12-07) carry
    ``max_num_seqs: 256`` though none was given; the commands keep the plan as it was made and say so."""
    given, default = inputs.get("max_num_seqs"), default_sequences(inputs, gpu_type)
    if not given or default is None or int(given) == default:
        return None
    engine = loader.resolve_engine(str(inputs.get("engine") or "vllm"))
    return (
        f"the plan file's cap of {given} sequences (the value given, or the {engine.max_num_seqs} an older "
        f"gpucast recorded as the default); {engine.name}'s default on {loader.resolve_gpu(gpu_type).name} is "
        f"{default}: re-plan without --max-num-seqs to use it"
    )


def _pinned_sequences_note(inputs: dict[str, Any], gpu_type: str) -> str | None:
    """What the re-check's ``--max-num-seqs`` pins, where it is not the engine's default on the plan's GPU."""
    note = stated_cap_note(inputs, gpu_type)
    return f"--max-num-seqs {inputs['max_num_seqs']} pins {note}" if note else None


def _percentile_field(name: str, q: str, bound: float, mean: float, spec: str) -> str:
    """What ``estimate --json`` prints for the plan's percentile latency ``bound`` (ms). The plan states the
    percentile never below the mean (``SLO.with_means``), but ``estimate`` prints the raw percentile: where the
    plan's figure is the mean (a p50 or p90 of a right-skewed latency lies below it), the estimate's field is at
    most that figure, not equal to it — stating it as equal sent a reader checking a p50 plan after a 4% gap."""
    if bound > mean * (1 + 1e-9):
        return f"{name}_p{q}_ms {bound:,{spec}}"
    return f"{name}_p{q}_ms at most {bound:,{spec}}"


def estimate_command(plan: dict[str, Any]) -> str:
    """The argv of :func:`estimate_argv` as one shell line."""
    return shlex.join(estimate_argv(plan)[0])


def training_estimate_argv(plan: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(``gpucast training-estimate ...`` argv, notes) for a training plan dict: its GPUs, parallelism (TP, PP, CP,
    VPP, EP, ZeRO), micro-batch and global batch, recomputation, method and LoRA, optimizer, master weights, stack,
    precision and FP8 recipe — the setup the plan's memory and speed were computed for."""
    inputs, res, par, metrics = plan["inputs"], plan["gpu_resources"], plan["parallelism"], plan["training_metrics"]
    keys = ("model", "framework", "lora_targets", "precision", "sequence_length", "global_batch_size", "method",
            "optimizer_type", *(("lora_rank",) if inputs.get("method", "full") != "full" else ()))  # fmt: skip
    needed = [f"inputs.{key}" for key in keys if inputs.get(key) is None]
    if needed:
        raise InputError(f"the plan file has no {', '.join(needed)} (written by an older gpucast, or with "
                         "--model-size): re-run the planning command to re-check it")  # fmt: skip
    argv = ["gpucast", "training-estimate", "--model", str(inputs["model"]), "--gpu", str(res["recommended_gpu_type"]),
            "--num-gpus", str(res["required_gpus"]), "--precision", str(inputs["precision"]),
            "--seq-len", str(inputs["sequence_length"]), "--micro-batch", str(par["micro_batch_size"]),
            "--global-batch", str(inputs["global_batch_size"]), "--tp", str(par["tensor_parallel"]),
            "--pp", str(par["pipeline_parallel"]), "--zero", str(par["zero_stage"]),
            "--recompute", str(par["recompute"]), "--method", str(inputs["method"]),
            "--optimizer", "adamw8bit" if inputs.get("optimizer_8bit") else str(inputs["optimizer_type"]).lower(),
            "--master-weights", str(inputs.get("master_weights", "fp32")), "--framework", str(inputs["framework"])]  # fmt: skip
    for flag, key in (("--cp", "context_parallel"), ("--vpp", "virtual_pipeline_stages"), ("--ep", "expert_parallel")):
        if int(par.get(key) or 1) > 1:
            argv += [flag, str(par[key])]
    if inputs["method"] != "full":
        argv += ["--lora-rank", str(inputs["lora_rank"]), "--lora-targets", ",".join(inputs["lora_targets"])]
    if not par.get("flash_attention", True):
        argv.append("--no-flash-attention")
    if inputs.get("sequence_parallel") is False:
        argv.append("--no-sequence-parallel")
    if inputs.get("fp8_recipe"):
        argv += ["--fp8-recipe", str(inputs["fp8_recipe"])]
    notes = [f"the plan's run: it should print {metrics['tokens_per_second_per_gpu']:,.0f} tokens/s per GPU and "
             f"{res['gpu_memory_per_gpu_gb']:.1f} GB per GPU"]  # fmt: skip
    return argv, notes
