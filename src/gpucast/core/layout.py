"""How a replica's GPUs share a model: tensor, pipeline, expert and attention data parallelism.

The layouts the MoE serving engines run (SGLang ``--tp N --ep-size N --enable-dp-attention --dp N``,
TensorRT-LLM ``tp_size``/``moe_expert_parallel_size``/``enable_attention_dp``, vLLM ``--enable-expert-parallel``
with ``--data-parallel-size``) all keep the same N = ``tp`` GPUs per pipeline stage and change which parts are
split how:

- **TP** (the default): every weight matrix, routed experts included, is split N ways; two all-reduces per layer.
- **EP** (``ep`` > 1): routed experts are split by expert over ``ep`` groups (each expert whole on N/ep GPUs), so
  a token's hidden state is *dispatched* to the GPUs of its top-k experts and the results *combined* back (two
  all-to-alls per MoE layer, DeepEP / pplx), and the busiest group sets the pace (expert load imbalance).
- **Attention DP** (``attention_dp`` = d > 1): attention runs as d independent groups of N/d GPUs, each on its own
  share of the batch. Attention weights are replicated d times (more weight memory), but each group keeps only
  its own sequences' KV cache — for MLA (DeepSeek), whose single latent TP must replicate on every rank, this
  multiplies the replica's KV capacity by d and divides the KV each GPU reads per step by d.

Memory per GPU is the same under TP and EP (experts split N ways either way); only attention DP changes it.
References: DeepSeek-V3 technical report (arXiv:2412.19437) section 3.4 (EP + DP attention deployment);
SGLang "Deploying DeepSeek with PD disaggregation and large-scale expert parallelism" (LMSYS blog, 2025-05).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from .params import _attention_parameters, count_parameters, expert_parameters, num_moe_layers
from .specs import ModelSpec


@dataclass(frozen=True)
class Layout:
    """One replica's parallelism: ``tp`` GPUs per stage, ``pp`` stages, and how the MoE parts use the ``tp``."""

    tp: int
    pp: int = 1
    ep: int = 1  # expert-parallel groups among the tp GPUs of a stage (1 = experts tensor-parallel)
    attention_dp: int = 1  # attention data-parallel groups among the tp GPUs (1 = attention tensor-parallel)

    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    @property
    def attention_tp(self) -> int:
        """GPUs that share one attention group's heads."""
        return self.tp // self.attention_dp

    @property
    def is_plain(self) -> bool:
        """Plain tensor (and pipeline) parallelism: no expert or attention data parallelism."""
        return self.ep == 1 and self.attention_dp == 1

    def label(self) -> str:
        """``TP=8``, ``TP=8 x PP=2``, ``TP=8 EP=8 DP-attention=8``: how plans and explanations name it."""
        text = f"TP={self.tp}" + (f" x PP={self.pp}" if self.pp > 1 else "")
        if self.ep > 1:
            text += f" EP={self.ep}"
        if self.attention_dp > 1:
            text += f" DP-attention={self.attention_dp}"
        return text

    def problem(self, model: ModelSpec) -> str | None:
        """Why this layout cannot run ``model``, or None."""
        if self.ep < 1 or self.attention_dp < 1:
            return f"EP ({self.ep}) and attention DP ({self.attention_dp}) must be at least 1"
        if self.pp > model.num_layers:  # each pipeline stage holds whole layers, at least one
            return f"{model.num_layers} layers do not split over {self.pp} pipeline stages"
        if self.is_plain:  # engines split the query heads over the TP GPUs and refuse a TP not dividing them
            return self._heads_problem(model)
        if not model.is_moe:
            return f"{model.name} is not a mixture-of-experts model: expert and attention data parallelism need one"
        if self.tp % self.ep:
            return f"EP={self.ep} does not divide TP={self.tp} (expert groups split one stage's GPUs)"
        if self.tp % self.attention_dp:
            return f"DP-attention={self.attention_dp} does not divide TP={self.tp}"
        if self.ep > model.num_experts:
            return f"EP={self.ep} is more than {model.name}'s {model.num_experts} experts"
        return self._heads_problem(model)

    def _heads_problem(self, model: ModelSpec) -> str | None:
        """Why the attention heads do not split over one attention group's GPUs (vLLM, SGLang and TensorRT-LLM
        assert ``num_attention_heads % tensor_parallel_size == 0``), or None."""
        if model.num_heads % self.attention_tp:
            return f"{model.num_heads} attention heads do not split over {self.attention_tp} GPUs"
        return None


@dataclass(frozen=True)
class ParameterSplit:
    """The whole model's parameters by how a layout splits them."""

    attention: int  # attention projections of every layer (replicated per attention-DP group)
    routed: int  # routed experts of every MoE layer (split by expert under EP)
    other: int  # embeddings, dense MLPs, shared experts, routers, norms (tensor-parallel over the stage)


@cache  # pure function of a frozen spec, asked on every decode step of a MoE model
def parameter_split(model: ModelSpec) -> ParameterSplit:
    """Attention / routed-expert / other parameters of ``model`` (sums to its total)."""
    total = count_parameters(model).total
    attention = _attention_parameters(model) * model.num_layers
    routed = expert_parameters(model) * model.num_experts * num_moe_layers(model)
    return ParameterSplit(attention=attention, routed=routed, other=total - attention - routed)


def weight_bytes_per_gpu(model: ModelSpec, layout: Layout, whole_bytes: float, bytes_per_param: float) -> float:
    """Bytes of ``whole_bytes`` (the model's weights, or the part a pass reads) one GPU holds.

    TP and EP spread every weight over tp x pp GPUs; attention DP keeps a copy of the attention weights (at
    ``bytes_per_param``) per group, so each GPU holds attention / (attention_tp x pp) of them instead."""
    if layout.attention_dp == 1:
        return whole_bytes / layout.gpus
    attention = parameter_split(model).attention * bytes_per_param
    return (whole_bytes - attention) / layout.gpus + attention / (layout.attention_tp * layout.pp)


def load_imbalance(ep: int, routed_tokens: float) -> float:
    """Busiest expert group's load over the mean, for ``routed_tokens`` token-to-expert assignments.

    Uniform routing puts Binomial(T, 1/ep) assignments on a group: mean T/ep, standard deviation
    sqrt(T/ep x (1 - 1/ep)); the largest of ep such groups is about mean + sd x sqrt(2 ln ep) (the Gaussian
    maximum), so the ratio is 1 + sqrt(2 ln(ep) x (ep - 1) / T), at most ep (everything on one group). Large
    prefill batches are balanced; a decode step of a few hundred tokens is not. Real routers are somewhat more
    skewed; EPLB's redundant experts less.
    """
    if ep <= 1 or routed_tokens <= 0:
        return 1.0
    return min(float(ep), 1.0 + math.sqrt(2.0 * math.log(ep) * (ep - 1) / routed_tokens))


GEMM_TILE_ROWS = 64  # rows of one tensor-core GEMM tile (Hopper wgmma m64; Blackwell tcgen05 1-CTA m64)


def tile_utilization(rows_per_expert: float) -> float:
    """Share of the tensor cores' work that is useful when an expert's GEMM has ``rows_per_expert`` tokens.

    Grouped GEMMs pad each expert's tokens up to whole tiles of 64 rows: 8 tokens per expert (a decode step of
    DeepSeek-R1 at batch 256, k = 8 of 256 experts) fill 1/8 of a tile. Uses the expected rows, no integer step."""
    if rows_per_expert <= 0:
        return 1.0
    return rows_per_expert / (math.ceil(rows_per_expert / GEMM_TILE_ROWS - 1e-9) * GEMM_TILE_ROWS)


def distinct_ranks(ep: int, experts_per_token: int) -> float:
    """Expected distinct expert groups among a token's k experts (dispatch sends one copy per group)."""
    if ep <= 1:
        return 1.0
    return ep * (1.0 - (1.0 - 1.0 / ep) ** experts_per_token)
