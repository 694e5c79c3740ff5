"""The database commands end to end through ``gpucast.cli.main.main`` on a real SQLite file."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta

import pytest

from gpucast.cli.main import main

SERVICE = ["service", "add", "chat", "--team", "ml", "--environment", "prod", "--criticality", "tier1", "--cloud",
           "aws", "--region", "us-east-1"]  # fmt: skip
WORKLOAD = ["--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens", "200"]


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def _history_csv(path, days=21):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "rps", "input_tokens", "output_tokens"])
        for h in range(24 * days):
            writer.writerow([(datetime(2025, 1, 1) + timedelta(hours=h)).isoformat(),
                             round(5 + 3 * math.sin(h / 24 * 2 * math.pi), 3), 500, 200])  # fmt: skip


def test_request_workflow_with_the_issue_forms(db, capsys):
    assert run(capsys, "user", "add", "alice", "--role", "requester")[0] == 0
    assert run(capsys, "user", "add", "bob", "--role", "approver")[0] == 0
    assert run(capsys, *SERVICE, "--as", "alice")[0] == 0
    created = ok_json(capsys, "request", "create", "--service", "chat", "--gpu-type", "H100", "--count", "8",
                      "--region", "us-east-1", "--justification", "launch", "--as", "alice")  # fmt: skip
    rid = str(created["id"])
    assert created["status"] == "draft" and created["monthly_cost"] > 0
    assert run(capsys, "request", "submit", rid, "--as", "alice")[0] == 0
    code, out, err = run(capsys, "request", "approve", rid, "--as", "alice")
    assert code == 2 and out == "" and err.count("\n") == 1 and "'alice' has the role requester" in err
    code, _, err = run(capsys, "request", "provision", rid, "--as", "bob")
    assert code == 2 and "cannot provision a request that is submitted" in err
    assert run(capsys, "request", "approve", rid, "--comment", "budget ok", "--as", "bob")[0] == 0
    assert run(capsys, "request", "provision", rid, "--as", "bob")[0] == 0
    shown = ok_json(capsys, "request", "show", rid)
    assert shown["status"] == "provisioned" and shown["approver"] == "bob"
    assert [h["to"] for h in shown["history"]] == ["draft", "submitted", "approved", "provisioned"]
    assert shown["history"][2]["comment"] == "budget ok"
    assert [r["id"] for r in ok_json(capsys, "request", "list", "--status", "provisioned")] == [created["id"]]


def test_service_commands_and_errors(db, capsys):
    assert run(capsys, *SERVICE, "--model", "llama-3.1-8b", "--gpus", "H100,L40S", "--tags", "a,b")[0] == 0
    code, _, err = run(capsys, *SERVICE)
    assert code == 2 and "service 'chat' already exists" in err
    code, _, err = run(capsys, "service", "add", "x", "--team", "t", "--environment", "prod", "--criticality",
                       "tier1", "--cloud", "mars", "--region", "r")  # fmt: skip
    assert code == 2 and "--cloud 'mars'" in err
    assert run(capsys, "service", "update", "chat", "--region", "eu-west-1", "--itl-slo-ms", "50")[0] == 0
    shown = ok_json(capsys, "service", "show", "chat")
    assert shown["region"] == "eu-west-1" and shown["allowed_instance_types"] == ["H100-SXM", "L40S"]
    assert shown["defaults"] == {"safety_margin": 0.4, "min_replicas": 3, "zones": 3}
    assert [s["name"] for s in ok_json(capsys, "service", "list")] == ["chat"]
    assert run(capsys, "service", "delete", "chat")[0] == 0
    code, _, err = run(capsys, "service", "show", "chat")
    assert code == 2 and "service 'chat' does not exist" in err


def test_save_on_every_planning_command_then_history(db, capsys, tmp_path):
    assert run(capsys, *SERVICE, "--as", "alice")[0] == 0
    history = tmp_path / "h.csv"
    _history_csv(history, days=15)
    commands = [
        ["forecast", "--mode", "inference", *WORKLOAD],
        ["inference", *WORKLOAD, "--service", "chat"],
        ["training", "--model", "llama-3.1-8b", "--dataset-size", "100000000", "--sequence-length", "2048",
         "--epochs", "1", "--global-batch-size", "64"],
        ["training-estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "8", "--seq-len", "2048",
         "--micro-batch", "1"],
        ["estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1", "--input-tokens", "500",
         "--output-tokens", "200", "--concurrency", "8"],
        ["compare", *WORKLOAD, "--top", "3"],
        ["predict", "--history", str(history), "--horizon", "2d", "--save-service", "chat"],
    ]  # fmt: skip
    results = []
    for argv in commands:
        code, out, err = run(capsys, *argv, "--json", "--save", "--as", "alice")
        assert code == 0, err
        assert "plan saved as" in err
        results.append(json.loads(out))
    plans = ok_json(capsys, "history", "--sort", "id")
    assert [p["command"] for p in plans] == [c[0] for c in commands]
    assert [p["kind"] for p in plans] == ["inference", "inference", "training", "training", "inference",
                                          "inference", "forecast"]  # fmt: skip
    assert plans[1]["service"] == "chat" and plans[0]["service"] is None and plans[-1]["service"] == "chat"
    full = ok_json(capsys, "history", "show", str(plans[1]["id"]))
    assert full["result"] == results[1]  # exactly what --json printed
    assert full["created_by"] == "alice" and full["gpucast_version"] and "gpus_catalog" in full["catalog_versions"]
    assert results[1]["gpu_resources"]["min_replicas"] >= 3  # tier1 service: at least 3 replicas over 3 zones
    assert [p["command"] for p in ok_json(capsys, "history", "--service", "chat", "--kind", "inference")] == [
        "inference"
    ]
    by_cost = [p["monthly_cost"] for p in ok_json(capsys, "history", "--sort=-monthly_cost", "--kind", "inference")]
    known = [c for c in by_cost if c is not None]
    assert known == sorted(known, reverse=True)
    assert [p["id"] for p in ok_json(capsys, "history", "--sort", "id", "--desc")] == [p["id"] for p in plans][::-1]
    diff = ok_json(capsys, "history", "diff", str(plans[0]["id"]), str(plans[1]["id"]))
    fields = {row["field"]: (row["a"], row["b"]) for row in diff}
    assert "inputs.sections.serving.min_replicas" in fields  # the tier-1 service's availability floor
    assert all(a != b for a, b in fields.values())
    replicas = [r["gpu_resources"]["min_replicas"] for r in results[:2]]  # in the diff exactly when they differ
    assert ("result.gpu_resources.min_replicas" in fields) == (replicas[0] != replicas[1])
    code, out, _ = run(capsys, "history", "--csv", "-")
    assert code == 0 and out.splitlines()[0].startswith("id,created_at,kind") and len(out.splitlines()) == 8
    code, _, err = run(capsys, "history", "--sort", "colour")
    assert code == 2 and "--sort 'colour' is not one of" in err


def test_metrics_import_and_service_plan(db, capsys, tmp_path):
    assert run(capsys, *SERVICE, "--model", "llama-3.1-8b", "--gpus", "L40S")[0] == 0
    path = tmp_path / "m.csv"
    _history_csv(path)
    first = ok_json(capsys, "metrics", "import", "chat", str(path))
    again = ok_json(capsys, "metrics", "import", "chat", str(path))
    assert (first["added"], again["added"], again["unchanged"]) == (504, 0, 504)
    plan = ok_json(capsys, "service", "plan", "chat", "--horizon", "3d", "--save")
    rec = plan["recommendation"]
    assert rec["gpu_type"] == "L40S" and rec["zones"] == 3 and rec["replicas"] % 3 == 0 and rec["replicas"] >= 3
    assert plan["defaults"]["safety_margin"] == 0.4 and plan["plan_id"] == 1
    saved = ok_json(capsys, "history", "show", "1")
    assert saved["kind"] == "forecast" and saved["gpu_type"] == "L40S" and saved["total_gpus"] == rec["gpus"]
    code, out, _ = run(capsys, "service", "plan", "chat", "--horizon", "3d")
    assert code == 0 and "Recommendation:" in out
    code, _, err = run(capsys, "metrics", "import", "nope", str(path))
    assert code == 2 and "service 'nope' does not exist" in err


def test_db_export_import_backup_commands(db, capsys, tmp_path):
    assert run(capsys, "user", "add", "ada", "--role", "admin")[0] == 0
    code, _, err = run(capsys, "user", "add", "eve", "--role", "approver", "--as", "eve")
    assert code == 2 and "only an admin may add users" in err
    assert run(capsys, *SERVICE, "--as", "ada")[0] == 0
    export = tmp_path / "export.json"
    assert run(capsys, "db", "export", str(export))[0] == 0
    copy = tmp_path / "copy.db"
    assert run(capsys, "db", "import", str(export), "--db", str(copy))[0] == 0
    assert run(capsys, "db", "export", str(tmp_path / "again.json"), "--db", str(copy))[0] == 0
    assert (tmp_path / "again.json").read_text() == export.read_text()
    code, _, err = run(capsys, "db", "import", str(export), "--db", str(copy))
    assert code == 2 and "not empty" in err
    assert run(capsys, "db", "backup", str(tmp_path / "b.db"))[0] == 0
    info = ok_json(capsys, "db", "info", "--db", str(tmp_path / "b.db"))
    assert info["rows"]["services"] == 1 and info["schema_revision"] == "0003"


def test_docs_store_python_example_runs(tmp_path, monkeypatch):
    """The Python API page's store example is real code: run it against a fresh database."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "python-api.md").read_text(encoding="utf-8")
    section = page[page.index("## The store") :]
    code = section[
        section.index("```python") + len("```python") : section.index("```\n", section.index("```python") + 9)
    ]
    monkeypatch.chdir(tmp_path)
    _history_csv(tmp_path / "traffic.csv")
    exec(compile(code, "docs/python-api.md", "exec"), {})
    from gpucast.store import open_store
    from gpucast.store.workflow import get_request

    with open_store("sqlite:///capacity.db") as store, store.read() as s:
        assert get_request(s, 1).status == "approved"


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_a_bad_history_date_is_named_not_the_parsers_function(db, capsys, flag):
    """`gpucast history --since 2026-13-01` said "invalid _when value" (the type function's name)."""
    with pytest.raises(SystemExit) as exited:  # argparse's own exit, as for every flag it refuses
        main(["history", flag, "2026-13-01"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and "_when" not in err
    assert f"argument {flag}: timestamp '2026-13-01' is not ISO 8601 or epoch seconds" in err


@pytest.mark.parametrize("argv", [["db", "export", "{db}"], ["db", "export", "{db}-wal"], ["history", "--csv", "{db}"]])
def test_an_export_never_overwrites_the_database_itself(db, capsys, argv):
    """`gpucast db export gpucast.db --db gpucast.db` replaced the SQLite file with its JSON export (every record
    lost; the next command said "file is not a database"); `history --csv` the same."""
    path = db / "cli.db"
    assert run(capsys, *SERVICE)[0] == 0
    code, _out, err = run(capsys, *[a.format(db=path) for a in argv])
    assert code == 2 and "writing there would destroy the database" in err and err.count("\n") == 1
    assert ok_json(capsys, "service", "list")[0]["name"] == "chat"  # the database is intact


def test_a_database_given_before_history_show_is_the_one_read(db, capsys, tmp_path):
    """``history --db FILE show 1`` read the default database (the action's own --db default overwrote the one
    given before it); it reads FILE, as ``history show 1 --db FILE`` does. The saved plan's ``max_num_seqs`` is
    null (none given: the engine's default for its GPU) wherever it is read back."""
    other = str(tmp_path / "other.db")
    assert run(capsys, "inference", *WORKLOAD, "--gpu", "H100", "--save", "--db", other)[0] == 0
    for argv in (["history", "--db", other, "show", "1"], ["history", "show", "1", "--db", other],
                 ["history", "--db", other, "--json", "diff", "1", "1"]):  # fmt: skip
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        if "show" in argv:
            assert json.loads(out)["result"]["inputs"]["max_num_seqs"] is None
    assert run(capsys, "history", "show", "1")[0] != 0  # the default database (GPUCAST_DATABASE_URL) has none
