"""What a training calibration row states -> the ``TrainingSetup`` it ran (``setup_for``), by source.

Split from ``validation.training`` (which groups rows into cases, predicts them and scores them): each source
states its configuration differently — llm-foundry MPT rows by the MPT yaml shapes, Megatron-LM rows by the
papers' tables, torchtune rows by their flag stack, any other row by its stated columns and a catalog model —
and the mapping is the part that grows with every new source. Standard library only.
"""

from __future__ import annotations

import dataclasses
import math
import re

from ..catalog.loader import resolve_gpu, resolve_model
from ..core.params import count_parameters
from ..core.specs import GPUSpec, ModelSpec, Precision
from ..core.training_memory import TrainingSetup, lora_trainable_parameters, training_memory
from ..errors import GpucastError

# ---------------------------------------------------------------------------------------------- shapes
# llm-foundry scripts/train/yamls/pretrain/mpt-*.yaml: d_model / n_heads / n_layers, vocab 50368, expansion 4,
# tied embeddings, no biases; the benchmark configs add a learned position table (max_seq_len x d_model).
MPT = {"125m": (768, 12, 12), "350m": (1024, 16, 24), "760m": (1536, 12, 24), "1b": (2048, 16, 24),
       "3b": (2560, 20, 32), "7b": (4096, 32, 32), "13b": (5120, 40, 40), "30b": (7168, 64, 48),
       "70b": (8192, 64, 80)}  # fmt: skip
# Narayanan et al. 2021 (arXiv 2104.04473) Table 1: heads, TP, PP for the README's April-2021 rows.
MEGATRON_2021 = {"1.7B": (24, 1, 1), "3.6B": (32, 2, 1), "7.5B": (32, 4, 1), "18B": (48, 8, 1), "39B": (64, 8, 2),
                 "76B": (80, 8, 4), "145B": (96, 8, 8), "310B": (128, 8, 16), "530B": (128, 8, 35),
                 "1T": (160, 8, 64)}  # fmt: skip
# Korthikanti et al. 2022 (arXiv 2205.05198) Table 3: hidden, heads, layers, TP, PP, GPUs, global batch.
MEGATRON_2022 = {"22B": (6144, 64, 48, 8, 1, 8, 4), "175B": (12288, 96, 96, 8, 8, 64, 64),
                 "530B": (20480, 128, 105, 8, 35, 280, 280), "1T": (25600, 160, 128, 8, 64, 512, 512)}  # fmt: skip
GPU_NAMES = {"H100-80GB-SXM": "h100-sxm", "A100-80GB-SXM (Selene)": "a100-80gb-sxm", "RTX A6000 48GB": "a6000",
             "A100 (80GB assumed)": "a100-80gb-sxm", "A100 (memory size not stated)": "a100-80gb-sxm"}  # fmt: skip


def gpt(name: str, hidden: int, heads: int, layers: int, vocab: int, tied: bool) -> ModelSpec:
    """A GPT-style decoder: plain 4h MLP, MHA, LayerNorms (as in MPT and Megatron GPT)."""
    return ModelSpec(
        id=name.lower(), name=name, num_layers=layers, hidden_size=hidden, num_heads=heads, num_kv_heads=heads,
        head_dim=hidden // heads, intermediate_size=4 * hidden, vocab_size=vocab, tie_word_embeddings=tied,
        gated_mlp=False,
    )  # fmt: skip


class RowSkipped(Exception):
    """A row that cannot be mapped to a setup; the message says why."""


_COUNT = re.compile(r"(\d+)(?:\s*\(.*\))?")  # "8", "8 (1 node)"


def _count(row: dict[str, str], column: str) -> int | None:
    """A count column (``num_gpus``, ``seq_len``): blank is None (not stated); otherwise a whole number of 1 or
    more, optionally followed by a remark in brackets as published tables write it ("8 (1 node)"), or the row is
    skipped with its value. The first digits of the text were read before: "-8" GPUs was 8, "0" GPUs let the dp
    column stand for the GPU count, and "4k" tokens was 4."""
    text = (row.get(column) or "").strip()
    if not text:
        return None
    count = _COUNT.fullmatch(text)
    if count is None or int(count.group(1)) < 1:
        raise RowSkipped(f"{column} {text!r} is not a whole number of 1 or more")
    return int(count.group(1))


def _check_params_b(row: dict[str, str]) -> None:
    """``params_b`` is the row's own statement of the model size: blank, or a positive number of billions
    (a negative or non-number size was accepted unread on a catalog model's row)."""
    text = (row.get("params_b") or "").strip()
    if text and not 0 < float_column(row, "params_b") < math.inf:
        raise RowSkipped(f"params_b {text!r} must be a positive number of billions of parameters")


def _int(row: dict[str, str], column: str, default: int | None = None) -> int:
    """An integer column; blank means ``default`` where the caller has one, else the row is skipped."""
    text = row.get(column, "").strip()
    if not text and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        raise RowSkipped(f"{column} {text!r} is not a whole number") from None


def float_column(row: dict[str, str], column: str) -> float:
    try:
        return float(row[column])
    except (TypeError, ValueError):
        raise RowSkipped(f"{column} {row.get(column)!r} is not a number") from None


def _recompute_that_fits(setup: TrainingSetup) -> TrainingSetup:
    """Unstated recomputation: the least that fits, as a practitioner would configure it."""
    for option in ("none", "selective", "full"):
        candidate = dataclasses.replace(setup, recompute=option)
        if training_memory(candidate).fits(setup.gpu, 0.0):
            return candidate
    return dataclasses.replace(setup, recompute="full")


def framework_of(row: dict[str, str]) -> str:
    """The software stack of a row's ``framework`` column (core.training_memory.FRAMEWORKS)."""
    text = row.get("framework", "").lower()
    stacks = (("megatron", "megatron"), ("composer", "composer"), ("llm-foundry", "composer"), ("transformers", "hf"))
    for key, name in stacks:
        if key in text:
            return name
    return "torchtune" if "torchtune" in text else "default"


def setup_for(row: dict[str, str]) -> tuple[TrainingSetup, float, bool] | str:
    """(setup, the source's FLOPs per token or 0, HFU convention) for a row, or why it is skipped."""
    try:
        setup, their, hfu = _setup_for(row)
        return dataclasses.replace(setup, framework=framework_of(row)), their, hfu
    except RowSkipped as reason:
        return str(reason)
    except GpucastError as error:  # e.g. a GPU or model not in the catalog
        return str(error).split(" (see")[0]
    except ValueError as error:  # TrainingSetup rejects the stated configuration
        return str(error)


def _setup_for(row: dict[str, str]) -> tuple[TrainingSetup, float, bool]:
    rid, notes = row["id"], row.get("notes", "")
    seq = _count(row, "seq_len")
    if not seq:
        raise RowSkipped("sequence length / batch not stated")
    _check_params_b(row)
    batch_match = re.search(r"(\d+)seq", row["global_batch_tokens_or_seqs"])
    gpu = resolve_gpu(GPU_NAMES.get(row["gpu"], row["gpu"]))
    num_gpus = _count(row, "num_gpus") or 0
    if rid.startswith("mpt-"):
        size = row["model"].split("-")[1].lower()
        h, a, layers = MPT[size]
        model = gpt(row["model"], h, a, layers, 50368, True)
        mine = count_parameters(model).total + seq * h
        params_b = float_column(row, "params_b")
        if abs(mine / (params_b * 1e9) - 1) > 0.02:
            raise RowSkipped(f"MPT shape does not match params_b ({mine / 1e9:.3f}B vs {row['params_b']})")
        accum = re.search(r"grad_accum=(\d+)", notes)
        if accum is None:
            raise RowSkipped("grad_accum not stated in notes")
        setup = TrainingSetup(
            model=model, gpu=gpu, precision=Precision.FP8 if "fp8" in row["precision"] else Precision.BF16,
            master_weights="PURE" not in row["precision"], zero=3 if "FULL_SHARD" in row["zero_or_fsdp"] else 2,
            dp=num_gpus, micro_batch=_int(row, "micro_batch"), seq_len=seq, grad_accum=int(accum.group(1)),
            recompute="full" if row["grad_ckpt"] == "True" else "none",
        )  # fmt: skip
        return setup, 6.0 * params_b * 1e9 + 12.0 * layers * h * seq, False
    if rid.startswith("megatron-"):
        return _megatron(row, rid, seq, gpu, num_gpus, batch_match)
    if rid.startswith("torchtune-"):
        return _torchtune(row, rid, notes, seq, gpu, num_gpus), 0.0, False
    setup = _stated_setup(row, seq, gpu, num_gpus, batch_match)
    return setup, _measured_flops(notes, setup), False


def _measured_flops(notes: str, setup: TrainingSetup) -> float:
    """FLOPs per token of scripts/measure_training_gpu.py's MFU, when the notes say that convention: 6 x all
    parameters (LoRA: 4 x all + 2 x trainable) + causal attention; 0 (gpucast's own convention) otherwise."""
    if "6N (LoRA: 4N + 2 trainable) + causal attention" not in notes:
        return 0.0
    m = setup.model
    params = count_parameters(m).total
    attention = 6.0 * m.num_layers * setup.seq_len * m.num_heads * m.head_dim
    if setup.method == "full":
        return 6.0 * params + attention
    return 4.0 * params + 2.0 * lora_trainable_parameters(m, setup.lora_rank, setup.lora_targets) + attention


def _megatron(
    row: dict[str, str], rid: str, seq: int, gpu: GPUSpec, num_gpus: int, batch_match: re.Match[str] | None
) -> tuple[TrainingSetup, float, bool]:
    """Megatron-LM rows: shapes from the 2021/2022 papers' tables, the model column, or the 177B scaling run."""
    match = re.search(r"h=(\d+), L=(\d+)(?:, heads=(\d+))?, vocab (\d+)", row["model"])
    label = rid.split("-")[3] if rid.startswith("megatron-a100") else rid.split("-")[2]
    if rid.startswith("megatron-a100-2022"):
        h, a, layers, tp, pp, num_gpus, batch = MEGATRON_2022[label]
        model = gpt(f"GPT-{label}", h, a, layers, 51200, True)
        dp, recompute, their, hfu = 1, "selective", 0.0, False
    elif "strong" in rid:
        model, tp, pp, batch = gpt("GPT-177B", 12288, 96, 96, 131072, False), 8, 6, 1152
        dp, recompute, their, hfu = num_gpus // 48, "none", 0.0, False
    elif match is None:
        raise RowSkipped("model shape not stated")
    elif batch_match is None:
        raise RowSkipped("global batch (in sequences) not stated")
    elif rid.startswith("megatron-a100-2021"):
        h, layers, vocab = int(match.group(1)), int(match.group(2)), int(match.group(4))
        a, tp, pp = MEGATRON_2021[label]
        model = gpt(row["model"].split(" ")[0], h, a, layers, vocab, True)
        dp, batch, recompute, hfu = _int(row, "dp"), int(batch_match.group(1)), "full", True
        their = 96.0 * layers * h * h * (1 + seq / (6 * h) + vocab / (16 * layers * h))  # eq. (3) / (B*s)
    else:
        h, layers, a, vocab = (int(match.group(i)) for i in (1, 2, 3, 4))
        model = gpt(row["model"].split(" ")[0], h, a, layers, vocab, False)
        tp, pp, dp = _int(row, "tp"), _int(row, "pp"), _int(row, "dp")
        batch, recompute, their, hfu = int(batch_match.group(1)), "none", 0.0, False
    mine = count_parameters(model).total / 1e9
    if abs(mine / float_column(row, "params_b") - 1) > 0.05:
        raise RowSkipped(f"GPT shape does not match params_b ({mine:.1f}B vs {row['params_b']})")
    setup = TrainingSetup(
        model=model, gpu=gpu, tp=tp, pp=pp, dp=dp, zero=1, micro_batch=1, seq_len=seq,
        grad_accum=max(1, batch // dp), recompute=recompute, precision=Precision.BF16,
        flash_attention=not rid.startswith("megatron-a100"),  # 2021/2022 runs predate FlashAttention
        tp_comm_overlap=rid.startswith("megatron-h100"),  # "tp-comm-overlap on" (README / notes)
        sequence_parallel=not rid.startswith("megatron-a100-2021"),  # introduced by Korthikanti et al. 2022
        dropout=rid.startswith("megatron-a100"),  # GPT-3-era runs: hidden and attention dropout 0.1
    )  # fmt: skip
    if recompute == "none":
        setup = _recompute_that_fits(setup)
    return setup, their, hfu


def _torchtune(row: dict[str, str], rid: str, notes: str, seq: int, gpu: GPUSpec, num_gpus: int) -> TrainingSetup:
    """torchtune rows: the README's flag table adds one memory saver per row, in this order; the speed table
    ran the recipes' configs, which use ``CEWithChunkedOutputLoss`` and enable activation checkpointing
    (recipes/configs/llama3_1/8B_qlora_single_device.yaml: LoRA rank 8 on q, k, v, output and the MLP;
    llama3_2/3B_lora_single_device.yaml: rank 64 on q, v, output and the MLP)."""
    if "flags-baseline" in rid:
        raise RowSkipped("unpacked dataset: sequence lengths unknown")
    stack = ("packed", "compile", "chunkedce", "ac", "optbwd", "actoffload", "adamw8bit")
    flags = "-flags-" in rid
    step = next((i for i, s in enumerate(stack) if f"-{s}-" in rid), len(stack)) if flags else 3
    method = row["method"]
    low_memory = method == "full" and "full_finetune_single_device" in notes
    rank, targets = (64, ("q", "v", "o", "gate", "up", "down")) if flags else (8, _TARGETS_ALL)
    setup = TrainingSetup(
        model=resolve_model(row["model"]), gpu=gpu, method=method, master_weights=False,
        zero=3 if "FSDP" in row["zero_or_fsdp"] else 0, dp=num_gpus, micro_batch=_int(row, "micro_batch"),
        seq_len=seq, optimizer="adamw8bit" if (step >= 6 and method == "full") or low_memory else "adamw",
        chunked_loss=step >= 2, recompute="full" if step >= 3 else "none",
        optimizer_in_backward=(step >= 4 and method == "full") or low_memory,
        activation_offload=flags and step >= 5, cpu_offload="CPU offload" in notes,
        lora_rank=rank if "8b" in rid or flags else 16, lora_targets=targets,
    )  # fmt: skip
    if not flags:  # 30.3 GiB for 8B LoRA on the 48 GB A6000 (16.2 on the 4090): checkpointing off where it fits
        setup = _recompute_that_fits(dataclasses.replace(setup, recompute="none"))
    if low_memory and not training_memory(setup).fits(gpu, 0.0):  # paged 8-bit states spill to the host
        setup = dataclasses.replace(setup, cpu_offload=True)
    return setup


_TARGETS_ALL = ("q", "k", "v", "o", "gate", "up", "down")
_ZERO = re.compile(r"zero[-_ ]?(\d)", re.IGNORECASE)


def _stated_setup(
    row: dict[str, str], seq: int, gpu: GPUSpec, num_gpus: int, batch_match: re.Match[str] | None
) -> TrainingSetup:
    """Any other source: a catalog model and the stated columns, so that users can check their own runs.

    Blank tp/pp mean 1, a blank dp the rest of ``num_gpus``; the global batch is ``NNNseq`` or ``NNNtok``
    (micro batch x dp when blank); FULL_SHARD/FSDP is ZeRO-3, SHARD_GRAD_OP ZeRO-2, a distributed optimizer
    ZeRO-1; an unstated ``grad_ckpt`` is the least recomputation that fits, as for the known sources.
    """
    tp, pp = _int(row, "tp", 1), _int(row, "pp", 1)
    cp, vpp, ep = (_stated_degree(row.get("notes", ""), name) for name in ("CP", "VP", "EP"))
    dp = _int(row, "dp", max(1, num_gpus // (tp * pp * cp)))
    if num_gpus and cp > 1 and tp * pp * dp == num_gpus:  # a dp column of GPUs / (TP x PP) still holds the CP ranks
        dp //= cp
    if num_gpus and tp * pp * cp * dp != num_gpus:
        raise RowSkipped(f"num_gpus {num_gpus} is not tp x pp x cp x dp = {tp}x{pp}x{cp}x{dp}")
    micro = _int(row, "micro_batch", 1)
    tokens = re.search(r"(\d+)\s*tok", row["global_batch_tokens_or_seqs"])
    batch = int(batch_match.group(1)) if batch_match else int(tokens.group(1)) // seq if tokens else micro * dp
    sharding = row["zero_or_fsdp"].upper()
    stage = _ZERO.search(sharding)
    if stage:
        zero = int(stage.group(1))
    elif "SHARD_GRAD_OP" in sharding:
        zero = 2
    else:
        # the distributed optimizer first: notes such as "FSDP column 0 = DDP" name FSDP without using it
        zero = 1 if sharding.startswith("DISTRIBUTED OPTIMIZER") else 3 if "FSDP" in sharding else 0
    ckpt = row["grad_ckpt"].strip().lower()
    recompute = {"selective": "selective", "true": "full", "full": "full", "false": "none", "none": "none"}
    chosen = next((v for k, v in recompute.items() if ckpt.startswith(k)), "")
    model = resolve_model(row["model"])
    rank, targets = _lora_of(row.get("notes", ""))
    if model.num_experts and num_gpus > 1 and ep == 1:
        raise RowSkipped(
            f"{model.name} is a mixture of experts on {num_gpus} GPUs and the row states no expert parallelism"
        )
    fp8 = "fp8" in row["precision"].lower()
    recipe = "mxfp8" if "mxfp8" in row["precision"].lower() or "mxfp8" in row.get("notes", "").lower() else "delayed"
    setup = TrainingSetup(
        model=model, gpu=gpu, method=row["method"].strip().lower() or "full",
        precision=Precision.FP8 if fp8 else Precision.BF16,
        master_weights=_master_weights(row), zero=zero, tp=tp, pp=pp, dp=dp, micro_batch=micro, cp=cp, vpp=vpp, ep=ep,
        seq_len=seq, grad_accum=max(1, batch // (micro * dp)), recompute=chosen or "none",
        fp8_recipe=recipe if fp8 else "delayed",
        cpu_offload="cpu offload" in row.get("notes", "").lower(), lora_rank=rank, lora_targets=targets,
    )  # fmt: skip
    return setup if chosen else _recompute_that_fits(setup)


_DEGREE = {name: re.compile(rf"\b{name} ?(\d+)\b") for name in ("CP", "VP", "EP")}


def _stated_degree(notes: str, name: str) -> int:
    """Context (CP), virtual pipeline (VP) or expert (EP) parallelism stated in the notes ("TP 2 PP 8 CP 1 VP 4
    EP 32", Megatron-Bridge's table columns; "CP1 VP1 EP8" in NeMo's); 1 when absent or "n/a"."""
    match = _DEGREE[name].search(notes)
    return int(match.group(1)) if match else 1


_LORA_RANK = re.compile(r"LoRA r=(\d+)")
_LORA_ON = re.compile(r"\bon ((?:(?:q|k|v|o|gate|up|down)(?:_proj)?[/,]?)+)")


def _lora_of(notes: str) -> tuple[int, tuple[str, ...]]:
    """LoRA rank and targets stated in the notes ("LoRA r=16 alpha=32 on q/k/v/o/gate/up/down", "on q_proj,v_proj");
    unstated: rank 16 on q, k, v, o (gpucast's default)."""
    rank = _LORA_RANK.search(notes)
    on = _LORA_ON.search(notes)
    names = tuple(n.removesuffix("_proj") for n in re.split(r"[/,]", on.group(1)) if n) if on else ()
    return (int(rank.group(1)) if rank else 16), (names or ("q", "k", "v", "o"))


def _master_weights(row: dict[str, str]) -> bool:
    """FP32 master weights unless the row says pure BF16: "PURE" in the precision, or, on the eager PyTorch /
    transformers stack, plain "bf16" (model loaded in BF16, no autocast; "amp_bf16 (fp32 master)" keeps them)."""
    precision = row["precision"].upper()
    if "PURE" in precision:
        return False
    return not (framework_of(row) == "hf" and precision.startswith("BF16"))
