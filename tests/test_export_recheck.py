"""``gpucast export estimate PLAN.json``: the ``gpucast estimate`` command of a serving plan's own deployment at its
planned peak rate, run here through the real CLI, prints the plan's TTFT and ITL (issue 17: the planner is the
inverse of the estimator) — for plain, length-profile, MoE, older-engine, speculative and agent plans."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.errors import InputError
from gpucast.export.recheck import estimate_argv, estimate_command

PLANS = {
    "plain": ["--model", "llama-3.1-8b", "--gpu", "H100", "--rps", "20", "--input-tokens", "1000",
              "--output-tokens", "300"],
    "profile": ["--model", "llama-3.1-70b", "--gpu", "H200", "--rps", "8", "--length-profile", "sharegpt",
                "--engine", "sglang"],
    "moe-old-engine": ["--model", "deepseek-r1", "--gpu", "H200", "--rps", "2", "--input-tokens", "2000",
                       "--output-tokens", "500", "--engine-version", "0.7.3", "--ttft-slo-ms", "20000",
                       "--itl-slo-ms", "200"],
    "speculative": ["--model", "llama-3.1-70b", "--gpu", "H100", "--rps", "5", "--input-tokens", "1000",
                    "--output-tokens", "250", "--speculative-tokens", "4", "--acceptance-rate", "0.7"],
    "agent": ["--model", "llama-3.1-70b", "--gpu", "H100", "--output-tokens", "250", "--tasks-per-second", "0.5",
              "--calls-per-task", "8", "--shared-prefix-tokens", "3000", "--context-growth-tokens", "1000"],
}  # fmt: skip


def _run(argv: list[str]) -> str:
    return subprocess.run([*gpucast_exe(), *argv], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_printed_command_prints_the_plans_latencies(tmp_path, name: str) -> None:
    path = tmp_path / "plan.json"
    _run(["inference", *PLANS[name], "--output", str(path), "--json"])
    plan = json.loads(path.read_text())
    printed = _run(["export", "estimate", str(path)]).strip().splitlines()
    assert printed[0].startswith("# the plan's fleet at its planned peak")
    command = printed[-1]
    assert command == estimate_command(plan) and command.startswith("gpucast estimate ")
    again = json.loads(_run([*estimate_argv(plan)[0][1:], "--json"]))
    thr = plan["throughput"]
    assert again["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert again["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)


TRAINING_PLANS = {
    "fsdp-70b": ["--model", "llama-3.1-70b", "--gpu-type", "H100", "--num-gpus", "32", "--fsdp"],
    "lora-targets": ["--model", "llama-3.1-8b", "--gpu-type", "H100", "--method", "lora", "--lora-targets",
                     "q,v,gate", "--lora-rank", "32"],
    "qlora": ["--model", "llama-3.1-70b", "--gpu-type", "A100-80GB", "--method", "qlora"],
    "fp8-current": ["--model", "llama-3.1-8b", "--gpu-type", "H100", "--precision", "FP8", "--fp8-recipe",
                    "current", "--num-gpus", "8"],
    "torchtune-bf16": ["--model", "llama-3.1-8b", "--gpu-type", "H200", "--framework", "torchtune",
                       "--master-weights", "bf16", "--optimizer-8bit"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(TRAINING_PLANS))
def test_a_training_plans_command_prints_its_speed_and_memory(tmp_path, name: str) -> None:
    """A training plan's check is ``gpucast training-estimate`` with the setup it chose (parallelism, batch,
    recomputation, LoRA targets, optimizer states, master weights, stack, FP8 recipe): it gives the plan's tokens/s
    and memory per GPU."""
    path = tmp_path / "plan.json"
    _run(["training", *TRAINING_PLANS[name], "--dataset-size", "1e9", "--epochs", "1", "--sequence-length", "4096",
          "--global-batch-size", "64", "--output", str(path), "--json"])  # fmt: skip
    plan = json.loads(path.read_text())
    argv, notes = estimate_argv(plan)
    assert argv[:2] == ["gpucast", "training-estimate"] and "tokens/s per GPU" in notes[0]
    assert _run(["export", "estimate", str(path)]).strip().splitlines()[-1] == estimate_command(plan)
    again = json.loads(_run([*argv[1:], "--json"]))
    assert again["tokens_per_s_per_gpu"] == pytest.approx(
        plan["training_metrics"]["tokens_per_second_per_gpu"], rel=0.01
    )
    assert again["memory_per_gpu_gb"] == pytest.approx(plan["gpu_resources"]["gpu_memory_per_gpu_gb"], rel=0.01)


def test_a_plan_without_a_catalog_model_is_refused() -> None:
    from golden.golden_files import TRAINING, load

    with pytest.raises(InputError, match="written by an older gpucast"):
        estimate_argv(load(TRAINING[0]))  # a plan file from before the training plan echoed its setup
    plan = json.loads(_run(["inference", "--model-size", "13", "--gpu", "H100", "--rps", "5", "--input-tokens",
                            "500", "--output-tokens", "200", "--json"]))  # fmt: skip
    with pytest.raises(InputError, match="names no catalog model"):
        estimate_argv(plan)


def test_a_plan_file_without_its_planned_peak_is_one_error(tmp_path) -> None:
    """Plan files written before the plan JSON carried ``throughput.planned_rps_per_replica`` (the golden files of
    tests/golden) were a KeyError traceback; they are one line asking to re-run the planning command."""
    from golden.golden_files import plan_path

    done = subprocess.run([*gpucast_exe(), "export", "estimate", str(plan_path("h100-llama-3.1-70b"))],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("gpucast: error: the plan file has no throughput.planned_rps_per_replica "
                                   "(written by an older gpucast): re-run the planning command to re-check it")  # fmt: skip


def test_explain_ends_with_the_command_that_re_checks_the_plan() -> None:
    out = _run(["inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--rps", "20", "--input-tokens", "1000",
                "--output-tokens", "300", "--explain"])  # fmt: skip
    lines = out.strip().splitlines()
    assert lines[-2].startswith("Re-check (the plan's fleet at its planned peak")
    assert lines[-1].startswith("gpucast estimate --model Llama-3.1-8B --gpu H100-SXM")


@pytest.mark.parametrize("percentile", ["50", "99"])
def test_the_percentile_line_states_what_estimate_prints(tmp_path, percentile: str) -> None:
    """The note's p-latencies are what ``estimate --json`` prints. A plan states a percentile never below its mean
    (an SLO at p50 never looser than on the means), so a p50 plan's "ttft_p50_ms 68" was the mean, while the estimate
    printed the raw p50, 66 (QA 2026-12-07): the note now says "at most" where the plan's figure is the mean."""
    path = tmp_path / "plan.json"
    _run(["inference", "--model", "mistral-7b", "--gpu-type", "H100", "--engine", "sglang", "--rps", "2",
          "--input-tokens", "2000", "--output-tokens", "50", "--precision", "BF16", "--slo-percentile", percentile,
          "--output", str(path), "--json"])  # fmt: skip
    plan = json.loads(path.read_text())
    argv, notes = estimate_argv(plan)
    again = json.loads(_run([*argv[1:], "--json"]))
    thr = plan["throughput"]
    for name, bound, mean in (("ttft", "ttft_at_slo_percentile_ms", "ttft_ms"),
                              ("tpot", "tpot_at_slo_percentile_ms", "itl_ms")):  # fmt: skip
        printed = again[f"{name}_p{percentile}_ms"]
        assert max(printed, again[mean]) == pytest.approx(thr[bound], rel=0.02)  # what the SLO bounds
        if printed < thr[bound] * (1 - 1e-6):  # the raw percentile lies below the mean: the note must not claim it
            assert f"{name}_p{percentile}_ms at most" in notes[0]
        else:
            assert f"{name}_p{percentile}_ms at most" not in notes[0]
    assert ("at most" in notes[0]) == (percentile == "50")


def test_a_plan_for_a_tiny_rate_keeps_it_and_re_checks_at_it(tmp_path) -> None:
    """JSON floats were rounded to 6 decimals: a plan for 1e-9 req/s said ``requests_per_second: 0.0`` and its
    re-check was ``--request-rate 0``, which estimate refuses (QA 2026-12-07). Below 0.001 they keep 6 significant
    digits; at and above it nothing changed."""
    from gpucast.jsonable import json_ready

    assert json_ready(7.5019123e-10) == 7.50191e-10 and json_ready(2944.8735621) == 2944.873562
    assert json_ready(0.0012345678) == 0.001235 and json_ready(-3.14159265e-7) == -3.14159e-7
    path = tmp_path / "plan.json"
    _run(["inference", "--model", "llama-3.1-8b", "--gpu-type", "H100", "--rps", "1e-9", "--input-tokens", "500",
          "--output-tokens", "200", "--output", str(path), "--json"])  # fmt: skip
    plan = json.loads(path.read_text())
    assert plan["inputs"]["requests_per_second"] == 1e-9 and plan["throughput"]["planned_rps_per_replica"] > 0
    again = json.loads(_run([*estimate_argv(plan)[0][1:], "--json"]))
    assert again["ttft_ms"] == pytest.approx(plan["throughput"]["estimated_ttft_ms"], rel=0.02)


def test_an_old_plan_files_sequence_cap_is_pinned_and_named() -> None:
    """Plan files written before vLLM's large-GPU default was applied carry ``max_num_seqs: 256`` though none was
    given: the command pins it (the plan as it was made) and says that vLLM's default on an H100 is 1024; a plan of
    today (null) pins nothing, and an A100's 256 is its default (nothing to say)."""
    from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig
    from gpucast.planning.inference import plan_inference

    workload = LLMWorkloadInput(requests_per_second=20, avg_input_tokens=500, avg_output_tokens=200)
    for gpu, note in (("H100", True), ("A100-80GB", False)):
        plan = plan_inference(workload, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type=gpu)).to_dict()
        assert plan["inputs"]["max_num_seqs"] is None
        argv, notes = estimate_argv(plan)
        assert "--max-num-seqs" not in argv and not any("max-num-seqs" in n for n in notes)
        plan["inputs"]["max_num_seqs"] = 256  # as an older gpucast wrote it
        argv, notes = estimate_argv(plan)
        assert argv[argv.index("--max-num-seqs") + 1] == "256"
        named = [n for n in notes if n.startswith("--max-num-seqs 256 pins")]
        assert bool(named) == note
        if note:
            assert "vLLM's default on H100-SXM is 1024" in named[0]


def test_an_old_plan_files_cap_is_named_by_the_launch_command_report_and_help() -> None:
    """The golden H200 DeepSeek-V3 plan (an older gpucast's file: ``max_num_seqs: 256``, concurrency limited by it)
    exports ``--max-num-seqs 256`` as planned, and the launch command and the report say that vLLM's default on an
    H200 is 1024; the CLI's help no longer gives 256 as vLLM's default on every GPU."""
    import argparse
    from pathlib import Path

    from gpucast.cli.args import add_common_plan_flags
    from gpucast.export.engine_args import launch_for
    from gpucast.reports.content import build_report

    plan = json.loads((Path(__file__).parent / "golden" / "plans" / "h200-deepseek-v3-fp8.json").read_text())
    launch = launch_for(plan)
    assert "--max-num-seqs" in launch.args
    assert any("vLLM's default on H200-SXM is 1024" in note for note in launch.notes)
    risks = build_report(plan).risks
    assert any(r.startswith("The plan file's cap of 256 sequences") and "1024" in r for r in risks)
    fresh = dict(plan, inputs=dict(plan["inputs"], max_num_seqs=None))
    assert not any("default on" in note for note in launch_for(fresh).notes)
    parser = argparse.ArgumentParser()
    add_common_plan_flags(parser)
    assert "vLLM 256, 1024 on GPUs of 70 GiB+ but A100s" in " ".join(parser.format_help().split())
