"""GPU memory of a training or fine-tuning run, per GPU (pure, standard library only).

What one GPU holds (DESIGN.md section 4), before any fragmentation:

- **Model states** (Rajbhandari et al. 2020, "ZeRO", arXiv 1910.02054, section 3.1): mixed-precision
  Adam keeps 2 bytes of BF16/FP16 weights + 2 of gradients + 12 of optimizer state (FP32 master
  copy, momentum and variance) = 16 bytes per parameter. 8-bit Adam (Dettmers et al. 2022,
  arXiv 2110.02861) keeps m and v in one byte each: 2 + 2 + 4 + 2 = 10. Adafactor (Shazeer & Stern
  2018, arXiv 1804.04235) has no first moment and factors the second into a row and a column vector
  per matrix, 4 x (rows + cols) bytes ~ 8/hidden bytes per parameter, so it is the FP32 master (4)
  plus that: ~ 2 + 2 + 4. SGD without momentum keeps only the master copy (2 + 2 + 4). ``master_weights
  = False`` is "pure BF16" training (torchtune's default, llm-foundry's ``PURE`` mode): states in
  BF16, no FP32 copy, so Adam is 2 + 2 + 4 = 8. FP32 training needs no master: 4 + 4 + 8.
- **Sharding**: TP x PP split the model (PP: ``layers / pp`` per stage; the embeddings and lm_head,
  which sit on the first and last stage, are spread evenly here, an approximation of <= V*h/(N/pp)).
  ZeRO-1 shards the optimizer states over DP, ZeRO-2 also the gradients, ZeRO-3 (= FSDP FULL_SHARD)
  also the weights; ZeRO-3 then holds two gathered layers (current + prefetch) as a transient buffer.
- **Activations** per layer and micro-batch (Korthikanti et al. 2022, arXiv 2205.05198, Table 2):
  ``s*b*h*(34 + 5*a*s/h)`` bytes for a GPT layer (FFN 4h, dropout), divided by TP with sequence
  parallelism. FlashAttention (Dao et al. 2022) and selective recomputation drop the ``5*a*s/h``
  score term; full recomputation keeps only the layer input (``2*s*b*h``) per layer plus one layer
  in full while it is recomputed. The 34 is kept exact for a GPT layer and generalised from its parts
  (attention 11 + norms 4 + MLP 19 = input 2 + mask 1 + 2 x 2 x ffn/h): a gated MLP stores three
  ffn-wide tensors, GQA shrinks the K and V tensors. 1F1B pipelining keeps ``pp`` micro-batches in
  flight on the first stage (Narayanan et al. 2021, arXiv 2104.04473).
- **Context, virtual-pipeline and expert parallelism** (Megatron-Core): context parallelism splits every sequence
  over ``cp`` ranks, so each holds ``s/cp`` tokens' activations and logits; the weights are replicated over CP and
  ZeRO / the distributed optimizer shards over DP x CP. Interleaved 1F1B with ``vpp`` virtual stages per rank keeps
  ``1 + (pp - 1)/(pp x vpp)`` times the non-interleaved first stage's activations (Korthikanti et al. 2022, section
  4.2.3). Expert parallelism places ``1/ep`` of each MoE layer's routed experts on a rank, not tensor-parallel
  (expert TP = 1, as Megatron-Bridge's MoE recipes set it), so the EP group is drawn from TP x CP x DP and the
  expert states shard over the remaining ``tp x cp x dp / ep`` ranks under ZeRO. Without sequence parallelism
  (``sequence_parallel=False``) the LayerNorm inputs, dropout masks and the inputs of the first attention and MLP
  matrices (``10 s b h`` of the GPT layer's 34) are replicated over TP (Korthikanti, Table 2).
- **Dropout**: the GPT layer's 34 includes two one-byte dropout masks (after the attention projection and after the
  MLP). Today's LLM recipes train without dropout (Llama, Qwen, Mistral configs: ``attention_dropout`` 0; NeMo /
  Megatron-Bridge Llama recipes: ``hidden_dropout = attention_dropout = 0``), so ``TrainingSetup.dropout`` is off by
  default and the layer stores 32 s b h; the GPT-3-era Megatron-LM runs (2021-2022) trained with dropout 0.1.
- **LoRA / QLoRA** (Hu et al. 2021; Dettmers et al. 2023, arXiv 2305.14314): the base is frozen in
  BF16 (2 bytes) or NF4 (0.5 bytes + 0.127 bits of double-quantized block-64 scales, ~0.516; the
  embeddings, lm_head and norms stay BF16, so a 70B model averages ~0.55 bytes per parameter).
  Trainable adapters are ``rank x (d_in + d_out)`` per target matrix per layer with the full 16
  bytes each; frozen weights have no gradients, and the inputs of frozen, untargeted linear layers
  need not be stored — except under bitsandbytes QLoRA (Hugging Face PEFT, LitGPT, axolotl: the
  default stack), whose ``MatMul4Bit`` autograd function saves its input ``A`` for backward whenever
  the input needs a gradient, so every quantized linear keeps its input as in full fine-tuning
  (LitGPT's QLoRA rows measure 2-4 GiB above LoRA's activations at 7-8B). torchtune's NF4 linear
  (torchao ``linear_nf4``) saves only the weight.
- **Logits**: the lm_head writes BF16 logits (2 bytes per element), the loss upcasts them to FP32 (4)
  and the backward pass creates their FP32 gradient (4): ``s*b*vocab*10`` bytes / TP at the loss. With
  torchtune's chunked cross-entropy (``CEWithChunkedOutputLoss``, 8 chunks) only one chunk is upcast at a
  time: ``s*b*vocab*(2 + 8/8)``. torchtune's README flag table measures 8.1 GiB saved by chunking Llama 3.2
  3B at 2 x 4096 tokens (vocab 128256): this term gives 6.9 GiB, the FP32-only count (4 bytes) gave 3.4. The
  logits are a known count, so the fitted activation factor (eager extras over Korthikanti's per-layer count: FP32
  norm upcasts, unfused SiLU) does not scale them (it did until 2026-12-05).
- **Buffers**: the CUDA context and NCCL buffers (``context_gib``, not seen by PyTorch's allocator)
  and the caching allocator's fragmentation (a fraction of what is allocated): ``reserved`` =
  ``allocated x (1 + fragmentation_fraction)`` is what ``torch.cuda.max_memory_reserved`` reports.
- **Eager PyTorch + transformers + PEFT** (``framework="hf"``; measured on one H200,
  data/benchmarks/measured/h200_finetune.csv): ``zero_grad(set_to_none=True)`` (PyTorch 2.x and the HF
  Trainer default) frees the gradients between steps, so they never coexist with the forward's activations
  and logits: the peak is ``weights + optimizer states + max(activations + logits [+ autocast copies],
  gradients)`` — the end of the forward pass or the end of the backward pass. The measured 8B pure-BF16 full
  fine-tune peaks at 59.99 GiB = 2 + 2 + 4 bytes x 8.03 B parameters, the summed count says ~70. With FP32
  master weights (``Trainer(bf16=True)``: autocast) the model itself is FP32 (4 bytes, gradients 4, AdamW 8)
  and autocast keeps a BF16 copy of every weight from the forward pass until its backward (2 bytes). PEFT's LoRA
  layers hold their adapters in FP32 (``autocast_adapter_dtype=True``, the default of ``get_peft_model``) and cast
  each adapted matrix's input to FP32, which ``lora_A`` saves for backward (4 bytes per input element, one copy per
  adapted matrix), while the frozen base linear keeps only its weight. The measured LoRA runs without checkpointing
  peak 7-12 GiB above the full fine-tunes of the same batch (Llama-3.2-1B at 8 x 2048: 64.6 against 57.2 GiB).
"""

from __future__ import annotations

from dataclasses import dataclass

from .params import count_parameters
from .specs import GIB, GPUSpec, ModelSpec, Precision
from .training_parallel import FP8_RECIPES, local_parameters, parallelism_problem, pipeline_in_flight
from .training_setup import FRAMEWORKS, METHODS, OPTIMIZERS, RECOMPUTE, TrainingSetup

__all__ = [
    "FP8_RECIPES",
    "FRAMEWORKS",
    "LOSS_CHUNKS",
    "METHODS",
    "NF4_BYTES_PER_PARAM",
    "OPTIMIZERS",
    "RECOMPUTE",
    "MemorySettings",
    "TrainingMemory",
    "TrainingSetup",
    "activation_bytes_per_layer",
    "autocast_master",
    "local_parameters",
    "lora_target_shapes",
    "lora_trainable_parameters",
    "model_state_bytes_per_param",
    "parallelism_problem",
    "pipeline_in_flight",
    "training_memory",
]

# NF4 (4 bits) + double-quantized scales: one 8-bit scale per 64 weights and one FP32 per 256 scales
# = 8/64 + 32/(64*256) = 0.127 bits per weight (QLoRA paper, section 3).
NF4_BYTES_PER_PARAM = 0.5 + 0.127 / 8
LOSS_CHUNKS = 8  # torchtune CEWithChunkedOutputLoss default num_output_chunks
LOGIT_BYTES, LOGIT_FP32_BYTES = 2.0, 8.0  # BF16 logits; FP32 upcast + FP32 gradient at the loss
# Stacks whose single-GPU loop calls ``optimizer.zero_grad(set_to_none=True)`` after each step: the HF Trainer /
# a plain PyTorch loop, and torchtune's ``*_single_device`` recipes (recipes/full_finetune_single_device.py, which
# also ``del logits`` after the loss "otherwise it peaks backward memory").
SINGLE_DEVICE_FREES_GRADIENTS = ("hf", "torchtune")


@dataclass(frozen=True)
class MemorySettings:
    """Memory terms that are data, not formulas (fitted by scripts/calibrate_training.py where possible)."""

    activation_factor: float = 1.0  # framework extras over the Korthikanti count (fitted)
    fragmentation_fraction: float = 0.05  # PyTorch caching allocator: reserved - allocated, typically 3-10%
    context_gib: float = 1.0  # CUDA context + NCCL/cuBLAS workspaces, outside the allocator
    stack_activation: tuple[tuple[str, float], ...] = ()  # (framework, factor on activation_factor); absent = 1


@dataclass(frozen=True)
class TrainingMemory:
    """Peak memory per GPU in GiB. ``allocated`` is what PyTorch's allocator reports as peak
    (``torch.cuda.max_memory_allocated``); ``total`` adds fragmentation and the CUDA context."""

    weights: float
    gradients: float
    optimizer_states: float
    activations: float
    buffers: float  # transient (logits, gathered layers) + fragmentation + CUDA context
    total: float
    allocated: float
    reserved: float = 0.0  # allocated + the caching allocator's fragmentation (torch.cuda.max_memory_reserved)

    def fits(self, gpu: GPUSpec, headroom: float = 0.05) -> bool:
        return self.total <= gpu.memory_gib * (1.0 - headroom)


def model_state_bytes_per_param(
    precision: Precision, optimizer: str, hidden: int, master: bool = True
) -> tuple[float, float, float]:
    """(weight, gradient, optimizer-state) bytes per trainable parameter, before sharding."""
    if precision is Precision.FP32:
        weight = grad = 4.0
        states = {"adam": 8.0, "adamw": 8.0, "adamw8bit": 2.0, "adafactor": 8.0 / hidden, "sgd": 0.0}
        return weight, grad, states[optimizer]
    weight = grad = 2.0  # BF16/FP16; FP8 training (TransformerEngine) keeps BF16 weights, FP8 copies are transient
    master_bytes = 4.0 if master else 0.0
    moment = 4.0 if master else 2.0
    states = {
        "adam": 2 * moment,
        "adamw": 2 * moment,
        "adamw8bit": 2.0,
        "adafactor": 8.0 / hidden,
        "sgd": 0.0,
    }
    return weight, grad, master_bytes + states[optimizer]


def lora_target_shapes(model: ModelSpec) -> dict[str, tuple[int, int]]:
    """(d_in, d_out) of each LoRA-targetable matrix of one layer (dense FFN for MoE: an approximation)."""
    h, q, kv = model.hidden_size, model.num_heads * model.head_dim, model.num_kv_heads * model.head_dim
    f = model.intermediate_size or model.moe_intermediate_size
    return {"q": (h, q), "k": (h, kv), "v": (h, kv), "o": (q, h), "gate": (h, f), "up": (h, f), "down": (f, h)}


def lora_trainable_parameters(model: ModelSpec, rank: int, targets: tuple[str, ...]) -> int:
    """LoRA adapter parameters: ``rank x (d_in + d_out)`` per target matrix per layer (Hu et al. 2021)."""
    shapes = lora_target_shapes(model)
    per_layer = sum(rank * (shapes[t][0] + shapes[t][1]) for t in dict.fromkeys(targets))
    return per_layer * model.num_layers


def activation_bytes_per_layer(
    model: ModelSpec,
    seq_len: float,
    micro_batch: int,
    *,
    tp: int = 1,
    flash_attention: bool = True,
    recompute: str = "none",
    lora_targets: tuple[str, ...] | None = None,
    sequence_parallel: bool = True,
    dropout: bool = True,
) -> float:
    """Stored activation bytes of one layer for one micro-batch (Korthikanti et al. 2022, Table 2).

    GPT layer, no recomputation: ``s*b*h*(34 + 5*a*s/h)``; /TP with sequence parallelism. With
    ``lora_targets`` (LoRA: the adapted matrices), inputs of frozen untargeted matrices are not kept.
    ``recompute="full"`` returns the stored layer input ``2*s*b*h`` only (see training_memory for the
    one fully materialised layer).
    """
    s, b, h, a = seq_len, micro_batch, model.hidden_size, model.num_heads
    if recompute == "full":
        return 2.0 * s * b * h / tp
    kv_ratio = model.num_kv_heads / model.num_heads
    q_ratio = model.num_heads * model.head_dim / h
    ffn = model.intermediate_size
    if model.is_moe:
        ffn = model.moe_intermediate_size * model.experts_per_token + model.num_shared_experts * (
            model.shared_expert_intermediate_size or model.moe_intermediate_size
        )
    # attention (Korthikanti: QKV input 2, Q and K 4, V 2, out-proj input 2, dropout mask 1) + 2 norms (4)
    qkv_input, out_input, mlp_input = 2.0, 2.0 * q_ratio, 2.0
    mask = 1.0 if dropout else 0.0  # the dropout mask after the attention projection and after the MLP
    attention = qkv_input + 2.0 * q_ratio * (1.0 + kv_ratio) + 2.0 * q_ratio * kv_ratio + out_input + mask
    wide = (3.0 if model.gated_mlp else 2.0) * 2.0 * ffn / h  # gate/up outputs (+ product): 2 bytes each
    down_input = 2.0 * ffn / h
    mlp = mlp_input + wide + mask
    if lora_targets is not None:
        if not {"q", "k", "v"} & set(lora_targets):
            attention -= qkv_input
        if "o" not in lora_targets:
            attention -= out_input
        if not {"gate", "up"} & set(lora_targets):
            mlp -= mlp_input
        if "down" not in lora_targets:
            mlp -= down_input
    per_token = attention + mlp + 4.0
    scores = 0.0 if (flash_attention or recompute == "selective") else 5.0 * a * s / h
    if sequence_parallel or tp == 1:
        return s * b * h * (per_token + scores) / tp
    # without SP: norms (4), the two dropout masks (2) and the kept QKV / MLP inputs stay whole on every TP rank
    replicated = 4.0 + 2.0 * mask + (qkv_input if _keeps_input(lora_targets, "qkv") else 0.0)
    replicated += mlp_input if _keeps_input(lora_targets, "mlp") else 0.0
    return s * b * h * (replicated + (per_token - replicated + scores) / tp)


def _keeps_input(lora_targets: tuple[str, ...] | None, block: str) -> bool:
    """Whether the input of the QKV (``block="qkv"``) or first MLP (``"mlp"``) matrices is stored (LoRA drops the
    inputs of frozen, untargeted matrices)."""
    if lora_targets is None:
        return True
    wanted = {"q", "k", "v"} if block == "qkv" else {"gate", "up"}
    return bool(wanted & set(lora_targets))


def training_memory(setup: TrainingSetup, settings: MemorySettings = MemorySettings()) -> TrainingMemory:
    """Peak memory per GPU of ``setup`` (GiB), following the module docstring term by term."""
    m = setup.model
    params = count_parameters(m)
    shard = setup.tp * setup.pp
    local, zero_local = local_parameters(setup)
    on_gpu, zero_share = local / params.total, zero_local / local  # of all parameters; of those on this GPU
    body = params.total - params.embedding
    # --- model states -------------------------------------------------------------------------------
    autocast = autocast_master(setup)
    if setup.method == "full":
        w_b, g_b, o_b = model_state_bytes_per_param(
            setup.precision, setup.optimizer, m.hidden_size, setup.master_weights
        )
        if autocast:  # FP32 model + FP32 gradients; the master copy is the model itself (module docstring)
            w_b, g_b, o_b = 4.0, 4.0, o_b - 4.0
        trainable = params.total
        weights = params.total * w_b * on_gpu
        frozen_layer_bytes = 0.0
        trainable_share = zero_share
    else:  # adapters sit on the attention/dense matrices: split over TP x PP, sharded over DP x CP
        trainable = lora_trainable_parameters(m, setup.lora_rank, setup.lora_targets)
        _, g_b, o_b = model_state_bytes_per_param(Precision.BF16, setup.optimizer, m.hidden_size, True)
        w_b = 2.0
        base = body * NF4_BYTES_PER_PARAM + params.embedding * 2.0 if setup.method == "qlora" else params.total * 2.0
        weights = base * on_gpu + trainable * w_b / shard
        frozen_layer_bytes = base / max(m.num_layers, 1)
        trainable_share = 1.0 / (setup.dp * setup.cp)
        on_gpu = 1.0 / shard
    gradients = trainable * g_b * on_gpu
    optimizer = trainable * o_b * on_gpu
    if setup.zero >= 1:
        optimizer *= trainable_share
    if setup.zero >= 2:
        gradients *= trainable_share
    gathered = 0.0
    if setup.zero >= 3:
        layer_bytes = frozen_layer_bytes or (params.total * w_b / max(m.num_layers, 1))
        gathered = 2.0 * layer_bytes / setup.tp  # current + prefetched layer, unsharded over DP
        weights *= zero_share if setup.method == "full" else 1.0 / (setup.dp * setup.cp)
    if setup.optimizer_in_backward:
        gradients = gradients / max(m.num_layers, 1)
    if setup.cpu_offload:
        optimizer = 0.0
        gradients = 0.0
        if setup.zero >= 3:
            weights = 0.0
    # --- activations (per stage; 1F1B keeps min(pp, grad_accum) micro-batches on the first stage) -------
    layers_per_stage = m.num_layers / setup.pp
    in_flight = pipeline_in_flight(setup)
    frozen = setup.lora_targets if _drops_frozen_inputs(setup) else None
    s, b, tp, fa, sp = (
        setup.seq_len / setup.cp,
        setup.micro_batch,
        setup.tp,
        setup.flash_attention,
        setup.sequence_parallel,
    )
    full_layer = activation_bytes_per_layer(
        m, s, b, tp=tp, flash_attention=fa, recompute="none", lora_targets=frozen, sequence_parallel=sp,
        dropout=setup.dropout,
    )  # fmt: skip
    stored = activation_bytes_per_layer(
        m, s, b, tp=tp, flash_attention=fa, recompute=setup.recompute, lora_targets=frozen, sequence_parallel=sp,
        dropout=setup.dropout,
    )  # fmt: skip
    if setup.recompute == "full":
        kept = 0.0 if setup.activation_offload else stored * layers_per_stage * in_flight
        activations = kept + full_layer
    else:
        activations = (stored + _peft_input_copies(setup, s)) * layers_per_stage * in_flight
    factor = settings.activation_factor * dict(settings.stack_activation).get(setup.framework, 1.0)
    activations *= factor
    fp32_bytes = LOGIT_FP32_BYTES / LOSS_CHUNKS if setup.chunked_loss else LOGIT_FP32_BYTES
    logits = s * setup.micro_batch * m.vocab_size * (LOGIT_BYTES + fp32_bytes) / setup.tp
    casts = params.total * 2.0 * on_gpu if autocast else 0.0  # autocast's BF16 weight copies, forward to backward
    transient = gathered + logits + casts  # the logits are counted exactly: no activation factor
    if _frees_gradients(setup):  # end of forward vs end of backward (module docstring)
        allocated = weights + optimizer + max(activations + transient, gradients)
    else:
        allocated = weights + gradients + optimizer + activations + transient
    fragmentation = allocated * settings.fragmentation_fraction
    buffers = transient + fragmentation + settings.context_gib * GIB
    total = allocated + fragmentation + settings.context_gib * GIB
    return TrainingMemory(
        weights=weights / GIB,
        gradients=gradients / GIB,
        optimizer_states=optimizer / GIB,
        activations=activations / GIB,
        buffers=buffers / GIB,
        total=total / GIB,
        allocated=allocated / GIB,
        reserved=(allocated + fragmentation) / GIB,
    )


def autocast_master(setup: TrainingSetup) -> bool:
    """FP32 model under BF16/FP16 autocast (eager PyTorch stack with master weights: ``Trainer(bf16=True)``)."""
    return (
        setup.framework == "hf"
        and setup.master_weights
        and setup.method == "full"
        and setup.precision in (Precision.BF16, Precision.FP16)
    )


def _peft_input_copies(setup: TrainingSetup, seq_len: float) -> float:
    """Bytes per layer that PEFT's LoRA layers store beyond the Korthikanti count (module docstring): FP32 adapters
    (``get_peft_model(autocast_adapter_dtype=True)``, the default) cast their input to FP32 and ``lora_A`` saves that
    copy, one per adapted matrix (q, k and v each cast the same input), while the frozen base linear needs only its
    weight: ``4 x sum(d_in) - 2 x (the distinct inputs the count already holds)`` per token."""
    if setup.framework != "hf" or setup.method != "lora":
        return 0.0
    shapes = lora_target_shapes(setup.model)
    targets = tuple(dict.fromkeys(setup.lora_targets))
    copies = 4.0 * sum(shapes[t][0] for t in targets)
    groups = (("q", "k", "v"), ("o",), ("gate", "up"), ("down",))
    counted = 2.0 * sum(shapes[g[0]][0] for g in groups if set(g) & set(targets))
    return seq_len * setup.micro_batch * (copies - counted) / setup.tp


def _frees_gradients(setup: TrainingSetup) -> bool:
    """Gradients set to None between steps, created during backward (eager PyTorch / transformers and torchtune's
    single-device recipes, one GPU): the module docstring's max(end of forward, end of backward)."""
    single = setup.num_gpus == 1  # DDP and FSDP keep persistent gradient buckets
    stack = setup.framework in SINGLE_DEVICE_FREES_GRADIENTS
    return stack and single and not setup.optimizer_in_backward and not setup.cpu_offload


def _drops_frozen_inputs(setup: TrainingSetup) -> bool:
    """Whether the inputs of frozen, untargeted linears are dropped (see the module docstring: LoRA yes;
    QLoRA only on torchtune's NF4 linear, not on bitsandbytes' MatMul4Bit, which saves every input)."""
    return setup.method == "lora" or (setup.method == "qlora" and setup.framework == "torchtune")
