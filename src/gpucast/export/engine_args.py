"""Engine launch arguments from a serving plan: ``gpucast export vllm|sglang|trtllm``.

The plan fixes the numbers; ``catalog/engine_flags.toml`` names the flags for one stated release of each engine
(vLLM ``vllm serve`` engine args, https://docs.vllm.ai/en/v0.10.2/configuration/engine_args.html; SGLang
``python -m sglang.launch_server`` server arguments, https://docs.sglang.ai/advanced_features/server_arguments.html;
TensorRT-LLM ``trtllm-serve``, https://nvidia.github.io/TensorRT-LLM/1.0.0/commands/trtllm-serve/trtllm-serve.html).

What goes where, and why:

* tensor / pipeline parallel size = the plan's TP and PP (one replica = TP x PP GPUs);
* max concurrent sequences = the plan's operating concurrency per replica (the largest that meets the SLOs,
  ``throughput.concurrency_per_replica``), so the engine cannot batch past the latency the plan promised;
* max model length = the planned context window (the KV capacity was sized for it);
* memory fraction = the plan's ``gpu_memory_utilization``; each engine reads it under its own policy (vLLM: of total
  memory; SGLang: static weights + KV pool; TensorRT-LLM: of the memory free after weights) — a note says so
  when exporting for another engine than the one planned;
* KV-cache dtype and weight quantization from the planned precisions (only FP8 is quantized on the fly; INT8,
  INT4 and FP4 need a pre-quantized checkpoint whose config the engine reads);
* chunked prefill with the planner's per-step token budget (``engines.toml`` ``max_batched_tokens``);
* agent plans: prefix caching on or off as planned; speculative plans: the proposer and k; disaggregated plans: a
  note naming the prefill and decode pools (``engine_options.py``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from ..catalog import loader
from ..errors import CatalogError, InputError
from .engine_options import disaggregation_note, prefix_caching, speculative
from .plan_file import EngineFlags, check_plan, engine_flags, require_kind

SIXTEEN_BIT_OR_MORE = ("FP32", "FP16", "BF16")  # weights every engine loads from a standard checkpoint


@dataclass(frozen=True)
class EngineLaunch:
    """A launch command for one replica, plus the options file TensorRT-LLM needs and notes for the operator."""

    engine: EngineFlags
    model: str
    args: list[str]  # after the command: model (positional or flagged) and flags, in a stable order
    config_file: dict[str, Any] = field(default_factory=dict)  # trtllm --extra_llm_api_options content
    notes: list[str] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return [*self.engine.command, *self.args]

    def shell(self) -> str:
        """The command as a commented shell snippet (one flag per line)."""
        lines = [f"# {self.engine.name} {self.engine.version}; flags: {self.engine.source}"]
        lines += [f"# {note}" for note in self.notes]
        if self.config_file:
            import yaml

            body = yaml.safe_dump(self.config_file, sort_keys=False).rstrip()
            lines += [f"cat > {shlex.quote(self.engine.config_file_path)} <<'EOF'", body, "EOF"]
        words = [shlex.quote(w) for w in self.argv]
        head = len(self.engine.command) + (1 if not self.engine.model_flag else 0)
        parts = [" ".join(words[:head])]
        i = head
        while i < len(words):
            takes_value = i + 1 < len(words) and not words[i + 1].startswith("--")
            parts.append(" ".join(words[i : i + 2]) if takes_value else words[i])
            i += 2 if takes_value else 1
        lines.append(" \\\n  ".join(parts))
        return "\n".join(lines) + "\n"


def model_path(plan: dict[str, Any]) -> str:
    """The Hugging Face repository the engine loads (catalog ``hf_id``), else the plan's model name."""
    model = plan["model"]
    for key in (model.get("id"), model.get("name")):
        if key:
            try:
                hf_id = loader.resolve_model(key).hf_id
            except (CatalogError, InputError):
                continue
            if hf_id:
                return hf_id
    return str(model.get("name") or plan["inputs"].get("model"))


def _number(value: float) -> str:
    return f"{value:g}"


def launch_for(plan: dict[str, Any], engine: str | None = None) -> EngineLaunch:
    """The launch command of one replica of a serving plan for ``engine`` (default: the plan's own engine)."""
    check_plan(plan)
    require_kind(plan, "inference", f"gpucast export {engine or 'vllm|sglang|trtllm'}")
    inputs, res, thr = plan["inputs"], plan["gpu_resources"], plan["throughput"]
    planned_engine = str(inputs.get("engine") or "vllm")
    flags = engine_flags(engine or planned_engine)
    names = flags.flags
    model = model_path(plan)
    notes: list[str] = []
    args: list[str] = [model] if not flags.model_flag else [flags.model_flag, model]
    args += list(flags.always)

    def add(key: str, value: str) -> None:
        if names.get(key):
            args.extend([names[key], value])

    add("tensor_parallel", str(int(res["tensor_parallel"])))
    add("pipeline_parallel", str(int(res["pipeline_parallel"])))
    add("max_num_seqs", str(int(thr["concurrency_per_replica"])))
    add("max_model_len", str(int(inputs["context_window"])))
    add("memory_fraction", _number(float(inputs.get("gpu_memory_utilization", 0.9))))
    precision = str(inputs.get("precision", "FP16")).upper()
    kv_precision = str(inputs.get("kv_precision") or precision).upper()
    if precision in flags.dtype:
        add("dtype", flags.dtype[precision])
    if precision in flags.quantization:
        add("quantization", flags.quantization[precision])
    elif precision not in SIXTEEN_BIT_OR_MORE:
        notes.append(f"{precision} weights: serve a pre-quantized {precision} checkpoint of {model} "
                     f"({flags.name} reads its quantization config)")  # fmt: skip
    config: dict[str, Any] = {}
    if kv_precision in flags.kv_cache_dtype:
        if names.get("kv_cache_dtype"):
            add("kv_cache_dtype", flags.kv_cache_dtype[kv_precision])
        else:
            config["kv_cache_config"] = {"dtype": flags.kv_cache_dtype[kv_precision]}
    budget = loader.resolve_engine(flags.id).max_batched_tokens
    if names.get("chunked_prefill"):
        if flags.chunked_prefill_value == "max_batched_tokens":
            add("chunked_prefill", str(budget))
        else:
            args.append(names["chunked_prefill"])
    elif flags.config_file_flag:
        config["enable_chunked_prefill"] = True
    add("max_batched_tokens", str(budget))
    prefix_caching(plan, flags, args, config)
    speculative(plan, flags, args, config, notes)
    if pools := disaggregation_note(plan):
        notes.append(pools)
    if config:
        args.extend([flags.config_file_flag, flags.config_file_path])
    if flags.id != loader.resolve_engine(planned_engine).id:
        notes.append(f"the plan was sized for {planned_engine}; {flags.name} applies the memory fraction under its "
                     "own policy, so re-plan with --engine " + flags.id + " for exact capacity")  # fmt: skip
    per_replica = int(res["tensor_parallel"]) * int(res["pipeline_parallel"])
    scaling = plan["scaling"]
    notes.insert(0, f"one replica on {per_replica} x {res['recommended_gpu_type']}; run "
                    f"{scaling['recommended_min_replicas']}-{scaling['recommended_max_replicas']} replicas of it")  # fmt: skip
    return EngineLaunch(engine=flags, model=model, args=args, config_file=config, notes=notes)
