"""Edge inputs of the serving side found by a trust sweep (docs/reliability.md, "Serving edge cases"): each is one
clear line and exit 2 from the CLI, an input error from the Python API, and the same numbers where it is valid."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from gpucast.catalog import loader
from gpucast.cli.main import main
from gpucast.core.layout import Layout
from gpucast.errors import GpucastError
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference

WORKLOAD = ["--rps", "10", "--input-tokens", "500", "--output-tokens", "200"]


def run(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 2
    return int(status or 0), out.getvalue(), err.getvalue()


def one_line_error(argv: list[str]) -> str:
    status, _, err = run(argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, (status, err)
    assert len(lines) == 1 and lines[0].startswith("gpucast: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_a_plain_layout_must_split_the_attention_heads() -> None:
    """Qwen2.5-7B has 28 query heads: vLLM, SGLang and TensorRT-LLM refuse TP=8 (28 % 8 != 0)."""
    qwen = loader.resolve_model("qwen2.5-7b")
    assert Layout(8).problem(qwen) == "28 attention heads do not split over 8 GPUs"
    assert Layout(4).problem(qwen) is None
    assert Layout(4, pp=2).problem(qwen) is None


@pytest.mark.parametrize(
    ("model", "tp", "heads"),
    [("qwen2.5-7b", "8", "28 attention heads do not split over 8 GPUs"),
     ("llama-3.1-70b", "128", "64 attention heads do not split over 128 GPUs")],
)  # fmt: skip
def test_a_pinned_tp_that_does_not_split_the_heads_is_refused_as_estimate_refuses_it(model, tp, heads) -> None:
    """``inference --tp`` planned such a layout (8 GPUs per replica for Qwen2.5-7B) while ``estimate`` refused it."""
    line = one_line_error(["inference", "--model", model, "--gpu", "H100", *WORKLOAD, "--tp", tp])
    assert heads in line
    line = one_line_error(["inference", "--model", model, *WORKLOAD, "--tp", tp])  # every GPU: the one cause named
    assert heads in line and "allowed GPUs" in line
    with pytest.raises(GpucastError, match="attention heads"):
        plan_inference(
            LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
            ModelConfig(model_name=model),
            GPUConfig(gpu_type="H100"),
            ServingOptions(tp=int(tp)),
        )
    status, _, _ = run(["inference", "--model", "qwen2.5-7b", "--gpu", "H100", *WORKLOAD, "--tp", "4"])
    assert status == 0


def test_a_pipeline_deeper_than_the_model_is_refused() -> None:
    """``--pp 64`` for Llama-3.1-8B (32 layers) was planned and estimated: 64 stages cannot each hold a layer."""
    llama = loader.resolve_model("llama-3.1-8b")
    assert Layout(1, pp=64).problem(llama) == "32 layers do not split over 64 pipeline stages"
    assert Layout(1, pp=32).problem(llama) is None
    line = one_line_error(["inference", "--model", "llama-3.1-8b", "--gpu", "H100", *WORKLOAD, "--pp", "64"])
    assert "32 layers do not split over 64 pipeline stages" in line
    line = one_line_error(["estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "64", "--pp", "64",
                           "--input-tokens", "500", "--output-tokens", "200", "--concurrency", "1"])  # fmt: skip
    assert line == "gpucast: error: --tp 1 --pp 64: 32 layers do not split over 64 pipeline stages"


def test_a_request_longer_than_the_models_context_is_an_input_error() -> None:
    """Llama-3.1-8B's window is 131,072 tokens: a 2M-token prompt was planned (and answered "infeasible: TTFT 221 s on
    64 GPUs"), and ``estimate`` blamed the KV cache ("use more GPUs per replica"), though no engine admits it."""
    window = "exceed Llama-3.1-8B's 131,072-token context window"
    for tokens in ("2000000", "130873"):  # 130,873 + 200 = 131,073: one past the window
        line = one_line_error(["inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--rps", "10",
                               "--input-tokens", tokens, "--output-tokens", "200"])  # fmt: skip
        assert window in line
    line = one_line_error(["estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "8",
                           "--input-tokens", "2000000", "--output-tokens", "200", "--concurrency", "1"])  # fmt: skip
    assert window in line
    line = one_line_error(["compare", "--model", "llama-3.1-8b", "--rps", "10", "--input-tokens", "2000000",
                           "--output-tokens", "200"])  # fmt: skip
    assert window in line
    with pytest.raises(GpucastError, match="context window"):
        plan_inference(
            LLMWorkloadInput(requests_per_second=1, avg_input_tokens=131_000, avg_output_tokens=73),
            ModelConfig(model_name="llama-3.1-8b"),
            GPUConfig(gpu_type="H100"),
        )
    # a request that fills the window exactly is served
    point = estimate(EstimateRequest(gpu="H100", num_gpus=8, tp=8, input_tokens=130_872, output_tokens=200,
                                     load="concurrency", load_value=1, model="llama-3.1-8b"))  # fmt: skip
    assert point.ttft_ms > 0


def test_estimate_checks_a_length_profiles_longest_request_against_the_window() -> None:
    """``inference`` refused the ``agent`` profile for Gemma-3-27B (requests of up to 135,988 tokens, window 131,072)
    while ``estimate`` ran it."""
    with pytest.raises(GpucastError, match="beyond Gemma-3-27B's 131,072-token window"):
        estimate(EstimateRequest(gpu="H100", num_gpus=8, input_tokens=1, output_tokens=1, load="concurrency",
                                 load_value=1, model="gemma-3-27b", length_profile="agent"))  # fmt: skip


@pytest.mark.parametrize(
    ("section", "key", "flag"),
    [("gpu", "target_gpu_utilization", "target_gpu_utilization (--target-gpu-utilization)"),
     ("serving", "gpu_memory_utilization", "--gpu-memory-utilization")],
)  # fmt: skip
def test_a_fraction_given_as_text_in_a_config_file_is_one_line(tmp_path, section, key, flag) -> None:
    """``"target_gpu_utilization": "0.7"`` in --config was a TypeError traceback (the range was compared first)."""
    config = {"workload": {"requests_per_second": 10, "avg_input_tokens": 500, "avg_output_tokens": 200},
              "model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_type": "H100"}, "serving": {}}  # fmt: skip
    config[section][key] = "0.7"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    line = one_line_error(["inference", "--config", str(path)])
    assert line == f"gpucast: error: {flag} '0.7' must be a number between 0 and 1"
    with pytest.raises(GpucastError, match="must be a number between 0 and 1"):
        GPUConfig(gpu_type="H100", target_gpu_utilization="0.7").validate()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [({"model": None}, "give one of --model NAME and --model-config PATH"),
     ({"model_config": "config.json"}, "give one of --model NAME and --model-config PATH"),
     ({"gpu": None}, "--gpu None must be a non-empty string"),
     ({"gpu": ["H100"]}, "--gpu ['H100'] must be a non-empty string"),
     ({"engine": None}, "--engine None must be a non-empty string")],
)  # fmt: skip
def test_estimate_request_names_a_missing_or_non_text_name(change, message) -> None:
    """The Python API's EstimateRequest without a model was an AssertionError, and a list or None for the GPU or
    engine an AttributeError; the CLI and REST API refuse these before they reach it."""
    given = {"gpu": "H100", "num_gpus": 1, "input_tokens": 500, "output_tokens": 200, "load": "concurrency",
             "load_value": 10, "model": "llama-3.1-8b"}  # fmt: skip
    with pytest.raises(GpucastError, match=re.escape(message)):
        estimate(EstimateRequest(**(given | change)))


def test_an_unknown_draft_model_is_blamed_on_draft_model() -> None:
    """``--draft-model nosuch`` was reported as "--model 'nosuch' is not in the catalog", naming the wrong flag."""
    line = one_line_error(["inference", "--model", "llama-3.1-8b", "--gpu", "H100", *WORKLOAD,
                           "--speculative-tokens", "4", "--acceptance-rate", "0.7", "--draft-model", "lama-3.2-1b"])  # fmt: skip
    assert line.startswith(
        "gpucast: error: --draft-model 'lama-3.2-1b' is not in the catalog; did you mean Llama-3.2-1B"
    )


def test_compare_with_nothing_that_can_serve_is_answered_as_no_feasible_plan(tmp_path) -> None:
    """``compare`` printed "No GPU and cloud combination can serve this workload." with exit 0 (``--json``: ``[]``,
    REST: 200 ``[]``), where the documented contract is exit 2 / 422 with the reason for a question without an answer."""
    from fastapi.testclient import TestClient

    from gpucast.planning.compare import compare_gpus
    from gpucast.web import create_app

    why = "Llama-3.1-405B at FP16 cannot be served: T4: Llama-3.1-405B at FP16 needs"
    for extra in ([], ["--json"], ["--top", "3"]):
        line = one_line_error(["compare", "--model", "llama-3.1-405b", *WORKLOAD, "--gpus", "T4", *extra])
        assert line.startswith("gpucast: error: no GPU and cloud combination can serve this workload: ") and why in line
    body = {"workload": {"requests_per_second": 10, "avg_input_tokens": 500, "avg_output_tokens": 200},
            "model": {"model_name": "llama-3.1-405b"}, "gpu_types": ["T4"]}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        response = client.post("/api/v1/compare", json=body)
    assert response.status_code == 422, response.text
    assert why in response.json()["error"]
    workload = LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200)
    assert compare_gpus(workload, ModelConfig(model_name="llama-3.1-405b"), gpu_types=["T4"]) == []  # the Python API
    status, out, _ = run(["compare", "--model", "llama-3.1-8b", *WORKLOAD, "--gpus", "H100", "--json"])
    assert status == 0 and json.loads(out)


@pytest.mark.parametrize("engine", ["trtllm", "nim", "lmdeploy"])
def test_an_nvidia_only_engine_is_never_planned_on_an_amd_gpu(engine) -> None:
    """``compare --engine trtllm`` ranked an Instinct MI300X first (TensorRT-LLM is CUDA only), and
    ``inference``/``estimate --engine trtllm --gpu MI300X`` planned it."""
    from gpucast.planning.compare import compare_gpus

    workload = ["--rps", "10", "--input-tokens", "500", "--output-tokens", "200"]
    for argv in (["inference", "--model", "llama-3.1-70b", *workload, "--gpu", "MI300X"],
                 ["compare", "--model", "llama-3.1-70b", *workload, "--gpus", "MI300X"],
                 ["estimate", "--model", "llama-3.1-8b", "--gpu", "MI300X", "--num-gpus", "1", "--input-tokens", "500",
                  "--output-tokens", "200", "--concurrency", "1"]):  # fmt: skip
        line = one_line_error([*argv, "--engine", engine])
        assert "runs on NVIDIA GPUs only, not on Instinct MI300X (AMD)" in line
    rows = compare_gpus(
        LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
        ModelConfig(model_name="llama-3.1-70b"),
        ServingOptions(engine=engine),
        clouds=["oci"],
        gpu_types=["MI300X", "H100"],
    )
    assert rows and {r.gpu_type for r in rows} == {"H100-SXM"}
    searched = compare_gpus(
        LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
        ModelConfig(model_name="llama-3.1-70b"),
        ServingOptions(engine=engine),
        clouds=["oci"],
    )
    assert searched and all(loader.resolve_gpu(r.gpu_type).vendor == "nvidia" for r in searched)
    amd = compare_gpus(
        LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
        ModelConfig(model_name="llama-3.1-70b"),
        ServingOptions(engine="sglang"),
        clouds=["oci"],
        gpu_types=["MI300X"],
    )
    assert amd  # SGLang (and vLLM) run on ROCm


def test_cloud_and_engine_names_are_read_in_any_case() -> None:
    """`inference --engine VLLM --cloud AWS` was refused ("is not one of vllm, ...") while `estimate --engine VLLM`
    and `--clouds AWS` were read: the same plan as the catalog's lower-case ids, and the options say which."""
    status, out, err = run(["inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--json", *WORKLOAD])
    shouted = run(["inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--engine", "VLLM", "--cloud", "AWS",
                   "--json", *WORKLOAD])  # fmt: skip
    assert status == 0 and shouted[0] == 0, (err, shouted[2])
    plain, loud = json.loads(out), json.loads(shouted[1])
    assert loud["cost"] == plain["cost"] and loud["recommendation"] == plain["recommendation"]
    options = ServingOptions(engine=" SGLang ", cloud="GCP")
    options.validate(loader.clouds(), tuple(loader.load_engines()))
    assert (options.engine, options.cloud) == ("sglang", "gcp")
    assert "'nosuch' is not one of" in one_line_error(["inference", "--model", "llama-3.1-8b", "--gpu", "H100",
                                                       "--engine", "NoSuch", *WORKLOAD])  # fmt: skip
