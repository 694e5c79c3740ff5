"""``gpucast estimate --slo-capacity``: the most traffic one fixed deployment serves within the SLOs ("how much do my
8 H100s take?"), by the planner's own capacity search, so it agrees with a plan of the same configuration (CLI,
Python API and REST API)."""

from __future__ import annotations

import json
import subprocess

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_exe
from gpucast.errors import InfeasibleError, InputError
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.web import create_app

SHAPE = ("--input-tokens", "1000", "--output-tokens", "300")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=120)


def _json(*args: str) -> dict:
    done = _run(*args, "--json")
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(("model", "gpu", "tp", "slos"), [
    ("llama-3.1-8b", "H100", 1, ()),
    ("llama-3.1-70b", "H200", 4, ("--ttft-slo-ms", "800", "--itl-slo-ms", "40", "--slo-percentile", "95")),
])  # fmt: skip
def test_the_capacity_of_a_fleet_is_the_plans_capacity_per_replica_times_its_replicas(model, gpu, tp, slos) -> None:
    plan = _json("inference", "--model", model, "--gpu", gpu, "--tp", str(tp), "--rps", "10", *SHAPE, *slos)
    window = str(plan["inputs"]["context_window"])
    fleet = _json("estimate", "--model", model, "--gpu", gpu, "--num-gpus", str(4 * tp), "--tp", str(tp), *SHAPE,
                  "--max-model-len", window, "--slo-capacity", *slos)  # fmt: skip
    assert fleet["replicas"] == 4
    assert fleet["requests_per_s"] == pytest.approx(4 * plan["throughput"]["rps_per_replica"], rel=1e-4)
    assert fleet["slo_limit"] == plan["throughput"]["concurrency_limit"]
    assert fleet["itl_ms"] == pytest.approx(plan["throughput"]["capacity_itl_ms"], rel=1e-4)


def test_looser_slos_never_serve_less_and_the_text_says_what_binds() -> None:
    base = {"model": "llama-3.1-8b", "gpu": "L40S", "num_gpus": 2, "input_tokens": 2000, "output_tokens": 400,
            "load": "slo-capacity"}  # fmt: skip
    rates = [estimate(EstimateRequest(**base, ttft_slo_ms=t, itl_slo_ms=i)).requests_per_s
             for t, i in ((300, 30), (1000, 50), (2000, 100), (5000, 200))]  # fmt: skip
    assert rates == sorted(rates) and rates[0] < rates[-1]
    done = _run("estimate", "--model", "llama-3.1-8b", "--gpu", "L40S", "--num-gpus", "2", *SHAPE, "--slo-capacity")
    assert done.returncode == 0, done.stderr
    assert "the most within the SLOs (p99 TTFT <= 2,000 ms" in done.stdout and "limited by" in done.stdout


def test_an_unreachable_target_is_one_line_exit_2_and_a_422() -> None:
    args = ("estimate", "--model", "llama-3.1-70b", "--gpu", "L40S", "--num-gpus", "4", "--tp", "4", *SHAPE)
    done = _run(*args, "--slo-capacity", "--ttft-slo-ms", "1")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no load meets the SLOs on this deployment: a request alone reaches TTFT" in done.stderr
    with pytest.raises(InfeasibleError):
        estimate(EstimateRequest(model="llama-3.1-70b", gpu="L40S", num_gpus=4, tp=4, input_tokens=1000,
                                 output_tokens=300, load="slo-capacity", ttft_slo_ms=1))  # fmt: skip
    with TestClient(create_app("sqlite://")) as client:
        body = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 2, "input_tokens": 1000, "output_tokens": 300,
                "load": "slo-capacity", "ttft_slo_ms": 1500, "slo_percentile": "p90"}  # fmt: skip
        response = client.post("/api/v1/estimate", json=body)
        assert response.status_code == 200, response.text
        expected = estimate(EstimateRequest(**body)).to_dict()
        assert response.json()["requests_per_s"] == pytest.approx(expected["requests_per_s"])
        assert response.json()["slo_limit"] == expected["slo_limit"] != ""
        assert client.post("/api/v1/estimate", json={**body, "ttft_slo_ms": 1}).status_code == 422


@pytest.mark.parametrize(("extra", "message"), [
    (("--request-rate", "5", "--ttft-slo-ms", "500"), "--ttft-slo-ms bound --slo-capacity"),
    (("--slo-capacity", "--slo-percentile", "98"), "--slo-percentile '98' is not one of mean, 50, 90, 95, 99"),
    (("--slo-capacity", "--itl-slo-ms", "0"), "--itl-slo-ms"),
])  # fmt: skip
def test_slo_flags_outside_slo_capacity_or_out_of_range_are_one_line_errors(extra, message) -> None:
    done = _run("estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1", *SHAPE, *extra)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    with pytest.raises(InputError, match="load_value"):
        EstimateRequest(gpu="H100", num_gpus=1, input_tokens=10, output_tokens=10, model="llama-3.1-8b",
                        load="slo-capacity", load_value=5).validate()  # fmt: skip


def test_the_text_names_the_statistic_once_and_shows_the_target_that_binds_met() -> None:
    # "p90" was printed "pp90" ("average": "paverage"), and only the means were shown: "limited by ttft" beside a
    # 907 ms mean TTFT against a 2,000 ms target read as slack
    args = ("estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "2", *SHAPE, "--slo-capacity")
    done = _run(*args, "--slo-percentile", "p90")
    assert done.returncode == 0, done.stderr
    assert "(p90 TTFT <= 2,000 ms, TPOT <= 100.0 ms; limited by ttft)" in done.stdout and "pp90" not in done.stdout
    assert "p90 TTFT / TPOT    2,000 ms /" in done.stdout and "(targets 2,000 / 100.0)" in done.stdout
    average = _run(*args, "--slo-percentile", "average")
    assert "(mean TTFT <= 2,000 ms, ITL <= 100.0 ms;" in average.stdout and "TTFT / TPOT" not in average.stdout
    fleet = _json(*args, "--slo-percentile", "p90")
    assert fleet["slo"]["percentile"] == "90" and fleet["slo"]["ttft_ms"] == 2000.0
    assert fleet["slo"]["ttft_at_ms"] == pytest.approx(2000.0, rel=1e-3) == fleet["ttft_p90_ms"]
    assert "slo" not in _json("estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "2", *SHAPE,
                              "--max-throughput")  # fmt: skip


def test_without_tp_a_deployment_no_tp_serves_is_reported_at_the_tp_that_comes_closest() -> None:
    # 100k-token prompts: no TP of 8 H100s meets a 2 s TTFT; the error reported TP=2's lone TTFT (12.1 s), the
    # smallest TP that fit, where TP=8 reaches 6.9 s
    args = ("estimate", "--model", "llama-3.1-70b", "--gpu", "H100", "--num-gpus", "8", "--input-tokens", "100000",
            "--output-tokens", "300", "--slo-capacity")  # fmt: skip
    done = _run(*args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "no load meets the SLOs on 8 GPUs at any TP (TP=8 comes closest)" in done.stderr
    at_tp8 = _run(*args, "--tp", "8")
    lone = at_tp8.stderr.split("a request alone reaches ")[1].split(" against")[0]
    assert f"a request alone reaches {lone} against" in done.stderr
    assert "no load meets the SLOs on this deployment" in at_tp8.stderr


def test_the_rest_api_takes_the_percentile_as_a_number_too() -> None:
    # "slo_percentile": 99 was 422 "Input should be a valid string" here while the inference body and the Python API
    # take it
    body = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 2, "input_tokens": 1000, "output_tokens": 300,
            "load": "slo-capacity"}  # fmt: skip
    with TestClient(create_app("sqlite://")) as client:
        for number, name in ((99, "99"), (90.0, "90")):
            response = client.post("/api/v1/estimate", json={**body, "slo_percentile": number})
            assert response.status_code == 200, response.text
            assert response.json()["slo"]["percentile"] == name
            expected = estimate(EstimateRequest(**body, slo_percentile=name)).requests_per_s
            assert response.json()["requests_per_s"] == pytest.approx(expected)
        refused = client.post("/api/v1/estimate", json={**body, "slo_percentile": 98})
        assert refused.status_code == 422 and "is not one of mean, 50, 90, 95, 99" in refused.json()["error"]
