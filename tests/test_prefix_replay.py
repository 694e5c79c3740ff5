"""Issue 21, TTFT: a benchmark that replays its prompts to a server with prefix caching on (``prefix_cache=replay`` in
a measurement's notes) prefills only each prompt's last, partial KV block (docs/tail-latency.md)."""

from __future__ import annotations

from pathlib import Path

from gpucast.catalog import loader
from gpucast.core.inference import estimate_replica
from gpucast.core.memory import MemorySettings
from gpucast.core.percentiles import lognormal_profile
from gpucast.core.serving import at_request_rate, max_throughput
from gpucast.core.specs import Precision
from gpucast.core.tails import latency_tail
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.validation.inference import validate_file

CHAT = lognormal_profile(
    "chat", input_mean=300, input_median=200, input_max=4096, output_mean=250, output_median=180, output_max=2048
)
SHAPE = {"input_tokens": CHAT.mean_input, "output_tokens": CHAT.mean_output}


def _config():  # type: ignore[no-untyped-def]
    """Llama-3.1-8B FP8 on one H100 (vLLM) with the catalog's efficiencies."""
    gpu = loader.resolve_gpu("H100")
    engine = loader.resolve_engine("vllm")
    settings = PlanSettings(memory=MemorySettings.for_engine(engine, None), context_window=8192)
    est = estimate_replica(
        loader.resolve_model("llama-3.1-8b"), gpu, loader.efficiency_for(gpu, "vllm"),
        precision=Precision.FP8, kv_precision=Precision.FP8, tp=1, pp=1,
        workload=Workload(1.0, 300, 250, lengths=CHAT), slo=SLO(1e9, 1e9), settings=settings,
    )  # fmt: skip
    return est.config


def test_a_replayed_prompt_prefills_only_its_last_block() -> None:
    """``uncached_tokens``: each profile point prefills its last 8.5 tokens (the rest hit the cache), so TTFT falls
    to about one short forward pass at every percentile and the prefill chunks that stretch the steps shrink."""
    cfg = _config()
    sat = max_throughput(cfg, **SHAPE).requests_per_s
    cold_point = at_request_rate(cfg, rate=0.4 * sat, **SHAPE)
    cold = latency_tail(cfg, cold_point, saturation_rate=sat, lengths=CHAT, **SHAPE)
    cached = SHAPE["input_tokens"] - 8.5
    warm_point = at_request_rate(cfg, rate=0.4 * sat, cached_input_tokens=cached, **SHAPE)
    warm = latency_tail(
        cfg, warm_point, saturation_rate=sat, lengths=CHAT, cached_input_tokens=cached, uncached_tokens=8.5, **SHAPE
    )
    assert all(w < c for w, c in zip(warm.ttft_s, cold.ttft_s, strict=True))
    assert warm.itl_s[4] < cold.itl_s[4]
    # the spread of TTFT across prompt lengths is gone: every prompt prefills the same 8.5 tokens
    assert warm.ttft_s[4] - warm.ttft_s[1] < 0.5 * (cold.ttft_s[4] - cold.ttft_s[1])
    assert latency_tail(cfg, cold_point, saturation_rate=sat, lengths=CHAT, uncached_tokens=None, **SHAPE) == cold


def test_replay_rows_are_read_from_the_notes(tmp_path: Path) -> None:
    """The H200 sweep's rates after the first say ``prefix_cache=replay`` (the source replays its 300 prompts with
    prefix caching on); without the tag the same rows predict the cold cache's longer TTFT."""
    folder = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"
    source = folder / "vllm_llama70b_fp8_h200_sharegpt.csv"
    text = source.read_text(encoding="utf-8")
    assert text.count("prefix_cache=replay") == 63  # 7 of the 8 rates, 9 metrics each
    cold = tmp_path / "cold.csv"
    cold.write_text(text.replace("prefix_cache=replay", "prefix_cache=cold"), encoding="utf-8")
    warm = {r.id: r.predicted for r in validate_file(source).rows}
    plain = {r.id: r.predicted for r in validate_file(cold).rows}
    assert warm["h200-pct-1"] == plain["h200-pct-1"]  # the first rate ran cold
    assert warm["h200-pct-12"] < plain["h200-pct-12"]  # its p99 TTFT at 0.75 req/s


def test_percentile_table_prints_every_source_and_the_signed_ttft_rows(capsys) -> None:  # type: ignore[no-untyped-def]
    """``scripts/percentile_table.py`` (docs/tail-latency.md's leave-one-source-out table and signed TTFT rows): one
    line per source file, the pooled and median rows, and every TTFT percentile row with its signed error."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "percentile_table.py"
    spec = importlib.util.spec_from_file_location("percentile_table", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    out = capsys.readouterr().out
    files = sorted(p.name for p in module.FOLDER.glob("*.csv") if p.name not in module.LENGTH_FILES)
    assert all(f"| `{name}` | " in out for name in files)
    assert "| all (rows pooled) |" in out and "| median of the per-source medians |" in out
    signed = [line for line in out.splitlines() if "| ttft_p" in line]
    # the TTFT p50/p90/p95/p99 rows of the nine sources: the first four (8 + 4 + 20 + 24), then AccelMark (25 points x
    # p50/p90/p99), SGLang v0.3.0 (4 medians) and the Qwen3-30B-A3B point (median, P99); since 2026-12-07 the RTX 3090
    # comparison (18 runs x p50/p90/p99) and the DeepSeek-R1 L20 point (median, P99); then the vLLM 0.7.3 A100 PCIe
    # TP4 run (2 rates x median, P99)
    assert len(signed) == 8 + 4 + 20 + 24 + 75 + 4 + 2 + 54 + 2 + 4
    assert sum("(replay)" in line for line in signed) == 21  # the H200 sweep's 7 replayed rates x 3 TTFT percentiles
