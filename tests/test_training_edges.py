"""Edge inputs of the training planner and estimator (the 2026-12-06 store and training sweep): each test is a
bad or impossible input that once got a misleading answer, a traceback or a silently misread value."""

from __future__ import annotations

import json
import re

import pytest

from gpucast import GPUConfig, ModelConfig, TrainingInput, TrainingOptions
from gpucast.cli.main import main
from gpucast.errors import InfeasibleError, InputError
from gpucast.training.estimate import TrainingEstimateRequest, compare_training, estimate_training
from gpucast.training.plan import plan_training


def _estimate(**pins):
    return estimate_training(
        TrainingEstimateRequest(model="llama-3.1-8b", gpu="H100", seq_len=4096, micro_batch=1, **pins)
    )


@pytest.mark.parametrize(
    ("pins", "match"),
    [
        ({"num_gpus": 7, "tp": 2}, r"TP x PP = 2 does not divide --num-gpus 7"),  # was: "global batch ... 7 GPUs"
        ({"num_gpus": 8, "tp": 3}, r"TP x PP = 3 does not divide --num-gpus 8"),
        ({"num_gpus": 6, "tp": 3}, r"--tp 3 does not divide Llama-3.1-8B's 32 attention heads"),  # was: a plan
    ],
)
def test_training_estimate_checks_the_gpu_count_and_heads_as_training_does(pins, match):
    with pytest.raises(InputError, match=match):
        _estimate(**pins)


def test_a_run_that_fits_no_gpu_count_says_so_not_that_the_batch_does_not_split():
    """Sequences of a million tokens fit no H100 count; the counts past DP = 64 also cannot split a 64-sequence
    batch, and the last of those errors (3,792 GPUs) used to be the one reported."""
    run = TrainingInput(dataset_size_tokens=100_000_000, sequence_length=1_000_000, num_epochs=1, global_batch_size=64)
    with pytest.raises(InfeasibleError, match=r"does not fit on .* H100-SXM") as caught:
        plan_training(run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), TrainingOptions())
    assert "does not split" not in str(caught.value)


@pytest.mark.parametrize(
    ("training", "match"),
    [
        ({"method": "lora", "lora_targets": [1, 2]}, r"lora_targets \[1, 2\] must be a list of names"),  # traceback
        ({"method": "lora", "lora_targets": "q,k"}, r"lora_targets 'q,k' must be a list of names"),  # read 'q,,,k'
        ({"flash_attention": "no"}, r"flash_attention 'no' must be true or false"),  # "no" was read as true
        ({"gradient_checkpointing": "yes"}, r"gradient_checkpointing 'yes' must be true or false"),
        ({"optimizer_8bit": 1}, r"optimizer_8bit 1 must be true or false"),
        ({"zero": True}, r"--zero True is not one of 0, 1, 2, 3"),  # was ZeRO-1
    ],
)
def test_config_values_of_the_wrong_type_are_refused(tmp_path, capsys, training, match):
    """`forecast --mode training --config FILE`: a JSON value of the wrong type is one line and exit 2, never a
    traceback nor a string's truth value."""
    config = {
        "mode": "training",
        "model": {"model_name": "llama-3.1-8b"},
        "gpu": {"gpu_type": "H100"},
        "training": {"dataset_size_tokens": 10**8, "sequence_length": 4096, "num_epochs": 1, "global_batch_size": 64}
        | training,
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(config))
    assert main(["forecast", "--mode", "training", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err), err


def test_optimizer_names_are_read_in_any_case_by_both_training_commands():
    """`training` took only "AdamW" and `training-estimate` only "adamw" (its default): each refused the other's."""
    run = TrainingInput(dataset_size_tokens=10**8, sequence_length=4096, num_epochs=1, global_batch_size=64,
                        optimizer_type="adamw")  # fmt: skip
    plan = plan_training(run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), TrainingOptions())
    assert plan.inputs["optimizer_type"] == "AdamW"
    assert _estimate(num_gpus=8, optimizer="AdamW").tokens_per_s == _estimate(num_gpus=8).tokens_per_s


def test_a_dataset_smaller_than_one_global_batch_is_said_not_hidden():
    """100M tokens with a global batch of 10^9 sequences (10^7 now: the most a run takes) printed "1 step of 57,040,420 s" beside "23 minutes"."""
    run = TrainingInput(dataset_size_tokens=10**8, sequence_length=4096, num_epochs=1, global_batch_size=10**7)
    plan = plan_training(run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), TrainingOptions())
    assert any("smaller than one global batch" in w for w in plan.warnings), plan.warnings
    full = TrainingInput(dataset_size_tokens=64 * 4096, sequence_length=4096, num_epochs=1, global_batch_size=64)
    plan = plan_training(full, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), TrainingOptions())
    assert not any("smaller than one global batch" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("options", "sequence_length", "match"),
    [
        # was "global batch of 64 sequences does not split into whole micro-batches over 3792 GPUs with pp=100"
        ({"pp": 100}, 4096, r"--pp 100 is more pipeline stages than Llama-3.1-8B's 32 layers"),
        # was the same "3792 GPUs" line, not the reason found at 8 GPUs
        ({"cp": 2}, 4095, r"sequence length 4095 does not split into 2 x cp = 4 equal chunks"),
    ],
)
def test_a_pinned_parallelism_that_cannot_run_is_named(options, sequence_length, match):
    run = TrainingInput(dataset_size_tokens=10**8, sequence_length=sequence_length, num_epochs=1, global_batch_size=64)
    with pytest.raises((InputError, InfeasibleError), match=match):
        plan_training(
            run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), TrainingOptions(**options)
        )


def test_training_estimate_refuses_more_pipeline_stages_than_layers():
    with pytest.raises(InputError, match=r"pp 64 is more pipeline stages than Llama-3.1-8B's 32 layers"):
        _estimate(num_gpus=64, pp=64, global_batch=64)  # was an estimate of 64 stages for 32 layers


def test_a_micro_batch_larger_than_the_global_batch_is_named():
    """Was "global batch of 64 sequences does not split into whole micro-batches over 3792 GPUs"."""
    run = TrainingInput(dataset_size_tokens=10**8, sequence_length=4096, num_epochs=1, global_batch_size=64,
                        micro_batch_size=1000)  # fmt: skip
    with pytest.raises(InputError, match=r"--micro-batch-size\) 1000 is larger than the global batch of 64"):
        plan_training(run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), TrainingOptions())


def test_compare_training_pins_as_training_does_and_an_empty_answer_is_an_error():
    """`compare --mode training` ignored --dp (8-GPU rows where `training --dp 4` plans 4), let `--num-gpus 7
    --tp 2` through to the search's batch message, and printed "No GPU and cloud combination can run this training
    job." with exit 0 for an impossible deadline or --pp 100."""
    model = ModelConfig(model_name="llama-3.1-8b")
    run = TrainingInput(dataset_size_tokens=10**8, sequence_length=4096, num_epochs=1, global_batch_size=64)
    rows = compare_training(run, model, TrainingOptions(dp=4), clouds=["aws"])
    assert rows and {r.gpus for r in rows} == {4}
    with pytest.raises(InputError, match=r"--num-gpus 7 is not a multiple of TP x PP x CP = 2"):
        compare_training(run, model, TrainingOptions(num_gpus=7, tp=2), clouds=["aws"])
    with pytest.raises(InputError, match=r"--pp 100 is more pipeline stages"):
        compare_training(run, model, TrainingOptions(pp=100), clouds=["aws"])
    with pytest.raises(InfeasibleError, match=r"no GPU type and cloud can run this training job: .*--deadline-hours"):
        compare_training(run, model, TrainingOptions(deadline_hours=0.0001), clouds=["aws"])


def test_method_recompute_and_objective_are_read_in_any_case():
    """`--method LoRA` (the papers' spelling) was refused while `--framework` and `--precision` took any case."""
    run = TrainingInput(dataset_size_tokens=10**8, sequence_length=4096, num_epochs=1, global_batch_size=64)
    options = TrainingOptions(method="QLoRA", recompute="Full", optimize="Cost")
    plan = plan_training(run, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"), options)
    assert (plan.inputs["method"], plan.parallelism.recompute, plan.inputs["optimize"]) == ("qlora", "full", "cost")
    estimate = _estimate(num_gpus=8, method="LoRA", recompute="Selective")
    assert (estimate.method, estimate.recompute) == ("lora", "selective")


def test_training_reads_the_cloud_in_any_case() -> None:
    """`training --cloud GCP` was refused ("is not one of aws, azure, gcp, ...") while `--clouds GCP` was read."""
    from gpucast.catalog import loader

    options = TrainingOptions(cloud=" GCP ")
    options.validate(loader.clouds())
    assert options.cloud == "gcp"


def test_a_sequence_beyond_a_catalog_models_context_is_planned_with_a_warning() -> None:
    """Context extension is a real use, so it is planned, but it said nothing that Llama-3.1-8B was trained on 131,072
    tokens; a model given by its shape (no real window) gets no such warning."""
    training = TrainingInput(dataset_size_tokens=1_000_000_000, sequence_length=262_144, num_epochs=1,
                             global_batch_size=8)  # fmt: skip
    plan = plan_training(training, ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="H100"),
                         TrainingOptions(method="lora"))  # fmt: skip
    assert any("beyond Llama-3.1-8B's 131,072-token context window" in w for w in plan.warnings), plan.warnings
    inside = plan_training(TrainingInput(dataset_size_tokens=1_000_000_000, sequence_length=8192, num_epochs=1,
                                         global_batch_size=8), ModelConfig(model_name="llama-3.1-8b"),
                           GPUConfig(gpu_type="H100"), TrainingOptions(method="lora"))  # fmt: skip
    assert not any("context window" in w for w in inside.warnings)


def test_no_gpu_type_fits_names_the_most_capable_gpus_reason() -> None:
    """With no GPU named, an impossible deadline was explained by the first GPU tried (a V100 taking hours), not by
    the one a user would try next."""
    training = TrainingInput(dataset_size_tokens=100_000_000_000, sequence_length=4096, num_epochs=1,
                             global_batch_size=64)  # fmt: skip
    with pytest.raises(InfeasibleError) as caught:
        plan_training(training, ModelConfig(model_name="llama-3.1-70b"), GPUConfig(),
                      TrainingOptions(deadline_hours=0.001))  # fmt: skip
    message = str(caught.value)
    assert re.match(r"no GPU type of \d+ tried can run it; on the most capable: Llama-3.1-70B on B200", message), (
        message
    )
    assert "V100" not in message


@pytest.mark.parametrize("master", ["fp32", "bf16"])
def test_training_plans_with_the_master_weights_it_is_given(master: str) -> None:
    """``training`` always planned FP32 master weights (torchtune's recipes default to pure BF16), while
    ``training-estimate --master-weights bf16`` had the choice: a pure-BF16 plan could not be made or re-estimated.
    ``--master-weights`` now reaches the planner (CLI, config, REST), the plan states it, and ``training-estimate``
    with the plan's layout gives the plan's memory."""
    training = TrainingInput(1_000_000_000, 4096, 1, 64)
    plan = plan_training(training, ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100"),
                         TrainingOptions(master_weights=master.upper()))  # fmt: skip
    assert plan.inputs["master_weights"] == master
    memory = next(line for line in plan.assumptions if line.startswith("Memory:"))
    assert ("incl. master weights 12" in memory) == (master == "fp32")
    assert ("no FP32 master copy" in memory) == (master == "bf16")
    p = plan.parallelism
    again = estimate_training(
        TrainingEstimateRequest(
            gpu="H100", num_gpus=plan.gpu_resources.required_gpus, seq_len=4096, micro_batch=p.micro_batch_size,
            model="llama-3.1-8b", global_batch=64, tp=p.tensor_parallel, pp=p.pipeline_parallel, zero=p.zero_stage,
            recompute=p.recompute, master_weights=master,
        )
    )  # fmt: skip
    assert again.memory_per_gpu_gb == pytest.approx(plan.gpu_resources.gpu_memory_per_gpu_gb)


def test_master_weights_outside_fp32_bf16_is_one_error(capsys) -> None:
    status = main(["training", "--model", "llama-3.1-8b", "--gpu-type", "H100", "--dataset-size", "1e9",
                   "--epochs", "1", "--sequence-length", "4096", "--global-batch-size", "64", "--master-weights", "fp16"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert status == 2 and err == "gpucast: error: --master-weights 'fp16' is not one of fp32, bf16"


def test_the_rest_training_body_takes_master_weights(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    run = {"dataset_size_tokens": 1e9, "sequence_length": 4096, "num_epochs": 1, "global_batch_size": 64}
    body = {"model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_type": "H100"}}
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        pure = client.post("/api/v1/training", json={**body, "training": {**run, "master_weights": "bf16"}})
        wrong = client.post("/api/v1/training", json={**body, "training": {**run, "master_weights": "fp16"}})
    assert pure.status_code == 200 and pure.json()["inputs"]["master_weights"] == "bf16"
    assert wrong.status_code == 422 and wrong.json()["field"] == "training.master_weights"


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--rps", "5"], "--rps is a serving-plan flag"),
     (["--engine", "sglang", "--ttft-slo-ms", "5"], "--ttft-slo-ms, --engine are serving-plan flags"),
     (["--shared-prefix-tokens", "100"], "--shared-prefix-tokens is a serving-plan flag")],
)  # fmt: skip
def test_serving_flags_on_training_are_refused(capsys, flags: list[str], named: str) -> None:
    """`gpucast training` parses the seed's shared flags; --rps, --engine or --ttft-slo-ms were dropped without a word
    and --shared-prefix-tokens answered with an agent-workload error. They are one error now, and out of --help."""
    argv = ["training", "--model", "llama-3.1-8b", "--gpu-type", "H100", "--dataset-size", "1e9", "--epochs", "1",
            "--sequence-length", "4096", "--global-batch-size", "64", *flags]  # fmt: skip
    assert main(argv) == 2
    assert named in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["training", "--help"])
    assert "--rps" not in capsys.readouterr().out


@pytest.mark.parametrize("how", [["--mode", "training"], ["--config", "TRAINING"]])
@pytest.mark.parametrize("flags", [["--rps", "5"], ["--shared-prefix-tokens", "100"]])
def test_serving_flags_on_forecast_mode_training_are_refused(tmp_path, capsys, how, flags) -> None:
    """`forecast --mode training ... --rps 5` (or a training config's mode) planned the run and dropped --rps, while
    `forecast --mode inference --num-gpus 8` refuses the training flag: both directions are one error now."""
    from gpucast.inputs.json_config import template

    config = tmp_path / "training.json"
    config.write_text(json.dumps(template("training")))
    argv = ["forecast", *[str(config) if h == "TRAINING" else h for h in how], "--model", "llama-3.1-8b",
            "--dataset-size", "1e7", "--epochs", "1", "--sequence-length", "512", "--global-batch-size", "8", *flags]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{flags[0]} is a serving-plan flag" in err and "`gpucast forecast --mode training`" in err, err


def test_serving_only_spellings_are_the_parsers() -> None:
    """The refusal names each flag as typed: the hand-written spellings of ``SERVING_ONLY`` must be the training
    parser's own (its first option string), so a renamed flag cannot be refused under its old name."""
    import argparse

    from gpucast.cli.main import build_parser
    from gpucast.cli.training_args import SERVING_ONLY

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    training = commands.choices["training"]
    parsed = {a.dest: a.option_strings[0] for a in training._actions if a.dest in SERVING_ONLY}
    assert parsed == SERVING_ONLY


@pytest.mark.parametrize(
    ("command", "flags", "named"),
    [(["inference"], ["--dataset-size", "1e9"], "--dataset-size is a training flag: `gpucast inference`"),
     (["forecast"], ["--method", "lora", "--epochs", "3"], "--epochs, --method are training flags"),
     (["compare", "--top", "1"], ["--framework", "hf"], "or `compare --mode training`"),
     (["export", "vllm"], ["--epochs", "2"], "`gpucast export vllm` plans serving")],
)  # fmt: skip
def test_training_flags_on_a_serving_plan_are_refused(capsys, command: list[str], flags: list[str], named: str) -> None:
    """The other way round: ``inference --dataset-size``, ``compare --method lora`` and ``forecast --epochs``
    planned serving and dropped the flag with exit 0 (QA 2026-12-07); ``--mode training`` still reads them, and
    the spellings are the parsers' own."""
    import argparse

    from gpucast.cli.main import build_parser
    from gpucast.cli.training_args import TRAINING_ONLY

    argv = [*command, "--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens", "200"]
    assert main([*argv, *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0], err
    run = ["--model", "llama-3.1-8b", "--gpu-type", "H100", "--dataset-size", "1e8", "--epochs", "1", "--method", "lora",
           "--sequence-length", "2048", "--global-batch-size", "64", "--json"]  # fmt: skip
    assert main(["forecast", "--mode", "training", *run]) == 0
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    spelled = {(a.dest, f) for a in commands.choices["forecast"]._actions for f in a.option_strings}
    assert set(TRAINING_ONLY.items()) <= spelled  # --fsdp also sets zero: --zero is named


@pytest.mark.parametrize(
    ("flags", "named"), [(["--rps", "5"], "--rps is"), (["--precisions", "FP8"], "--precisions is")]
)
def test_serving_flags_on_compare_mode_training_are_refused(capsys, flags: list[str], named: str) -> None:
    """``compare --mode training --rps 5 --precisions FP8`` ranked training setups and dropped both (QA 2026-12-07)."""
    argv = ["compare", "--mode", "training", "--model", "llama-3.1-8b", "--dataset-size", "1e8", "--epochs", "1",
            "--sequence-length", "2048", "--global-batch-size", "64", "--gpus", "H100", "--clouds", "aws"]  # fmt: skip
    assert main([*argv, *flags]) == 2
    err = capsys.readouterr().err
    assert f"{named} a serving-plan flag" in err and "`gpucast compare --mode training` plans a training run" in err
    assert main([*argv, "--json"]) == 0


def _pinned_plan(**batch):
    run = TrainingInput(dataset_size_tokens=100_000_000, sequence_length=2048, num_epochs=1, global_batch_size=128,
                        **batch)  # fmt: skip
    options = TrainingOptions(num_gpus=64, tp=8, pp=1, zero=3, recompute="full")
    return plan_training(run, ModelConfig(model_size_billions=8), GPUConfig(gpu_type="H200"), options)


def test_micro_batch_one_is_pinned_and_an_unkept_accumulation_is_said():
    """--micro-batch-size 1 was read as "not given" (the default was 1), so 64 GPUs planned micro batch 16; and
    --gradient-accumulation-steps was ignored without a word. Now 1 is pinned, nothing given is searched, and an
    accumulation the plan cannot keep is named in a warning."""
    assert _pinned_plan(micro_batch_size=1).parallelism.micro_batch_size == 1
    assert _pinned_plan().parallelism.micro_batch_size > 1  # searched: the fastest that fits
    plan = _pinned_plan(micro_batch_size=1, gradient_accumulation_steps=4)
    assert plan.parallelism.gradient_accumulation_steps == 16
    assert any("gradient_accumulation_steps (--gradient-accumulation-steps) 4 is not what the plan runs" in w
               for w in plan.warnings)  # fmt: skip
    kept = _pinned_plan(micro_batch_size=1, gradient_accumulation_steps=16)
    assert not any("gradient_accumulation_steps" in w for w in kept.warnings)


def test_the_gpu_count_search_reaches_power_of_two_node_counts():
    """Past 4 nodes the searched counts grew x1.5 (48, 72, 104 ... H100s), none of which splits a power-of-two
    global batch: 405B on H100s "cannot be trained" (it needs 128, which --num-gpus 128 plans) and a 1 h deadline
    stopped at "the fastest plan tried (32 GPUs)"."""
    from gpucast.catalog.loader import resolve_gpu
    from gpucast.training.plan import gpu_counts

    counts = gpu_counts(resolve_gpu("H100"))
    assert {64, 128, 256, 512, 1024, 2048, 4096} <= set(counts) and counts == sorted(set(counts))
    run = TrainingInput(dataset_size_tokens=100_000_000, sequence_length=4096, num_epochs=1, global_batch_size=256)
    plan = plan_training(run, ModelConfig(model_name="llama-3.1-405b"), GPUConfig(gpu_type="H100"), TrainingOptions())
    assert plan.gpu_resources.required_gpus == 128
    lora = TrainingInput(dataset_size_tokens=200_000_000, sequence_length=4096, num_epochs=1, global_batch_size=256)
    options = TrainingOptions(method="lora", deadline_hours=1)
    fast = plan_training(lora, ModelConfig(model_name="llama-3.1-70b"), GPUConfig(gpu_type="H100"), options)
    assert fast.gpu_resources.required_gpus == 64 and fast.training_metrics.estimated_duration_hours <= 1
