"""SGLang divides its chunked-prefill size over its attention-DP ranks, and each rank's scheduler chunks its prompts by
that share: ``ServerArgs`` (sglang/srt/server_args.py, PyPI wheels 0.3.6-0.5.15) and, from 0.5.20,
``sglang/srt/arg_groups/parallel_hook.py`` set ``chunked_prefill_size //= 2`` (0.3.6-0.4.4, ``dp_size`` forced to
``tp_size``) or ``//= dp_size`` (0.4.4.post1 on: "DP attention is enabled. The chunked prefill size is adjusted to
..."); ``max_prefill_tokens`` (16,384) is not divided. Why: gpucast chunked a DeepSeek-V3 TP8 DP8 replica's prompts
by the whole 8,192 tokens on an H200, where each rank's scheduler takes 1,024 a step.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from conftest import gpucast_exe
from gpucast.catalog import loader
from gpucast.core.engine_era import parse_engine_version
from gpucast.core.engine_releases import for_engine_release, rank_chunk_tokens, sglang_rank_chunk
from gpucast.core.inference import replica_config
from gpucast.core.memory import MemorySettings
from gpucast.core.perf import Efficiency
from gpucast.core.replica import ReplicaConfig, decode_step_time
from gpucast.core.serving import _request_costs
from gpucast.core.simulate import simulate
from gpucast.core.specs import Precision
from gpucast.core.workload import PlanSettings, Workload


@pytest.mark.parametrize(
    ("version", "chunk", "dp", "share"),
    [
        ((0, 3, 5), 8192, 8, 8192),  # no --enable-dp-attention yet
        ((0, 3, 6), 8192, 8, 4096),  # DP attention's first release: // 2
        ((0, 4, 1), 8192, 8, 4096),
        ((0, 4, 3), 8192, 8, 4096),
        ((0, 4, 4), 8192, 8, 1024),  # 0.4.4.post1-post4: // dp_size (read as 0.4.4)
        ((0, 4, 5), 8192, 4, 2048),
        ((0, 5, 12), 16384, 8, 2048),  # B200: the 16,384-token default over 8 ranks
        (None, 8192, 8, 1024),  # the current release (0.5.23: // attn_dp_size)
        (None, 8192, 1, 8192),  # no DP attention
    ],
)
def test_the_chunk_of_an_attention_dp_rank_by_release(version, chunk, dp, share):
    assert sglang_rank_chunk(chunk, dp, version) == share


def _dsv3(engine_id: str, version: str | None, dp: int, chunk: int | None = None) -> ReplicaConfig:
    """DeepSeek-V3 FP8 at TP8 EP8 with ``dp``-way attention DP on an H200, as ``replica_config`` sizes it for
    ``engine_id`` at ``version``."""
    engine, gpu = loader.resolve_engine(engine_id), loader.resolve_gpu("h200")
    model = loader.resolve_model("deepseek-v3")
    memory = for_engine_release(
        MemorySettings.for_engine(engine), engine.id, model, parse_engine_version(version), 8192
    )
    settings = PlanSettings(
        context_window=8192, memory=memory, max_sequences_per_dp_rank=loader.sequences_capped_per_dp_rank(engine.id)
    )
    cfg, _, _ = replica_config(
        model, gpu, Efficiency(), precision=Precision.FP8, kv_precision=Precision.BF16, tp=8, pp=1,
        workload=Workload(1.0, 4000, 500), settings=settings, ep=8, attention_dp=dp,
    )  # fmt: skip
    return cfg


def test_a_deepseek_v3_dp8_replica_on_h200_chunks_prompts_by_1024_tokens():
    """The current release: 8,192 // 8 = 1,024 tokens a rank; the replica's step still takes 8 x 1,024 = 8,192 (every
    rank its share, one forward) and the launch budget stays the whole server's 8,192 (what a plan records)."""
    cfg = _dsv3("sglang", None, 8)
    assert (cfg.chunk_tokens, cfg.rank_chunk_tokens, cfg.prompt_chunk, cfg.step_prefill_tokens) == (
        8192, 1024, 1024, 8192)  # fmt: skip
    old = _dsv3("sglang", "0.4.1", 8)  # halved: 4,096 a rank, 8 ranks
    assert (old.chunk_tokens, old.prompt_chunk, old.step_prefill_tokens) == (8192, 4096, 32768)
    plain = _dsv3("sglang", None, 1)  # attention tensor-parallel: one scheduler, the whole chunk
    assert (plain.rank_chunk_tokens, plain.prompt_chunk, plain.step_prefill_tokens) == (0, 8192, 8192)
    # vLLM runs an engine core per DP rank, each with the whole max_num_batched_tokens: not divided, and the
    # replica's step takes 8 of them (each core prefills its own prompts in the same synchronized forward)
    vllm = _dsv3("vllm", None, 8)
    budget = vllm.chunk_tokens
    assert (vllm.rank_chunk_tokens, vllm.prompt_chunk, vllm.step_prefill_tokens) == (budget, budget, 8 * budget)
    assert _dsv3("vllm", None, 1).step_prefill_tokens == budget  # one engine core: its one budget


def test_a_launched_chunk_is_divided_too():
    """A row's or user's ``--chunked-prefill-size`` is the whole server's: SGLang divides it as it does its default."""
    engine = loader.resolve_engine("sglang")
    memory = for_engine_release(MemorySettings.for_engine(engine), "sglang", loader.resolve_model("deepseek-v3"),
                                parse_engine_version("0.5.6"), 8192)  # fmt: skip
    assert rank_chunk_tokens(memory, 16384, 8) == 2048
    assert rank_chunk_tokens(memory, 16384, 1) == 0
    # a scheduler per rank (vLLM, TensorRT-LLM: no dp_chunk_rule) gives every rank the whole budget
    vllm = MemorySettings.for_engine(loader.resolve_engine("vllm"))
    assert rank_chunk_tokens(vllm, 8192, 8, scheduler_per_rank=True) == 8192
    assert rank_chunk_tokens(vllm, 8192, 8) == 0
    assert rank_chunk_tokens(vllm, 8192, 1, scheduler_per_rank=True) == 0


def test_an_8000_token_prompt_waits_for_eight_steps_of_the_running_batch():
    """TTFT counts, in every chunk of the prompt, the running batch's attention and step overhead: ceil(8000 / 1024)
    = 8 chunks on a DP8 rank against 1 with the whole chunk, so 7 more of them, all else equal."""
    cfg = _dsv3("sglang", None, 8)
    whole = dataclasses.replace(cfg, rank_chunk_tokens=0)
    shape = {"input_tokens": 8000.0, "output_tokens": 500.0, "concurrency": 16.0, "cached_input_tokens": 0.0}
    divided, undivided = _request_costs(cfg, **shape), _request_costs(whole, **shape)
    step = decode_step_time(cfg, 16.0, 8000 + 250)
    assert divided.prefill_latency == undivided.prefill_latency  # the prompt's own compute is the same
    assert divided.ttft_alone - undivided.ttft_alone == pytest.approx(7 * (step.attention_s + step.overhead_s))
    assert step.attention_s + step.overhead_s > 0.0


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=300)


def test_a_dp8_plan_records_and_exports_the_whole_servers_chunk(tmp_path: Path) -> None:
    """The plan records the launched budget (8,192), says each rank's share, and the export launches 8,192, which
    SGLang itself divides into the 1,024 the plan chunked prompts by."""
    path = tmp_path / "plan.json"
    done = _run("inference", "--model", "deepseek-v3", "--rps", "1", "--input-tokens", "4000", "--output-tokens", "500",
                "--gpu", "H200", "--engine", "sglang", "--tp", "8", "--ep", "8", "--dp-attention", "8",
                "--json", "--output", str(path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(path.read_text(encoding="utf-8"))
    assert plan["gpu_resources"]["attention_data_parallel"] == 8
    assert plan["gpu_resources"]["max_batched_tokens"] == 8192
    assert "1,024 tokens per attention-DP rank" in " ".join(plan["assumptions"])
    launch = _run("export", "sglang", str(path), "--json")
    assert launch.returncode == 0, launch.stderr
    argv = json.loads(launch.stdout)["argv"]
    assert argv[argv.index("--chunked-prefill-size") + 1] == "8192"
    assert argv[argv.index("--attn-dp-size") + 1] == "8"  # 0.5.23: // attn_dp_size
    assert any("each rank prefills up to 1,024 tokens a step" in note for note in json.loads(launch.stdout)["notes"])


def test_the_simulated_scheduler_steps_a_lone_prompt_by_its_ranks_chunk_and_all_ranks_at_once():
    """Alone, an 8,000-token prompt takes ceil(8000 / 1024) = 8 prefill steps on a DP8 rank (then 1 decode step
    for its second token) against 1 with the whole chunk; 8 such prompts arriving together fill the 8 ranks'
    shares of one step each, 8 x 1,000 tokens a step: the replica still prefills them in 8 steps, not 64."""
    cfg = _dsv3("sglang", None, 8)
    whole = dataclasses.replace(cfg, rank_chunk_tokens=0)
    lone = ((0.0, 8000, 2),)
    assert simulate(cfg, lone, measured=(0.0, 1.0)).steps == 8 + 1
    assert simulate(whole, lone, measured=(0.0, 1.0)).steps == 1 + 1
    eight = tuple((0.0, 8000, 2) for _ in range(8))
    assert simulate(cfg, eight, measured=(0.0, 1.0)).steps == 8 + 1
