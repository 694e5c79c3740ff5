"""``--cloud`` beside ``--clouds``: the second decides the providers, so a first outside them is refused, not
dropped (QA 2026-12-07: ``--cloud aws --clouds gcp`` planned on GCP with exit 0)."""

from __future__ import annotations

import json

import pytest

from gpucast.cli.main import main
from gpucast.errors import InputError
from gpucast.inputs.offers import check_cloud_choice

PLAN = ["--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens", "200"]


@pytest.mark.parametrize("command", [["inference"], ["compare", "--top", "1"]])
def test_a_cloud_outside_the_clouds_searched_is_refused(command, capsys) -> None:
    assert main([*command, *PLAN, "--cloud", "aws", "--clouds", "gcp"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cloud 'aws' is not among --clouds 'gcp'" in err[0], err


def test_a_cloud_among_the_clouds_or_all_is_kept(capsys) -> None:
    assert main(["inference", *PLAN, "--cloud", "GCP", "--clouds", "aws,gcp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)
    assert main(["inference", *PLAN, "--cloud", "aws", "--clouds", "all", "--json"]) == 0
    capsys.readouterr()


def test_the_check_reads_every_adapters_serving_section() -> None:
    check_cloud_choice({"cloud": "aws"})  # one of them alone: nothing to check
    check_cloud_choice({"clouds": ["gcp"]})
    check_cloud_choice({"cloud": "gcp", "clouds": ["aws", "GCP"]})
    with pytest.raises(InputError, match="not among --clouds"):
        check_cloud_choice({"cloud": "aws", "clouds": ["gcp", "lambda"]})


def test_rest_refuses_it_as_a_422(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    client = TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}"))
    plan = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
            "model": {"model_name": "llama-3.1-8b"}, "serving": {"cloud": "aws", "clouds": "gcp"}}  # fmt: skip
    refused = client.post("/api/v1/inference", json=plan)
    assert refused.status_code == 422, refused.text
    assert "not among --clouds" in refused.text
