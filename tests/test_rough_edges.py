"""Issue 23's rough edges, each through the real command (subprocess) or the real web app: a service's allowed
GPUs, bad files and flags as one line with exit 2, a read-only database command that creates nothing, the plan
page's errors in the form's words, a body that is not JSON, and the cosmetics (rounding, plurals, dollars, no file
written unasked, a training run shorter than an instance's practical minimum)."""

from __future__ import annotations

import csv
import json
import math
import subprocess
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_exe
from gpucast.catalog import loader
from gpucast.store import open_store
from gpucast.web import WebSettings, create_app
from gpucast.wording import duration, rate

WORKLOAD = ["--rps", "10", "--input-tokens", "1000", "--output-tokens", "300"]


def cli(*argv: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *argv], capture_output=True, text=True, timeout=180, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


@pytest.fixture
def service_db(tmp_path):
    db = str(tmp_path / "svc.db")
    assert cli("user", "add", "ada", "--role", "admin", "--db", db).returncode == 0
    added = cli("service", "add", "chat", "--team", "ml", "--environment", "prod", "--criticality", "tier2", "--cloud",
                "aws", "--region", "us-east-1", "--allowed-instance-types", "L4,A10G", "--model", "llama-3.1-8b",
                "--input-tokens", "1000", "--output-tokens", "300", "--db", db, "--as", "ada")  # fmt: skip
    assert added.returncode == 0, added.stderr
    return db


def test_inference_and_compare_choose_among_the_services_allowed_gpus(service_db):
    plan = json.loads(cli("inference", "--service", "chat", "--rps", "10", "--db", service_db, "--json").stdout)
    chosen = {plan["gpu_resources"]["recommended_gpu_type"], *(a["gpu_type"] for a in plan["alternatives"])}
    assert chosen == {"L4", "A10G"} and plan["inputs"]["gpu_types"] == ["L4", "A10G"]
    rows = json.loads(cli("compare", "--service", "chat", "--rps", "10", "--db", service_db, "--json").stdout)
    assert rows and {r["gpu_type"] for r in rows} == {"L4", "A10G"}
    pinned = json.loads(cli("inference", "--service", "chat", "--rps", "10", "--gpu", "H100", "--db", service_db,
                            "--json").stdout)  # fmt: skip
    assert pinned["gpu_resources"]["recommended_gpu_type"] == "H100-SXM"  # the user's flag still wins


def test_a_binary_model_config_is_one_line_exit_2(tmp_path):
    binary = tmp_path / "model.safetensors"
    binary.write_bytes(bytes(range(256)) * 8)
    message = one_line_error(cli("inference", "--model-config", str(binary), *WORKLOAD))
    assert "is not a text file" in message and "config.json" in message


@pytest.mark.parametrize("action", [["info"], ["export", "out.json"], ["backup", "copy.db"]])
def test_a_read_only_database_command_creates_nothing(tmp_path, action):
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    message = one_line_error(cli("db", *action, "--db", str(target), cwd=tmp_path))
    assert "no database there" in message and str(target) in message
    assert not (tmp_path / "nonexistent").exists() and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("top", ["0", "-3", "two"])
def test_compare_top_must_be_positive(top):
    message = one_line_error(cli("compare", "--model", "llama-3.1-8b", *WORKLOAD, "--top", top))
    assert f"--top: '{top}' is not a whole number of 1 or more" in message


def test_compare_top_keeps_the_cheapest_rows():
    rows = json.loads(cli("compare", "--model", "llama-3.1-8b", *WORKLOAD, "--top", "2", "--json").stdout)
    assert len(rows) == 2


@pytest.fixture
def client(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    yield TestClient(create_app(store=store, settings=WebSettings()))
    store.close()


def _form_error(html: str) -> str:
    start = html.index('id="form-error">') + len('id="form-error">')
    return html[start : html.index("<", start)].replace("&#39;", "'")


def test_the_readme_plan_address_is_a_page_with_the_error(client):
    response = client.get("/plan?model=llama-3.1-8b&rps=10", headers={"accept": "text/html"})
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    error = _form_error(response.text)
    assert error.startswith("Input tokens is required.") and "sample values for Input tokens, Output tokens" in error
    assert 'id="plan-form"' in response.text and 'name="input_tokens" id="input_tokens" type="number" min="1" ' \
        'value="500"' in response.text  # the sample value, ready to plan  # fmt: skip
    assert 'value="10"' in response.text  # the rate the address gave is kept


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("model=nope&rps=10&input_tokens=100&output_tokens=100", "Model 'nope' is not in the catalog (pick one"),
        ("model=llama-3.1-8b&rps=10&input_tokens=100&output_tokens=100&gpu=zzz", "GPU 'zzz' is not in the catalog"),
        ("model=llama-3.1-8b&rps=abc&input_tokens=100&output_tokens=100", "Requests/s: must be a number"),
        ("model=llama-3.1-8b&rps=0&input_tokens=100&output_tokens=100", "Requests/s: must be greater than 0"),
    ],
)
def test_form_errors_name_the_forms_fields_not_cli_flags(client, query, expected):
    error = _form_error(client.get(f"/plan?{query}").text)
    assert error.startswith(expected) and "--" not in error and "`gpucast" not in error and "workload." not in error


def test_a_body_that_is_not_json_says_so(client):
    for body, reason in ((b'{"workload": {', "Expecting property name"), (b"not json", "Expecting value")):
        response = client.post("/api/v1/inference", content=body, headers={"content-type": "application/json"})
        answer = response.json()
        assert response.status_code == 422 and answer["field"] == "body"
        assert answer["error"].startswith("the request body is not valid JSON: ") and reason in answer["error"]


def test_rates_are_rounded_for_people():
    assert [rate(v) for v in (23.148148, 1157.4, 0.011574, 10.0, 0.5, 34.72222, 2.7777)] == [
        "23.1", "1,157", "0.0116", "10", "0.5", "34.7", "2.78"]  # fmt: skip
    assert [duration(h) for h in (0.3, 1 / 60, 0.001, 2.54)] == ["18 minutes", "1 minute", "4 seconds", "2.5 h"]
    text = cli("inference", "--model", "llama-3.1-8b", "--gpu", "L4", "--rps", str(2_000_000 / 86_400),
               "--input-tokens", "500", "--output-tokens", "200").stdout  # fmt: skip
    assert "23.1 req/s avg" in text and "avg 23.1 req/s, planned peak 34.7 req/s" in text and "23.148" not in text


def test_counts_agree_with_their_nouns():
    one = cli("estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1", "--input-tokens", "500",
              "--output-tokens", "200", "--concurrency", "8").stdout  # fmt: skip
    assert "on 1 replica of 1 H100-SXM (TP=1)" in one and "1 x 1" not in one
    two = cli("estimate", "--model", "llama-3.1-70b", "--gpu", "H100", "--num-gpus", "8", "--tp", "4",
              "--input-tokens", "500", "--output-tokens", "200", "--concurrency", "8").stdout  # fmt: skip
    assert "on 2 replicas of 4 x H100-SXM (TP=4)" in two
    training = cli("training", "--model", "llama-3.1-8b", "--dataset-size", "100000000", "--sequence-length", "2048",
                   "--epochs", "1", "--global-batch-size", "64", "--gpu", "H100").stdout  # fmt: skip
    assert "100,000,000 tokens x 1 epoch," in training and "1 epochs" not in training


def _history(path, days=10):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "rps", "input_tokens", "output_tokens"])
        for h in range(24 * days):
            writer.writerow([(datetime(2025, 1, 1) + timedelta(hours=h)).isoformat(),
                             round(5 + 3 * math.sin(h / 24 * 2 * math.pi), 3), 1000, 300])  # fmt: skip


def test_money_has_its_dollar_sign_in_service_plan_and_request_list(service_db, tmp_path):
    _history(tmp_path / "traffic.csv")
    assert (
        cli("metrics", "import", "chat", str(tmp_path / "traffic.csv"), "--db", service_db, "--as", "ada").returncode
        == 0
    )
    plan = cli("service", "plan", "chat", "--horizon", "3d", "--db", service_db)
    assert plan.returncode == 0, plan.stderr
    table = plan.stdout[plan.stdout.index("Capacity timeline") : plan.stdout.index("Recommendation")]
    rows = [line for line in table.splitlines() if line.strip().startswith("20")]
    assert rows and all(line.rstrip().split()[-1].startswith("$") for line in rows), table
    made = cli("request", "create", "--service", "chat", "--gpu", "L4", "--count", "4", "--region", "us-east-1",
               "--justification", "launch", "--monthly-cost", "3200", "--db", service_db, "--as", "ada")  # fmt: skip
    assert made.returncode == 0, made.stderr
    listing = cli("request", "list", "--db", service_db).stdout
    assert "$3,200" in listing and " 3,200.00" not in listing


def test_generated_configs_write_no_file_unasked(tmp_path):
    for mode in ("inference", "training"):
        config = tmp_path / f"{mode}.json"
        assert cli("forecast", "--generate-config", mode, "--output", str(config)).returncode == 0
        assert "output_file" not in json.loads(config.read_text())["options"]
        assert cli("forecast", "--config", str(config), "--json", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inference.json", "training.json"]


def test_a_run_shorter_than_an_instances_practical_minimum_offers_one_gpu():
    startup, minimum = loader.run_overhead()
    assert (startup, minimum) == (0.25, 1.0)  # catalog/run_overhead.toml: 15 minutes, 1/4 of the billed time
    argv = ["training", "--model", "llama-3.1-8b", "--dataset-size", "10000000", "--sequence-length", "2048",
            "--epochs", "1", "--method", "lora", "--global-batch-size", "64"]  # fmt: skip
    plan = json.loads(cli(*argv, "--json").stdout)
    hours, gpus = plan["training_metrics"]["estimated_duration_hours"], plan["gpu_resources"]["required_gpus"]
    assert hours < minimum and gpus > 1
    single = plan["alternatives"][0]
    assert single["gpus"] == 1 and single["note"].startswith("single GPU") and single["total_cost"] > 0
    warning = next(w for w in plan["warnings"] if "practical minimum" in w)
    assert f"a single GPU does it too: 1 x {single['gpu_type']}, {single['hours']:,.2f} h" in warning
    pinned = json.loads(cli(*argv, "--gpu", single["gpu_type"], "--num-gpus", "1", "--json").stdout)
    assert math.isclose(pinned["training_metrics"]["estimated_duration_hours"], single["hours"], rel_tol=1e-6)
    long_run = json.loads(cli(*argv[:4], "2000000000", *argv[5:], "--json").stdout)
    assert long_run["training_metrics"]["estimated_duration_hours"] >= minimum
    assert not any("practical minimum" in w for w in long_run["warnings"])
