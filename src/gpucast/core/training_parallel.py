"""Communication of the parallelism that large training runs add: context, virtual-pipeline and expert parallelism,
and the FP8 recipes' cast traffic (pure, standard library only; used by ``core/training.py``).

- **Context parallelism** (Megatron-Core's ring attention; Liu et al. 2023, "Ring Attention", arXiv 2310.01889):
  each of ``cp`` ranks holds ``s/cp`` tokens (in ``2 cp`` chunks, so that causal work balances) and, per layer,
  passes its K and V chunk around the ring: ``cp - 1`` chunks of ``s/cp x b x 2 x kv_width x 2`` bytes (BF16) in, per
  TP rank ``1/tp`` of them. The backward pass sends K and V again and their gradients back (2x the forward), full
  recomputation repeats the forward. The ring runs beside the attention kernel of the chunk already received, so
  only what outlasts the attention compute is exposed: ``max(attention, ring) - attention``.
- **Interleaved pipeline** (Narayanan et al. 2021, arXiv 2104.04473, section 2.2.2): ``vpp`` virtual stages per rank
  shrink the 1F1B bubble from ``pp - 1`` to ``(pp - 1)/vpp`` micro-batch slots and multiply the stage-boundary
  send/receives by ``vpp``: ``2 (vpp - 1)`` extra transfers of one micro-batch's ``s/cp x b x h x 2`` bytes (per TP
  rank ``1/tp`` with sequence parallelism) per micro-batch, exposed like the TP collectives.
- **Expert parallelism** (Megatron-Core's all-to-all token dispatcher): each MoE layer sends every token's hidden
  state to its ``top_k`` experts and back (dispatch + combine) forward and again backward: 4 all-to-alls per MoE
  layer and micro-batch (6 with full recomputation), each moving ``tokens x top_k x h x 2 x (ep - 1)/ep`` bytes per
  GPU for the ``b x s/(cp x tp)`` tokens a rank holds. Inside a node the all-to-all runs over NVLink; across nodes
  the share sent to other nodes leaves through the GPU's own NIC (``_all_to_all_s``).
- **Ring start-up latency** (NCCL's cost model, ``ncclTopoTuneModel`` in src/graph/tuning.cc, Simple protocol): a ring
  all-gather or reduce-scatter over ``g`` ranks on ``n`` nodes takes ``g - 1`` steps, ``n - 1`` of them across nodes, and
  costs ``8.4 + 3.4 (g - n) + 14 (n - 1)`` microseconds before its bytes: a term linear in the ranks that the
  bandwidth term, ``(g - 1)/g`` of the bytes, does not have. It is why Megatron-Core sizes its gradient buckets
  ``max(40M, 1M x dp)`` parameters ("large enough to remain bandwidth-bound rather than latency-bound",
  distributed_data_parallel.py) and why NCCL 2.23 added the PAT algorithm (one GPU per node only). FSDP pays it for
  every unit's all-gather and reduce-scatter; see ``dp_collectives``.
- **FP8 recipes** (TransformerEngine): every GEMM input (forward) and output gradient (backward) is cast to FP8 with
  a transposed copy. Delayed scaling (per-tensor, scale from the amax history) reads BF16 (2) and writes FP8 (1), the
  transpose reads and writes FP8 (1 + 1): 5 bytes per element. Current scaling computes the tensor's amax first:
  one more BF16 read, 7 bytes. MXFP8 (Blackwell; OCP MX: one E8M0 scale per 32 elements) quantizes the row-wise and
  the column-wise copy from one BF16 read, each with its scales: 2 + 2 x (1 + 1/32) bytes. The GEMMs run at the FP8
  peak in all three (``fp8_matmul_fraction``): MX scaling is applied inside the tensor core.
"""

from __future__ import annotations

import math
from typing import Protocol

from .params import count_parameters, expert_parameters, num_moe_layers
from .specs import GPUSpec, ModelSpec, network_gb_s


class TrainingSetup(Protocol):
    """What these formulas read of ``training_setup.TrainingSetup`` (which checks itself with
    ``parallelism_problem``, so this module cannot import it: a structural type keeps the import one-way)."""

    @property
    def model(self) -> ModelSpec: ...
    @property
    def gpu(self) -> GPUSpec: ...
    @property
    def method(self) -> str: ...
    @property
    def tp(self) -> int: ...
    @property
    def pp(self) -> int: ...
    @property
    def cp(self) -> int: ...
    @property
    def dp(self) -> int: ...
    @property
    def ep(self) -> int: ...
    @property
    def vpp(self) -> int: ...
    @property
    def micro_batch(self) -> int: ...
    @property
    def grad_accum(self) -> int: ...
    @property
    def seq_len(self) -> int: ...
    @property
    def recompute(self) -> str: ...
    @property
    def sequence_parallel(self) -> bool: ...
    @property
    def network_gbit_s(self) -> float: ...
    @property
    def fp8_recipe(self) -> str: ...
    @property
    def zero(self) -> int: ...
    @property
    def framework(self) -> str: ...


__all__ = [
    "FP8_CAST_BYTES",
    "FP8_RECIPES",
    "all_to_all_s",
    "context_ring_s",
    "dp_collectives",
    "expert_dispatch_s",
    "interleave_p2p_s",
    "link_gb_s",
    "local_parameters",
    "parallelism_problem",
    "pipeline_in_flight",
    "ring_latency_s",
]

# NCCL ring, Simple protocol (src/graph/tuning.cc): baseLat, hwLat[NVLINK][RING], hwLat[NET][RING], microseconds
RING_BASE_US, RING_NVLINK_STEP_US, RING_NET_STEP_US = 8.4, 3.4, 14.0
MEGATRON_BUCKET_PARAMS, MEGATRON_BUCKET_PER_RANK = 40e6, 1e6  # Megatron-Core DDP: max(40M, 1M x dp) parameters
FP8_RECIPES = ("delayed", "current", "mxfp8")
FP8_CAST_BYTES = {"delayed": 5.0, "current": 7.0, "mxfp8": 2.0 + 2.0 * (1.0 + 1.0 / 32.0)}


def parallelism_problem(setup: TrainingSetup) -> str:
    """Why ``setup``'s PP / CP / VPP / EP / FP8 recipe cannot run ("" when it can), in one line."""
    m = setup.model
    if setup.pp > m.num_layers:  # every pipeline stage holds at least one layer
        return f"pp {setup.pp} is more pipeline stages than {m.name}'s {m.num_layers} layers"
    if setup.method == "qlora" and setup.tp > 1:
        # bitsandbytes NF4 weights are not tensor-parallel in any QLoRA stack (PEFT/transformers, torchtune, Axolotl,
        # LitGPT, Unsloth): they shard over data-parallel ranks (FSDP / ZeRO-3, as Answer.AI's FSDP-QLoRA) or split
        # layers over GPUs (pipeline), never a layer's weights over TP
        return f"tp {setup.tp}: QLoRA's 4-bit weights cannot be split by tensor parallelism; use tp 1 with ZeRO-3/FSDP"
    if setup.fp8_recipe not in FP8_RECIPES:
        return f"fp8 recipe {setup.fp8_recipe!r} is not one of {', '.join(FP8_RECIPES)}"
    if setup.fp8_recipe == "mxfp8" and setup.gpu.family != "blackwell":
        return (
            f"fp8 recipe mxfp8 needs Blackwell tensor cores (MX block scaling); {setup.gpu.name} is {setup.gpu.family}: "
            "use delayed or current"
        )
    if setup.vpp > 1 and setup.pp == 1:
        return f"vpp {setup.vpp} (virtual pipeline stages) needs pipeline parallelism pp > 1"
    stages = setup.pp * setup.vpp  # Megatron-Core may count the embedding and the loss as one layer each
    if setup.vpp > 1 and m.num_layers % stages and (m.num_layers + 2) % stages:
        return (
            f"{m.num_layers} layers do not split into pp x vpp = {setup.pp} x {setup.vpp} equal virtual stages "
            "(nor with the embedding and the loss counted as layers)"
        )
    if setup.vpp > 1 and setup.grad_accum % setup.pp:
        return (
            f"interleaved pipelining needs micro-batches per step ({setup.grad_accum}) to be a multiple of pp "
            f"{setup.pp}"
        )
    if setup.cp > 1 and setup.seq_len % (2 * setup.cp):
        return f"sequence length {setup.seq_len} does not split into 2 x cp = {2 * setup.cp} equal chunks"
    if setup.ep > 1 and not m.is_moe:
        return f"ep {setup.ep} (expert parallelism) needs a mixture-of-experts model; {m.name} is dense"
    if setup.ep > 1 and m.num_experts % setup.ep:
        return f"ep {setup.ep} does not divide {m.name}'s {m.num_experts} experts"
    if setup.ep > 1 and (setup.tp * setup.cp * setup.dp) % setup.ep:
        return f"ep {setup.ep} must divide tp x cp x dp = {setup.tp * setup.cp * setup.dp} (the ranks of a stage)"
    return ""


def local_parameters(setup: TrainingSetup) -> tuple[float, float]:
    """(parameters on one GPU, of them the share one ZeRO shard holds): dense parameters / (TP x PP), sharded over
    DP x CP; routed experts / (EP x PP) with expert parallelism (else / (TP x PP)), sharded over TP x CP x DP / EP."""
    m = setup.model
    total = count_parameters(m).total
    experts = expert_parameters(m) * m.num_experts * num_moe_layers(m) if setup.ep > 1 else 0
    dense_local = (total - experts) / (setup.tp * setup.pp)
    expert_local = experts / (setup.ep * setup.pp)
    expert_group = setup.tp * setup.cp * setup.dp / setup.ep
    return dense_local + expert_local, dense_local / (setup.dp * setup.cp) + expert_local / expert_group


def pipeline_in_flight(setup: TrainingSetup) -> float:
    """Micro-batches' activations the first pipeline stage holds: ``min(pp, accumulation)`` under 1F1B, times
    ``1 + (pp - 1)/(pp x vpp)`` when interleaved (module docstring)."""
    in_flight = float(min(setup.pp, setup.grad_accum))
    if setup.vpp > 1:
        in_flight *= 1.0 + (setup.pp - 1) / (setup.pp * setup.vpp)
    return in_flight


def link_gb_s(setup: TrainingSetup, group: int, stride: int) -> float:
    """Per-GPU bandwidth of a ring collective over ``group`` ranks spaced ``stride`` GPUs apart.

    Inside a node: NVLink (or PCIe). Across nodes, NCCL runs one ring per NIC: each node's share of
    a ring's traffic leaves through the NICs of the group's ranks in that node, so a group with ``k``
    ranks per node moves data at ``k`` x the NIC bandwidth, capped by the intra-node link.
    """
    per_node = setup.gpu.gpus_per_node
    if group * stride <= per_node:
        return setup.gpu.interconnect_bandwidth_gb_s
    ranks_per_node = max(1, per_node // stride)
    return min(setup.gpu.interconnect_bandwidth_gb_s, ranks_per_node * network_gb_s(setup.gpu, setup.network_gbit_s))


def ring_latency_s(setup: TrainingSetup, group: int, stride: int) -> float:
    """Start-up seconds of one ring all-gather or reduce-scatter over ``group`` ranks ``stride`` GPUs apart (module
    docstring): ``group - 1`` steps, one per node boundary across the network, the others over NVLink."""
    if group <= 1:
        return 0.0
    per_node = max(1, setup.gpu.gpus_per_node // max(stride, 1))
    inter = math.ceil(group / per_node) - 1
    return (RING_BASE_US + (group - 1 - inter) * RING_NVLINK_STEP_US + inter * RING_NET_STEP_US) * 1e-6


def dp_collectives(setup: TrainingSetup, trainable: float) -> float:
    """Ring all-gathers and reduce-scatters over the data-parallel group: per micro-batch under ZeRO-3/FSDP (each
    layer's unit gathered forward and backward, its gradients reduced: 3 per local layer), per step otherwise (one
    reduce-scatter and one all-gather per gradient bucket: Megatron-Core's ``max(40M, 1M x dp)`` parameters, one
    FSDP unit or DDP bucket per layer elsewhere)."""
    layers = setup.model.num_layers / setup.pp
    if setup.zero >= 3:
        return 3.0 * layers
    if setup.framework == "megatron":
        group = setup.dp * setup.cp
        return 2.0 * math.ceil(trainable / max(MEGATRON_BUCKET_PARAMS, MEGATRON_BUCKET_PER_RANK * group))
    return 2.0 * layers


def all_to_all_s(setup: TrainingSetup, gigabytes: float, group: int, stride: int, efficiency: float) -> float:
    """Seconds for one GPU to send ``gigabytes`` spread evenly over the other ``group - 1`` ranks of an all-to-all
    (ranks ``stride`` GPUs apart): the peers in its node over NVLink, the rest over its own NIC, both at once."""
    if group <= 1:
        return 0.0
    in_node = max(1, min(group, setup.gpu.gpus_per_node // max(stride, 1)))
    share_near = (in_node - 1) / (group - 1)
    near = gigabytes * share_near / (setup.gpu.interconnect_bandwidth_gb_s * efficiency)
    far = gigabytes * (1.0 - share_near) / (network_gb_s(setup.gpu, setup.network_gbit_s) * efficiency)
    return max(near, far)


def context_ring_s(setup: TrainingSetup, attention_s: float, efficiency: float) -> float:
    """Exposed seconds of one micro-batch's context-parallel K/V ring on one GPU (module docstring)."""
    if setup.cp <= 1:
        return 0.0
    m = setup.model
    kv_width = m.num_kv_heads * m.head_dim
    chunk = setup.seq_len / setup.cp * setup.micro_batch * 2.0 * kv_width * 2.0 / setup.tp
    passes = 3.0 + (1.0 if setup.recompute == "full" else 0.0)
    ring = (setup.cp - 1) * chunk * passes * m.num_layers / setup.pp
    seconds = ring / (link_gb_s(setup, setup.cp, setup.tp) * 1e9 * efficiency)
    return max(attention_s, seconds) - attention_s


def interleave_p2p_s(setup: TrainingSetup, efficiency: float) -> float:
    """Seconds of the extra stage-boundary transfers of one micro-batch under interleaving (module docstring)."""
    if setup.vpp <= 1:
        return 0.0
    m = setup.model
    split = setup.tp if setup.sequence_parallel else 1
    activation = setup.seq_len / setup.cp * setup.micro_batch * m.hidden_size * 2.0 / split
    stride = setup.tp * setup.cp * setup.dp  # Megatron orders TP, CP, DP inside PP
    return 2.0 * (setup.vpp - 1) * activation / (link_gb_s(setup, setup.pp, stride) * 1e9 * efficiency)


def expert_dispatch_s(setup: TrainingSetup, efficiency: float) -> float:
    """Seconds of one micro-batch's MoE all-to-alls on one GPU, before overlap (module docstring)."""
    m = setup.model
    if setup.ep <= 1 or not m.is_moe:
        return 0.0
    tokens = setup.micro_batch * setup.seq_len / (setup.cp * setup.tp)
    volume = tokens * m.experts_per_token * m.hidden_size * 2.0 * (setup.ep - 1) / setup.ep
    count = (6.0 if setup.recompute == "full" else 4.0) * num_moe_layers(m) / setup.pp
    return count * all_to_all_s(setup, volume / 1e9, setup.ep, 1, efficiency)
