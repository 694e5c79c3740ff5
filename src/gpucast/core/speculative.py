"""Speculative decoding: a cheap proposer drafts k tokens, the target verifies them in one pass.

Expected tokens per verification step with per-token acceptance rate alpha and k drafted tokens
(Leviathan, Kalman & Matias, "Fast Inference from Transformers via Speculative Decoding", ICML
2023, eq. 1; Chen et al. 2023):

    tau = (1 - alpha^(k+1)) / (1 - alpha)          (k + 1 when alpha = 1)

One speculative round costs a target verification step that scores k+1 tokens per sequence
(weights and KV read once, FLOPs x (k+1): ``perf.decode_step(tokens_per_sequence=k+1)``) plus
k draft steps. Time per generated token = (verify + k x draft) / tau. In the memory-bound regime
(small batch) the verify step costs about one plain step and the gain approaches tau; at large
batch the step is compute-bound, verification costs ~(k+1) plain steps and speculation loses
(Liu et al., "Optimizing Speculative Decoding for Serving LLMs Using Goodput", 2024; Sadhukhan
et al., "MagicDec", 2024).

Proposers: ``draft`` = a smaller model of the same family (its own decode steps, weights and KV
cache); ``mtp`` = multi-token-prediction / EAGLE-style heads: one extra transformer layer of the
target's width plus the LM head (DeepSeek-V3 MTP module: one layer sharing the embedding and
output head; EAGLE: one decoder layer on the target's features), with one layer's KV cache.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .memory import kv_bytes_per_token_per_gpu, weight_bytes
from .perf import Efficiency, StepTime, decode_step
from .specs import GPUSpec, ModelSpec, Precision

METHODS = ("draft", "mtp")


@dataclass(frozen=True)
class SpeculativeConfig:
    """k drafted tokens per round, per-token acceptance rate alpha, and the proposer."""

    draft_tokens: int  # k
    acceptance_rate: float  # alpha, 0..1
    method: str = "mtp"  # "draft" (separate model) or "mtp" (MTP / EAGLE head: one layer)
    draft_model: ModelSpec | None = None  # required for "draft"

    @property
    def tokens_per_step(self) -> float:
        return expected_tokens_per_step(self.acceptance_rate, self.draft_tokens)


def expected_tokens_per_step(alpha: float, k: int) -> float:
    """Leviathan et al. 2023: E[tokens per verification] = (1 - alpha^(k+1)) / (1 - alpha)."""
    if k <= 0:
        return 1.0
    if alpha >= 1.0:
        return float(k + 1)
    return (1.0 - alpha ** (k + 1)) / (1.0 - alpha)


def proposer(target: ModelSpec, spec: SpeculativeConfig) -> ModelSpec:
    """The model that drafts: the draft model, or one layer of the target (MTP / EAGLE head)."""
    if spec.method == "draft" and spec.draft_model is not None:
        return spec.draft_model
    return replace(
        target,
        id=f"{target.id}-mtp",
        name=f"{target.name} MTP head",
        num_layers=1,
        first_dense_layers=min(target.first_dense_layers, 1),
        sliding_window_layers=0,
        tie_word_embeddings=True,  # shares the target's embedding; its LM head is read each step
    )


def draft_shards(draft: ModelSpec, tp: int) -> int:
    """TP of the draft: the target's TP when the draft's heads divide (vLLM default), else 1."""
    return tp if draft.num_heads % tp == 0 and draft.num_kv_heads % min(tp, draft.num_kv_heads) == 0 else 1


def draft_memory_per_gpu(
    target: ModelSpec, spec: SpeculativeConfig, *, precision: Precision, kv_precision: Precision, tp: int
) -> tuple[float, float]:
    """(draft weight bytes, draft KV bytes per token) per GPU: what speculation takes from the KV cache.

    MTP heads share the embedding with the target, so only the layer (and the norm/head on
    models that untie it, ignored) is extra.
    """
    draft = proposer(target, spec)
    shards = draft_shards(draft, tp)
    weights = weight_bytes(draft, precision)
    if spec.method != "draft":
        weights -= draft.vocab_size * draft.hidden_size * 2.0  # shared embedding / head (16-bit)
    kv = kv_bytes_per_token_per_gpu(draft, kv_precision, shards, 1)
    if shards < tp:  # a TP=1 draft is replicated on every rank
        return max(weights, 0.0), kv
    return max(weights, 0.0) / shards, kv


def speculative_step(
    target_step: StepTime,
    draft: ModelSpec,
    gpu: GPUSpec,
    eff: Efficiency,
    spec: SpeculativeConfig,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    batch: float,
    context_tokens: float,
) -> StepTime:
    """The per-token step of speculative decoding from a verification step of k+1 tokens.

    ``target_step`` is the whole replica's verification step (``tokens_per_sequence=k+1``);
    drafting adds k decode steps of the proposer; the sum is spread over tau accepted tokens.
    """
    shards = draft_shards(draft, tp)
    one = decode_step(
        draft,
        gpu,
        eff,
        precision=precision,
        kv_precision=kv_precision,
        tp=shards,
        pp=1,
        batch=max(batch, 1e-9),
        context_tokens=context_tokens,
    )
    k = spec.draft_tokens
    tau = spec.tokens_per_step
    return StepTime(
        (target_step.total_s + k * one.total_s) / tau,
        (target_step.memory_s + k * one.memory_s) / tau,
        (target_step.compute_s + k * one.compute_s) / tau,
        (target_step.comm_s + k * one.comm_s) / tau,
        (target_step.overhead_s + k * one.overhead_s) / tau,
        target_step.bytes_per_gpu + k * one.bytes_per_gpu,
        target_step.flops_per_gpu + k * one.flops_per_gpu,
        (target_step.attention_s + k * one.attention_s) / tau,
    )
