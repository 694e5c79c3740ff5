"""Engine launch arguments from a serving plan: ``gpucast export vllm|sglang|trtllm``.

The plan fixes the numbers; ``catalog/engine_flags.toml`` names the flags for each engine release (the current
stable one by default, an older one with ``--engine-version``; vLLM and SGLang names are checked against the
releases' own argument parsers by tests/test_export_engine_cli.py).

What goes where, and why:

* tensor / pipeline parallel size = the plan's TP and PP (one replica = TP x PP GPUs); MoE plans with expert
  parallelism or attention data parallelism get the engine's EP / DP-attention options (``engine_options.moe``);
* max concurrent sequences = the plan's operating concurrency per replica (the largest that meets the SLOs,
  ``throughput.concurrency_per_replica``), so the engine cannot batch past the latency the plan promised; where
  the engine's flag caps each attention data-parallel rank (vLLM, TensorRT-LLM), that concurrency split over the
  ranks (rounded up);
* max model length = the planned context window (the KV capacity was sized for it);
* memory fraction = the plan's ``gpu_memory_utilization``; each engine reads it under its own policy (vLLM: of total
  memory; SGLang: static weights + KV pool; TensorRT-LLM: of the memory free after weights) — a note says so
  when exporting for another engine than the one planned;
* dtype ``auto`` for 16-bit plans (the checkpoint's own dtype: BF16 for Llama 3.1 — forcing float16 would cast
  it; both are 2 bytes, so the plan's memory holds); FP8 weights are quantized on the fly from a 16-bit
  checkpoint, and read as they are from a checkpoint released in FP8 (DeepSeek-V3/R1); INT8, INT4 and FP4 need a
  pre-quantized checkpoint whose config the engine reads;
* chunked prefill with the planner's per-step token budget (``engines.toml`` ``max_batched_tokens``);
* the served model name clients send (the catalog id, or ``--served-model``);
* agent plans: prefix caching on or off as planned; speculative plans: the proposer and k; disaggregated plans:
  the pool's role and KV-transfer settings (``engine_options.py``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from ..catalog import loader
from ..core.engine_era import parse_engine_version
from ..core.engine_releases import sglang_rank_chunk
from ..core.memory import MemorySettings
from ..errors import InputError
from ..planning.request import release_memory
from .engine_options import disaggregation, disaggregation_note, moe, prefix_caching, speculative
from .plan_file import EngineFlags, catalog_model, check_exportable, check_plan, engine_flags, is_stand_in, require_kind
from .recheck import stated_cap_note

SIXTEEN_BIT_OR_MORE = ("FP32", "FP16", "BF16")  # weights every engine loads from a standard checkpoint


@dataclass(frozen=True)
class LaunchOptions:
    """What the plan does not say about the launch: which release, which checkpoint, which draft head."""

    engine: str | None = None  # default: the plan's engine
    version: str | None = None  # default: the engine's current stable release (catalog/engine_flags.toml)
    served_model: str | None = None  # Hugging Face id to serve (required in practice for --model-size plans)
    speculative_model: str | None = None  # EAGLE-3 head for a model without MTP layers
    role: str | None = None  # "prefill" | "decode": one pool of a disaggregated plan


@dataclass(frozen=True)
class EngineLaunch:
    """A launch command for one replica, plus the options file TensorRT-LLM needs and notes for the operator."""

    engine: EngineFlags
    model: str
    served_name: str
    args: list[str]  # after the command: model (positional or flagged) and flags, in a stable order
    config_file: dict[str, Any] = field(default_factory=dict)  # trtllm options-file content
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # also printed to stderr by the CLI

    @property
    def argv(self) -> list[str]:
        return [*self.engine.command, *self.args]

    def shell(self) -> str:
        """The command as a commented shell snippet (one flag per line)."""
        lines = [
            f"# {self.engine.name} {self.engine.version} ({release_words(self.engine)}); flags: {self.engine.source}"
        ]
        lines += [f"# WARNING: {w}" for w in self.warnings]
        lines += [f"# {note}" for note in self.notes]
        if self.config_file:
            import yaml

            body = yaml.safe_dump(self.config_file, sort_keys=False).rstrip()
            lines += [f"cat > {shlex.quote(self.engine.config_file_path)} <<'EOF'", body, "EOF"]
        lines.append(shell_words(self.argv, len(self.engine.command) + (0 if self.engine.model_flag else 1)))
        return "\n".join(lines) + "\n"


def release_words(engine: EngineFlags) -> str:
    """Says whether the release is gpucast's default (the current stable one) or an older one (the plan's release
    or ``--engine-version``)."""
    if not engine.releases or engine.version == engine.releases[0]:
        return "gpucast's default is the current stable release; --engine-version picks another"
    return f"the plan's release or --engine-version; the current stable release is {engine.releases[0]}"


def _release_flags(
    engine: str, planned_engine: str, planned_version: Any, options: LaunchOptions, warnings: list[str]
) -> EngineFlags:
    """The launch interface to write: ``--engine-version``'s release; else, for the plan's own engine, the release
    the plan was sized for where gpucast holds its flags (a plan for vLLM 0.10.2 exported with 0.34's flags named
    a release it was not sized for, without a word); else the current stable release, with a warning when the plan
    names another one."""
    if options.version is not None or not planned_version:
        return engine_flags(engine, options.version)
    current = engine_flags(engine, None)
    try:
        planned_id = engine_flags(planned_engine, None).id
    except InputError:  # a plan for an engine without launch flags (NIM, LMDeploy): nothing to carry over
        return current
    if current.id != planned_id:  # another engine than the plan's: its current release
        return current
    try:
        return engine_flags(engine, str(planned_version))
    except InputError:
        if str(planned_version).strip().lstrip("v") != current.version:
            warnings.append(
                f"the plan was sized for {current.name} {planned_version}, whose launch flags gpucast does not hold "
                f"(it knows {', '.join(current.releases)}): these are {current.version}'s; check them against that "
                "release's --help, or pass --engine-version"
            )
        return current


def _step_budget(plan: dict[str, Any], flags: EngineFlags, notes: list[str]) -> int:
    """The per-step token budget to launch with: the one the plan chunked its prefills by (``gpu_resources``
    ``max_batched_tokens``: a vLLM V0 plan steps by 8,192 tokens, or by whole prompts without chunked prefill,
    where the release's plain default is 2,048); for a plan file older than that field, the engine's default on the
    plan's GPU at the plan's release, by the planner's own rule (:func:`_budget_at_release`)."""
    res = plan["gpu_resources"]
    engine, gpu = loader.resolve_engine(flags.id), loader.resolve_gpu(str(res["recommended_gpu_type"]))
    planned = int(res.get("max_batched_tokens") or 0) or _budget_at_release(plan, gpu)
    default = loader.default_max_batched_tokens(engine, flags.version, gpu)  # the exported release's own
    if planned != default:
        notes.append(f"step token budget {planned:,}: the one the plan was sized with ({flags.name} "
                     f"{flags.version}'s default on {gpu.name} is {default:,})")  # fmt: skip
    return planned


def _rank_share_note(flags: EngineFlags, budget: int, attention_dp: int) -> str | None:
    """What an engine that divides its step budget over attention-DP ranks makes of the launched one (SGLang:
    ``chunked_prefill_size // dp`` since 0.4.4.post1, ``core.engine_releases.sglang_rank_chunk``): the flag stays
    the whole server's, as the plan records it, and each rank prefills its share a step; None elsewhere."""
    if attention_dp <= 1 or not loader.resolve_engine(flags.id).step_budget_rule:
        return None
    share = sglang_rank_chunk(budget, attention_dp, parse_engine_version(flags.version))
    if share == budget:
        return None
    return (f"{flags.name} divides the {budget:,}-token chunked prefill size over its {attention_dp} attention-DP "
            f"ranks: each rank prefills up to {share:,} tokens a step")  # fmt: skip


def _budget_at_release(plan: dict[str, Any], gpu: Any) -> int:
    """The step budget a plan file without ``max_batched_tokens`` was sized with, by the rule the planner applies
    (``planning.request``: ``for_engine_release`` at the plan's release and context window, then the GPU's default).
    ``loader.default_max_batched_tokens`` alone knows only the GPU rule: a vLLM 0.6.3 plan with a 4,096-token
    context (V0 without chunked prefill steps by max(max_model_len, 2048) tokens) was exported with 2,048. The
    plan's engine, whichever engine the export launches (a recorded budget is passed as it is, too). A plan whose
    model the catalog does not hold keeps the engine's budget on the GPU."""
    inputs = plan["inputs"]
    engine = loader.resolve_engine(str(inputs.get("engine") or "vllm"))
    version = inputs.get("engine_version")
    model = catalog_model(plan)
    if model is not None and inputs.get("context_window"):
        settings = release_memory(engine, None, version, model, int(inputs["context_window"]))
    else:
        settings = MemorySettings.for_engine(engine, None, loader.large_gpu_rule(engine, version))
    return settings.on_gpu(gpu).max_batched_tokens


def shell_words(argv: list[str], head: int) -> str:
    """``argv`` quoted for a shell, one flag (and its value) per continued line after the first ``head`` words."""
    words = [shlex.quote(w) for w in argv]
    parts = [" ".join(words[:head])]
    i = head
    while i < len(words):
        takes_value = i + 1 < len(words) and not words[i + 1].startswith("--")
        parts.append(" ".join(words[i : i + 2]) if takes_value else words[i])
        i += 2 if takes_value else 1
    return " \\\n  ".join(parts)


def model_path(plan: dict[str, Any], served_model: str | None = None) -> str:
    """The checkpoint the engine loads: ``served_model``, else the catalog model's Hugging Face repository, else
    the plan's model id (a ``--model-size`` stand-in has no checkpoint: a warning says so)."""
    if served_model:
        return served_model
    spec = catalog_model(plan)
    if spec is not None and spec.hf_id:
        return str(spec.hf_id)
    model = plan["model"]
    return str(model.get("id") or model.get("name") or plan["inputs"].get("model"))


def served_name(plan: dict[str, Any], served_model: str | None = None) -> str:
    """The ``model`` clients send: the checkpoint given with --served-model, else the catalog id (short and stable
    across checkpoint revisions)."""
    if served_model:
        return served_model
    spec = catalog_model(plan)
    return str(spec.id) if spec is not None else model_path(plan)


def _number(value: float) -> str:
    return f"{value:g}"


def _precision_args(plan: dict[str, Any], flags: EngineFlags, model: str, add: Any, config: dict[str, Any],
                    notes: list[str], warnings: list[str]) -> None:  # fmt: skip
    """dtype, weight quantization and KV-cache dtype for the planned precisions; a warning when the engine's flags
    cannot state the planned KV-cache dtype (the engine then stores it in the activations' dtype, so a replica holds
    fewer tokens than the plan counted)."""
    inputs = plan["inputs"]
    precision = str(inputs.get("precision", "FP16")).upper()
    kv_precision = str(inputs.get("kv_precision") or precision).upper()
    spec = catalog_model(plan)
    released_as = str(getattr(spec, "checkpoint_precision", "") or "").upper()
    if precision in flags.dtype:
        add("dtype", flags.dtype[precision])
    if precision in SIXTEEN_BIT_OR_MORE or precision == released_as:
        pass  # the checkpoint is already in the planned precision: the engine reads its config
    elif precision in flags.quantization:
        add("quantization", flags.quantization[precision])
    else:
        notes.append(f"{precision} weights: serve a pre-quantized {precision} checkpoint of {model} "
                     f"({flags.name} reads its quantization config)")  # fmt: skip
    if kv_precision in flags.kv_cache_dtype:
        if flags.flags.get("kv_cache_dtype"):
            add("kv_cache_dtype", flags.kv_cache_dtype[kv_precision])
        else:
            config["kv_cache_config"] = {"dtype": flags.kv_cache_dtype[kv_precision]}
    elif kv_precision != "FP32" if precision == "FP32" else kv_precision not in ("FP16", "BF16"):  # not the default
        stated = ", ".join(sorted(flags.kv_cache_dtype)) or "none"
        warnings.append(f"the plan counts the KV cache at {kv_precision}, which {flags.name}'s KV-cache dtype flag "
                        f"cannot state (gpucast maps {stated}): the engine keeps it in the activations' dtype, so a "
                        "replica's KV capacity and concurrency differ from the plan's; re-plan with --kv-precision "
                        f"{next(iter(sorted(flags.kv_cache_dtype)), 'BF16')} or BF16")  # fmt: skip


def _ranks_per_sequence_cap(flags: EngineFlags, tp: int, attention_dp: int) -> int:
    """How many schedulers share the plan's concurrency: the attention DP ranks where the engine's max-sequences
    flag caps each rank (vLLM: one engine core per DP rank; TensorRT-LLM: one executor per rank, attention DP over
    all TP ranks), else 1 (SGLang divides --max-running-requests by its DP size itself)."""
    if attention_dp <= 1 or not flags.moe.get("seqs_per_attention_dp_rank"):
        return 1
    return attention_dp if flags.moe.get("dp_attention_flag") else tp


def max_sequences_value(flags: EngineFlags, concurrency: int, tp: int, pp: int, attention_dp: int) -> int:
    """The max-sequences flag's value that lets the engine hold the plan's ``concurrency`` and no more.

    * caps each attention DP rank (vLLM, TensorRT-LLM): the concurrency split over the ranks, rounded up;
    * caps each pipeline microbatch (TensorRT-LLM: its capacity scheduler admits max_batch_size x pp_size
      sequences, tensorrt_llm/_torch/pyexecutor/_util.py): split over the PP stages as well;
    * a replica-wide value the engine floor-divides over its attention DP ranks (SGLang: max_running_requests //
      attn_dp_size per rank): rounded up to a multiple of the ranks, so no rank holds fewer than its share."""
    ranks = _ranks_per_sequence_cap(flags, tp, attention_dp) * (pp if flags.limits.get("seqs_per_pp_stage") else 1)
    value = -(-concurrency // ranks)
    if attention_dp > 1 and flags.moe.get("seqs_floor_divided_over_dp"):
        value = -(-value // attention_dp) * attention_dp
    return value


def _memory_fraction_in_options_file(flags: EngineFlags, config: dict[str, Any], fraction: float) -> None:
    """Repeat the memory fraction inside the options file's section that would otherwise replace it: TensorRT-LLM
    1.0 builds kv_cache_config from the CLI's fraction and then swaps in the file's kv_cache_config whole
    (update_llm_args_with_extra_dict: llm_args | file), so an FP8 KV cache or a prefix-caching switch reset the
    fraction to KvCacheConfig's default 0.9; 1.2 merges the two, and the repeated value agrees with the flag."""
    key = flags.limits.get("memory_fraction_config_key", "")
    if key and key.split(".")[0] in config:
        section = config[key.split(".")[0]]
        section[key.split(".", 1)[1]] = fraction


def launch_for(plan: dict[str, Any], engine: str | None = None, options: LaunchOptions | None = None) -> EngineLaunch:
    """The launch command of one replica of a serving plan for ``engine`` (default: the plan's own engine)."""
    options = options or LaunchOptions(engine=engine)
    engine = engine or options.engine
    check_plan(plan)
    require_kind(plan, "inference", f"gpucast export {engine or 'vllm|sglang|trtllm'}")
    check_exportable(plan)
    inputs, res, thr = plan["inputs"], plan["gpu_resources"], plan["throughput"]
    planned_engine = str(inputs.get("engine") or "vllm")
    notes: list[str] = []
    warnings: list[str] = []
    flags = _release_flags(engine or planned_engine, planned_engine, inputs.get("engine_version"), options, warnings)
    names = flags.flags
    model = model_path(plan, options.served_model)
    if is_stand_in(plan) and not options.served_model:
        warnings.append(f"the plan's model is a --model-size stand-in ({plan['model'].get('name')}), not a checkpoint: "
                        "pass --served-model HF_ID with the model you will serve")  # fmt: skip
    args: list[str] = [model] if not flags.model_flag else [flags.model_flag, model]
    args += list(flags.always)
    # an engine without a served-name flag answers to the checkpoint path it loaded
    name = served_name(plan, options.served_model) if flags.served_model_flag else model
    if flags.served_model_flag:
        args += [flags.served_model_flag, name]

    def add(key: str, value: str) -> None:
        if names.get(key):
            args.extend([names[key], value])

    config: dict[str, Any] = {}
    tp, pp = int(res["tensor_parallel"]), int(res["pipeline_parallel"])
    attention_dp = int(res.get("attention_data_parallel", 1) or 1)
    add("tensor_parallel", str(tp // attention_dp if flags.moe.get("attention_tp_divides") else tp))
    add("pipeline_parallel", str(pp))
    moe(plan, flags, args, config, notes)
    concurrency = max(1, int(thr["concurrency_per_replica"]))
    if options.role == "decode" and plan.get("disaggregation"):
        concurrency = max(1, int(plan["disaggregation"].get("decode_batch") or concurrency))
    add("max_num_seqs", str(max_sequences_value(flags, concurrency, tp, pp, attention_dp)))
    if names.get("max_num_seqs") and thr.get("concurrency_limit") == "max-num-seqs":
        capped = stated_cap_note(inputs, str(res["recommended_gpu_type"]))
        if capped:  # an old plan file's 256 on an H100: the export keeps the concurrency the plan was sized for
            notes.append(f"{names['max_num_seqs']} is the plan's concurrency, limited by {capped}")
    add("max_model_len", str(int(inputs["context_window"])))
    add("memory_fraction", _number(float(inputs.get("gpu_memory_utilization", 0.9))))
    _precision_args(plan, flags, model, add, config, notes, warnings)
    budget = _step_budget(plan, flags, notes)
    if names.get("chunked_prefill") and (share := _rank_share_note(flags, budget, attention_dp)):
        notes.append(share)
    if names.get("chunked_prefill"):
        if flags.chunked_prefill_value == "max_batched_tokens":
            add("chunked_prefill", str(budget))
        else:
            args.append(names["chunked_prefill"])
    elif flags.config_file_flag:
        config["enable_chunked_prefill"] = True
    add("max_batched_tokens", str(budget))
    prefix_caching(plan, flags, args, config)
    speculative(plan, flags, args, config, notes, options.speculative_model)
    if options.role:
        disaggregation(flags, options.role, args, config, notes)
    elif pools := disaggregation_note(plan):
        notes.append(pools)
    _memory_fraction_in_options_file(flags, config, float(inputs.get("gpu_memory_utilization", 0.9)))
    if config:
        args.extend([flags.config_file_flag, flags.config_file_path])
    if flags.id != loader.resolve_engine(planned_engine).id:
        notes.append(f"the plan was sized for {planned_engine}; {flags.name} applies the memory fraction under its "
                     "own policy, so re-plan with --engine " + flags.id + " for exact capacity")  # fmt: skip
    scaling = plan["scaling"]
    low, high = scaling["recommended_min_replicas"], scaling["recommended_max_replicas"]
    count = f"{low} replicas" if low == high else f"{low}-{high} replicas"
    what = f"one {options.role} instance" if options.role else "one replica"
    runs = "" if options.role else f"; run {count} of it"
    notes.insert(0, f"{what} on {tp * pp} x {res['recommended_gpu_type']}{runs}; clients send model={name}")
    return EngineLaunch(engine=flags, model=model, served_name=name, args=args, config_file=config, notes=notes,
                        warnings=warnings)  # fmt: skip
