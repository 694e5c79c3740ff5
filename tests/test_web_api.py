"""The REST API (issue 8) through FastAPI's TestClient on a real SQLite file: same numbers as the Python API,
one JSON error shape, token authentication and the store's workflow rules over HTTP."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient

from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, TrainingInput, TrainingOptions
from gpucast.planning.compare import compare_gpus
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference
from gpucast.store import open_store
from gpucast.store.services import add_user
from gpucast.store.tokens import create_token, revoke_token
from gpucast.training.plan import plan_training
from gpucast.web import WebSettings, create_app
from gpucast.web.schemas import GPUBody, ServingBody

WORKLOAD = {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200}
PLAN = {"workload": WORKLOAD, "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}}
SERVICE = {"name": "chat", "team": "ml", "environment": "prod", "criticality": "tier1", "cloud": "aws",
           "region": "us-east-1", "model": "llama-3.1-8b"}  # fmt: skip


def jsonish(value):
    """What a value looks like after a JSON round trip (tuples become lists)."""
    return json.loads(json.dumps(value))


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'web.db'}"


@pytest.fixture
def tokens(db_url):
    """alice requests, bob and dora approve, vic only views; one token each."""
    made = {}
    with open_store(db_url) as store, store.write() as session:
        for name, role in (("alice", "requester"), ("bob", "approver"), ("dora", "approver"), ("vic", "viewer")):
            add_user(session, name, role, actor=name)
            made[name] = create_token(session, name, name)[0]
    return made


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(db_url, tokens):
    with TestClient(create_app(db_url)) as test_client:
        yield test_client


def test_inference_plan_is_the_python_api_plan(client):
    response = client.post("/api/v1/inference", json=PLAN)
    assert response.status_code == 200, response.text
    expected = plan_inference(LLMWorkloadInput(**WORKLOAD), ModelConfig(model_name="llama-3.1-8b", precision="BF16"))
    assert response.json() == jsonish(expected.to_dict())


def test_training_estimate_and_compare_are_the_python_api_results(client):
    body = {"training": {"dataset_size_tokens": 100_000_000, "sequence_length": 2048, "num_epochs": 1,
                         "global_batch_size": 32, "method": "lora"},
            "model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_type": "H100"}}  # fmt: skip
    response = client.post("/api/v1/training", json=body)
    assert response.status_code == 200, response.text
    expected = plan_training(
        TrainingInput(dataset_size_tokens=100_000_000, sequence_length=2048, num_epochs=1, global_batch_size=32),
        ModelConfig(model_name="llama-3.1-8b", precision="BF16"),
        GPUConfig(gpu_type="H100"),
        TrainingOptions(method="lora"),
    )
    assert response.json() == jsonish(expected.to_dict())

    body = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 1, "input_tokens": 500, "output_tokens": 200,
            "load": "concurrency", "load_value": 32}  # fmt: skip
    response = client.post("/api/v1/estimate", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == jsonish(estimate(EstimateRequest(**body)).to_dict())

    response = client.post("/api/v1/compare", json=PLAN | {"clouds": ["aws", "gcp"], "top": 3})
    assert response.status_code == 200, response.text
    rows = compare_gpus(LLMWorkloadInput(**WORKLOAD), ModelConfig(model_name="llama-3.1-8b", precision="BF16"),
                        clouds=["aws", "gcp"])[:3]  # fmt: skip
    assert response.json() == jsonish([r.to_dict() for r in rows])


def test_training_body_takes_the_clis_parallelism_and_fp8_keys(client):
    """cp, vpp, ep, sequence_parallel and fp8_recipe (the CLI's --cp, --vpp, --ep, --no-sequence-parallel,
    --fp8-recipe) were refused as extra keys by the REST training body: the same plan as the Python API's."""
    section = {"dataset_size_tokens": 1_000_000_000, "sequence_length": 8192, "num_epochs": 1,
               "global_batch_size": 64, "tp": 2, "pp": 2, "dp": 2, "cp": 2, "vpp": 2,
               "sequence_parallel": False, "fp8_recipe": "current"}  # fmt: skip
    body = {
        "training": section,
        "model": {"model_name": "llama-3.1-8b", "precision": "FP8"},
        "gpu": {"gpu_type": "H100"},
    }
    response = client.post("/api/v1/training", json=body)
    assert response.status_code == 200, response.text
    expected = plan_training(
        TrainingInput(dataset_size_tokens=1_000_000_000, sequence_length=8192, num_epochs=1, global_batch_size=64),
        ModelConfig(model_name="llama-3.1-8b", precision="FP8"),
        GPUConfig(gpu_type="H100"),
        TrainingOptions(tp=2, pp=2, dp=2, cp=2, vpp=2, sequence_parallel=False, fp8_recipe="current"),
    )
    assert response.json() == jsonish(expected.to_dict())
    assert response.json()["gpu_resources"]["required_gpus"] == 16  # TP x PP x CP x DP
    assert response.json()["parallelism"]["context_parallel"] == 2
    assert response.json()["parallelism"]["virtual_pipeline_stages"] == 2
    bad = client.post("/api/v1/training", json=body | {"training": section | {"fp8_recipe": "nosuch"}})
    assert bad.status_code == 422 and "nosuch" in bad.text, bad.text


def test_training_body_reads_names_in_any_case_as_the_cli_does(client):
    """ "LoRA", "Cost" and "adamw" were 422 in the REST body (and on the training page's URL) while the CLI read any
    case: the same plan as the lower-case names."""
    section = {"dataset_size_tokens": 100_000_000, "sequence_length": 2048, "num_epochs": 1, "global_batch_size": 32}
    body = {"model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_type": "H100"}}
    plain = client.post(
        "/api/v1/training",
        json=body | {"training": section | {"method": "lora", "optimize": "cost", "optimizer_type": "AdamW"}},
    )
    shouted = client.post(
        "/api/v1/training",
        json=body | {"training": section | {"method": "LoRA", "optimize": "Cost", "optimizer_type": "adamw"}},
    )
    assert plain.status_code == 200 and shouted.status_code == 200, shouted.text
    assert shouted.json() == plain.json()
    assert client.post("/api/v1/training", json=body | {"training": section | {"method": "nosuch"}}).status_code == 422


def test_engine_version_reaches_the_plan(client):
    """An early-2025 engine release runs DeepSeek-R1 on its era's kernels (core.engine_era): the same question
    needs more GPUs than on the current release, and the plan echoes the version."""
    body = {"workload": {"requests_per_second": 5, "avg_input_tokens": 3200, "avg_output_tokens": 800},
            "model": {"model_name": "deepseek-r1"}, "gpu": {"gpu_type": "H200"}}  # fmt: skip
    totals = {}
    for version in (None, "0.7.3"):
        serving = {"engine_version": version, "slo_percentile": "mean", "ttft_slo_ms": 30000, "itl_slo_ms": 200}
        plan = client.post("/api/v1/inference", json={**body, "serving": serving}).json()
        assert plan["inputs"].get("engine_version") == version
        totals[version] = plan["gpu_resources"]["total_gpus"]
    assert totals["0.7.3"] > totals[None]
    bad = client.post("/api/v1/inference", json={**body, "serving": {"engine_version": 7}})
    assert bad.status_code == 422 and bad.json()["field"] == "serving.engine_version"


def test_schema_defaults_are_the_dataclass_defaults():
    assert GPUBody().model_dump() == asdict(GPUConfig())
    rest, python = ServingBody().model_dump(), asdict(ServingOptions())
    # one deliberate difference: the REST API answers SLOs no load meets with 422, the seed's Python API with a plan
    assert rest.pop("require_slo") is True and python.pop("require_slo") is False
    assert rest == python


@pytest.mark.parametrize(
    ("body", "status", "field", "text"),
    [
        (PLAN | {"workload": WORKLOAD | {"requests_per_second": 0}}, 422, "workload.requests_per_second", "greater"),
        (PLAN | {"workload": WORKLOAD | {"avg_input_tokens": 10**9}}, 422, "workload.avg_input_tokens", "less"),
        (PLAN | {"colour": "red"}, 422, "colour", "Extra inputs"),
        (PLAN | {"model": {"model_config_path": "/etc/passwd"}}, 422, "model.model_config_path", "Extra inputs"),
        ({"model": PLAN["model"]}, 422, "workload", "required"),
        (PLAN | {"serving": {"tp": 3}}, 422, "tp", "power of two"),
        # "nan" and "inf" were refused as "less than or equal to 10000000" (the range check NaN happens to fail)
        (PLAN | {"workload": WORKLOAD | {"requests_per_second": "nan"}}, 422, "workload.requests_per_second", "finite"),
        (PLAN | {"serving": {"safety_margin": "-inf"}}, 422, "serving.safety_margin", "finite number"),
        (PLAN | {"serving": {"cloud": "mars"}}, 422, "cloud", "mars"),
        (PLAN | {"gpu": {"gpu_type": "H1000"}}, 422, "gpu_type", "not in the catalog"),
        (
            PLAN | {"model": {"model_name": "llama-3.1-405b"}, "gpu": {"gpu_type": "L4"}, "serving": {"tp": 1}},
            422,
            None,
            "cannot be served",
        ),
    ],
)
def test_bad_input_is_a_json_error_naming_the_field(client, body, status, field, text):
    response = client.post("/api/v1/inference", json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "field"}
    assert response.json()["field"] == field
    assert text in response.json()["error"]


def test_not_found_malformed_json_and_missing_routes_share_the_shape(client):
    assert client.get("/api/v1/plans/99").json() == {
        "error": "plan 99 does not exist (see `gpucast history`)",
        "field": None,
    }
    assert client.get("/api/v1/plans/99").status_code == 404
    assert client.get("/api/v1/services/nope").status_code == 404
    response = client.post("/api/v1/inference", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and set(response.json()) == {"error", "field"}
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.json() == {"error": "Not Found", "field": None}
    assert client.get("/api/v1/prices", params={"gpu": "H1000"}).status_code == 422
    # an unknown cloud or region was an empty list (200 []), as if the cloud had no GPUs; `prices list` refuses it
    nosuch = client.get("/api/v1/prices", params={"cloud": "nosuch"})
    assert nosuch.status_code == 422 and "nosuch" in nosuch.text and "aws" in nosuch.text, nosuch.text
    assert client.get("/api/v1/prices", params={"region": "nowhere"}).status_code == 422
    shouted = client.get("/api/v1/prices", params={"cloud": "AWS", "gpu": "H100"}).json()
    assert shouted and shouted == client.get("/api/v1/prices", params={"cloud": "aws", "gpu": "H100"}).json()


def test_request_bodies_over_the_limit_are_refused(db_url, tokens):
    with TestClient(create_app(db_url, WebSettings(max_body_bytes=2_000))) as small:
        padded = PLAN | {"model": {"model_name": "llama-3.1-8b" + " " * 3_000}}
        response = small.post("/api/v1/inference", json=padded)
        assert response.status_code == 413 and "larger than 2000 bytes" in response.json()["error"]

        def chunks():  # no Content-Length: counted while streaming
            yield b'{"workload": {'
            yield b" " * 3_000

        response = small.post("/api/v1/inference", content=chunks(), headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert small.post("/api/v1/inference", json=PLAN).status_code == 200


def test_writes_need_a_valid_token(client, tokens, db_url):
    response = client.post("/api/v1/services", json=SERVICE)
    assert response.status_code == 401 and response.json()["field"] == "authorization"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.post("/api/v1/services", json=SERVICE, headers=auth("gpc_wrong")).status_code == 401
    assert client.post("/api/v1/services", json=SERVICE, headers={"Authorization": "Basic x"}).status_code == 401
    assert client.post("/api/v1/inference?save=true", json=PLAN).status_code == 401
    assert client.post("/api/v1/services", json=SERVICE, headers=auth(tokens["vic"])).status_code == 403  # viewer
    with open_store(db_url) as store, store.write() as session:
        revoke_token(session, 1, "alice")  # alice's token
    assert client.post("/api/v1/services", json=SERVICE, headers=auth(tokens["alice"])).status_code == 401
    assert client.get("/api/v1/me", headers=auth(tokens["bob"])).json() == {"user": "bob"}


def test_reading_is_open_on_localhost_and_token_only_when_required(db_url, tokens):
    with TestClient(create_app(db_url)) as open_client:
        assert open_client.get("/api/v1/services").status_code == 200
        assert open_client.post("/api/v1/inference", json=PLAN).status_code == 200
    assert WebSettings(host="0.0.0.0").reads_need_token() and not WebSettings(host="::1").reads_need_token()
    for settings in (WebSettings(read_token_required=True), WebSettings(host="0.0.0.0")):
        with TestClient(create_app(db_url, settings)) as closed:
            assert closed.get("/api/v1/services").status_code == 401
            assert closed.get("/api/v1/models").status_code == 401
            refused = closed.post("/api/v1/inference", json=PLAN)
            assert refused.status_code == 401 and "requires a token for reading" in refused.json()["error"]
            assert closed.get("/api/v1/health").status_code == 200
            assert closed.get("/api/v1/services", headers=auth(tokens["vic"])).status_code == 200


def test_services_metrics_and_the_request_workflow(client, tokens):
    alice, bob, dora = (auth(tokens[n]) for n in ("alice", "bob", "dora"))
    created = client.post("/api/v1/services", json=SERVICE, headers=alice)
    assert created.status_code == 201 and created.json()["created_by"] == "alice"
    assert client.post("/api/v1/services", json=SERVICE, headers=alice).status_code == 409
    assert client.post("/api/v1/services", json=SERVICE | {"environment": "qa"}, headers=alice).status_code == 422
    assert [s["name"] for s in client.get("/api/v1/services").json()["items"]] == ["chat"]
    assert client.get("/api/v1/services/chat").json()["criticality"] == "tier1"

    csv_text = "timestamp,rps,extra\n2025-01-01T00:00:00Z,3.5,x\n2025-01-01T01:00:00Z,4,y\n"
    files = {"file": ("traffic.csv", csv_text, "text/csv")}
    report = client.post("/api/v1/services/chat/metrics", files=files, headers=alice).json()
    assert report["added"] == 2 and report["ignored_columns"] == ["extra"]
    again = client.post("/api/v1/services/chat/metrics", files=files, headers=alice).json()
    assert again["added"] == 0 and again["unchanged"] == 2  # idempotent
    assert [m["rps"] for m in client.get("/api/v1/services/chat/metrics").json()] == [3.5, 4.0]
    bad = {"file": ("t.csv", "timestamp,rps\nyesterday,1\n", "text/csv")}
    assert client.post("/api/v1/services/chat/metrics", files=bad, headers=alice).status_code == 422

    body = {"service": "chat", "gpu_type": "H100", "count": 8, "region": "us-east-1", "justification": "launch"}
    request = client.post("/api/v1/requests", json=body, headers=alice)
    assert request.status_code == 201 and request.json()["requester"] == "alice", request.text
    rid = request.json()["id"]
    assert client.post("/api/v1/requests", json=body, headers=auth(tokens["vic"])).status_code == 403
    assert client.post(f"/api/v1/requests/{rid}/approve", headers=bob).status_code == 409  # still a draft
    assert client.post(f"/api/v1/requests/{rid}/submit", headers=alice).json()["status"] == "submitted"
    refused = client.post(f"/api/v1/requests/{rid}/approve", headers=alice, json={"comment": "mine"})
    assert refused.status_code == 403 and "approve needs the role" in refused.json()["error"]
    approved = client.post(f"/api/v1/requests/{rid}/approve", headers=bob, json={"comment": "budget ok"})
    assert approved.status_code == 200 and approved.json()["approver"] == "bob"
    assert client.post(f"/api/v1/requests/{rid}/provision", headers=bob).json()["status"] == "provisioned"
    assert client.post(f"/api/v1/requests/{rid}/provision", headers=bob).status_code == 409
    assert client.post(f"/api/v1/requests/{rid}/cancel", headers=bob).status_code == 422
    history = client.get(f"/api/v1/requests/{rid}").json()["history"]
    assert [(h["author"], h["to"], h["comment"]) for h in history][1:] == [
        ("alice", "submitted", None),
        ("bob", "approved", "budget ok"),
        ("bob", "provisioned", None),
    ]

    own = client.post("/api/v1/requests", json=body, headers=bob).json()["id"]  # an approver's own request
    client.post(f"/api/v1/requests/{own}/submit", headers=bob)
    refused = client.post(f"/api/v1/requests/{own}/approve", headers=bob)
    assert refused.status_code == 403 and "own request" in refused.json()["error"]
    assert client.post(f"/api/v1/requests/{own}/reject", headers=dora).json()["status"] == "rejected"
    listed = client.get("/api/v1/requests", params={"status": "rejected"}).json()
    assert [r["id"] for r in listed["items"]] == [own]


def test_saved_plans_are_listed_filtered_sorted_and_paginated(client, tokens):
    alice = auth(tokens["alice"])
    client.post("/api/v1/services", json=SERVICE, headers=alice)
    ids = []
    for rps in (1, 40, 10):
        body = PLAN | {"workload": WORKLOAD | {"requests_per_second": rps}}
        saved = client.post("/api/v1/inference", params={"save": "true", "service": "chat"}, json=body, headers=alice)
        assert saved.status_code == 201, saved.text
        assert saved.headers["Location"] == f"/api/v1/plans/{saved.headers['X-Gpucast-Plan-Id']}"
        ids.append(int(saved.headers["X-Gpucast-Plan-Id"]))
    estimate_body = {"model": "llama-3.1-8b", "gpu": "L4", "num_gpus": 1, "input_tokens": 500, "output_tokens": 200}
    assert client.post("/api/v1/estimate?save=true", json=estimate_body, headers=alice).status_code == 201

    first = client.get("/api/v1/plans", params={"sort": "-monthly_cost", "limit": 2, "kind": "inference"}).json()
    costs = [p["monthly_cost"] for p in first["items"]]
    assert costs == sorted(costs, reverse=True) and first["next_offset"] == 2
    second = client.get("/api/v1/plans", params={"sort": "-monthly_cost", "limit": 2, "offset": 2}).json()
    assert len(second["items"]) == 2 and second["next_offset"] is None
    mine = client.get("/api/v1/plans", params={"service": "chat", "sort": "id"}).json()["items"]
    assert [p["id"] for p in mine] == ids
    assert client.get("/api/v1/plans", params={"sort": "colour"}).status_code == 422
    assert client.get("/api/v1/plans", params={"limit": 0}).json()["field"] == "limit"
    full = client.get(f"/api/v1/plans/{ids[1]}").json()
    assert full["service"] == "chat" and full["inputs"]["body"]["workload"]["requests_per_second"] == 40
    assert full["result"]["inputs"]["requests_per_second"] == 40 and full["created_by"] == "alice"


def test_catalogs_and_openapi_docs(client):
    models = client.get("/api/v1/models").json()
    assert any(m["id"] == "llama-3.1-70b" for m in models)
    assert any(g["id"] == "h100-sxm" or g["name"] == "H100" for g in client.get("/api/v1/gpus").json())
    prices = client.get("/api/v1/prices", params={"cloud": "aws", "gpu": "H100"}).json()
    assert prices and all(p["cloud"] == "aws" for p in prices)
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/inference", "/api/v1/plans", "/api/v1/requests/{request_id}/{action}"} <= set(paths)
