"""Regressions of the hostile-input sweep of 2026-12-08 (helper `badinput`, second round): each input ran through
the real ``gpucast`` command in a subprocess and created a file it should not have, printed ``None`` where a value
was missing, was a traceback, or stored a name no command could name after. Each must now be one
``gpucast: error:`` line and exit 2 (naming the value and what is accepted), or an answer without ``None``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_bad_input_sweep import gpucast, one_error_line

SERVICE = ["--team", "t", "--environment", "prod", "--criticality", "tier2", "--cloud", "aws", "--region", "us-east-1"]


@pytest.mark.parametrize(
    "command",
    [["service", "list"], ["service", "show", "chat"], ["service", "update", "chat", "--region", "eu-west-1"],
     ["service", "plan", "chat"], ["history"], ["history", "show", "1"], ["metrics", "list", "chat"],
     ["request", "list"], ["request", "approve", "1"], ["token", "list"], ["user", "list"], ["db", "info"],
     ["inference", "--service", "chat"]],
)  # fmt: skip
def test_a_command_that_needs_a_database_creates_none(tmp_path: Path, command: list[str]) -> None:
    """`service list --db /tmp/nope/x.db` created the folder and an empty database, then answered "Services: none"
    (and `service show chat` "service 'chat' does not exist"), leaving the file behind. Only the commands that add
    the first records create a database now; the rest say there is none, naming the path."""
    target = tmp_path / "nope" / "x.db"
    line = one_error_line(gpucast(*command, "--db", str(target), cwd=tmp_path))
    assert f"no database at {target} (from --db; its folder does not exist either)" in line
    assert "create one with `gpucast service add NAME ...`" in line
    assert sorted(tmp_path.iterdir()) == []


def test_the_missing_database_is_named_by_where_its_url_came_from(tmp_path: Path, monkeypatch) -> None:
    """A database named by $GPUCAST_DATABASE_URL was reported as "--db ..." though no --db was given."""
    target = tmp_path / "env.db"
    monkeypatch.setenv("GPUCAST_DATABASE_URL", str(target))  # gpucast() passes the environment on
    line = one_error_line(gpucast("service", "list"))
    assert f"no database at {target} (from $GPUCAST_DATABASE_URL)" in line and not target.exists()


def test_the_commands_that_add_the_first_records_still_create_the_database(tmp_path: Path) -> None:
    target = tmp_path / "new" / "x.db"
    added = gpucast("service", "add", "chat", *SERVICE, "--db", str(target))
    assert added.returncode == 0, added.stderr
    listed = gpucast("service", "list", "--db", str(target), "--json")
    assert listed.returncode == 0 and [row["name"] for row in json.loads(listed.stdout)] == ["chat"]
    saved = gpucast("inference", "--model", "llama-3.1-8b", "--rps", "1",
                    "--input-tokens", "100", "--output-tokens", "100", "--save", "--db", str(tmp_path / "plans.db"))  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "plans.db").is_file()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> dict:
    source = tmp_path_factory.mktemp("export") / "source.db"
    for argv in (["user", "add", "ada", "--role", "admin"], ["service", "add", "chat", *SERVICE]):
        done = gpucast(*argv, "--db", str(source), "--as", "ada")
        assert done.returncode == 0, done.stderr
    return json.loads(gpucast("db", "export", "--db", str(source)).stdout)


@pytest.mark.parametrize(("table", "name"), [("services", ""), ("services", "   "), ("services", "chat\x1b[2J"),
                                             ("services", " chat"), ("services", "chat\n"), ("users", ""),
                                             ("users", "ada\x07")])  # fmt: skip
def test_db_import_checks_names_as_add_does(tmp_path: Path, export: dict, table: str, name: str) -> None:
    """`db import` stored a service named '' (or blank, or with a terminal escape): `service show` could not name
    it, `service list` printed an empty cell. It is refused now, naming the row, as `service add ''` is."""
    data = json.loads(json.dumps(export))
    data["tables"][table][0]["name"] = name
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    line = one_error_line(gpucast("db", "import", str(path), "--db", str(tmp_path / "target.db")))
    assert f"export table {table}, row id 1: {table.rstrip('s')} name {name!r}" in line
    assert "is not valid: use" in line and "correct the name in the export file" in line


def test_db_import_restores_a_service_name_stored_before_the_naming_rule(tmp_path: Path, export: dict) -> None:
    """Service names were any text before 2026-12-04 and such services are kept: their export still restores."""
    data = json.loads(json.dumps(export))
    data["tables"]["services"][0]["name"] = "Chat Bot_v1"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    target = tmp_path / "target.db"
    done = gpucast("db", "import", str(path), "--db", str(target))
    assert done.returncode == 0, done.stderr
    shown = gpucast("service", "show", "Chat Bot_v1", "--db", str(target), "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["name"] == "Chat Bot_v1"


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("plans")
    made = {}
    for kind, argv in (("inference", ["inference", "--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500",
                                      "--output-tokens", "100", "--speculative-tokens", "3", "--acceptance-rate",
                                      "0.7"]),
                       ("training", ["training", "--model", "llama-3.1-8b", "--dataset-size", "1e6", "--method",
                                     "lora", "--sequence-length", "2048", "--epochs", "1", "--global-batch-size",
                                     "64"])):  # fmt: skip
        done = gpucast(*argv, "--output", str(folder / f"{kind}.json"))
        assert done.returncode == 0, done.stderr
        made[kind] = json.loads((folder / f"{kind}.json").read_text())
    return made


def _edited(plan: dict, path: tuple, value: object) -> dict:
    copy = json.loads(json.dumps(plan))
    where = copy
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("kind", "path", "value", "said", "command"),
    [("inference", ("assumptions", 0), None, "assumptions[0] is null, not text", ["report", "--format", "html"]),
     ("inference", ("warnings", 0), 7, "warnings[0] is 7, not text", ["report", "--format", "html"]),
     ("inference", ("versions", "gpucast"), [], "versions.gpucast is [], not text", ["report", "--format", "html"]),
     ("inference", ("inputs", "acceptance_rate"), "x", 'inputs.acceptance_rate is "x", not number or null',
      ["export", "estimate"]),
     ("training", ("inputs", "num_epochs"), None, "inputs.num_epochs is null, not number", ["export", "k8s"]),
     ("training", ("inputs", "method"), None, "inputs.method is null, not string", ["report"]),
     ("training", ("inputs", "sequence_length"), None, "inputs.sequence_length is null, not integer",
      ["export", "k8s"]),
     ("training", ("inputs", "lora_targets"), [None, "k"], "inputs.lora_targets is [null, \"k\"], not a list of text",
      ["report"])],
)  # fmt: skip
def test_a_plan_with_a_null_or_wrong_required_field_is_one_line(tmp_path: Path, plans, kind, path, value, said,
                                                                command) -> None:  # fmt: skip
    """A hand-edited plan's null (or a number for text) was "None" in `report` ("- None" among the assumptions,
    "Llama-3.1-8B (None)" in the title) and in `export k8s` (``GPUCAST_EPOCHS: None``), or a TypeError and an
    AttributeError of the HTML report, or a ValueError of `export estimate`. Now one line naming the field."""
    file = tmp_path / "plan.json"
    file.write_text(json.dumps(_edited(plans[kind], path, value)))
    assert f"plan.json: {said}; re-run the planning command" in one_error_line(gpucast(*command, str(file)))


@pytest.mark.parametrize(
    ("path", "shown"),
    [(("model", "source"), "Model architecture: —"), (("versions", "models_catalog"), "models_catalog n/a"),
     (("versions", "gpucast"), "_gpucast  inference plan report")],
)  # fmt: skip
def test_an_optional_field_that_is_null_reads_as_not_known(tmp_path: Path, plans, path, shown) -> None:
    """Provenance a plan may lack printed as "None" in the report ("Model architecture: None", "models_catalog
    None", "gpucast None inference plan"); it reads as unknown now, and the plan still reports."""
    file = tmp_path / "plan.json"
    file.write_text(json.dumps(_edited(plans["inference"], path, None)))
    done = gpucast("report", "--no-alternatives", str(file))
    assert done.returncode == 0, done.stderr
    assert shown in done.stdout and "None" not in done.stdout


def test_a_stale_price_without_its_age_reads_without_none(tmp_path: Path, plans) -> None:
    plan = _edited(plans["inference"], ("cost", "price_stale"), True)
    file = tmp_path / "plan.json"
    file.write_text(json.dumps(_edited(plan, ("cost", "price_age_days"), None)))
    done = gpucast("report", "--no-alternatives", str(file))
    assert done.returncode == 0, done.stderr
    assert "None" not in done.stdout and "- Prices are as of " in done.stdout


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    done = gpucast("forecast", "--generate-config", "inference")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("section", "key", "said"), [
    ("workload", "avg_input_tokens", "avg_input_tokens (--input-tokens) 1.00e+400 must be at most 1e+07"),
    ("serving", "safety_margin", "--safety-margin 1.00e+400 must be between 0 and 10"),
    ("gpu", "target_gpu_utilization", "(--target-gpu-utilization) 1.00e+400 must be"),
])  # fmt: skip
def test_a_config_number_past_a_float_is_one_line(tmp_path: Path, config: str, section, key, said) -> None:
    """A JSON whole number past a float's range (10**400) was an OverflowError traceback from math.isfinite; the
    messages that quoted it printed 401 digits. One line now, the number in e-notation."""
    data = json.loads(config)
    data[section][key] = 10**400
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    line = one_error_line(gpucast("forecast", "--config", str(path)))
    assert said in line and "0000000000" not in line


def test_a_config_key_given_twice_is_refused(tmp_path: Path, config: str) -> None:
    """``"requests_per_second": 10, "requests_per_second": 99`` planned 99 without a word (JSON's last-wins)."""
    path = tmp_path / "config.json"
    path.write_text(
        config.replace('"requests_per_second": 10.0', '"requests_per_second": 10.0, "requests_per_second": 99')
    )
    line = one_error_line(gpucast("forecast", "--config", str(path)))
    assert "key 'requests_per_second' is given twice in one object (10.0, then 99); give it once" in line


def test_a_config_that_is_not_utf8_says_so(tmp_path: Path, config: str) -> None:
    """A Latin-1 "é" was "is not valid JSON", which the file is, in another encoding."""
    path = tmp_path / "config.json"
    path.write_bytes(config.replace("llama-3.1-70b", "llam\xe9").encode("latin-1"))
    line = one_error_line(gpucast("forecast", "--config", str(path)))
    assert "is not UTF-8 text (byte 0xe9 at offset" in line and "save it as UTF-8" in line


def test_a_history_value_past_a_float_is_named_as_a_number(tmp_path: Path) -> None:
    """``1e309`` in a history's rps column was "is not a number": it is one, past the largest float."""
    history = tmp_path / "h.csv"
    history.write_text("timestamp,rps\n" + "".join(f"2026-01-01T{h:02d}:00:00,{'1e309' if h == 5 else 10}\n"
                                                   for h in range(24)))  # fmt: skip
    line = one_error_line(gpucast("predict", "--history", str(history), "--horizon", "1d"))
    assert "value '1e309' in column 'rps' is past the largest number a float holds (1.8e308)" in line
