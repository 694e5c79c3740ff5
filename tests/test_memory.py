"""Memory formulas with hand-computed numbers (DESIGN.md section 4; vLLM's KV sizing)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpucast.catalog import loader
from gpucast.core.engine_releases import VLLM_V0_CHUNKED_BUDGET
from gpucast.core.inference import replica_config
from gpucast.core.memory import (
    MemorySettings,
    estimate_memory,
    kv_bytes_per_token,
    kv_bytes_per_token_per_gpu,
    weight_bytes,
)
from gpucast.core.specs import GIB, Precision
from gpucast.core.workload import PlanSettings, Workload


def test_kv_bytes_per_token_llama3_70b_bf16(llama70b):
    # 2 (K and V) x 80 layers x 8 KV heads x 128 head_dim x 2 bytes (GQA, not 64 heads)
    assert kv_bytes_per_token(llama70b, Precision.BF16) == 2 * 80 * 8 * 128 * 2 == 327_680


def test_kv_bytes_per_token_llama31_8b_bf16(llama8b):
    assert kv_bytes_per_token(llama8b, Precision.BF16) == 2 * 32 * 8 * 128 * 2 == 131_072


def test_fp8_kv_halves_the_cache(llama8b):
    assert kv_bytes_per_token(llama8b, Precision.FP8) == 65_536


def test_seed_formula_overstates_llama3_70b_by_8x(llama70b):
    seed = 2 * llama70b.num_layers * llama70b.hidden_size * 2  # 2 x layers x hidden x bytes
    assert seed / kv_bytes_per_token(llama70b, Precision.BF16) == 8


def test_mla_caches_one_latent_per_layer():
    deepseek = loader.resolve_model("deepseek-v3")
    # 61 layers x (kv_lora_rank 512 + rope dim 64) x 2 bytes
    assert kv_bytes_per_token(deepseek, Precision.BF16) == 61 * 576 * 2 == 70_272


def test_mla_latent_is_replicated_across_tp():
    deepseek = loader.resolve_model("deepseek-v3")
    assert kv_bytes_per_token_per_gpu(deepseek, Precision.BF16, tp=8, pp=1) == 70_272


def test_sliding_window_layers_cap_the_cache():
    gemma = loader.resolve_model("gemma-2-9b")
    per_layer = 2 * gemma.num_kv_heads * gemma.head_dim * 2
    assert kv_bytes_per_token(gemma, Precision.BF16) == gemma.num_layers * per_layer
    # 8192-token sequence: 21 global layers keep all tokens, 21 local layers keep 4096
    assert kv_bytes_per_token(gemma, Precision.BF16, 8192) == pytest.approx(21 * per_layer + 21 * per_layer * 0.5)


def test_tp_beyond_kv_heads_replicates_heads(llama8b):
    whole = kv_bytes_per_token(llama8b, Precision.BF16)
    assert kv_bytes_per_token_per_gpu(llama8b, Precision.BF16, tp=8, pp=1) == whole / 8
    assert kv_bytes_per_token_per_gpu(llama8b, Precision.BF16, tp=16, pp=1) == whole / 8
    assert kv_bytes_per_token_per_gpu(llama8b, Precision.BF16, tp=2, pp=2) == whole / 4


def test_weights_llama3_70b_bf16_is_about_141_gb(llama70b):
    assert weight_bytes(llama70b, Precision.BF16) / 1e9 == pytest.approx(141.1, abs=0.2)


def test_int4_weights_carry_group_scale_overhead_and_16bit_embeddings(llama70b):
    bf16 = weight_bytes(llama70b, Precision.BF16)
    int4 = weight_bytes(llama70b, Precision.INT4)
    embedding = 2 * 128_256 * 8192  # embed + lm_head, kept in 16-bit
    body = (bf16 - embedding * 2) / 2
    assert int4 == pytest.approx(body * 0.5 * 1.03 + embedding * 2)


def test_kv_capacity_hand_computed(llama8b, h100):
    settings = MemorySettings(gpu_memory_utilization=0.9, runtime_overhead_gib=1.0, max_batched_tokens=0)
    mem = estimate_memory(llama8b, h100, precision=Precision.BF16, kv_precision=Precision.BF16, tp=1, settings=settings)
    weights = weight_bytes(llama8b, Precision.BF16)
    logits = 256 * llama8b.vocab_size * 4
    kv = h100.memory_gib * GIB * 0.9 - weights - logits - GIB
    assert mem.kv_cache_gib == pytest.approx(kv / GIB)
    assert mem.kv_capacity_tokens == int(kv // 131_072)


def test_model_too_big_for_one_gpu_does_not_fit(llama70b, h100):
    mem = estimate_memory(llama70b, h100, precision=Precision.BF16, kv_precision=Precision.BF16, tp=1)
    assert not mem.fits
    mem4 = estimate_memory(llama70b, h100, precision=Precision.BF16, kv_precision=Precision.BF16, tp=4)
    assert mem4.fits and mem4.kv_capacity_tokens > 100_000


def test_kv_reservation_sets_how_many_sequences_the_cache_admits():
    """vLLM holds a sequence's current blocks (prompt + half the output on average); TensorRT-LLM's default
    GUARANTEED_NO_EVICT scheduler reserves prompt + the whole output at admission: 1000 in / 1000 out takes
    1500 vs 2000 tokens per sequence, so a 600,000-token cache admits 400 vs 300 sequences."""
    from gpucast.catalog import loader
    from gpucast.core.memory import MemorySettings

    vllm = MemorySettings.for_engine(loader.resolve_engine("vllm"))
    trtllm = MemorySettings.for_engine(loader.resolve_engine("trtllm"), 0.95)
    assert vllm.kv_tokens_per_sequence(1000, 1000) == 1500 and 600_000 // 1500 == 400
    assert trtllm.kv_tokens_per_sequence(1000, 1000) == 2000 and 600_000 // 2000 == 300
    assert trtllm.gpu_memory_utilization == 0.95 and trtllm.memory_mode == "free"
    assert vllm.gpu_memory_utilization == loader.resolve_engine("vllm").default_memory_fraction


# ---------------------------------------------------------------------------------------------- engine builds
from gpucast.core.engine_releases import VLLM_NON_TORCH_GIB, for_engine_build, for_engine_release  # noqa: E402
from gpucast.core.memory import activation_peak_bytes, indexer_key_bytes  # noqa: E402


def test_dense_activation_peak_matches_the_rtx3090_log_slope(llama8b):
    """vLLM 0.6.4 on an RTX 3090 (issue 10517): peak_torch_memory 17.06 GiB at max_model_len 20,000 and 17.98 GiB at
    29,000 -> 0.92 GiB / 9,000 tokens = 109.8 kB per token (+-2.4 kB from the logged 0.01 GiB rounding); the
    profile holds residual, normed input, gate/up (2 x ffn), activated product (ffn) and down output:
    (3 x 4096 + 3 x 14336) x 2 B = 110,592 B."""
    base = MemorySettings(max_batched_tokens=20_000)
    more = MemorySettings(max_batched_tokens=29_000)
    slope = (activation_peak_bytes(llama8b, more, 1) - activation_peak_bytes(llama8b, base, 1)) / 9_000
    assert slope == (3 * 4096 + 3 * 14336) * 2 == 110_592
    assert slope == pytest.approx(0.92 * GIB / 9_000, abs=0.02 * GIB / 9_000)


def test_vllm_v0_profiles_max_model_len_and_064_charges_non_torch_memory(llama8b):
    """RTX 3090, vLLM 0.6.4, Llama-3.1-8B BF16, utilization 0.9, max_model_len 20,000 (row kvl-4: 31,232 tokens).
    KV = 0.9 x 23.58 GiB (what CUDA reports) - 8,030,261,248 x 2 B - 20,000 x 110,592 B - 256 x 128,256 x 4 B
    - 0.2 GiB non-torch = 3.8824 GiB = 31,803 tokens of 131,072 B (+1.8% vs the log)."""
    gpu = loader.resolve_gpu("rtx-3090")
    engine = loader.resolve_engine("vllm")
    settings = for_engine_build(MemorySettings.for_engine(engine, 0.9), "vllm", version=(0, 6, 4), max_model_len=20_000)
    assert settings.max_batched_tokens == 20_000 and settings.runtime_overhead_gib == VLLM_NON_TORCH_GIB == 0.2
    mem = estimate_memory(llama8b, gpu, precision=Precision.BF16, kv_precision=Precision.BF16, tp=1, settings=settings)
    kv = 0.9 * 23.58 * GIB - 8_030_261_248 * 2 - 20_000 * 110_592 - 256 * 128_256 * 4 - 0.2 * GIB
    assert mem.kv_cache_gib == pytest.approx(kv / GIB, rel=1e-4)
    assert mem.kv_capacity_tokens == int(kv // 131_072) == 31_803
    assert abs(mem.kv_capacity_tokens / 31_232 - 1) < 0.03


@pytest.mark.parametrize(
    ("version", "max_model_len", "budget"),
    [
        ((0, 2, 7), 32_768, 32_768),  # V0 without chunked prefill: max(max_model_len, 2048)
        ((0, 6, 4), 1_024, 2_048),  # the 2048 floor
        ((0, 6, 4), 65_536, 8_192),  # V0 0.5+ chunks above 32K: the engine's default budget stays
        ((0, 4, 0), 65_536, 65_536),  # before 0.5 nothing chunked by default
        ((0, 10, 0), 20_000, 8_192),  # V1 always chunks
        ((0, 6, 4), None, 8_192),  # max_model_len not stated
    ],
)
def test_vllm_profiling_token_budget_by_version(version, max_model_len, budget):
    settings = for_engine_build(MemorySettings(), "vllm", version=version, max_model_len=max_model_len)
    assert settings.max_batched_tokens == budget


@pytest.mark.parametrize(
    ("engine", "version", "budget"),
    [
        ("vllm", (0, 7, 3), 163_840),  # V0 runs an MLA model without chunked prefill: max_model_len
        ("vllm", (0, 7, 4), 163_840),  # (dstack's 0.7.4.dev181 on H200)
        ("vllm", (0, 8, 0), 2_048),  # V1 always chunks: the engine's budget (its large-GPU one: MemorySettings.on_gpu)
        ("vllm", None, 2_048),  # no release named: the current engine
        ("sglang", (0, 4, 3), 8_192),  # another engine: untouched
    ],
)
def test_vllm_v0_serves_an_mla_model_unchunked(engine, version, budget):
    """DeepSeek-R1 (163,840-token context) on a V0 vLLM profiles its whole max_model_len; a dense model with a
    context above 32K is chunked there (V0's budget, as fitted), one of 32K or less is not."""
    r1, llama = loader.resolve_model("deepseek-r1"), loader.resolve_model("llama-3.1-8b")
    settings = MemorySettings.for_engine(loader.resolve_engine(engine))
    assert for_engine_release(settings, engine, r1, version, r1.max_context).max_batched_tokens == budget
    v0 = engine == "vllm" and version is not None and version < (0, 8, 0)
    chunked = VLLM_V0_CHUNKED_BUDGET if v0 else settings.max_batched_tokens
    assert for_engine_release(settings, engine, llama, version, 131_072).max_batched_tokens == chunked
    if engine == "vllm" and version is not None and version < (0, 8, 0):
        assert for_engine_release(settings, engine, llama, version, 16_384).max_batched_tokens == 16_384
        assert for_engine_release(settings, engine, r1, version, 1_024).max_batched_tokens == 2_048  # the floor


def test_deepseek_r1_on_vllm_07_halves_the_h200_kv_cache():
    """8 x H200, FP8 weights, BF16 latent cache replicated on every rank (70,272 B per token): the 163,840-token
    profiling pass holds about 26 GiB of activations per GPU (1.3 GiB at the chunked 8,192), leaving about 334k
    tokens instead of 711k (both releases charging the 0.2 GiB non-torch memory of 0.6.4+): 52 sequences of a
    3,200 + 6,400 / 2 mean length, where the dstack runs show about 50 requests past their first token at 6,400
    output tokens (data/benchmarks/README.md)."""
    r1, h200, vllm = loader.resolve_model("deepseek-r1"), loader.resolve_gpu("h200"), loader.resolve_engine("vllm")
    kwargs = {"precision": Precision.FP8, "kv_precision": Precision.BF16, "tp": 8}
    v1 = for_engine_release(MemorySettings.for_engine(vllm), "vllm", r1, None, r1.max_context)
    chunked = estimate_memory(r1, h200, settings=v1, **kwargs)
    v0 = for_engine_release(MemorySettings.for_engine(vllm), "vllm", r1, (0, 7, 4), r1.max_context)
    unchunked = estimate_memory(r1, h200, settings=v0, **kwargs)
    assert unchunked.activations_gib == pytest.approx(26.0, abs=0.5) and chunked.activations_gib < 1.5
    assert 300_000 < unchunked.kv_capacity_tokens < 0.5 * chunked.kv_capacity_tokens
    assert 45 < unchunked.kv_capacity_tokens / (3200 + 6400 / 2) < 55


def test_vllm_before_064_keeps_the_fitted_overhead_and_other_engines_are_untouched():
    vllm = MemorySettings.for_engine(loader.resolve_engine("vllm"))
    assert for_engine_build(vllm, "vllm", version=(0, 6, 3)).runtime_overhead_gib == vllm.runtime_overhead_gib
    assert for_engine_build(vllm, "vllm", version=(0, 8, 0)).runtime_overhead_gib == 0.2
    assert for_engine_build(vllm, "vllm") == vllm
    assert for_engine_build(vllm, "trtllm", version=(0, 2, 7), max_model_len=4096) == vllm


def test_sglang_before_pr_11309_sizes_the_v32_pool_without_the_indexer():
    """DeepSeek-V3.2 FP8 on 8 x B200 (rows kvl-2, kvl-3): before PR 11309 SGLang divided the memory by the latent's
    656 B per layer, after it by 656 + 132 = 788 B: the same memory holds 788 / 656 = 1.201x the tokens."""
    v32, b200 = loader.resolve_model("deepseek-v3.2"), loader.resolve_gpu("b200")
    sglang = MemorySettings.for_engine(loader.resolve_engine("sglang"), 0.8)
    before = for_engine_build(sglang, "sglang", build_date="2025-10-07")
    after = for_engine_build(sglang, "sglang", build_date="2025-10-07", includes_indexer_sizing=True)
    assert not before.indexer_in_sizing and after.indexer_in_sizing
    assert for_engine_build(sglang, "sglang", build_date="2025-10-09").indexer_in_sizing
    assert indexer_key_bytes(v32) == 132
    kwargs = {"precision": Precision.FP8, "kv_precision": Precision.FP8, "tp": 8, "attention_dp": 8}
    old = estimate_memory(v32, b200, settings=before, **kwargs)
    new = estimate_memory(v32, b200, settings=after, **kwargs)
    assert old.kv_cache_gib == new.kv_cache_gib  # the same budget...
    assert old.kv_capacity_tokens / new.kv_capacity_tokens == pytest.approx(788 / 656, rel=1e-5)  # ...more tokens


def test_sglang_default_fraction_by_gpu_and_layout():
    """PR 10975's heuristic, hand-computed (MiB): B200 (183,359 MiB) at TP8 with 8-way DP attention reserves
    512 + 1.5 x 16,384 + 2 x 512 + 1024 x 8 / 8 + 3 x 512 x 8 + 1.5 x 512 x 8 = 45,568 -> (183,359 - 45,568) /
    183,359 = 0.751; an H100 (81,559 MiB) at TP1 reserves 512 + 1.5 x 8192 + 2 x 256 + 128 = 13,440 -> 0.835;
    a 24 GiB card at TP1: 512 + 3072 + 48 + 128 = 3,760 of 24,576 -> 0.847."""
    from gpucast.core.engine_releases import sglang_default_mem_fraction

    assert sglang_default_mem_fraction(183_359, tp=8, dp=8, dp_attention=True) == 0.751
    assert sglang_default_mem_fraction(81_559, tp=1) == round((81_559 - 13_440) / 81_559, 3) == 0.835
    assert sglang_default_mem_fraction(24_576, tp=1) == round((24_576 - 3_760) / 24_576, 3) == 0.847
    # the 10 GiB floor on large GPUs: an H100 at TP1 reserves 13,440 MiB (above it), a B200 without DP attention
    # 512 + 24,576 + 1024 + 1024 = 27,136 MiB
    assert sglang_default_mem_fraction(183_359, tp=8) == round((183_359 - 27_136) / 183_359, 3)
    from gpucast.core.engine_releases import SGLANG_HEURISTIC, SGLANG_RESERVED_GIB, SGLANG_TP_TABLE

    sglang = MemorySettings.for_engine(loader.resolve_engine("sglang"))
    dates = ("2025-05-01", "2025-09-01", "2025-10-07")
    rules = [for_engine_build(sglang, "sglang", build_date=date).default_fraction_rule for date in dates]
    assert rules == [SGLANG_TP_TABLE, SGLANG_RESERVED_GIB, SGLANG_HEURISTIC]
    stated = MemorySettings.for_engine(loader.resolve_engine("sglang"), 0.8)  # a fraction the notes state is kept
    assert for_engine_build(stated, "sglang", build_date="2025-10-07").default_fraction_rule is None


def test_start_up_rows_read_the_engine_build():
    from gpucast.core.engine_releases import default_fraction_on
    from gpucast.validation.builds import build_settings

    gpu = loader.resolve_gpu("a100-80gb")
    vllm = MemorySettings.for_engine(loader.resolve_engine("vllm"))

    def build(engine: str, notes: str = "", engine_id: str = "vllm", base: MemorySettings = vllm) -> MemorySettings:
        return build_settings({"engine": engine, "notes": notes}, engine_id, base)

    legacy = build("vLLM v0.2.7 (docker vllm-openai v0.2.7)", "max_model_len default (32768)")
    assert legacy.max_batched_tokens == 32_768 and legacy.runtime_overhead_gib == vllm.runtime_overhead_gib
    assert build("vLLM v0.6.4 (V0)", "max_model_len 20000").max_batched_tokens == 20_000
    v1 = build("vLLM (V1; version not stated; July 2025)", "max_model_len 20000")
    assert v1.max_batched_tokens == vllm.max_batched_tokens and v1.runtime_overhead_gib == 0.2
    assert build("vLLM (ROCm 6.2 build; version not stated)") == vllm  # "6.2" is ROCm's version, not vLLM's
    sglang = MemorySettings.for_engine(loader.resolve_engine("sglang"))
    pre = build("SGLang (main branch, 2025-10-07)", "mem_fraction_static 0.8", "sglang", sglang)
    post = build("SGLang (PR 11309 branch, 2025-10-07)", "", "sglang", sglang)
    assert not pre.indexer_in_sizing and pre.gpu_memory_utilization == sglang.gpu_memory_utilization
    resolved = default_fraction_on(post, gpu, 1, 1, 1).gpu_memory_utilization  # per replica (replica_config)
    assert post.indexer_in_sizing and resolved == round((81_920 - 13_440) / 81_920, 3) == 0.836


@pytest.mark.parametrize(
    ("version", "overhead"),
    [(None, VLLM_NON_TORCH_GIB), ((0, 10, 0), VLLM_NON_TORCH_GIB), ((0, 6, 4), VLLM_NON_TORCH_GIB),
     ((0, 6, 3), None), ((0, 4, 1), None)],
)  # fmt: skip
def test_a_plan_takes_what_its_vllm_release_charges(version, overhead):
    """A plan or a serving question on vLLM 0.6.4+ (the default release, V1, included) charges the non-torch memory
    that release's profiler logs, as its start-up logs are read (for_engine_build); older releases keep the fitted
    overhead (logs of a build that charged the allocator's cache). Other engines are untouched."""
    vllm = MemorySettings.for_engine(loader.resolve_engine("vllm"))
    llama = loader.resolve_model("llama-3.1-8b")
    released = for_engine_release(vllm, "vllm", llama, version, 4096)
    assert released.runtime_overhead_gib == (vllm.runtime_overhead_gib if overhead is None else overhead)
    if version is not None:
        assert released.runtime_overhead_gib == for_engine_build(vllm, "vllm", version=version).runtime_overhead_gib
    sglang = MemorySettings.for_engine(loader.resolve_engine("sglang"))
    # SGLang's release only picks its default-fraction, chunk and DP-chunk rules (tests/test_sglang_fraction.py,
    # tests/test_engine_step_budgets.py, tests/test_sglang_dp_chunk.py)
    sglang_released = for_engine_release(sglang, "sglang", llama, version, 4096)
    unruled = {"default_fraction_rule": None, "step_budget_rule": None, "dp_chunk_rule": None}
    assert replace(sglang_released, **unruled) == replace(sglang, **unruled)


def test_pre_0_6_4_vllm_charges_the_overhead_fitted_on_its_platform():
    """vLLM 0.4.1, Llama-3-8B BF16 on one RTX 3090 at gpu_memory_utilization 0.9 and max_model_len 8192 (the
    configuration of the held-out percentile source zhjunqin_llama3_8b_rtx3090_sharegpt.csv, which logged 2358
    blocks = 37,728 tokens). By hand: 0.9 x 23.58 GiB = 21.222 GiB; weights 8,030,261,248 x 2 B = 14.9575 GiB;
    activation peak 8192 x (3 x 4096 + 3 x 14336) x 2 B + 256 x 128,256 x 4 B = 0.9661 GiB; the CUDA logs' 1.0 GiB
    leaves 4.2984 GiB, / 128 KiB per token = 35,212 tokens (-6.7%; the ROCm logs' 2.8 GiB left 20,466, -46%).
    The same release on an MI300X charges the ROCm 2.8 GiB; 0.6.4+ and V1 charge the non-torch 0.2 GiB on both."""
    vllm, llama = loader.resolve_engine("vllm"), loader.resolve_model("llama-3-8b")
    assert dict(vllm.runtime_overhead_by_vendor) == {"nvidia": 1.0, "amd": 2.8}
    kwargs = {"precision": Precision.BF16, "kv_precision": Precision.BF16, "tp": 1}

    def memory(gpu: str, version: tuple[int, int, int] | None):
        settings = for_engine_release(MemorySettings.for_engine(vllm), "vllm", llama, version, 8192)
        return estimate_memory(llama, loader.resolve_gpu(gpu), settings=settings, **kwargs)

    old = memory("rtx-3090", (0, 4, 1))
    by_hand = (
        0.9 * 23.58 - 8_030_261_248 * 2 / GIB - (8192 * (3 * 4096 + 3 * 14336) * 2 + 256 * 128_256 * 4) / GIB - 1.0
    )
    assert old.overhead_gib == 1.0 and old.kv_cache_gib == pytest.approx(by_hand) == pytest.approx(4.2984, abs=1e-4)
    assert old.kv_capacity_tokens == int(by_hand * GIB // 131_072) == 35_212
    assert memory("mi300x", (0, 4, 1)).overhead_gib == 2.8
    for gpu in ("rtx-3090", "mi300x"):
        assert memory(gpu, (0, 6, 4)).overhead_gib == memory(gpu, None).overhead_gib == VLLM_NON_TORCH_GIB
    # an engine without a per-vendor table charges its one value everywhere
    sglang = MemorySettings.for_engine(loader.resolve_engine("sglang"))
    assert sglang.overhead_gib("nvidia") == sglang.overhead_gib("amd") == sglang.runtime_overhead_gib


@pytest.mark.parametrize(
    ("gpu", "version", "budget"),
    [
        ("h100", None, 8_192),  # 80 GB, not an A100: the large-GPU default of 0.9+
        ("h200", "0.10.0", 8_192),
        ("a100-80gb", None, 2_048),  # vLLM excludes A100s by name ("reduces throughput", vllm#17885)
        ("l40s", None, 2_048),  # under 70 GiB
        ("l4", None, 2_048),
        ("h100", "0.8.5", 2_048),  # V1 before 0.9: the OpenAI server's 2048 on every GPU
    ],
)
def test_vllm_step_budget_follows_the_gpu_as_engineargs_get_batch_defaults(gpu, version, budget):
    """vLLM's OpenAI server steps by 8192 tokens on GPUs of 70 GiB or more that are not A100s and by 2048 elsewhere
    (EngineArgs.get_batch_defaults, 0.9+): the budget the activation peak, the prefill chunks and the export use.
    gpucast stepped by 8192 on every GPU."""
    engine, spec = loader.resolve_engine("vllm"), loader.resolve_gpu(gpu)
    settings = MemorySettings.for_engine(engine, None, loader.large_gpu_rule(engine, version))
    assert settings.on_gpu(spec).max_batched_tokens == budget
    assert loader.default_max_batched_tokens(engine, version, spec) == budget
    model = loader.resolve_model("llama-3.1-8b")
    cfg, _, _ = replica_config(
        model, spec, loader.efficiency_for(spec, "vllm", model=model), precision=Precision.FP16,
        kv_precision=Precision.FP16, tp=1, pp=1, workload=Workload(1.0, 4000, 300),
        settings=PlanSettings(memory=settings),
    )  # fmt: skip
    assert cfg.chunk_tokens == budget
