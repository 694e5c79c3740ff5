"""Agent workloads over the REST API (``POST /api/v1/inference`` and ``/compare`` with an ``agent`` section), through
FastAPI's TestClient on a real SQLite file: the body is the config sections, the result is the CLI's ``--json`` for
the same inputs, and bad agent values are one JSON error naming the field."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, fields

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_exe
from gpucast.inputs.agent import AgentWorkloadInput
from gpucast.web import create_app
from gpucast.web.schemas import AgentBody

AGENT = {"tasks_per_second": 2, "calls_per_task": 6, "shared_prefix_tokens": 2000, "context_growth_tokens": 800,
         "think_time_s": 5}  # fmt: skip
BODY = {"workload": {"avg_output_tokens": 200}, "model": {"model_name": "llama-3.1-8b"},
        "gpu": {"gpu_type": "H100"}, "serving": {"tp": 1}, "agent": AGENT}  # fmt: skip
FLAGS = ["--model", "llama-3.1-8b", "--gpu-type", "H100", "--tp", "1", "--tasks-per-second", "2", "--calls-per-task",
         "6", "--shared-prefix-tokens", "2000", "--context-growth-tokens", "800", "--think-time-s", "5",
         "--output-tokens", "200"]  # fmt: skip


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as test_client:
        yield test_client


def cli_json(*argv: str) -> object:
    result = subprocess.run([*gpucast_exe(), *argv, "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _without_versions(plan: dict) -> dict:
    return {k: v for k, v in plan.items() if k != "versions"}


def test_agent_plan_is_the_cli_plan(client):
    response = client.post("/api/v1/inference", json=BODY)
    assert response.status_code == 200, response.text
    plan = response.json()
    cli = cli_json("inference", *FLAGS)
    assert _without_versions(plan) == _without_versions(cli)
    # calls/s = 2 x 6; mean prompt = 2000 + 800 x 7/2 + 200 x 5/2 = 5300 (tests/test_agent_cli.py)
    assert plan["agent"]["calls_per_second"] == 12 and plan["agent"]["mean_input_tokens_per_call"] == 5300
    assert plan["inputs"]["requests_per_second"] == 12 and plan["inputs"]["avg_input_tokens"] == 5300


def test_agent_options_and_output_tokens_from_the_agent_section(client):
    body = BODY | {"workload": {}, "agent": AGENT | {"output_tokens_per_call": 200, "prefix_caching": False}}
    response = client.post("/api/v1/inference", json=body)
    assert response.status_code == 200, response.text
    cli = cli_json("inference", *FLAGS, "--no-prefix-caching")
    assert _without_versions(response.json()) | {"inputs": None} == _without_versions(cli) | {"inputs": None}
    assert response.json()["agent"]["prefix_cache_hit_rate"] == 0


def test_agent_compare_is_the_cli_compare(client):
    body = {k: v for k, v in BODY.items() if k != "gpu"} | {"gpu_types": ["H100", "L40S"], "clouds": ["aws"]}
    response = client.post("/api/v1/compare", json=body)
    assert response.status_code == 200, response.text
    flags = [f for f in FLAGS if f not in ("--gpu-type", "H100")]
    cli = cli_json("compare", *flags, "--gpus", "H100,L40S", "--clouds", "aws")
    assert response.json() == cli


def test_agent_schema_defaults_are_the_dataclass_defaults():
    defaults = asdict(AgentWorkloadInput(tasks_per_second=1.0, shared_prefix_tokens=100))
    assert AgentBody(tasks_per_second=1.0, shared_prefix_tokens=100).model_dump() == defaults
    assert {f.name for f in fields(AgentWorkloadInput)} == set(AgentBody.model_fields)


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        (BODY | {"agent": AGENT | {"calls_per_task": 0.5}}, "agent.calls_per_task", "greater than or equal to 1"),
        (BODY | {"agent": AGENT | {"tasks_per_second": 0}}, "agent.tasks_per_second", "greater than 0"),
        (BODY | {"agent": AGENT | {"think_time_s": -1}}, "agent.think_time_s", "greater than or equal to 0"),
        (BODY | {"agent": AGENT | {"calls_distribution": "zipf"}}, "agent.calls_distribution", "'fixed' or"),
        (BODY | {"agent": AGENT | {"shared_prefix_tokens": 0, "context_growth_tokens": 0}}, "agent", "at least 1"),
        (BODY | {"agent": AGENT | {"colour": "red"}}, "agent.colour", "Extra inputs"),
        (BODY | {"agent": {"calls_per_task": 3}}, "agent.tasks_per_second", "required"),
        (BODY | {"workload": {"avg_output_tokens": 200, "requests_per_second": 5}}, "workload.requests_per_second",
         "derived from the agent section"),
        (BODY | {"workload": {"avg_output_tokens": 200, "avg_input_tokens": 900}}, "workload.avg_input_tokens",
         "derived from the agent section"),
        (BODY | {"workload": {}}, "workload.avg_output_tokens", "agent.output_tokens_per_call"),
    ],
)  # fmt: skip
def test_bad_agent_values_are_a_422_naming_the_field(client, body, field, text):
    response = client.post("/api/v1/inference", json=body)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "field"}
    assert response.json()["field"] == field
    assert text in response.json()["error"] and "\n" not in response.json()["error"]


@pytest.mark.parametrize(
    ("workload", "field"),
    [(None, "workload"), ({"avg_input_tokens": 500, "avg_output_tokens": 200}, "workload.requests_per_second"),
     ({"requests_per_second": 5, "avg_output_tokens": 200}, "workload.avg_input_tokens"),
     ({"requests_per_second": 5, "avg_input_tokens": 500}, "workload.avg_output_tokens")],
)  # fmt: skip
def test_without_agent_the_workload_fields_are_still_required(client, workload, field):
    body = {"model": {"model_name": "llama-3.1-8b"}} | ({"workload": workload} if workload is not None else {})
    for path in ("/api/v1/inference", "/api/v1/compare"):
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert response.json() == {"error": f"{field}: Field required", "field": field}
