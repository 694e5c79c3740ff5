"""Regressions of the hostile-input sweep of 2026-12-07 (helper `badinput`): each input ran through the real
``gpucast`` command in a subprocess, or a real ``gpucast serve``, and was a traceback, a 500, invalid JSON or a run
without an answer before. Each must now be one ``gpucast: error:`` line and exit 2, a structured 4xx, or valid JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import gpucast_exe, gpucast_server
from test_forecast_edges import post_forecast  # the multipart POST the forecast edge tests use

SRC = str(Path(__file__).resolve().parents[1] / "src")


def gpucast(*argv: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command, in a subprocess, over this checkout's sources."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = gpucast_exe() if os.environ.get("GPUCAST_TEST_INSTALLED") else [sys.executable, "-m", "gpucast"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("gpucast: error: "), result.stderr
    return lines[0]


def post_json(base: str, path: str, body: object) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


TINY_RATE = ["--model", "llama-3.1-8b", "--rps", "1e-320", "--input-tokens", "1000", "--output-tokens", "200"]


def test_compare_json_of_a_vanishing_rate_is_valid_json() -> None:
    """``compare --rps 1e-320 --json``: the cost per million tokens overflows to inf; it was written as ``Infinity``
    (not JSON). It is null now, as in ``inference --json``."""
    result = gpucast("compare", *TINY_RATE, "--top", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    rows = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in compare --json"))
    assert rows and all(row["cost_per_million_tokens"] is None for row in rows)
    assert all(row["total_gpus"] >= 1 for row in rows)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("badinput") / "web.db"
    with gpucast_server(f"sqlite:///{db}", "--plan-processes", "0") as running:
        yield running["base"]


def test_rest_compare_of_a_vanishing_rate_is_not_a_500(server: str) -> None:
    """``POST /api/v1/compare`` with 1e-320 req/s was a 500 ("Out of range float values are not JSON compliant")."""
    body = {"workload": {"requests_per_second": 1e-320, "avg_input_tokens": 1000, "avg_output_tokens": 200},
            "model": {"model_name": "llama-3.1-8b"}, "top": 2}  # fmt: skip
    status, raw = post_json(server, "/api/v1/compare", body)
    assert status == 200, raw[:500]
    rows = json.loads(raw)
    assert rows and all(row["cost_per_million_tokens"] is None for row in rows)


def per_second_history(path: Path, rows: int = 600) -> Path:
    lines = ["timestamp,rps"] + [f"2026-01-01T00:{i // 60:02d}:{i % 60:02d},{10 + i % 7}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_per_second_history_over_the_default_horizon_is_refused_not_run_for_minutes(tmp_path: Path) -> None:
    """A history at 1 s steps (or sub-second timestamps, read as 1 s) forecast over the default 14 days was 1.2M
    steps: ~30 s, 3.5 GB and a 196 MB `--json`; 366 days ran out of memory. Now one line naming the steps and the
    way out; a coarser --freq answers."""
    history = per_second_history(tmp_path / "per-second.csv")
    line = one_error_line(gpucast("predict", "--history", str(history), timeout=60))
    assert "'14d' is 1,209,600 steps of 1s, more than the 105,408" in line and "coarser freq" in line
    line = one_error_line(gpucast("predict", "--history", str(history), "--horizon", "366d", timeout=60))
    assert "31,622,400 steps" in line
    subsecond = tmp_path / "subsecond.csv"
    subsecond.write_text("timestamp,rps\n" + "".join(f"2026-01-01T00:00:{i % 60:02d}.{i:03d},{i}\n" for i in
                                                         range(1, 100)))  # fmt: skip
    assert "steps of 1s" in one_error_line(gpucast("predict", "--history", str(subsecond), timeout=60))
    ok = gpucast("predict", "--history", str(history), "--freq", "1min", "--horizon", "1d", "--json")
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)["forecast"]) == 1440


def test_rest_forecast_of_a_per_second_history_is_a_422(server: str, tmp_path: Path) -> None:
    status, body = post_forecast(server, per_second_history(tmp_path / "h.csv").read_bytes())
    assert status == 422 and "more than the 105,408" in body["error"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_rest_forecast_growth_rate_that_is_not_finite_is_named_as_such(server: str, tmp_path: Path, value) -> None:
    """The form field ``growth_rate=nan`` was refused as "Input should be less than or equal to 1000" (NaN fails
    every comparison), as the JSON bodies were before ``allow_inf_nan=False``."""
    status, body = post_forecast(server, per_second_history(tmp_path / "h.csv").read_bytes(), growth_rate=value)
    assert status == 422 and body == {"error": "growth_rate: Input should be a finite number", "field": "growth_rate"}


@pytest.mark.parametrize(
    ("column", "value", "shape"),
    [("allowed_instance_types", -1, "a list of text values"), ("allowed_instance_types", {"a": 1}, "a list of text"),
     ("allowed_instance_types", [1], "a list of text"), ("tags", None, "a list of text values")],
)  # fmt: skip
def test_db_import_refuses_a_service_list_column_of_the_wrong_shape(tmp_path: Path, column, value, shape) -> None:
    """A hand-edited export whose service had ``allowed_instance_types: -1`` (or ``{"a": 1}``) was imported, then
    `inference --service` was a TypeError/KeyError traceback. The import refuses it and leaves nothing behind."""
    source = tmp_path / "source.db"
    added = gpucast("service", "add", "chat", "--team", "t", "--environment", "prod", "--criticality", "tier2",
                    "--cloud", "aws", "--region", "us-east-1", "--model", "llama-3.1-8b", "--db", str(source))  # fmt: skip
    assert added.returncode == 0, added.stderr
    exported = json.loads(gpucast("db", "export", "--db", str(source)).stdout)
    exported["tables"]["services"][0][column] = value
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(exported))
    target = tmp_path / "target.db"
    line = one_error_line(gpucast("db", "import", str(damaged), "--db", str(target)))
    assert f"export table services: {column}" in line and shape in line
    listed = gpucast("service", "list", "--db", str(target), "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


@pytest.mark.parametrize("model_flags", [["--model", "llama-3.1-8b", "--model-size", "0"],
                                         ["--model", "", "--model-size", "70"]])  # fmt: skip
def test_two_model_flags_are_refused_even_when_one_is_zero_or_empty(model_flags) -> None:
    """``--model llama-3.1-8b --model-size 0`` planned the 8B model and dropped the size unsaid (a 0 or '' flag
    counted as not given when a flag replaced a config's model); two model flags are one error line."""
    result = gpucast("inference", *model_flags, "--rps", "5", "--input-tokens", "100", "--output-tokens", "100")
    assert "give only one of --model, --model-config, --model-size" in one_error_line(result)


def test_rest_json_nested_past_the_decoder_is_a_422_that_says_so(server: str) -> None:
    """A body of 100,000 nested arrays was FastAPI's 400 "There was an error parsing the body" (RecursionError)."""
    request = urllib.request.Request(f"{server}/api/v1/inference", data=b"[" * 100_000 + b"]" * 100_000,
                                     method="POST", headers={"Content-Type": "application/json"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 422
    body = json.loads(caught.value.read())
    assert body["field"] == "body" and "not valid JSON: it is nested deeper than the decoder reads" in body["error"]


def test_a_directory_given_as_history_is_named_as_one(tmp_path: Path) -> None:
    """``predict --history DIR`` said "history file 'DIR' not found" of a folder that exists."""
    line = one_error_line(gpucast("predict", "--history", str(tmp_path)))
    assert f"history file {str(tmp_path)!r} is a directory" in line


def test_db_backup_of_a_damaged_database_says_so(tmp_path: Path) -> None:
    """A page overwritten with junk: `service list` still read its row, and `db backup` copied the damage and said
    "backup (sqlite) written" (exit 0), so the one copy kept could be the broken one. Now exit 2, naming the damage."""
    db = tmp_path / "damaged.db"
    added = gpucast("service", "add", "chat", "--team", "t", "--environment", "prod", "--criticality", "tier2",
                    "--cloud", "aws", "--region", "us-east-1", "--db", str(db))  # fmt: skip
    assert added.returncode == 0, added.stderr
    healthy = gpucast("db", "backup", str(tmp_path / "healthy-copy.db"), "--db", str(db))
    assert healthy.returncode == 0 and "backup (sqlite) written" in healthy.stdout, healthy.stderr
    with db.open("r+b") as handle:  # the fourth page (of the 4 KiB pages), inside the schema's tables
        handle.seek(3 * 4096)
        handle.write(b"\xde\xad" * 2048)
    line = one_error_line(gpucast("db", "backup", str(tmp_path / "copy.db"), "--db", str(db)))
    assert f"the database {str(db)!r} is damaged (SQLite quick_check:" in line and "holds the same damage" in line


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    made = gpucast("inference", "--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens",
                   "100", "--output", str(path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    return json.loads(path.read_text())


@pytest.mark.parametrize(("key", "value", "said"), [("assumptions", None, "is null, not a list"),
                                                    ("warnings", -1, "is -1, not a list"),
                                                    ("recommendation", [1], "is [1], not text"),
                                                    ("versions", "x", 'is "x", not an object')])  # fmt: skip
@pytest.mark.parametrize("command", [["report", "--no-alternatives"], ["export", "k8s"]])
def test_a_plan_with_a_damaged_top_level_field_is_one_line(plan_file, tmp_path: Path, key, value, said, command):
    """``warnings: -1`` or ``assumptions: null`` was a TypeError from `report`, ``versions: "x"`` an AttributeError
    from `export k8s` and `report`, ``recommendation: [1]`` a TypeError from `report`: only sections were checked."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_file | {key: value}))
    assert f"plan.json: {key} {said}; re-run the planning command" in one_error_line(gpucast(*command, str(path)))


@pytest.mark.parametrize(("value", "said"), [("x", 'is "x", not number or null'), ([1], "is [1], not number or null"),
                                             (1e308, "is 1e+308: it must lie in (0, 1e+06] billions")])  # fmt: skip
def test_export_k8s_of_a_plan_with_a_damaged_parameter_count_is_one_line(tmp_path: Path, value, said) -> None:
    """A hand-edited plan's ``model.total_params_b`` of text, a list or 1e308 was a ValueError, TypeError or
    OverflowError traceback from `export k8s` (its start-up probe reads the checkpoint size)."""
    plan_path = tmp_path / "plan.json"
    made = gpucast("inference", "--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens",
                   "100", "--output", str(plan_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    plan = json.loads(plan_path.read_text())
    plan["model"]["total_params_b"] = value
    plan_path.write_text(json.dumps(plan))
    assert f"model.total_params_b {said}" in one_error_line(gpucast("export", "k8s", str(plan_path)))


def test_export_k8s_of_a_training_plan_lasting_1e308_hours_is_one_line(tmp_path: Path) -> None:
    """The Job's activeDeadlineSeconds is the duration x 3600 x a factor: 1e308 h was an OverflowError traceback."""
    path = tmp_path / "train.json"
    made = gpucast("training", "--model", "llama-3.1-8b", "--dataset-size", "1e9", "--sequence-length", "4096",
                   "--epochs", "1", "--global-batch-size", "64", "--output", str(path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    plan = json.loads(path.read_text())
    plan["training_metrics"]["estimated_duration_hours"] = 1e308
    path.write_text(json.dumps(plan))
    line = one_error_line(gpucast("export", "k8s", str(path)))
    assert "estimated_duration_hours 1e+308 is past what a Job's activeDeadlineSeconds holds" in line


def test_a_vanishing_rate_is_priced_as_not_applicable_in_the_text(tmp_path: Path) -> None:
    """The text plan printed "$inf (input+output)" where the JSON has null."""
    done = gpucast("inference", "--model", "llama-3.1-8b", "--rps", "1e-320", "--input-tokens", "100",
                   "--output-tokens", "100")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "$inf" not in done.stdout
    assert "n/a: the load serves too few tokens to price per token" in done.stdout


def test_history_with_since_after_until_is_refused(tmp_path: Path) -> None:
    """A reversed range answered "Plan history: none", as if nothing matched."""
    made = gpucast("user", "add", "ada", "--role", "admin", "--db", str(tmp_path / "h.db"))  # a database to read
    assert made.returncode == 0, made.stderr
    done = gpucast("history", "--since", "2027-01-01", "--until", "2026-01-01", "--db", str(tmp_path / "h.db"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--since 2027-01-01T00:00:00 is after --until 2026-01-01T00:00:00" in done.stderr
