"""The exports, compare and config sweep of 2026-12-07 (docs/reliability.md): damaged plan files, ``--output``
paths, a compare no row of which meets the SLOs, hand-edited local price files and config.json files. Each case
was a traceback, a silent wrong answer or a replaced file before its fix; each is now one error line (exit 2) or
the right answer. Run through the real CLI entry point (``gpucast.cli.main.main``)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gpucast.catalog import loader
from gpucast.catalog.price_overrides import ENV_FILE
from gpucast.cli.main import main

GOLDEN = Path(__file__).resolve().parent / "golden" / "plans"
SERVING = ["--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens", "200"]


def _one_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; it must exit 2 with exactly one ``gpucast: error:`` line (no traceback)."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucast: error: "), err
    return err[0]


def _plan(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def _damaged(tmp_path: Path, name: str, section: str, key: str | None, value: Any) -> str:
    plan = copy.deepcopy(_plan(name))
    if key is None:
        plan[section] = value
    elif value is KeyError:
        del plan[section][key]
    else:
        plan[section][key] = value
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return str(path)


# (plan, section, key, value, the words the error names): each was a KeyError, TypeError, AttributeError,
# ZeroDivisionError or ValueError traceback from an exporter or the report
DAMAGE = [
    ("h100-llama-3.1-70b", "gpu_resources", "tensor_parallel", KeyError, "gpu_resources.tensor_parallel is missing"),
    ("h100-llama-3.1-70b", "scaling", "recommended_min_replicas", KeyError, "recommended_min_replicas is missing"),
    ("h100-llama-3.1-70b", "throughput", "concurrency_per_replica", None, "concurrency_per_replica is null"),
    ("h100-llama-3.1-70b", "inputs", "context_window", KeyError, "inputs.context_window is missing"),
    ("h100-llama-3.1-70b", "inputs", "gpu_memory_utilization", None, "gpu_memory_utilization is null"),
    ("h100-llama-3.1-70b", "inputs", "gpu_memory_utilization", 1e308, "must lie in (0, 1]"),
    ("h100-llama-3.1-70b", "gpu_resources", "pipeline_parallel", 0, "it must be at least 1"),
    ("h200-deepseek-v3-fp8", "gpu_resources", "tensor_parallel", 0, "it must be at least 1"),
    ("h100-llama-3.1-70b", "cost", None, 5, "cost is 5, not an object"),
    ("h100-llama-3.1-70b", "model", "total_params_b", None, "model.total_params_b is null"),
    ("h200-deepseek-v3-fp8-mtp", "speculative", "tokens_per_step", None, "speculative.tokens_per_step is null"),
    ("lora-llama-3.1-8b", "gpu_resources", "nodes", KeyError, "gpu_resources.nodes is missing"),
    ("lora-llama-3.1-8b", "training_metrics", "estimated_duration_hours", None, "estimated_duration_hours is null"),
]


@pytest.mark.parametrize(("name", "section", "key", "value", "words"), DAMAGE)
def test_a_damaged_plan_file_is_one_line_for_every_export_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, section: str, key: str | None, value: Any,
    words: str,
) -> None:  # fmt: skip
    path = _damaged(tmp_path, name, section, key, value)
    training = name.startswith(("lora", "full"))
    targets = ["k8s", "estimate"] if training else ["vllm", "sglang", "trtllm", "k8s", "helm", "estimate"]
    for argv in [["export", t, path] for t in targets] + [["report", path, "--no-alternatives"]]:
        assert words in _one_error(argv, capsys), argv


def test_older_plans_without_the_later_fields_still_export(capsys: pytest.CaptureFixture[str]) -> None:
    """The golden plans predate expert_parallel, planned_rps_per_replica, context_parallel...: not "damaged"."""
    for path in sorted(GOLDEN.glob("*.json")):
        training = path.name.startswith(("lora", "full"))
        assert main(["export", "k8s", str(path)]) == 0, path
        if not training:
            assert main(["export", "vllm", str(path)]) == 0, path
    capsys.readouterr()


def test_a_plan_saved_with_a_byte_order_mark_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(b"\xef\xbb\xbf" + (GOLDEN / "h100-llama-3.1-70b.json").read_bytes())
    assert main(["export", "vllm", str(path)]) == 0  # was "is not JSON: Unexpected UTF-8 BOM"
    assert "--tensor-parallel-size 4" in capsys.readouterr().out


def test_a_plan_file_nested_past_the_decoder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")  # was a RecursionError traceback
    assert "nested too deeply" in _one_error(["export", "vllm", str(path)], capsys)
    assert "nested too deeply" in _one_error(["report", str(path)], capsys)


@pytest.mark.parametrize("target", ["vllm", "k8s", "estimate"])
def test_output_with_a_nul_byte_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    plan = str(GOLDEN / "h100-llama-3.1-405b-tp8pp2.json")  # a plan with its planned peak, for `export estimate`
    assert "cannot hold a NUL byte" in _one_error(["export", target, plan, "--output", f"{tmp_path}/a\x00b"], capsys)
    words = _one_error(["report", plan, "--no-alternatives", "--output", f"{tmp_path}/a\x00b"], capsys)
    assert "cannot hold a NUL byte" in words


def test_output_through_a_symbolic_link_keeps_the_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The atomic write of a planning command's --output renamed its temporary file over the link: the link was
    gone (a regular file in its place) and the file it named unchanged."""
    target, link = tmp_path / "shared.json", tmp_path / "plan.json"
    target.write_text("{}\n", encoding="utf-8")
    link.symlink_to(target)
    assert main(["inference", *SERVING, "--gpu", "H100", "--output", str(link)]) == 0
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))["kind"] == "inference"
    assert main(["export", "vllm", str(link), "--output", str(link)]) == 0  # export writes the same way now
    assert link.is_symlink() and "vllm serve" in target.read_text(encoding="utf-8")
    capsys.readouterr()


def test_output_to_a_fifo_writes_into_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path that is not a regular file (a FIFO here; ``/dev/stdout``, ``/dev/full``) was replaced by a regular
    file (the rename of the atomic write): root's ``--output /dev/full`` replaced the device."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    assert main(["inference", *SERVING, "--gpu", "H100", "--output", str(fifo)]) == 0
    reader.join(10)
    if reader.is_alive():  # the write went elsewhere: unblock the reader before failing
        with open(fifo, "w", encoding="utf-8"):
            pass
    assert fifo.is_fifo() and '"kind": "inference"' in "".join(got)
    capsys.readouterr()


def test_compare_where_no_row_meets_the_slos_is_infeasible(capsys: pytest.CaptureFixture[str]) -> None:
    """It printed a table of "no" rows and exited 0, and --allow-infeasible changed nothing; `inference` answers
    the same question with exit 2."""
    words = _one_error(["compare", *SERVING, "--ttft-slo-ms", "1", "--json"], capsys)
    assert "no GPU and cloud combination meets the SLOs (TTFT <= 1 ms" in words and "--allow-infeasible" in words
    assert main(["compare", *SERVING, "--ttft-slo-ms", "1", "--allow-infeasible", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and not any(row["meets_latency_sla"] for row in rows)
    assert main(["inference", *SERVING, "--ttft-slo-ms", "1"]) == 2
    capsys.readouterr()


def test_compare_lists_each_gpu_and_precision_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *SERVING, "--gpus", "H100,h100-sxm", "--precisions", "FP8,fp8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    keys = [(r["gpu_type"], r["cloud"], r["region"], r["pricing"], r["precision"]) for r in rows]
    assert keys and len(keys) == len(set(keys))  # each row was listed twice (four times with both doubled)


@pytest.mark.parametrize("mode", [[], ["--mode", "training", "--dataset-size", "1e9", "--sequence-length", "4096"]])
@pytest.mark.parametrize(("flag", "value"), [("--gpus", ""), ("--gpus", " , "), ("--precisions", ",")])
def test_compare_refuses_an_empty_list_as_it_refuses_empty_clouds(
    mode: list[str], flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--gpus ''`` (an unset shell variable) ranked every GPU with exit 0 while ``--clouds ''`` was refused
    (QA 2026-12-07); ``--gpus all`` still means every GPU."""
    assert "names nothing" in _one_error(["compare", *SERVING, *mode, flag, value], capsys)


@pytest.mark.parametrize(("target", "flags", "named"), [
    ("vllm", ["--model", "llama-3.1-8b", "--rps", "100"], "--rps, --model"),
    ("vllm", ["--engine", "sglang"], "--engine"),  # the plan's engine decides; only k8s/helm take --engine
    ("k8s", ["--gpu-type", "A100"], "--gpu-type"),
    ("estimate", ["--ttft-slo-ms", "500"], "--ttft-slo-ms"),
])  # fmt: skip
def test_planning_flags_beside_a_plan_file_are_refused(
    target: str, flags: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export vllm plan.json --model X --rps 100`` exported the file's deployment and ignored the flags with exit
    0 (QA 2026-12-07); the target's own flags still go with a plan file."""
    plan = str(GOLDEN / "h100-llama-3.1-70b.json")
    assert f"{named} would be ignored" in _one_error(["export", target, plan, *flags], capsys)
    for own in (["vllm", plan, "--json"], ["k8s", plan, "--engine", "sglang", "--criticality", "tier1"],
                ["helm", plan, "--criticality", "tier3"]):  # fmt: skip
        assert main(["export", *own]) == 0, own
        capsys.readouterr()


@pytest.mark.parametrize(("argv", "said"), [
    (["k8s", "PLAN", "--json"], "writes YAML only"),
    (["helm", *SERVING, "--json"], "writes YAML only"),
    (["vllm", *SERVING, "--explain"], "--explain explains a plan"),
    (["k8s", "PLAN", "--explain"], "--explain explains a plan"),
])  # fmt: skip
def test_export_refuses_json_and_explain_it_would_ignore(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export k8s|helm --json`` wrote YAML and ``export ... --explain`` with planning flags printed no explanation,
    both with exit 0, while ``--help`` offered them as "print the plan as JSON" and "show every intermediate
    quantity" (docs sweep 2026-12-07). ``--json`` of the engine and estimate targets prints the export as JSON, as
    their ``--help`` now says."""
    plan = str(GOLDEN / "h100-llama-3.1-70b.json")
    argv = [plan if a == "PLAN" else a for a in argv]
    assert said in _one_error(["export", *argv], capsys)
    for source in (["vllm", plan], ["estimate", *SERVING]):
        assert main(["export", *source, "--json"]) == 0
        assert "argv" in json.loads(capsys.readouterr().out)
    for target, offered in (("vllm", True), ("estimate", True), ("k8s", False), ("helm", False)):
        with pytest.raises(SystemExit):
            main(["export", target, "--help"])
        shown = capsys.readouterr().out
        assert ("--json" in shown) is offered and "--explain" not in shown and "print the plan as JSON" not in shown


@pytest.mark.parametrize("extra", [{"clouds": []}, {"gpu_types": [""]}, {"precisions": [" "]}])
def test_rest_compare_refuses_an_empty_list_as_the_cli_does(tmp_path: Path, extra: dict[str, Any]) -> None:
    """``"clouds": []`` ranked every provider with a 200 where ``--clouds ''`` is an error (QA 2026-12-07)."""
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    body = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
            "model": {"model_name": "llama-3.1-8b"}, "top": 1}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        answer = client.post("/api/v1/compare", json=body | extra)
    assert answer.status_code == 422 and answer.json()["field"].startswith(next(iter(extra))), answer.text


@pytest.mark.parametrize("mode", [[], ["--mode", "training", "--dataset-size", "1e9", "--sequence-length", "4096"]])
def test_compare_refuses_gpus_and_gpu_type_together(mode: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``--gpu-type H100 --gpus A100`` ranked the A100 alone and dropped --gpu-type with exit 0 (QA 2026-12-07)."""
    flags = ["compare", *SERVING, *mode, "--gpu-type", "H100", "--gpus", "A100"]
    assert "give --gpus or --gpu-type, not both" in _one_error(flags, capsys)


ROW = ('[[instances]]\ncloud = "aws"\ninstance_type = "p5.48xlarge"\ngpu = "h100-sxm"\ngpus = {gpus}\n'
       'region = "us-east-1"\non_demand_usd_h = {price}\nsource = "https://example.org"\nas_of = {as_of}\n')  # fmt: skip


@pytest.mark.parametrize(("text", "words"), [
    (ROW.format(gpus=8, price="nan", as_of='"2026-12-01"'), "every price must be a positive number"),
    (ROW.format(gpus=8, price="inf", as_of='"2026-12-01"'), "every price must be a positive number"),
    (ROW.format(gpus=0, price=50.0, as_of='"2026-12-01"'), "gpus 0 is not a whole number of GPUs"),
    (ROW.format(gpus='"8"', price=50.0, as_of='"2026-12-01"'), "gpus '8' is not a whole number of GPUs"),
    (ROW.format(gpus=8, price=50.0, as_of="2026-12-01"), "is not a date (YYYY-MM-DD or YYYY-MM)"),
    (ROW.format(gpus=8, price=50.0, as_of='"yesterday"'), "is not a date (YYYY-MM-DD or YYYY-MM)"),
    ("instances = 5\n", "instances must be [[instances]] tables"),
    ("instances = [1, 2]\n", "instances must be [[instances]] tables"),
])  # fmt: skip
def test_a_hand_edited_local_price_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    """A NaN price was planned as the cheapest p5.48xlarge at "n/a"; 0 or "8" GPUs and a TOML date or a number for
    as_of were tracebacks (ZeroDivisionError, TypeError, AttributeError) from `inference` or `prices list`."""
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(ENV_FILE, str(path))
    loader.reload_prices()
    try:
        assert words in _one_error(["inference", *SERVING, "--gpu", "H100", "--cloud", "aws"], capsys)
        assert words in _one_error(["prices", "list", "--clouds", "aws"], capsys)
    finally:
        monkeypatch.undo()
        loader.reload_prices()


@pytest.mark.parametrize("path", ["/tmp/prices\x00.toml", "p" * 300])
def test_prices_file_paths_are_one_line(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        for action in ("list", "show"):
            assert "cannot be read" in _one_error(["prices", action, "--file", path], capsys)
    finally:
        os.environ.pop(ENV_FILE, None)  # `--file` sets it for the process; conftest's value comes back below
        os.environ[ENV_FILE] = str(Path(__file__).resolve().parent / "data" / "prices" / "no-local-prices.toml")
        loader.reload_prices()


@pytest.mark.parametrize(("key", "value"), [
    ("n_routed_experts", "abc"), ("num_experts_per_tok", float("nan")), ("moe_intermediate_size", 1e308),
    ("n_shared_experts", True), ("kv_lora_rank", -1), ("max_position_embeddings", [4096]),
    ("num_hidden_layers", 10**30),  # the planner ran on without an answer
])  # fmt: skip
def test_a_config_json_with_a_bad_count_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any
) -> None:
    """Each was a ValueError or OverflowError traceback from the planner (int("abc"), int(nan), int(inf))."""
    config = json.loads((Path(__file__).parent / "data" / "hf_configs" / "deepseek-v3.1.json").read_text())
    config[key] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    words = _one_error(["inference", "--model-config", str(path), "--rps", "1", "--input-tokens", "500",
                        "--output-tokens", "200", "--gpu", "H200"], capsys)  # fmt: skip
    assert f"{key} must be" in words


COMPARE_8B = ["compare", "--model", "llama-3.1-8b", "--rps", "10", "--input-tokens", "500", "--output-tokens", "200"]


def _compare_rows(capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, Any]]:
    assert main([*COMPARE_8B, *flags, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_named_gpu_is_ranked_where_it_is_priced_and_warned_where_it_has_no_tensor_cores(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--gpus L4 --precisions FP4,FP8` listed 16 rows: the 4 priced ones and 12 "n/a" rows for the clouds that do
    not sell an L4, and FP4 on an L4 without `inference`'s warning that it is weight-only."""
    rows = _compare_rows(capsys, "--gpus", "L4", "--precisions", "FP4,FP8")
    assert rows and all(r["monthly_cost"] is not None for r in rows)
    selling = {c for c in loader.clouds() if loader.offers_for((c,), "l4")}
    assert {r["cloud"] for r in rows} == selling and len(selling) < len(loader.clouds())
    fp4 = [r for r in rows if r["precision"] == "FP4"]
    assert fp4 and all("no native FP4 tensor cores" in r["note"] for r in fp4)
    assert all(r["note"] == "" for r in rows if r["precision"] == "FP8")
    assert main([*COMPARE_8B, "--gpus", "L4", "--precisions", "FP4"]) == 0
    assert "warning: L4 has no native FP4 tensor cores" in capsys.readouterr().out


def test_a_gpu_no_cloud_prices_is_listed_once_saying_so(capsys: pytest.CaptureFixture[str]) -> None:
    """An MI325X (no cloud in the catalog prices it) was one "n/a" row per cloud, each the same plan, the first
    reading "aws" as if it were sold there: one row now, its note naming the clouds searched."""
    rows = _compare_rows(capsys, "--gpus", "mi325x")
    assert len(rows) == 1 and rows[0]["monthly_cost"] is None
    assert "Instinct MI325X has no price on " in rows[0]["note"] and "listed once, unpriced" in rows[0]["note"]


def test_output_write_that_fails_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A write that fails part-way (a full disk; here the process's file-size limit, a real EFBIG from the
    kernel) left ``.plan.json.tmp`` beside the output: the temporary file is removed and the error is one line."""
    import resource
    import signal
    import subprocess
    import sys

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal past the limit
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    out = tmp_path / "plan.json"
    done = subprocess.run(
        [sys.executable, "-m", "gpucast", "inference", *SERVING, "--gpu", "H100", "--output", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot be written: File too large" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
