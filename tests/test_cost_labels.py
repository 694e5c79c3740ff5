"""Every cost label says what its number is (issue 18, item 3): the training page showed an 8 x B200 instance's
$114/hour as "per GPU-hour" (one GPU is about $14.2). Each test pins the labels of one surface (page, report, CLI
table, chat) to the plan's own fields, whose definitions are in ``plans/inference.py`` and ``plans/training.py``, and the
per-GPU price to the catalog's instance price over the instance's GPUs."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, TrainingInput, TrainingOptions
from gpucast.catalog import loader
from gpucast.chat.explain import explain_inference, explain_training
from gpucast.cli.main import main
from gpucast.planning.inference import plan_inference
from gpucast.reports.content import build_report
from gpucast.training.plan import plan_training
from gpucast.web import create_app

B200_RUN = {"model": "llama-3.1-8b", "precision": "BF16", "gpu": "B200", "num_gpus": "8", "method": "full",
            "dataset_size_tokens": "1000000000", "sequence_length": "4096", "num_epochs": "1",
            "global_batch_size": "64", "cloud": "aws", "pricing": "on-demand"}  # fmt: skip
H100_32 = ["--model", "llama-3.1-70b", "--method", "full", "--num-gpus", "32", "--dataset-size", "2000000000",
           "--sequence-length", "4096", "--epochs", "1", "--global-batch-size", "256", "--gpu-type", "H100"]  # fmt: skip
SERVING = ["--model", "llama-3.1-70b", "--gpu-type", "H100", "--rps", "30", "--input-tokens", "500", "--output-tokens",
           "200"]  # fmt: skip


def catalog_gpu_hour(instance_type: str, pricing: str = "on-demand") -> float:
    """One GPU's hourly price: the instance's published price over its GPUs."""
    offer = next(p for p in loader.load_prices() if p.instance_type == instance_type)
    price = offer.hourly(pricing)
    assert price is not None
    return price / offer.gpus


def page_money(value: float) -> str:
    return f"${value:,.0f}"


def report_money(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:,.2f}"


def figures(page: str) -> dict[str, str]:
    """The headline figures of a result page: label (the span) -> value (the bold text)."""
    pairs = re.findall(r"<div><b[^>]*>([^<]*)</b><span>([^<]*)</span></div>", page)
    return {html.unescape(label): html.unescape(value) for value, label in pairs}


def training_plan_of(run: dict[str, str]):
    return plan_training(
        TrainingInput(int(run["dataset_size_tokens"]), int(run["sequence_length"]), int(run["num_epochs"]),
                      int(run["global_batch_size"])),
        ModelConfig(model_name=run["model"], precision=run["precision"]),
        GPUConfig(run["gpu"]),
        TrainingOptions(method=run["method"], num_gpus=int(run["num_gpus"]), cloud=run["cloud"]),
    )  # fmt: skip


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------- training


def test_the_training_plan_carries_the_price_of_one_gpu_hour():
    plan = training_plan_of(B200_RUN)
    cost = plan.cost
    assert cost is not None and cost.instances == 1 and plan.gpu_resources.required_gpus == 8
    assert cost.gpu_hourly_cost == pytest.approx(catalog_gpu_hour(cost.instance_type))
    assert cost.gpu_hourly_cost == pytest.approx(cost.gpu_cost_per_hour / 8)  # one 8-GPU instance
    assert 14.0 < cost.gpu_hourly_cost < 14.5  # the "about $14.2"
    # gpu_cost_per_hour stays what the total is made of: every instance of the run, per hour
    metrics = plan.training_metrics
    assert cost.total_training_cost == pytest.approx(cost.gpu_cost_per_hour * metrics.estimated_duration_hours)


def test_the_training_page_labels_one_gpu_hour_and_the_whole_run_per_hour(tmp_path):
    plan = training_plan_of(B200_RUN)
    cost = plan.cost
    assert cost is not None
    with TestClient(create_app(f"sqlite:///{tmp_path / 'pages.db'}")) as client:
        response = client.get("/training", params=B200_RUN)
    assert response.status_code == 200, response.text
    shown = figures(response.text)
    gpu_hour = [value for label, value in shown.items() if "GPU-hour" in label]
    assert gpu_hour == [f"${catalog_gpu_hour(cost.instance_type):,.2f}"], shown  # $14.24, not $114
    per_hour = f"per hour for {cost.instances} × {cost.instance_type}"
    assert shown[per_hour] == page_money(cost.gpu_cost_per_hour), shown
    total = f"total ({cost.cloud} {cost.instance_type} ×{cost.instances}, {cost.pricing})"
    assert shown[total] == page_money(cost.total_training_cost), shown


def test_a_training_page_without_a_price_shows_no_cost_figures(tmp_path):
    # GH200 has no AWS price: the plan's cost is None and the page said so with a 500 (the figures read its fields)
    run = B200_RUN | {"gpu": "gh200", "method": "lora"}
    with TestClient(create_app(f"sqlite:///{tmp_path / 'pages.db'}")) as client:
        response = client.get("/training", params=run)
    assert response.status_code == 200, response.text[-300:]
    assert not any("hour" in label or "total (" in label for label in figures(response.text))
    assert "no on-demand price for GH200" in response.text


def test_the_training_report_labels_one_gpu_hour_and_all_instances_per_hour(capsys):
    plan = json.loads(cli(["training", *H100_32, "--json"], capsys))
    cost = plan["cost"]
    assert cost["instances"] == 4
    report = build_report(plan, alternatives=False)
    rows = dict(next(t for t in report.tables if t.title == "Cost").rows)
    assert rows["per GPU-hour"] == report_money(catalog_gpu_hour(cost["instance_type"])) == "$6.88"
    assert rows["per hour (all instances)"] == report_money(cost["gpu_cost_per_hour"]) == "$220"
    assert rows["per epoch"] == report_money(cost["cost_per_epoch"])
    assert rows["total"] == report_money(cost["total_training_cost"])
    assert dict(report.key_figures)["total cost"] == report_money(cost["total_training_cost"])


def test_a_stored_training_plan_without_the_gpu_hour_price_still_reports(capsys):
    plan = json.loads(cli(["training", *H100_32, "--json"], capsys))
    del plan["cost"]["gpu_hourly_cost"]  # plans saved before the field existed
    rows = dict(next(t for t in build_report(plan, alternatives=False).tables if t.title == "Cost").rows)
    assert rows["per GPU-hour"] == "—" and rows["per hour (all instances)"] == "$220"


def test_the_training_cli_table_says_the_hourly_price_is_for_all_instances(capsys):
    plan = json.loads(cli(["training", *H100_32, "--json"], capsys))
    cost = plan["cost"]
    out = cli(["training", *H100_32], capsys)
    line = next(line for line in out.splitlines() if "Instances" in line)
    assert (f"4 x p5.48xlarge: ${cost['gpu_cost_per_hour']:,.2f}/hour in all "
            f"(${catalog_gpu_hour('p5.48xlarge'):,.2f} per GPU-hour)") in line, line  # fmt: skip


def test_the_training_chat_explanation_gives_the_whole_run_cost():
    plan = training_plan_of(B200_RUN)
    assert plan.cost is not None
    line = next(line for line in explain_training(plan) if line.startswith("Cost:"))
    assert line == f"Cost: about {page_money(plan.cost.total_training_cost)} on aws (on-demand)."


# ---------------------------------------------------------------------------------------------------- serving


def serving_plan():
    return plan_inference(LLMWorkloadInput(30, 500, 200), ModelConfig(model_name="llama-3.1-70b"), GPUConfig("H100"))


def test_the_plan_page_labels_the_monthly_fleet_and_the_token_cost(tmp_path):
    plan = serving_plan()
    cost = plan.cost
    assert cost is not None and cost.instances > 1
    query = {"model": "llama-3.1-70b", "gpu": "H100", "rps": "30", "input_tokens": "500", "output_tokens": "200",
             "cloud": "aws", "pricing": "on-demand"}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'pages.db'}")) as client:
        response = client.get("/plan", params=query)
    assert response.status_code == 200, response.text
    shown = figures(response.text)
    monthly = f"per month at max replicas ({cost.instances} × {cost.instance_type}, {cost.cloud} {cost.pricing})"
    assert shown[monthly] == page_money(cost.monthly_total_cost), shown
    assert shown["per million tokens (input + output)"] == f"${cost.cost_per_million_tokens:,.2f}", shown


def test_the_serving_report_labels_match_the_plan_fields(capsys):
    plan = json.loads(cli(["inference", *SERVING, "--json"], capsys))
    cost = plan["cost"]
    report = build_report(plan, alternatives=False)
    figures_ = dict(report.key_figures)
    assert figures_["monthly cost (max replicas)"] == report_money(cost["monthly_total_cost"])
    assert figures_["cost per million tokens (input + output)"] == report_money(cost["cost_per_million_tokens"])
    rows = dict(next(t for t in report.tables if t.title == "Cost").rows)
    assert rows["per GPU-hour"] == report_money(catalog_gpu_hour(cost["instance_type"])) == "$6.88"
    assert rows["monthly (max replicas)"] == report_money(cost["monthly_total_cost"])
    assert rows["monthly (min replicas)"] == report_money(cost["monthly_cost_at_min_replicas"])
    assert rows["per million tokens (input + output)"] == report_money(cost["cost_per_million_tokens"])


def test_the_serving_cli_table_labels_match_the_plan_fields(capsys):
    cost = json.loads(cli(["inference", *SERVING, "--json"], capsys))["cost"]
    out = cli(["inference", *SERVING], capsys)
    lines = {line.strip().split("  ")[0]: line for line in out.splitlines() if line.startswith(" ") and "  " in line}
    gpu_hour = catalog_gpu_hour(cost["instance_type"])
    assert f"{cost['instances']} x {cost['instance_type']} (${gpu_hour:.2f} per GPU-hour)" in lines["Instances"]
    assert (f"${cost['monthly_gpu_cost']:,.0f} at max replicas, ${cost['monthly_cost_at_min_replicas']:,.0f} at min "
            "replicas") in lines["Monthly GPU cost"]  # fmt: skip
    assert (f"${cost['cost_per_million_tokens']:.3f} (input+output), ${cost['cost_per_million_output_tokens']:.3f} "
            "per million output tokens") in lines["Cost per million tokens"]  # fmt: skip


def test_the_serving_chat_explanation_labels_match_the_plan_fields():
    plan = serving_plan()
    cost = plan.cost
    assert cost is not None
    line = next(line for line in explain_inference(plan, []) if line.startswith("Cost:"))
    assert f"{page_money(cost.monthly_gpu_cost)} a month at peak size" in line
    assert f"{page_money(cost.monthly_cost_at_min_replicas)} at the minimum" in line
    assert f"${cost.cost_per_million_tokens:.2f} per million tokens (input + output)" in line
