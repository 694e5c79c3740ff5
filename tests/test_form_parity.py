"""The web pages and the desktop forms against the CLI, from the form parity sweep of 2026-12-07
(docs/reliability.md, "Web and desktop form parity sweep"): the same inputs give the same numbers, the same
defaults and one short message. Each test failed before its fix. Pages through FastAPI's TestClient on a real
SQLite file, the desktop through its logic layer, the CLI as the installed command."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_exe
from gpucast.desktop import compute, forms_spec
from gpucast.desktop.fields import check_form
from gpucast.store import open_store
from gpucast.web import WebSettings, create_app

HTML = {"Accept": "text/html"}
HISTORY = Path(__file__).resolve().parents[1] / "docs" / "sample-traffic.csv"
TIMELINE = {"model": "deepseek-r1", "gpu": "h200", "input_tokens": "800", "output_tokens": "400", "horizon": "2d"}


@pytest.fixture
def client(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'parity.db'}")
    yield TestClient(create_app(store=store, settings=WebSettings()), raise_server_exceptions=False)
    store.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=120)


def csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, headers=HTML).text).group(1)  # type: ignore[union-attr]


def forecast_page(client: TestClient, fields: dict[str, str]) -> str:
    data = {"csrf_token": csrf(client, "/forecast"), **fields}
    page = client.post(
        "/forecast", data=data, files={"file": ("t.csv", HISTORY.read_bytes(), "text/csv")}, headers=HTML
    )
    assert page.status_code == 200, page.text[-500:]
    return page.text


def page_error(text: str) -> str:
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', text, re.S)
    assert match, text[-500:]
    return match.group(1)


def test_forecast_page_plans_the_checkpoint_precision_as_predict_does(client):
    """The page's precision defaulted to FP16 (a select with no "the checkpoint's" entry): DeepSeek-R1's timeline
    was 96 H200s where `gpucast predict --model deepseek-r1` (FP8, its checkpoint) plans 40."""
    form = client.get("/forecast", headers=HTML).text
    assert re.search(r'<select name="precision">\s*<option value="">the checkpoint', form)
    done = cli("predict", "--history", str(HISTORY), "--json", *[a for k, v in TIMELINE.items()
                                                                 for a in (f"--{k.replace('_', '-')}", v)])  # fmt: skip
    assert done.returncode == 0, done.stderr
    gpus = {row["gpus"] for row in json.loads(done.stdout)["capacity"]}
    page = forecast_page(client, TIMELINE)
    shown = {int(g) for g in re.findall(r'<td class="num">(\d+)</td><td>H200-SXM</td>', page)}
    assert shown == gpus and max(gpus) < 96
    values = {f.name: f.default for f in forms_spec.forecast_fields()} | TIMELINE | {"history": str(HISTORY)}
    assert {row["gpus"] for row in compute.forecast_values(values).timeline} == gpus


def test_plan_page_can_ask_for_the_cli_default_precision(client):
    """The plan page's precision select had no entry for `--precision` left out (GPT-OSS's MXFP4 checkpoint)."""
    assert re.search(
        r'<select name="precision" id="precision">\s*<option value="">the checkpoint', client.get("/").text
    )
    query = {"model": "gpt-oss-20b", "precision": "", "gpu": "l4", "rps": "2", "input_tokens": "500",
             "output_tokens": "200"}  # fmt: skip
    page = client.get("/plan", params=query, headers=HTML).text
    done = cli("inference", "--model", "gpt-oss-20b", "--gpu", "l4", "--rps", "2", "--input-tokens", "500",
               "--output-tokens", "200", "--json")  # fmt: skip
    plan = json.loads(done.stdout)
    assert plan["inputs"]["precision"] == "MXFP4"
    assert f"<b>{plan['gpu_resources']['total_gpus']}</b><span>GPUs (L4)" in page
    assert f"${plan['cost']['monthly_total_cost']:,.0f}" in page


def test_token_fields_read_numbers_as_the_cli_does(client):
    """`--input-tokens 1e3` and `--dataset-size 1e8` are read by the CLI (and the desktop); the pages refused them
    ("must be a whole number")."""
    base = {"model": "llama-3.1-8b", "precision": "FP16", "gpu": "h100-sxm", "rps": "5", "output_tokens": "200"}
    typed, plain = (client.get("/plan", params=base | {"input_tokens": n}, headers=HTML) for n in ("1e3", "1000"))
    assert typed.status_code == 200 and 'id="result"' in typed.text
    assert re.findall(r"<b>[^<]*</b>", typed.text) == re.findall(r"<b>[^<]*</b>", plain.text)
    training = {"model": "llama-3.1-8b", "precision": "BF16", "gpu": "h100-sxm", "dataset_size_tokens": "1e8",
                "sequence_length": "4096.0", "num_epochs": "1", "global_batch_size": "64", "method": "lora"}  # fmt: skip
    page = client.get("/training", params=training, headers=HTML)
    assert page.status_code == 200 and 'id="result"' in page.text
    assert "must be a whole number" in client.get("/plan", params=base | {"input_tokens": "1.5"}, headers=HTML).text
    shown = forecast_page(
        client, {"horizon": "1d", "model": "llama-3.1-8b", "input_tokens": "5e2", "output_tokens": "2e2"}
    )
    assert "500/200" in shown


def test_timeline_inputs_without_a_model_are_named_not_dropped(client):
    """`gpucast predict --gpu h100 --input-tokens 500` without --model warns that they are not used; the page,
    `POST /api/v1/forecast` and the desktop dropped them without a word."""
    page = forecast_page(client, {"horizon": "1d", "gpu": "h100-sxm", "input_tokens": "500", "current_gpus": "4"})
    assert "not used without Model (they size its capacity timeline): GPU, Input tokens, GPUs today" in page
    with HISTORY.open("rb") as handle:
        api = client.post("/api/v1/forecast", data={"horizon": "1d", "gpu": "h100-sxm"},
                          files={"file": ("t.csv", handle, "text/csv")}).json()  # fmt: skip
    assert "not used without model (they size its capacity timeline): gpu" in api["warnings"]
    values = {f.name: f.default for f in forms_spec.forecast_fields()} | {"history": str(HISTORY), "horizon": "1d",
                                                                         "input_tokens": "500"}  # fmt: skip
    done = cli("predict", "--history", str(HISTORY), "--horizon", "1d", "--input-tokens", "500", "--json")
    note = "not used without --model (they size its capacity timeline): --input-tokens"
    assert note in compute.forecast_values(values).warnings and note in json.loads(done.stdout)["warnings"]


def test_a_very_long_value_is_quoted_short_everywhere(client):
    """A 30,000-character value was quoted back whole: a 30 KB error line on the pages, a label 100,000
    characters wide in the window, and as much on the terminal."""
    long = "x" * 30_000
    plan = {"model": "llama-3.1-8b", "rps": "5", "input_tokens": "500", "output_tokens": "200", "slo_percentile": long}
    message = page_error(client.get("/plan", params=plan, headers=HTML).text)
    assert len(message) < 400 and "(30,000 characters)" in message
    forecast = {"csrf_token": csrf(client, "/forecast"), "horizon": long}
    page = client.post("/forecast", data=forecast, files={"file": ("t.csv", HISTORY.read_bytes(), "text/csv")})
    assert len(page_error(page.text)) < 400
    done = cli("inference", "--model", "llama-3.1-8b", "--rps", long, "--input-tokens", "5", "--output-tokens", "5")
    assert done.returncode == 2 and len(done.stderr) < 400 and "(30,000 characters)" in done.stderr
    fields = forms_spec.inference_fields()
    errors, _ = check_form(fields, {f.name: f.default for f in fields} | {"rps": long}, forms_spec.check_inference)
    assert errors["rps"] in done.stderr


def test_unreadable_paths_are_one_line_not_a_traceback(tmp_path):
    """A 300-character history name (ENAMETOOLONG) and a NUL byte in a config.json path were an OSError and a
    ValueError traceback from `gpucast predict`, `gpucast inference --config` and the desktop."""
    done = cli("predict", "--history", "h" * 300 + ".csv")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot be read: File name too long" in done.stderr
    config = tmp_path / "plan.json"
    config.write_text(json.dumps({"model": {"model_config_path": "a\u0000b"}, "workload": {"requests_per_second": 1,
                      "avg_input_tokens": 5, "avg_output_tokens": 5}}))  # fmt: skip
    done = cli("inference", "--config", str(config))
    assert done.returncode == 2 and "a path cannot hold a NUL byte" in done.stderr and "Traceback" not in done.stderr
    fields = forms_spec.inference_fields()
    values = forms_spec.chosen_values({f.name: f.default for f in fields} | {"model_config": "a\x00b"})
    errors, _ = check_form(fields, values, forms_spec.check_inference)
    assert "a path cannot hold a NUL byte" in errors["model_config"]
    forecast = {f.name: f.default for f in forms_spec.forecast_fields()} | {"history": "h" * 300 + ".csv"}
    with pytest.raises(Exception, match="cannot be read: File name too long"):
        compute.forecast_values(forecast)
    long = "p" * 300  # no dot or slash: a profile name, or a file of that name if one exists (ENAMETOOLONG)
    errors, _ = check_form(fields, {f.name: f.default for f in fields} | {"length_profile": long},
                           forms_spec.check_inference)  # fmt: skip
    assert (
        errors["length_profile"].startswith("--length-profile 'ppp") and "(300 characters)" in errors["length_profile"]
    )
    for args in (["report", long + ".json"], ["export", "vllm", long + ".json"]):
        done = cli(*args)
        assert done.returncode == 2 and "cannot be read: File name too long" in done.stderr, done.stderr[-300:]


@pytest.mark.parametrize(("flag", "field", "text", "said"), [
    ("--sequence-length", "seq_len", "1e308", "sequence_length (--sequence-length) 1.00e+308 must be at most 1e+07"),
    ("--dataset-size", "dataset", "1e20", "dataset_size_tokens (--dataset-size) 1.00e+20 must be at most 1e+15"),
    ("--epochs", "epochs", "20000", "num_epochs (--epochs) 20000 must be at most 10000"),
])  # fmt: skip
def test_training_sizes_have_the_rest_bounds_on_every_front_end(client, flag, field, text, said):
    """`--sequence-length 1e308` was an OverflowError traceback and `--dataset-size 1e20` a 1.7e11-hour plan
    (CLI and desktop) while the page and the REST body refused both: the bounds are the input's own now."""
    args = ["training", "--model", "llama-3.1-8b", "--dataset-size", "1e8", "--sequence-length", "4096", "--epochs",
            "1", "--global-batch-size", "64"]  # fmt: skip
    args[args.index(flag) + 1] = text
    done = cli(*args)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
    fields = forms_spec.training_fields()
    errors, _ = check_form(fields, {f.name: f.default for f in fields} | {field: text}, forms_spec.check_training)
    assert errors == {field: said}
    web = {"model": "llama-3.1-8b", "dataset_size_tokens": "1e8", "sequence_length": "4096", "num_epochs": "1",
           "global_batch_size": "64"} | {{"seq_len": "sequence_length", "dataset": "dataset_size_tokens",
                                         "epochs": "num_epochs"}[field]: text}  # fmt: skip
    assert client.get("/training", params=web, headers=HTML).status_code == 422


def test_plan_page_takes_the_engine_as_the_cli_does(client):
    """`--engine` changes the plan (kernels, scheduler, memory); the plan page had no engine and planned vLLM."""
    assert re.search(r'<select name="engine" id="engine">', client.get("/").text)
    query = {"model": "llama-3.1-70b", "precision": "FP8", "gpu": "h100-sxm", "rps": "20", "input_tokens": "500",
             "output_tokens": "200", "engine": "trtllm"}  # fmt: skip
    page = client.get("/plan", params=query, headers=HTML).text
    done = cli("inference", "--json", *[a for k, v in query.items() for a in (f"--{k.replace('_', '-')}", v)])
    plan = json.loads(done.stdout)
    ttft, itl = plan["throughput"]["estimated_ttft_ms"], plan["throughput"]["estimated_itl_ms"]
    assert plan["inputs"]["engine"] == "trtllm" and f"<b>{ttft:,.0f} / {itl:,.0f} ms</b>" in page
    vllm = client.get("/plan", params=query | {"engine": "vllm"}, headers=HTML).text
    assert f"<b>{ttft:,.0f} / {itl:,.0f} ms</b>" not in vllm


def test_training_precisions_are_the_ones_training_takes(client):
    """The training page and window offered the serving precisions (INT4, FP4, MXFP4: refused by the planner)
    and the page not FP32, which `gpucast training --precision FP32` plans."""
    page = client.get("/training", headers=HTML).text
    offered = re.findall(
        r'<option value="([^"]*)"', re.search(r'<select name="precision">(.*?)</select>', page, re.S)[1]
    )
    assert offered == ["BF16", "FP16", "FP8", "FP32"]
    field = next(f for f in forms_spec.training_fields() if f.name == "precision")
    assert field.choices == tuple(offered)
    query = {"model": "llama-3.1-8b", "precision": "FP32", "gpu": "h100-sxm", "dataset_size_tokens": "100000000",
             "sequence_length": "4096", "num_epochs": "1", "global_batch_size": "64", "method": "lora"}  # fmt: skip
    done = cli("training", "--json", "--model", "llama-3.1-8b", "--precision", "FP32", "--gpu", "h100-sxm",
               "--dataset-size", "1e8", "--sequence-length", "4096", "--epochs", "1", "--global-batch-size", "64",
               "--method", "lora")  # fmt: skip
    hours = json.loads(done.stdout)["training_metrics"]["estimated_duration_hours"]
    assert f'<b id="duration">{hours:,.1f} h</b>' in client.get("/training", params=query, headers=HTML).text


def test_services_page_takes_the_tokens_and_slos_service_add_takes(client, tmp_path):
    """A service added on the page had no tokens per request (`service add --input-tokens` has them), so its
    forecast had no capacity timeline and the fleet page refused its capacity plan; the form now has them."""
    from gpucast.store.services import add_user
    from gpucast.store.tokens import create_token

    store = client.app.state.store  # type: ignore[attr-defined]
    with store.write() as session:
        add_user(session, "alice", "admin", actor="alice")
        token = create_token(session, "alice", "alice")[0]
    client.post("/login", data={"csrf_token": csrf(client, "/login"), "token": token, "next": "/"}, headers=HTML)
    fields = {"name": "chat", "team": "ml", "environment": "prod", "criticality": "tier2", "cloud": "aws",
              "region": "us-east-1", "model": "llama-3.1-8b", "input_tokens": "1e3", "output_tokens": "200",
              "ttft_slo_ms": "800", "itl_slo_ms": "40"}  # fmt: skip
    done = client.post("/services", data={"csrf_token": csrf(client, "/services"), **fields}, headers=HTML)
    assert done.status_code == 200 and "<td>1000/200</td>" in done.text
    record = client.get("/api/v1/services/chat").json()
    assert (record["input_tokens"], record["output_tokens"], record["ttft_slo_ms"], record["itl_slo_ms"]) == (
        1000, 200, 800.0, 40.0)  # fmt: skip
    bad = client.post("/services", data={"csrf_token": csrf(client, "/services"), **fields, "name": "b",
                                         "output_tokens": "-5"}, headers=HTML)  # fmt: skip
    assert bad.status_code == 422 and "Output tokens: must be greater than 0" in page_error(bad.text)


@pytest.mark.parametrize(("field", "flag", "value"), [("slo_percentile", "--slo-percentile", "95"),
                                                      ("length_profile", "--length-profile", "sharegpt"),
                                                      ("kv_precision", "--kv-precision", "FP8")])  # fmt: skip
def test_the_window_takes_the_slo_percentile_and_length_profile(field, flag, value):
    """The desktop's serving form had none of these (its SLOs were p99 of fixed-length requests, whatever was meant,
    and its KV cache the engine's default)."""
    fields = forms_spec.inference_fields()
    values = {f.name: f.default for f in fields} | {"gpu": "h100-sxm", "rps": "30", field: value}
    plan = compute.plan_inference_values(values).plan
    done = cli("inference", "--json", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--rps", "30",
               "--input-tokens", "500", "--output-tokens", "200", flag, value)  # fmt: skip
    same = json.loads(done.stdout)
    for part, key in (
        ("throughput", "estimated_ttft_ms"),
        ("throughput", "estimated_itl_ms"),
        ("cost", "monthly_total_cost"),
    ):
        assert plan[part][key] == same[part][key]
    errors, _ = check_form(fields, values | {field: "x"}, forms_spec.check_inference)
    assert errors[field].startswith(f"{flag} 'x' is not one of")


def test_the_window_takes_a_region_as_the_cli_does():
    """The desktop window priced every region of the cloud; `--region` (the CLI's and the plan page's) was missing.
    The same region gives the CLI's cost, and a region of another cloud is the CLI's message as the user types."""
    fields = forms_spec.inference_fields()
    values = {f.name: f.default for f in fields} | {"gpu": "h100-sxm", "rps": "30", "cloud": "lambda",
                                                    "region": "us-east-1"}  # fmt: skip
    plan = compute.plan_inference_values(values).plan
    done = cli("inference", "--json", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--rps", "30", "--input-tokens",
               "500", "--output-tokens", "200", "--cloud", "lambda", "--region", "us-east-1")  # fmt: skip
    same = json.loads(done.stdout)
    assert plan["cost"]["region"] == same["cost"]["region"] == "us-east-1"
    assert plan["cost"]["monthly_total_cost"] == same["cost"]["monthly_total_cost"]
    errors, _ = check_form(fields, values | {"cloud": "gcp"}, forms_spec.check_inference)
    assert errors["region"] == "--region 'us-east-1' is not a region of gcp: it has prices on aws, lambda"


def test_training_help_states_the_default_the_forms_show():
    """`gpucast training --help` said the precision defaults to "the published checkpoint's, else FP16" (the
    serving flag's words) and listed INT4/FP4; a run trains at BF16 unless told, as the page and window show."""
    shown = re.sub(r"\s+", " ", cli("training", "--help").stdout)
    assert "--precision PRECISION BF16, FP16, FP8 or FP32 (default BF16" in shown
    assert next(f for f in forms_spec.training_fields() if f.name == "precision").default == "BF16"
    assert 'value="BF16" selected' in TestClient(create_app("sqlite://")).get("/training", headers=HTML).text


def test_plan_page_takes_kv_precision_tp_pp_and_min_replicas_as_the_cli_does(client):
    """The plan page had no `--kv-precision`, `--tp`, `--pp` or `--min-replicas`, the inputs an experienced user pins
    first; with them the page plans what `gpucast inference` plans, and a bad value is the form's one message."""
    query = {"model": "llama-3.1-70b", "precision": "FP8", "kv_precision": "FP8", "gpu": "h100-sxm", "rps": "10",
             "input_tokens": "1000", "output_tokens": "300", "tp": "2", "min_replicas": "3"}  # fmt: skip
    page = client.get("/plan", params=query, headers=HTML).text
    done = cli("inference", "--model", "llama-3.1-70b", "--precision", "FP8", "--kv-precision", "FP8", "--gpu",
               "h100-sxm", "--rps", "10", "--input-tokens", "1000", "--output-tokens", "300", "--tp", "2",
               "--min-replicas", "3", "--json")  # fmt: skip
    plan = json.loads(done.stdout)
    res, scaling = plan["gpu_resources"], plan["scaling"]
    assert res["tensor_parallel"] == 2 and plan["inputs"]["kv_precision"] == "FP8"
    assert f"<b>{res['total_gpus']}</b><span>GPUs (H100-SXM)" in page
    assert (
        f"<b>{scaling['recommended_min_replicas']}–{scaling['recommended_max_replicas']}</b><span>replicas of TP=2"
        in page
    )
    bad = client.get("/plan", params=query | {"tp": "3"}, headers=HTML)
    assert bad.status_code == 422 and page_error(bad.text).startswith("TP 3 must be a power of two")


def test_training_page_takes_lora_rank_and_the_software_stack_as_the_cli_does(client):
    """The desktop window had `--lora-rank` and `--framework`, the training page neither: a torchtune LoRA run of
    rank 64 could not be planned there. With them the page shows what `gpucast training` plans."""
    query = {"model": "llama-3.1-8b", "precision": "BF16", "gpu": "h100-sxm", "dataset_size_tokens": "1e9",
             "sequence_length": "4096", "num_epochs": "1", "global_batch_size": "64", "method": "lora",
             "lora_rank": "64", "framework": "torchtune"}  # fmt: skip
    page = client.get("/training", params=query, headers=HTML).text
    done = cli("training", "--model", "llama-3.1-8b", "--precision", "BF16", "--gpu-type", "h100-sxm", "--dataset-size",
               "1e9", "--sequence-length", "4096", "--epochs", "1", "--global-batch-size", "64", "--method", "lora",
               "--lora-rank", "64", "--framework", "torchtune", "--json")  # fmt: skip
    plan = json.loads(done.stdout)
    assert plan["inputs"]["framework"] == "torchtune" and plan["inputs"]["lora_rank"] == 64
    assert f"<b>{plan['training_metrics']['total_tokens_per_second']:,.0f}</b><span>tokens/s" in page
    bad = client.get("/training", params=query | {"lora_rank": "0"}, headers=HTML)
    assert bad.status_code == 422 and page_error(bad.text) == "LoRA rank: must be greater than 0"


def test_plan_page_takes_a_region_as_the_cli_does(client):
    """`--region` was the plan page's next missing input: with it the page prices the plan in that region as
    `gpucast inference --region` does, and a region of another cloud is the CLI's one message."""
    query = {"model": "llama-3.1-8b", "precision": "FP16", "rps": "5", "input_tokens": "500", "output_tokens": "200",
             "cloud": "lambda", "region": "us-east-1"}  # fmt: skip
    page = client.get("/plan", params=query, headers=HTML).text
    done = cli("inference", "--model", "llama-3.1-8b", "--precision", "FP16", "--rps", "5", "--input-tokens", "500",
               "--output-tokens", "200", "--cloud", "lambda", "--region", "us-east-1", "--json")  # fmt: skip
    cost = json.loads(done.stdout)["cost"]
    assert cost["region"] == "us-east-1"
    assert f"<b>${cost['monthly_total_cost']:,.0f}</b><span>per month" in page
    bad = client.get("/plan", params=query | {"cloud": "gcp"}, headers=HTML)
    assert bad.status_code == 422 and "is not a region of gcp: it has prices on aws, lambda" in page_error(bad.text)
