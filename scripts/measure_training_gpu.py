"""Measure single-GPU fine-tuning steps with the stack most fine-tuning uses: PyTorch + transformers + peft.

Run on a machine with one NVIDIA GPU (it needs torch, transformers and peft; nothing is downloaded: models are built
from the architecture numbers in ``src/gpucast/catalog/models.toml`` with random weights, which run the same kernels
as trained ones). Writes rows in the format of ``../shared/calibration/training.csv`` (tokens/s per GPU, MFU by the
6N + attention convention, peak memory) to the CSV given, one row per metric, flushing after every configuration so a
run cut short keeps what it measured::

    python3 scripts/measure_training_gpu.py OUT.csv [--quick]

Setups (each: 3 warm-up steps, then the mean of 6 timed steps between CUDA synchronisations):
- full fine-tune, FP32 master weights with BF16 autocast (what ``Trainer(bf16=True)`` does), fused AdamW;
- full fine-tune, pure BF16 weights and AdamW states (``torch_dtype=bfloat16`` + fused AdamW);
- LoRA r=16, alpha 32, on every linear layer of the blocks (q/k/v/o/gate/up/down), BF16 frozen base, fused AdamW;
- with and without gradient checkpointing (``model.gradient_checkpointing_enable()``, non-reentrant).
Attention is SDPA (``attn_implementation="sdpa"``), the transformers default.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gc
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [
    "id", "source", "framework", "model", "params_b", "gpu", "num_gpus", "precision", "seq_len",
    "global_batch_tokens_or_seqs", "micro_batch", "tp", "pp", "dp", "zero_or_fsdp", "grad_ckpt", "method", "metric",
    "value", "unit", "notes",
]  # fmt: skip

# (catalog id, method, master, seq_len, micro_batch, gradient checkpointing)
SETUPS = [
    ("llama-3.2-1b", "full", "fp32", 2048, 8, False),
    ("llama-3.2-1b", "full", "fp32", 2048, 8, True),
    ("llama-3.2-1b", "full", "bf16", 2048, 8, False),
    ("llama-3.2-1b", "lora", "bf16", 2048, 8, False),
    ("llama-3.2-3b", "full", "fp32", 2048, 4, True),
    ("llama-3.2-3b", "full", "bf16", 2048, 4, False),
    ("llama-3.2-3b", "lora", "bf16", 4096, 4, False),
    ("llama-3.1-8b", "lora", "bf16", 2048, 4, False),
    ("llama-3.1-8b", "lora", "bf16", 2048, 4, True),
    ("llama-3.1-8b", "lora", "bf16", 8192, 1, True),
    ("llama-3.1-8b", "full", "bf16", 2048, 2, True),
    ("qwen2.5-7b", "lora", "bf16", 2048, 4, False),
    ("qwen2.5-7b", "lora", "bf16", 4096, 2, True),
]
QUICK = [SETUPS[0], SETUPS[3], SETUPS[7]]


def hf_config(model_id: str):  # type: ignore[no-untyped-def]
    """A transformers config with the catalog's architecture (Llama or Qwen2 family)."""
    from transformers import LlamaConfig, Qwen2Config

    spec = tomllib.loads((ROOT / "src/gpucast/catalog/models.toml").read_text())["models"][model_id]
    common = {
        "hidden_size": spec["hidden_size"],
        "intermediate_size": spec["intermediate_size"],
        "num_hidden_layers": spec["num_layers"],
        "num_attention_heads": spec["num_heads"],
        "num_key_value_heads": spec["num_kv_heads"],
        "head_dim": spec.get("head_dim", spec["hidden_size"] // spec["num_heads"]),
        "vocab_size": spec["vocab_size"],
        "tie_word_embeddings": spec.get("tie_word_embeddings", False),
        "max_position_embeddings": 32768,
        "use_cache": False,
    }
    if model_id.startswith("qwen"):
        return spec, Qwen2Config(**common)
    return spec, LlamaConfig(**common)


def flops_per_token(cfg, seq_len: int, params: int, trainable: int) -> float:  # type: ignore[no-untyped-def]
    """Model FLOPs per token: 6 N (2 forward + 4 backward) for a full fine-tune, 2 N forward + 2 N activation
    gradients (+ 2 x trainable weight gradients) for LoRA, plus causal attention 6 x 2 x layers x seq x hidden
    (halved by the causal mask) in both; recomputation is not counted (MFU, not HFU)."""
    attention = 6.0 * 2.0 * cfg.num_hidden_layers * seq_len * cfg.num_attention_heads * cfg.head_dim / 2.0
    if trainable < params:
        return 4.0 * params + 2.0 * trainable + attention
    return 6.0 * params + attention


def measure(model_id: str, method: str, master: str, seq_len: int, batch: int, ckpt: bool) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM

    spec, cfg = hf_config(model_id)
    dtype = torch.float32 if master == "fp32" else torch.bfloat16
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg, torch_dtype=dtype, attn_implementation="sdpa")
    params = sum(p.numel() for p in model.parameters())
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=targets))
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if method == "lora":
            model.enable_input_require_grads()
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, fused=True)
    tokens = torch.randint(0, cfg.vocab_size, (batch, seq_len), device="cuda")

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=master == "fp32"):
            loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    steps = 6
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / steps
    peak = torch.cuda.max_memory_allocated() / 2**30
    reserved = torch.cuda.max_memory_reserved() / 2**30
    tps = batch * seq_len / seconds
    peak_tflops = 989.4e12  # H100/H200 SXM dense BF16 (NVIDIA datasheet); MFU is reported against it
    mfu = tps * flops_per_token(cfg, seq_len, params, n_trainable) / peak_tflops * 100.0
    return {
        "params_b": params / 1e9,
        "trainable": n_trainable,
        "step_s": seconds,
        "tokens_per_s": tps,
        "mfu_pct": mfu,
        "peak_gib": peak,
        "reserved_gib": reserved,
        "name": spec["name"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="CSV to write")
    parser.add_argument("--quick", action="store_true", help="three setups only (a smoke test)")
    args = parser.parse_args()
    import peft
    import transformers

    gpu = torch.cuda.get_device_name(0)
    versions = (
        f"PyTorch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
        f"CUDA {torch.version.cuda}; {gpu}; {datetime.date.today().isoformat()}"
    )
    print(versions, flush=True)
    with open(args.output, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for model_id, method, master, seq_len, batch, ckpt in QUICK if args.quick else SETUPS:
            label = f"{model_id} {method} {master} s{seq_len} mb{batch} ckpt={ckpt}"
            try:
                got = measure(model_id, method, master, seq_len, batch, ckpt)
            except torch.OutOfMemoryError:
                got = None
            gc.collect()  # the model and optimizer of the last setup go before the next is built
            torch.cuda.empty_cache()
            if got is None:
                print(f"{label}: out of memory", flush=True)
                continue
            print(f"{label}: {got['tokens_per_s']:,.0f} tok/s, MFU {got['mfu_pct']:.1f}%, peak {got['peak_gib']:.1f} GiB, "
                  f"step {got['step_s']:.3f} s", flush=True)  # fmt: skip
            key = f"h200-{model_id}-{method}-{master}-s{seq_len}-mb{batch}-{'ckpt' if ckpt else 'nockpt'}"
            precision = "amp_bf16 (fp32 master)" if master == "fp32" else "bf16"
            notes = (
                f"{versions}; random weights from the catalog architecture; SDPA attention; fused AdamW; "
                f"{'LoRA r=16 alpha=32 on q/k/v/o/gate/up/down, frozen BF16 base; ' if method == 'lora' else ''}"
                f"trainable params {got['trainable']:,}; mean of 6 steps after 3 warm-up; step {got['step_s']:.4f} s; "
                f"peak allocated {got['peak_gib']:.2f} GiB, reserved {got['reserved_gib']:.2f} GiB; MFU vs 989.4 "
                "TFLOP/s dense BF16 with 6N (LoRA: 4N + 2 trainable) + causal attention FLOPs"
            )
            base = [
                "gpucast-h200-measurement (scripts/measure_training_gpu.py)", "PyTorch + transformers + peft (single GPU)",
                got["name"], f"{got['params_b']:.3f}", "H200", 1, precision, seq_len, f"{batch}seq", batch, 1, 1, 1,
                "none", str(ckpt), method,
            ]  # fmt: skip
            for metric, value, unit in (
                ("tokens_per_s_per_gpu", round(got["tokens_per_s"], 1), "tokens/s/GPU"),
                ("mfu_pct", round(got["mfu_pct"], 2), "%"),
                ("peak_mem_gb_per_gpu", round(got["peak_gib"], 2), "GiB"),
                ("step_time_s", round(got["step_s"], 4), "s"),
            ):
                writer.writerow([f"{key}-{metric}", *base, metric, value, unit, notes])
            handle.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
