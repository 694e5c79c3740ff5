"""Training and fine-tuning throughput: FLOPs per token, step time, MFU, parallelism search.

FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361, section 2.1; Narayanan et al. 2021, arXiv
2104.04473, section 5.1): a forward pass does 2 FLOPs per weight per token and the backward pass 4
(gradients of activations and of weights), so training costs ``6N`` per token, plus attention
``12 * layers * seq * d_attn`` (QK^T and AV, forward + backward, counted over the full square as
llm-foundry's ``flops_per_batch`` and Megatron-LM's ``num_floating_point_operations`` do). N counts the
weights that multiply: the active parameters without the input-embedding lookup, with the lm_head.
Recomputation adds hardware FLOPs but not model FLOPs: full recomputation runs the forward twice (8N),
selective recomputation repeats the attention core. LoRA skips the frozen weights' gradients:
forward 2N + activation gradients 2N = 4N (+ the adapters, negligible). MFU uses the model FLOPs,
HFU the hardware FLOPs (Chowdhery et al. 2022, PaLM, appendix B).

The seed's "FLOPs per token = 2 x params x seq_len" is wrong twice: 2N is the forward pass only (the
backward pass costs twice the forward), and multiplying by the sequence length counts every token's
weight FLOPs once per token of its sequence; the sequence length enters only through attention.

Step time per micro-batch on one GPU = matmuls / (peak x matmul_fraction) + causal flash attention
(half the full-square FLOPs) / (BF16 peak x attention_fraction) + memory-bound elementwise work
(norms, activations, residuals, casts: ``elementwise_passes x 2 x (h + ffn)`` bytes per token and
layer over HBM; the h-wide part — norms, residual adds, dropout — is split over TP only with sequence parallelism,
Korthikanti et al. 2022: without it every TP rank runs it on the whole sequence) + the exposed part of
tensor-parallel collectives. The elementwise term is why small
models and FP8 reach a lower MFU: their matmul time shrinks faster than their memory traffic.
FP8 (TransformerEngine; Micikevicius et al. 2022, arXiv 2209.05433): GEMMs at the FP8 peak, attention in
BF16, and the GEMM inputs forward (3h + ffn) and output gradients backward (4h + ffn) cast to FP8 with a
transposed copy, ``FP8_CAST_BYTES`` per element. ``setup.framework`` scales the GEMM and attention rates by
fitted ``[frameworks.<id>]`` factors (1 for "default"): kernels and fusion differ between Megatron-Core
(TE/cuDNN attention), llm-foundry (``attn_impl: triton`` in its benchmarking/submit_benchmarks.py) and torchtune.
On Hopper and Blackwell every stack but Megatron-Core runs a FlashAttention-2-class kernel, scaled by the fitted
``fa2_hopper_factor`` (see ``HOPPER_NATIVE_ATTENTION``).
Context parallelism (``cp``) splits each sequence: every per-token term runs on ``s/cp`` tokens, attention included
(causal load balancing), plus the exposed part of the K/V ring; virtual pipeline stages (``vpp``) shrink the bubble and
add stage-boundary transfers; expert parallelism (``ep``) adds the MoE all-to-alls; the FP8 recipe sets the cast
bytes (all in ``core/training_parallel.py``).
A step is ``grad_accum + (pp - 1)/vpp`` micro-batch slots (1F1B bubble, Narayanan et al. 2021), plus the
exposed data-parallel traffic (ZeRO-3/FSDP gathers weights every micro-batch; each ring collective also pays
NCCL's start-up, linear in the ranks: ``training_parallel.ring_latency_s``), the optimizer update
(memory-bound) and any host offload. The efficiencies are fitted by scripts/calibrate_training.py.

LoRA (Hu et al. 2021) as PEFT runs it: the frozen base still computes input gradients (the 4N above), and each
adapted matrix adds a branch ``x -> A (r x d_in) -> B (d_out x r) -> x scale -> + base output`` whose GEMMs are
``2 r (d_in + d_out)`` FLOPs per token per pass (forward, input gradient, weight gradient) but are skinny (N = r)
and memory-bound: the branch reads its input, writes and re-reads d_out-wide intermediates (scale, add) forward,
and backward reads the output gradient and writes and accumulates a second input gradient into the base's.
``lora_passes`` counts that HBM traffic in units of ``2 x (d_in + d_out)`` bytes per token per adapted matrix
(fitted; it also absorbs cuBLAS's low bandwidth on N = 16 GEMMs); full recomputation repeats the forward third.
QLoRA (Dettmers et al. 2023) keeps the frozen base in NF4 and dequantizes each weight to BF16 before its GEMM, in
the forward pass and again for the input gradient (bitsandbytes' ``MatMul4Bit``, torchao's ``linear_nf4``), and once
more when the forward is recomputed: at least 0.52 bytes read and 2 written per weight each time, beside the GEMM's
own BF16 read. ``nf4_dequant_bytes`` is the effective traffic per weight per dequantization, fitted on published
QLoRA-vs-LoRA step times (scripts/fit_qlora_dequant.py; well above the 2.5-byte floor: the kernels reach a fraction
of HBM bandwidth). The cost is per micro-batch, not per token, so it weighs most at small micro-batches and on
GPUs with little bandwidth. Under ZeRO-3/FSDP the NF4 weights are gathered as they are stored (torchao's NF4Tensor
and bitsandbytes' ``bnb_4bit_quant_storage`` shard the packed 4-bit data).
Under autocast with an FP32 model (the "hf" stack's ``master_weights``): every micro-batch casts each weight
to BF16 (read 4 + write 2 bytes, again when recomputed) and casts its BF16 weight gradient into the FP32 ``.grad``
(read 2 + read/write 4 + 4 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from .params import count_parameters
from .specs import NETWORK_GBIT_S, ModelSpec, Precision
from .training_efficiency import (
    HOPPER_GENERATIONS,
    HOPPER_NATIVE_ATTENTION,
    FrameworkFactors,
    TrainingEfficiency,
    efficiency_from_table,
)
from .training_memory import (
    NF4_BYTES_PER_PARAM,
    TrainingMemory,
    TrainingSetup,
    autocast_master,
    local_parameters,
    lora_target_shapes,
    lora_trainable_parameters,
    model_state_bytes_per_param,
    training_memory,
)
from .training_parallel import (
    FP8_CAST_BYTES,
    context_ring_s,
    dp_collectives,
    expert_dispatch_s,
    interleave_p2p_s,
    link_gb_s,
    ring_latency_s,
)

__all__ = [
    "NETWORK_GBIT_S",
    "FrameworkFactors",
    "TokenFlops",
    "TrainingEfficiency",
    "TrainingPerf",
    "efficiency_from_table",
    "estimate_training_step",
    "flops_per_token",
]

# Inter-node bandwidth per GPU by family: DGX/HGX H100 have one 400 Gb/s NDR NIC per GPU, DGX A100
# one 200 Gb/s HDR NIC per GPU (MosaicML's A100 cluster: 1600 Gb/s RoCE per 8-GPU node); others 100 Gb/s.
PCIE_GB_S = 25.0  # host <-> GPU, PCIe Gen4 x16 achieved (offload)
HOST_ADAM_GB_S = 25.0  # host memory bandwidth per GPU for a CPU optimizer step (offload)
HEADROOM = 0.05  # plans keep 5% of GPU memory free


@dataclass(frozen=True)
class TokenFlops:
    """FLOPs per trained token: ``model`` (MFU convention) and ``hardware`` (with recomputation)."""

    model: float
    hardware: float
    matmul_params: int  # N of the 6N
    attention: float  # model attention FLOPs per token (forward + backward)


def _matmul_params(model: ModelSpec) -> int:
    params = count_parameters(model)
    lookup = model.vocab_size * model.hidden_size  # the input table does no FLOPs; a tied one is the lm_head
    return params.active - (0 if model.tie_word_embeddings else lookup)


def flops_per_token(model: ModelSpec, seq_len: int, recompute: str = "none", method: str = "full") -> TokenFlops:
    """Model and hardware FLOPs per token (module docstring): 6N + 12*L*s*d_attn; 8N with full recompute."""
    n = _matmul_params(model)
    attn_fwd = 4.0 * model.num_layers * seq_len * model.num_heads * model.head_dim
    weight_passes = 2.0 if method == "full" else 1.0  # backward: activation grads (+ weight grads if trained)
    model_flops = 2.0 * n * (1.0 + weight_passes) + 3.0 * attn_fwd
    extra = {"none": 0.0, "selective": attn_fwd, "full": 2.0 * n + attn_fwd}[recompute]
    return TokenFlops(model=model_flops, hardware=model_flops + extra, matmul_params=n, attention=3.0 * attn_fwd)


@dataclass(frozen=True)
class TrainingPerf:
    """Throughput and memory of one training configuration."""

    tokens_per_s_per_gpu: float
    tokens_per_s: float
    mfu: float  # fraction
    hfu: float  # fraction
    tflops_per_gpu: float  # model FLOPs achieved per GPU
    step_time_s: float
    memory: TrainingMemory
    fits: bool
    flops: TokenFlops
    breakdown: dict[str, float]  # seconds per step by part


_link_gb_s = link_gb_s


def _overlapped(compute: float, comm: float, exposed: float) -> float:
    """Time of ``compute`` with ``comm`` running beside it, of which ``exposed`` never overlaps."""
    return max(compute, (1.0 - exposed) * comm) + exposed * comm


def estimate_training_step(setup: TrainingSetup, eff: TrainingEfficiency = TrainingEfficiency()) -> TrainingPerf:
    """Step time, tokens/s, MFU and memory of ``setup`` (module docstring)."""
    m, gpu = setup.model, setup.gpu
    flops = flops_per_token(m, setup.seq_len, setup.recompute, setup.method)
    shard = setup.tp * setup.pp * setup.cp  # compute: CP ranks share each sequence's work
    tokens_mb = setup.micro_batch * setup.seq_len
    layers = m.num_layers / setup.pp
    bf16_peak = gpu.peak_flops("bf16")
    stack = eff.framework(setup.framework)
    if setup.precision is Precision.FP8:
        mm_rate = gpu.peak_flops("fp8") * eff.fp8_matmul_fraction * stack.matmul
    else:
        mm_rate = gpu.peak_flops(setup.precision.value.compute_key) * eff.matmul_fraction * stack.matmul
    attn_peak = gpu.peak_flops("fp32") if setup.precision is Precision.FP32 else bf16_peak
    attn_rate = attn_peak * eff.attention_fraction * stack.attention
    if gpu.family in HOPPER_GENERATIONS and setup.framework not in HOPPER_NATIVE_ATTENTION:
        attn_rate *= eff.fa2_hopper_factor
    # --- compute per micro-batch --------------------------------------------------------------------
    n = flops.matmul_params
    weight_passes = 3.0 if setup.method == "full" else 2.0
    rec = eff.recompute_time_factor
    mm_passes = weight_passes + (rec if setup.recompute == "full" else 0.0)
    attn_passes = 3.0 + (rec if setup.recompute in ("full", "selective") else 0.0)
    attn_fwd = 4.0 * m.num_layers * setup.seq_len * m.num_heads * m.head_dim
    t_mm = 2.0 * n * tokens_mb * mm_passes / shard / mm_rate
    if setup.flash_attention:  # causal: the kernel executes half of the full square
        t_attn = 0.5 * attn_fwd * tokens_mb * attn_passes / shard / attn_rate
    else:  # materialised scores: full square at matmul speed + the score tensors through HBM
        t_attn = attn_fwd * tokens_mb * attn_passes / shard / mm_rate
        t_attn += (
            6.0
            * m.num_heads
            * setup.seq_len
            * tokens_mb
            / setup.cp
            * 2.0
            * layers
            / setup.tp
            / (gpu.memory_bandwidth_tb_s * 1e12)
        )
    ffn = m.intermediate_size * (1.5 if m.gated_mlp else 1.0)
    if m.is_moe:
        ffn = 1.5 * m.moe_intermediate_size * (m.experts_per_token + m.num_shared_experts)
    elem_passes = eff.elementwise_passes * stack.elementwise * (1.0 + rec / 3.0 if setup.recompute == "full" else 1.0)
    tokens_gpu = tokens_mb / setup.cp  # tokens of a micro-batch on one CP rank
    h_split = setup.tp if setup.sequence_parallel else 1  # without SP every TP rank repeats the h-wide work
    elem_bytes = elem_passes * 2.0 * (m.hidden_size / h_split + ffn / setup.tp) * tokens_gpu * layers
    if setup.precision is Precision.FP8:  # casts of the GEMM inputs and output gradients (module docstring)
        casts = (1.0 + (rec / 3.0 if setup.recompute == "full" else 0.0)) * FP8_CAST_BYTES[setup.fp8_recipe]
        elem_bytes += casts * (7.0 * m.hidden_size + 2.0 * ffn) * tokens_gpu * layers / setup.tp
    t_elem = elem_bytes / (gpu.memory_bandwidth_tb_s * 1e12)
    t_lora = _lora_branch_s(setup, eff, mm_rate, tokens_gpu, layers)
    t_dequant = _nf4_dequant_s(setup, eff)
    t_elem += t_lora + _autocast_casts_s(setup) + t_dequant
    # --- tensor parallel: 4 collectives per layer (6 with full recompute), ring volume 2(t-1)/t ---------
    t_tp = 0.0
    if setup.tp > 1:
        count = (6.0 if setup.recompute == "full" else 4.0) * layers
        volume = 2.0 * (setup.tp - 1) / setup.tp * tokens_gpu * m.hidden_size * 2.0
        t_tp = count * volume / (_link_gb_s(setup, setup.tp, 1) * 1e9 * eff.interconnect_fraction)
    t_tp += expert_dispatch_s(setup, eff.interconnect_fraction)  # MoE all-to-alls, exposed like TP collectives
    t_cp = context_ring_s(setup, t_attn, eff.interconnect_fraction)  # the K/V ring beyond the attention it hides in
    t_compute = t_mm + t_attn + t_elem + t_cp
    if setup.tp_comm_overlap:  # chunked GEMM + collective pipelining: overlapped like bulk DP traffic
        t_mb0 = _overlapped(t_compute, t_tp, eff.dp_exposed_fraction)
    else:
        t_mb0 = t_compute + eff.tp_exposed_fraction * t_tp
    t_mb = t_mb0
    # --- data parallel ----------------------------------------------------------------------------
    params = count_parameters(m)
    local = local_parameters(setup)[0]  # parameters on one GPU (TP x PP, and EP for routed experts)
    trainable = local if setup.method == "full" else _lora_params(setup) / (setup.tp * setup.pp)
    weight_bytes = 2.0 if setup.precision is not Precision.FP32 else 4.0
    group = setup.dp * setup.cp  # gradients reduce (and ZeRO shards) over DP x CP
    dp_bw = _link_gb_s(setup, group, setup.tp * setup.pp) * 1e9 * eff.interconnect_fraction
    ring = (group - 1) / group
    t_dp_step = 0.0
    # each ring collective's start-up grows with the ranks (training_parallel.ring_latency_s), overlapped like bytes
    t_dp_latency = dp_collectives(setup, trainable) * ring_latency_s(setup, group, setup.tp * setup.pp)
    if group > 1 and setup.zero >= 3:  # gather weights forward + backward, reduce-scatter gradients
        gathered = local * {"full": weight_bytes, "lora": 2.0}.get(setup.method, NF4_BYTES_PER_PARAM)  # QLoRA: NF4
        comm_mb = ring * (2.0 * gathered + trainable * weight_bytes) / dp_bw + t_dp_latency
        t_mb = _overlapped(t_mb, comm_mb, eff.dp_exposed_fraction)
    elif group > 1:  # gradient reduce-scatter beside the last backward, weight all-gather beside the next forward
        comm = 2.0 * ring * trainable * weight_bytes / dp_bw + t_dp_latency
        t_dp_step = _overlapped(t_mb, comm, eff.dp_exposed_fraction) - t_mb
    slots = setup.grad_accum + (setup.pp - 1) / setup.vpp
    t_p2p = eff.tp_exposed_fraction * interleave_p2p_s(setup, eff.interconnect_fraction)
    # --- optimizer update and offload ----------------------------------------------------------------
    memory = training_memory(setup, eff.memory)
    # the update reads and writes what it trains: LoRA/QLoRA's frozen base is not touched (only the adapters)
    weights_gib = memory.weights if setup.method == "full" else trainable * weight_bytes / 2**30
    state_gib = weights_gib + memory.gradients + memory.optimizer_states
    t_opt = 2.0 * state_gib * 2**30 / (gpu.memory_bandwidth_tb_s * 1e12)
    t_offload = 0.0
    if setup.cpu_offload:
        local = trainable / (group if setup.zero >= 1 else 1)
        _, grad_b, state_b = model_state_bytes_per_param(
            setup.precision, setup.optimizer, m.hidden_size, setup.master_weights or setup.method != "full"
        )  # gradients down, weights up over PCIe; the host optimizer reads and writes states and gradients
        t_offload = local * 4.0 / (PCIE_GB_S * 1e9) + local * 2.0 * (grad_b + state_b) / (HOST_ADAM_GB_S * 1e9)
        if setup.zero >= 3:
            t_offload += setup.grad_accum * 2.0 * params.total * weight_bytes / shard / setup.dp / (PCIE_GB_S * 1e9)
    step = slots * t_mb + setup.grad_accum * t_p2p + t_dp_step + t_opt + t_offload
    tokens = setup.tokens_per_step
    per_gpu = tokens / step / setup.num_gpus
    peak = (
        gpu.peak_flops("fp8") if setup.precision is Precision.FP8 else gpu.peak_flops(setup.precision.value.compute_key)
    )
    breakdown = {
        "matmul_s": setup.grad_accum * t_mm,
        "attention_s": setup.grad_accum * t_attn,
        "elementwise_s": setup.grad_accum * t_elem,  # with the LoRA branches, autocast casts and NF4 dequantization
        "dequant_s": setup.grad_accum * t_dequant,
        "tp_comm_exposed_s": setup.grad_accum * (t_mb0 - t_compute),
        "cp_ring_exposed_s": setup.grad_accum * t_cp,
        "pipeline_bubble_s": (setup.pp - 1) / setup.vpp * t_mb,
        "pipeline_p2p_s": setup.grad_accum * t_p2p,
        "dp_comm_exposed_s": setup.grad_accum * (t_mb - t_mb0) + t_dp_step,
        "optimizer_s": t_opt,
        "offload_s": t_offload,
    }
    return TrainingPerf(
        tokens_per_s_per_gpu=per_gpu,
        tokens_per_s=per_gpu * setup.num_gpus,
        mfu=flops.model * per_gpu / peak,
        hfu=flops.hardware * per_gpu / peak,
        tflops_per_gpu=flops.model * per_gpu / 1e12,
        step_time_s=step,
        memory=memory,
        fits=memory.fits(gpu, HEADROOM),
        flops=flops,
        breakdown=breakdown,
    )


def _lora_branch_s(
    setup: TrainingSetup, eff: TrainingEfficiency, mm_rate: float, tokens: float, layers: float
) -> float:
    """Seconds of the LoRA branches of one micro-batch on one GPU (module docstring): skinny GEMMs + HBM traffic."""
    if setup.method == "full":
        return 0.0
    shapes = lora_target_shapes(setup.model)
    width = sum(shapes[t][0] + shapes[t][1] for t in dict.fromkeys(setup.lora_targets))
    forward_again = 1.0 / 3.0 if setup.recompute == "full" else 0.0
    flops = 2.0 * setup.lora_rank * width * 3.0 * (1.0 + forward_again)
    traffic = eff.lora_passes * eff.framework(setup.framework).lora * 2.0 * width * (1.0 + forward_again)
    per_token_layer = flops / mm_rate + traffic / (setup.gpu.memory_bandwidth_tb_s * 1e12)
    return per_token_layer * tokens * layers / setup.tp


def _nf4_dequant_s(setup: TrainingSetup, eff: TrainingEfficiency) -> float:
    """Seconds per micro-batch on one GPU to dequantize QLoRA's NF4 base weights (module docstring): every
    quantized weight on the GPU, once forward, once for the input gradient, once more when recomputed, at
    ``eff.nf4_dequant_bytes`` of HBM traffic each. All routed experts count: at a training micro-batch every expert
    receives tokens (DeepSeek-V3 at 4,096 tokens: 8 of 256 experts per token, 128 tokens per expert on average)."""
    if setup.method != "qlora" or eff.nf4_dequant_bytes <= 0.0:
        return 0.0
    params = count_parameters(setup.model)
    quantized = local_parameters(setup)[0] * (params.total - params.embedding) / params.total  # embeddings stay BF16
    passes = 3.0 if setup.recompute == "full" else 2.0
    return passes * quantized * eff.nf4_dequant_bytes / (setup.gpu.memory_bandwidth_tb_s * 1e12)


def _autocast_casts_s(setup: TrainingSetup) -> float:
    """Autocast's weight casts and FP32 gradient accumulation per micro-batch (module docstring)."""
    if not autocast_master(setup):
        return 0.0
    params = count_parameters(setup.model).total / (setup.tp * setup.pp)
    casts = 6.0 * (2.0 if setup.recompute == "full" else 1.0) + 14.0
    return params * casts / (setup.gpu.memory_bandwidth_tb_s * 1e12)


def _lora_params(setup: TrainingSetup) -> int:
    return lora_trainable_parameters(setup.model, setup.lora_rank, setup.lora_targets)
