"""Inputs and percentiles sweep (2026-12-07, sixteenth session): each test failed before its fix
(docs/reliability.md, "Inputs and percentiles sweep")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpucast.catalog import loader
from gpucast.errors import ConfigError, InputError
from gpucast.inputs.length_profile import resolve_length_profile

_MIXTRAL = {
    "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": 4096, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336, "num_local_experts": 8,
    "num_experts_per_tok": 2, "vocab_size": 32000, "max_position_embeddings": 32768,
}  # fmt: skip


def _config(tmp_path: Path, encoding: str = "utf-8", **changes: object) -> Path:
    cfg = {key: value for key, value in {**_MIXTRAL, **changes}.items() if value is not None}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg), encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_experts_per_tok": 16}, "num_experts_per_tok must be between 1 and the 8 routed experts, got 16"),
        ({"num_local_experts": 1}, "between 1 and the 1 routed experts, got 2"),  # a TypeError traceback before
        ({"num_experts_per_tok": None}, "got None"),  # planned with no routed expert per token before
        ({"num_experts_per_tok": 0}, "got 0"),
        ({"num_key_value_heads": 64}, "num_key_value_heads 64 must divide num_attention_heads 32"),
        ({"num_key_value_heads": 5}, "num_key_value_heads 5 must divide"),
    ],
)
def test_inconsistent_hf_config_groups_are_one_config_error(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        loader.read_hf_config(_config(tmp_path, **changes))


def test_hf_config_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    spec = loader.read_hf_config(_config(tmp_path, encoding="utf-8-sig"))
    assert (spec.num_experts, spec.experts_per_token) == (8, 2)


def _profile_error(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        resolve_length_profile(str(path))
    return str(caught.value)


def test_length_profile_rows_and_headers_that_were_misread(tmp_path: Path) -> None:
    # a column named twice: DictReader kept the last one (5000) and the first was ignored
    assert "names the column input_tokens twice" in _profile_error(
        tmp_path / "dup.csv", "input_tokens,output_tokens,input_tokens\n100,20,5000\n"
    )
    # a short row said "output_tokens None is not a number"
    assert "row 2: output_tokens is missing" in _profile_error(
        tmp_path / "short.csv", "input_tokens,output_tokens\n100\n"
    )
    # JSON true was read as one token
    assert "input_tokens True is not a number" in _profile_error(
        tmp_path / "bool.json", '[{"input_tokens": true, "output_tokens": 20}]'
    )


def test_length_profile_names_read_as_typed_and_suggest_the_nearest() -> None:
    assert resolve_length_profile("lmsys_chat") == resolve_length_profile("lmsys-chat")
    assert resolve_length_profile("LMSYS chat") == resolve_length_profile("lmsys-chat")
    with pytest.raises(InputError, match="did you mean sharegpt"):
        resolve_length_profile("sharegtp")


@pytest.mark.parametrize(
    ("answer", "statistic"),
    [("p50 under 150 ms", "50"), ("median 150ms", "50"), ("150 ms on average", "mean"),
     ("90th percentile under 150 ms", "90"), ("p95 within 1s", "95"), ("150 ms", None)],
)  # fmt: skip
def test_the_latency_answer_keeps_the_percentile_it_names(answer: str, statistic: str | None) -> None:
    """ "p50 under 150 ms" was read as 150 ms and planned at p99 (the percentile was cut out of the answer)."""
    from gpucast.chat.compute import inference_sections
    from gpucast.chat.questions import BY_KEY, interpret

    values = interpret(BY_KEY["latency"], answer, {})
    assert values["ttft_ms"] == (1000.0 if "1s" in answer else 150.0)
    assert values.get("slo_percentile") == statistic
    answers = {"intent": "inference", "model": "llama-3.1-8b", "rps": 5.0, "input_tokens": 500, "output_tokens": 200,
               **{k: v for k, v in values.items() if not k.startswith("_")}}  # fmt: skip
    assert inference_sections(answers)["serving"]["slo_percentile"] == (statistic or "99")


def test_a_percentile_gpucast_does_not_model_is_read_as_the_next_one_up_and_asked_back() -> None:
    from gpucast.chat.parse import extract
    from gpucast.chat.questions import BY_KEY, interpret
    from gpucast.chat.values import UNSURE

    values = interpret(BY_KEY["latency"], "p75 under 150ms", {})
    assert values["slo_percentile"] == "90" and "I read p75 as p90" in values[UNSURE][0]
    found = extract("serve llama 3.1 8b on aws, 20 rps on average, p99.9 under 2s")
    assert found["ttft_ms"] == 2000.0 and found["slo_percentile"] == "99" and found[UNSURE]
    assert "slo_percentile" not in extract("serve llama 3.1 8b on p5 instances, 20 rps on average")


@pytest.mark.parametrize(
    ("given", "canonical"), [(99, "99"), (99.0, "99"), ("99.0", "99"), ("median", "50"), ("p95", "95")]
)
def test_slo_percentile_spellings_read_alike(given: object, canonical: str) -> None:
    """99.0 and "median" were refused while 99 and "avg" were read; the REST API refused the number 99 that
    --config reads ("Input should be a valid string")."""
    from fastapi.testclient import TestClient

    from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, plan_inference
    from gpucast.core.percentiles import check_percentile
    from gpucast.web import WebSettings, create_app

    assert check_percentile(given) == canonical  # type: ignore[arg-type]
    plan = plan_inference(LLMWorkloadInput(5, 500, 100), ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="h100"),
                          ServingOptions(slo_percentile=given))  # type: ignore[arg-type]  # fmt: skip
    assert plan.to_dict()["inputs"]["slo_percentile"] == canonical
    client = TestClient(create_app("sqlite://", settings=WebSettings()))
    body = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 100},
            "model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_type": "h100"},
            "serving": {"slo_percentile": given}}  # fmt: skip
    answer = client.post("/api/v1/inference", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["gpu_resources"] == plan.to_dict()["gpu_resources"]


def test_rest_reads_profile_names_as_the_cli_does() -> None:
    from fastapi.testclient import TestClient

    from gpucast.web import WebSettings, create_app

    client = TestClient(create_app("sqlite://", settings=WebSettings()))
    body = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 100,
                         "length_profile": "lmsys_chat"}, "model": {"model_name": "llama-3.1-8b"}}  # fmt: skip
    assert client.post("/api/v1/inference", json=body).status_code == 200
    body["workload"]["length_profile"] = "sharegtp"  # type: ignore[index]
    assert "did you mean sharegpt?" in client.post("/api/v1/inference", json=body).json()["error"]


def test_a_rate_at_the_capacity_is_not_said_to_exceed_a_larger_rounded_capacity() -> None:
    """A plan's per-replica capacity (6.9757 req/s, bound by max-num-seqs) re-asked in `estimate` read "--request-rate
    6.9757 exceeds the capacity of 6.98 req/s"."""
    from gpucast.planning.estimate import EstimateRequest, estimate

    ask = EstimateRequest(gpu="h100", num_gpus=1, input_tokens=300, output_tokens=1500, model="llama-3.1-8b",
                          load="max-throughput")  # fmt: skip
    capacity = estimate(ask).requests_per_s
    at = estimate(EstimateRequest(**{**ask.__dict__, "load": "request-rate", "load_value": capacity}))
    assert any(f"is at or above the capacity of {capacity:.6g} req/s" in w for w in at.warnings), at.warnings


@pytest.mark.parametrize(
    ("engine", "version", "said"),
    [("vllm", "99.0", "newer than the vLLM releases gpucast knows (up to"),
     ("sglang", "0.7.3", "newer than the SGLang releases gpucast knows"),
     ("lmdeploy", "0.6.1", "gpucast models no differences between LMDeploy releases")],
)  # fmt: skip
def test_an_engine_release_gpucast_cannot_tell_apart_is_said_in_plan_and_estimate(
    engine: str, version: str, said: str
) -> None:
    """`--engine-version 99.0` was planned as the current release without a word (the plan echoed 99.0 back)."""
    from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, plan_inference
    from gpucast.planning.estimate import EstimateRequest, estimate

    plan = plan_inference(LLMWorkloadInput(5, 500, 100), ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="h100"),
                          ServingOptions(engine=engine, engine_version=version))  # fmt: skip
    assert any(said in w for w in plan.warnings), plan.warnings
    assert f"Engine: {loader.resolve_engine(engine).name} {version} " in "\n".join(plan.assumptions)
    point = estimate(EstimateRequest(gpu="h100", num_gpus=1, input_tokens=500, output_tokens=100, model="llama-3.1-8b",
                                     engine=engine, engine_version=version))  # fmt: skip
    assert any(said in w for w in point.warnings), point.warnings


def test_a_known_engine_release_plans_without_a_note_and_a_number_is_not_a_release() -> None:
    from gpucast import LLMWorkloadInput, ModelConfig, ServingOptions, plan_inference

    assert loader.engine_release_note("vllm", "0.7.3") is None and loader.engine_release_note("vllm", None) is None
    with pytest.raises(InputError, match="must be a release as a string"):
        plan_inference(LLMWorkloadInput(5, 500, 100), ModelConfig(model_name="llama-3.1-8b"), None,
                       ServingOptions(engine_version=0.7))  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize("keyword", ["clouds", "precisions", "gpu_types"])
def test_compare_gpu_options_refuses_an_empty_list(keyword: str) -> None:
    """`compare_gpu_options(clouds=[])` ranked every provider (empty read as "not given"), while `--clouds ''`,
    `--gpus ''` and `ServingOptions(clouds=[])` are refused."""
    from gpucast import LLMForecastEngine, LLMWorkloadInput, ModelConfig

    with pytest.raises(InputError, match=r"names nothing"):
        LLMForecastEngine().compare_gpu_options(
            LLMWorkloadInput(5, 500, 100), ModelConfig(model_name="llama-3.1-8b"), **{keyword: []}
        )


def test_the_conversation_compares_every_cloud_for_any_cloud() -> None:
    from gpucast.chat.compute import compare

    answers = {"intent": "compare", "model": "llama-3.1-8b", "rps": 5.0, "input_tokens": 500, "output_tokens": 100,
               "cloud": "aws", "clouds": []}  # fmt: skip
    assert len({row.cloud for row in compare(answers, top=200).plan}) > 1


@pytest.mark.parametrize(
    ("device", "gpu"),
    [("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA A100-SXM4-80GB", "a100-80gb-sxm"),
     ("AMD Instinct MI300X", "mi300x"), ("NVIDIA H100 PCIe", "h100-pcie"), ("nvidia-h100", "h100-sxm")],
)  # fmt: skip
def test_the_device_name_nvidia_smi_prints_is_a_gpu_name(device: str, gpu: str) -> None:
    """ "NVIDIA L4" was read but "NVIDIA H100 80GB HBM3" (nvidia-smi's name for the card) was not in the catalog."""
    assert loader.resolve_gpu(device).id == gpu


def test_a_vendor_alone_is_still_no_gpu() -> None:
    from gpucast.errors import UnknownGPUError

    with pytest.raises(UnknownGPUError):
        loader.resolve_gpu("nvidia")


def test_compare_rows_say_an_engine_release_gpucast_cannot_tell_apart() -> None:
    from gpucast import LLMForecastEngine, LLMWorkloadInput, ModelConfig, ServingOptions

    rows = LLMForecastEngine().compare_gpu_options(
        LLMWorkloadInput(5, 500, 100), ModelConfig(model_name="llama-3.1-8b"), ServingOptions(engine_version="99.0"),
        gpu_types=["h100"],
    )  # fmt: skip
    assert rows and all("newer than the vLLM releases gpucast knows" in r.note for r in rows if r.variant == "base")


def test_an_empty_gpu_types_list_is_refused_in_python_config_and_rest() -> None:
    """`GPUConfig(gpu_types=[])` (and `"gpu_types": []` in --config or a REST body) chose among every GPU."""
    from fastapi.testclient import TestClient

    from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, plan_inference
    from gpucast.web import WebSettings, create_app

    with pytest.raises(InputError, match=r"gpu.gpu_types \[\] names no GPU"):
        plan_inference(LLMWorkloadInput(5, 500, 100), ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_types=[]))
    body = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 100},
            "model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_types": []}}  # fmt: skip
    answer = TestClient(create_app("sqlite://", settings=WebSettings())).post("/api/v1/inference", json=body)
    assert answer.status_code == 422 and answer.json()["field"] == "gpu.gpu_types"
