"""One replica's configuration and its step times: the decode step and the prefill pass it is built of.

``core.serving`` composes these into operating points under load; ``core.disaggregation``, ``core.simulate`` and
the capacity bounds of ``core.search_floor`` read them directly. Kept apart so each module holds one job.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .layout import Layout
from .perf import Efficiency, StepTime, decode_step, prefill_time
from .specs import GPUSpec, ModelSpec, Precision, hash_fields_once, state_without_hash
from .speculative import SpeculativeConfig, proposer, speculative_step


@dataclass(frozen=True)
class ReplicaConfig:
    """Everything fixed about one replica: model, GPU, precisions, sharding, limits."""

    model: ModelSpec
    gpu: GPUSpec
    efficiency: Efficiency
    precision: Precision
    kv_precision: Precision
    tp: int
    pp: int
    max_sequences: int  # B_max: KV-capacity and engine cap on concurrent sequences
    # the engine's chunked-prefill token budget per step as launched (vLLM max_num_batched_tokens, SGLang
    # --chunked-prefill-size): what a plan records and its export passes
    chunk_tokens: int = 8192
    speculative: SpeculativeConfig | None = None  # speculative decoding (core/speculative.py); None = off
    ep: int = 1  # expert-parallel groups (core.layout); 1 = experts tensor-parallel
    attention_dp: int = 1  # attention data-parallel groups (core.layout); 1 = attention tensor-parallel
    # where attention-DP ranks step separately, the chunk each rank's scheduler steps by (SGLang divides
    # chunk_tokens: chunked_prefill_size // dp; vLLM gives each rank the whole budget;
    # core.engine_releases.rank_chunk_tokens); 0: one scheduler, chunk_tokens
    rank_chunk_tokens: int = 0

    # hashed once: the capacity search looks a configuration's memoized prefill costs up at every load it tries
    __hash__ = hash_fields_once
    __getstate__ = state_without_hash

    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    @property
    def layout(self) -> Layout:
        return Layout(self.tp, self.pp, self.ep, self.attention_dp)

    @property
    def prompt_chunk(self) -> int:
        """The most new tokens of one prompt a step prefills: a prompt lives on one attention-DP rank, whose
        scheduler steps by its own chunk (SGLang's share of the budget; vLLM's whole budget), else
        the replica's one budget."""
        return max(self.rank_chunk_tokens or self.chunk_tokens, 1)

    @property
    def step_prefill_tokens(self) -> int:
        """The most prompt tokens the replica prefills in one step: every attention-DP rank its own chunk, in one
        synchronized forward pass, where the ranks step separately (SGLang's shares, vLLM's whole budget
        per rank); else the one budget."""
        if self.rank_chunk_tokens:
            return self.rank_chunk_tokens * self.attention_dp
        return max(self.chunk_tokens, 1)


def decode_step_time(cfg: ReplicaConfig, batch: float, context: float) -> StepTime:
    """The replica's time per generated token at ``batch`` sequences (speculation included): PP stages process
    batch/pp micro-batches in turn."""
    if cfg.speculative is not None:
        return _speculative_step(cfg, cfg.speculative, batch, context)
    return _pipeline_step(cfg, batch, context)


def _pipeline_step(cfg: ReplicaConfig, batch: float, context: float, tokens_per_sequence: float = 1.0) -> StepTime:
    """A stage's decode step over batch/pp sequences, times the pp stages it takes to pass every micro-batch
    (bytes and FLOPs stay per GPU)."""
    stage = decode_step(
        cfg.model,
        cfg.gpu,
        cfg.efficiency,
        precision=cfg.precision,
        kv_precision=cfg.kv_precision,
        tp=cfg.tp,
        pp=cfg.pp,
        batch=max(batch / cfg.pp, 1e-9),
        context_tokens=context,
        tokens_per_sequence=tokens_per_sequence,
        ep=cfg.ep,
        attention_dp=cfg.attention_dp,
    )
    if cfg.pp == 1:
        return stage
    p = cfg.pp
    # the constructor, not dataclasses.replace (~5x its cost): the capacity search builds this at every load it tries
    return StepTime(stage.total_s * p, stage.memory_s * p, stage.compute_s * p, stage.comm_s * p,
                    stage.overhead_s * p, stage.bytes_per_gpu, stage.flops_per_gpu, stage.attention_s * p)  # fmt: skip


def _speculative_step(cfg: ReplicaConfig, spec: SpeculativeConfig, batch: float, context: float) -> StepTime:
    """Per-token step with speculative decoding: a k+1-token verification plus k draft steps, over tau."""
    whole = _pipeline_step(cfg, batch, context, tokens_per_sequence=spec.draft_tokens + 1.0)
    return speculative_step(
        whole,
        proposer(cfg.model, spec),
        cfg.gpu,
        cfg.efficiency,
        spec,
        precision=cfg.precision,
        kv_precision=cfg.kv_precision,
        tp=cfg.tp,
        batch=batch,
        context_tokens=context,
    )


def prefill_seconds(
    cfg: ReplicaConfig, tokens: float, *, batched: bool = False, cached_tokens: float = 0.0, sequences: float = 1.0
) -> float:
    """Replica time to prefill ``tokens`` new prompt tokens after ``cached_tokens`` cached ones (``sequences``
    prompts in one pass, each attending only to itself)."""
    return prefill_time(
        cfg.model,
        cfg.gpu,
        cfg.efficiency,
        precision=cfg.precision,
        tp=cfg.tp,
        pp=cfg.pp,
        tokens=tokens,
        batched=batched,
        cached_tokens=cached_tokens,
        sequences=sequences,
        ep=cfg.ep,
        attention_dp=cfg.attention_dp,
    )


@lru_cache(maxsize=65536)
def prefill_costs(cfg: ReplicaConfig, tokens: float, cached_tokens: float = 0.0) -> tuple[float, float]:
    """(latency alone, replica time under load) of prefilling ``tokens`` new prompt tokens after ``cached_tokens``:
    under load prompts share one weight read per pass and PP stages prefill different requests at once (/ pp).
    Memoized: they do not depend on the load, and the capacity search (and ``core.tails``) asks for the same
    prompt at every load it tries."""
    latency = prefill_seconds(cfg, tokens, cached_tokens=cached_tokens)
    return latency, prefill_seconds(cfg, tokens, batched=True, cached_tokens=cached_tokens) / cfg.pp
