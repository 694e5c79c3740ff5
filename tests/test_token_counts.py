"""Token counts are whole numbers of at least 1 everywhere (issue 18, item 2): CLI flags, JSON configs, the Python
API's dataclasses, the REST schemas and the chat's answers. A float that is a whole number (500.0 from JSON) is that
integer; 100.5, 1e-300, 0, negatives and NaN are one-line errors naming the flag. ``estimate`` with more pipeline
(or TP x PP) GPUs than ``--num-gpus`` is a one-line input error, not a ZeroDivisionError."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_exe
from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, TrainingInput
from gpucast.chat.errors import AnswerError
from gpucast.chat.parse import extract
from gpucast.chat.questions import BY_KEY, interpret
from gpucast.chat.values import LEFT_OUT
from gpucast.cli.main import main
from gpucast.errors import InputError
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference
from gpucast.training.estimate import TrainingEstimateRequest, estimate_training
from gpucast.web import create_app

ESTIMATE = ["estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--output-tokens", "100", "--concurrency", "8"]
INFERENCE = ["inference", "--model", "llama-3.1-8b", "--gpu-type", "H100", "--rps", "2", "--output-tokens", "200"]
BAD_COUNTS = ("100.5", "1e-300", "0", "-5", "nan", "inf")


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The CLI's main() with ``argv``: (exit code, stdout, stderr); argparse's own errors exit through SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("gpucast: error: "), err
    for needle in needles:
        assert needle in err, (needle, err)


# ------------------------------------------------------------------------------------------- estimate: TP x PP


def test_the_reported_command_is_a_one_line_error_not_a_traceback():
    result = subprocess.run(
        [*gpucast_exe(), "estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "2", "--pp", "4",
         "--input-tokens", "100", "--output-tokens", "100", "--concurrency", "8"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    one_line_error(result.stderr, "--pp 4", "--num-gpus 2")


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--num-gpus", "2", "--pp", "4"], ("--pp 4", "--num-gpus 2")),
        (["--num-gpus", "1", "--pp", "2"], ("--pp 2", "--num-gpus 1")),
        (["--num-gpus", "4", "--tp", "2", "--pp", "4"], ("TP x PP = 8", "--num-gpus 4")),
        (["--num-gpus", "2", "--tp", "4"], ("TP x PP = 4", "--num-gpus 2")),
        (["--num-gpus", "6", "--pp", "4"], ("--num-gpus 6", "--pp 4")),
    ],
)
def test_more_parallel_gpus_than_num_gpus_is_an_input_error(flags, needles, capsys):
    code, _, err = cli([*ESTIMATE, "--input-tokens", "100", *flags], capsys)
    assert code == 2
    one_line_error(err, *needles)


def test_the_python_api_and_the_rest_api_refuse_pp_beyond_num_gpus(tmp_path):
    request = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 2, "pp": 4, "input_tokens": 100,
               "output_tokens": 100, "load": "concurrency", "load_value": 8}  # fmt: skip
    with pytest.raises(InputError, match=r"--pp 4 .*--num-gpus 2"):
        estimate(EstimateRequest(**request))
    with TestClient(create_app(f"sqlite:///{tmp_path / 'api.db'}")) as client:
        response = client.post("/api/v1/estimate", json=request)
    assert response.status_code == 422, response.text
    assert "--pp 4" in response.text


def test_without_tp_a_model_that_fits_nowhere_says_why_not_a_tp_it_never_tried(capsys):
    # 3 GPUs, no --tp: TP 1 is the only power of two dividing 3; the old fallback reported "--tp 3 does not divide"
    code, _, err = cli(["estimate", "--model", "llama-3.1-405b", "--gpu", "L4", "--num-gpus", "3", "--input-tokens",
                        "100", "--output-tokens", "100", "--concurrency", "8"], capsys)  # fmt: skip
    assert code == 2
    one_line_error(err)
    assert "--tp 3" not in err and "TP=1" in err


def test_max_model_len_shorter_than_a_request_is_an_input_error(capsys):
    code, _, err = cli([*ESTIMATE, "--num-gpus", "1", "--input-tokens", "100", "--max-model-len", "150"], capsys)
    assert code == 2
    one_line_error(err, "--max-model-len 150", "200")


# ------------------------------------------------------------------------------------------- token counts: CLI


@pytest.mark.parametrize("value", BAD_COUNTS)
def test_estimate_token_flags_take_whole_numbers(value, capsys):
    code, _, err = cli([*ESTIMATE, "--num-gpus", "1", "--input-tokens", value], capsys)
    assert code == 2
    one_line_error(err, "--input-tokens")
    assert "whole number" in err or "greater than 0" in err


def test_estimate_tokens_are_integers_and_a_whole_float_is_that_integer(capsys):
    code, out, err = cli([*ESTIMATE, "--num-gpus", "1", "--input-tokens", "500.0", "--json"], capsys)
    assert code == 0, err
    as_float = json.loads(out)
    code, out, _ = cli([*ESTIMATE, "--num-gpus", "1", "--input-tokens", "500", "--json"], capsys)
    assert json.loads(out) == as_float
    assert as_float["inputs"]["input_tokens"] == 500 and isinstance(as_float["inputs"]["input_tokens"], int)


@pytest.mark.parametrize("value", ("100.5", "1e-300", "nan"))
@pytest.mark.parametrize("flag", ("--input-tokens", "--output-tokens"))
def test_inference_token_flags_say_whole_number(flag, value, capsys):
    argv = [*INFERENCE, "--input-tokens", "500"]
    code, _, err = cli([*argv, flag, value], capsys)
    assert code == 2
    one_line_error(err, flag, "whole number")


def test_inference_accepts_a_whole_float_flag_and_config_value(tmp_path, capsys):
    code, out, err = cli([*INFERENCE, "--input-tokens", "500.0", "--json"], capsys)
    assert code == 0, err
    plan = json.loads(out)
    assert plan["inputs"]["avg_input_tokens"] == 500
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"workload": {"requests_per_second": 2, "avg_input_tokens": 500.0,
                                               "avg_output_tokens": 200.0}}))  # fmt: skip
    code, out, err = cli(["inference", "--config", str(config), "--model", "llama-3.1-8b", "--gpu-type", "H100",
                          "--json"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["gpu_resources"] == plan["gpu_resources"]


def test_a_fractional_token_count_in_a_config_names_its_key(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"workload": {"requests_per_second": 2, "avg_input_tokens": 1e-300,
                                               "avg_output_tokens": 200}}))  # fmt: skip
    code, _, err = cli(["inference", "--config", str(config), "--model", "llama-3.1-8b"], capsys)
    assert code == 2
    one_line_error(err, "avg_input_tokens", "whole number")


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["training", "--model", "llama-3.1-8b", "--dataset-size", "1000000", "--epochs", "1",
          "--global-batch-size", "8", "--sequence-length", "2048.5"], "--sequence-length"),
        (["training", "--model", "llama-3.1-8b", "--dataset-size", "1e-300", "--epochs", "1",
          "--global-batch-size", "8", "--sequence-length", "2048"], "--dataset-size"),
        (["training-estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1", "--micro-batch", "1",
          "--seq-len", "0.5"], "--seq-len"),
        (["inference", "--model", "llama-3.1-8b", "--rps", "1", "--input-tokens", "500", "--output-tokens", "200",
          "--context-window", "4096.5"], "--context-window"),
    ],
)  # fmt: skip
def test_other_token_flags_say_whole_number(argv, flag, capsys):
    code, _, err = cli(argv, capsys)
    assert code == 2
    one_line_error(err, flag, "whole number")


def test_training_estimate_refuses_pp_beyond_num_gpus(capsys):
    code, _, err = cli(["training-estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "2", "--pp",
                        "4", "--seq-len", "2048", "--micro-batch", "1"], capsys)  # fmt: skip
    assert code == 2
    one_line_error(err, "TP x PP = 4", "--num-gpus 2")


@pytest.mark.parametrize("value", ("-5", "0", "100.5"))
def test_predict_token_flags_are_checked_not_dropped(value, capsys, tmp_path):
    # 0 used to fall back to the history's tokens and -5 was planned as 1 token
    history = tmp_path / "history.csv"
    history.write_text("timestamp,rps\n" + "".join(f"2025-01-{d:02d}T00:00:00,{10 + d}\n" for d in range(1, 29)))
    code, _, err = cli(["predict", "--history", str(history), "--model", "llama-3.1-8b", "--input-tokens", value,
                        "--output-tokens", "200"], capsys)  # fmt: skip
    assert code == 2
    one_line_error(err, "--input-tokens")


# ------------------------------------------------------------------------------------------- Python API


@pytest.mark.parametrize("value", (100.5, 1e-300, 0, -1, float("nan"), True, "500"))
def test_estimate_request_refuses_non_integer_tokens(value):
    base = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 1, "input_tokens": 100, "output_tokens": 100,
            "load": "concurrency", "load_value": 8}  # fmt: skip
    with pytest.raises(InputError, match="--input-tokens"):
        estimate(EstimateRequest(**(base | {"input_tokens": value})))
    with pytest.raises(InputError, match="--output-tokens"):
        estimate(EstimateRequest(**(base | {"output_tokens": value})))


def test_whole_floats_are_integers_in_the_dataclasses():
    request = EstimateRequest(gpu="H100", num_gpus=1, input_tokens=500.0, output_tokens=200.0, model="llama-3.1-8b")
    assert (request.input_tokens, request.output_tokens) == (500, 200) and isinstance(request.input_tokens, int)
    assert estimate(request).to_dict() == estimate(EstimateRequest(gpu="H100", num_gpus=1, input_tokens=500,
                                                                   output_tokens=200, model="llama-3.1-8b")).to_dict()  # fmt: skip
    workload = LLMWorkloadInput(2, 500.0, 200.0)  # type: ignore[arg-type]
    assert isinstance(workload.avg_input_tokens, int) and isinstance(workload.avg_output_tokens, int)
    model = ModelConfig(model_name="llama-3.1-8b", context_window=4096.0)  # type: ignore[arg-type]
    assert isinstance(model.context_window, int)
    plan_inference(workload, model, GPUConfig("H100"))
    training = TrainingInput(dataset_size_tokens=1e9, sequence_length=2048.0, num_epochs=1, global_batch_size=8)  # type: ignore[arg-type]
    assert isinstance(training.dataset_size_tokens, int) and isinstance(training.sequence_length, int)
    training.validate()


@pytest.mark.parametrize("value", (100.5, 1e-300))
def test_the_seed_dataclasses_refuse_fractional_tokens(value):
    with pytest.raises(InputError, match=r"avg_input_tokens \(--input-tokens\) .* whole number"):
        plan_inference(LLMWorkloadInput(2, value, 200), ModelConfig(model_name="llama-3.1-8b"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"sequence_length \(--sequence-length\) .* whole number"):
        TrainingInput(1_000_000, value, 1, 8).validate()  # type: ignore[arg-type]
    with pytest.raises(InputError, match="--seq-len"):
        estimate_training(TrainingEstimateRequest(gpu="H100", num_gpus=1, seq_len=value, micro_batch=1,  # type: ignore[arg-type]
                                                  model="llama-3.1-8b"))  # fmt: skip


# ------------------------------------------------------------------------------------------- REST


@pytest.mark.parametrize("value", (1e-300, 100.5, 0, -3))
@pytest.mark.parametrize("field", ("input_tokens", "output_tokens"))
def test_rest_estimate_refuses_non_integer_tokens_with_422(field, value, tmp_path):
    body = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 1, "input_tokens": 100, "output_tokens": 100,
            "load": "request-rate", "load_value": 1}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'api.db'}")) as client:
        response = client.post("/api/v1/estimate", json=body | {field: value})
    assert response.status_code == 422, response.text
    assert field in response.text


def test_rest_estimate_takes_a_whole_float_as_that_integer(tmp_path):
    body = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 1, "input_tokens": 500, "output_tokens": 100,
            "load": "concurrency", "load_value": 8}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'api.db'}")) as client:
        as_int = client.post("/api/v1/estimate", json=body)
        as_float = client.post("/api/v1/estimate", json=body | {"input_tokens": 500.0})
    assert as_int.status_code == as_float.status_code == 200, as_float.text
    assert as_int.json() == as_float.json()


# ------------------------------------------------------------------------------------------- chat


@pytest.mark.parametrize("text", ("0.5 in, 200 out", "100.5 in, 200 out", "0.4/200 tokens"))
def test_the_chat_never_truncates_a_token_count(text):
    stated = extract("serve llama 3 8b on H100, 5 rps, " + text)
    said = float(re.split(r"[ /]", text)[0])
    assert stated.get("input_tokens") in (None, said)  # read as said, never truncated (chat.values refuses it)
    with pytest.raises(AnswerError, match="whole number"):
        BY_KEY["tokens"].read(text, {})
    values = interpret(BY_KEY["tokens"], text, {"intent": "inference"})
    assert "input_tokens" not in values
    assert "whole number" in values.get(LEFT_OUT, {}).get("input_tokens", "whole number")  # left out, with why


@pytest.mark.parametrize(("key", "text"), [("seq_len", "2048.5"), ("dataset_tokens", "100000.5")])
def test_the_chat_asks_again_for_a_fractional_training_count(key, text):
    with pytest.raises(AnswerError, match="whole number"):
        BY_KEY[key].read(text, {})


def test_a_chat_with_a_fractional_prompt_asks_for_the_tokens_again():
    result = subprocess.run(
        [*gpucast_exe(), "chat"], input="serve llama 3 8b on H100 on aws, 5 rps, 0.5 tokens in and 200 out\n"
        "2000 in, 200 out\n\n\nyes\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not re.search(r"(?<![\d,])0 tokens in", result.stdout)  # 0.5 was read as 0 before
    assert "2,000 tokens in" in result.stdout and "Traceback" not in result.stderr
