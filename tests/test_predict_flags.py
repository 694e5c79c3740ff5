"""`gpucast predict` / `fleet` errors name the flag typed (``--timestamp-col``), not the Python keyword behind it
(``timestamp_col``), which a command-line user has never seen."""

from __future__ import annotations

import pytest

from gpucast.cli.main import main

pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("hist") / "h.csv"
    rows = [f"2026-10-{1 + i // 24:02d}T{i % 24:02d}:00:00,{10 + i % 24}" for i in range(24 * 10)]
    path.write_text("ts,rps\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--timestamp-col", "nope"], "--timestamp-col 'nope' is not a column"),
        (["--value-col", "nope"], "--value-col 'nope' is not a column"),
        (["--id-col", "nope"], "--id-col 'nope' is not a column"),
        (["--service", "nope"], "--service 'nope' is not in the history"),
        (["--freq", "foo"], "unknown --freq 'foo'"),
        (["--freq=-1h"], "--freq must be a positive"),
        (["--horizon", "0d"], "--horizon '0d' must be between"),
        (["--horizon=-1d"], "cannot read --horizon '-1d'"),
        (["--growth-rate", "nan"], "--growth-rate nan% per month"),
        (["--scenario", "foo"], "unknown --scenario 'foo'"),
    ],
)
def test_predict_errors_name_the_flag(history, capsys, flags, expected):
    assert main(["predict", "--history", str(history), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    assert not any(word in err for word in ("timestamp_col", "value_col", "id_col", "unique_id", "growth_rate"))


def test_fleet_errors_name_the_flag(history, tmp_path, capsys):
    services = tmp_path / "s.csv"
    services.write_text("service,team,environment\nx,t,dev\n")
    assert main(["fleet", "--history", str(history), "--services", str(services), "--id-col", "nope"]) == 2
    assert "--id-col 'nope' is not a column" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--freq", "-1h"], "--freq must be a positive whole number of seconds, got '-1h'"),
        (["--horizon", "-1d"], "cannot read --horizon '-1d'"),
        (["--growth-rate", "-1e3"], "--growth-rate -1000% per month is not accepted"),
    ],
)
def test_a_value_starting_with_a_dash_reaches_its_flags_check(history, capsys, flags, expected):
    """argparse took "-1h" for a flag: "argument --freq: expected one argument", naming no remedy."""
    assert main(["predict", "--history", str(history), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "expected one argument" not in err, err


def test_attach_dash_values_leaves_other_arguments_alone():
    from gpucast.console.flags import attach_dash_values

    assert attach_dash_values(["--rps", "-1e3", "--tp", "-2", "--x=-1h", "-h"]) == ["--rps=-1e3", "--tp", "-2",
                                                                                  "--x=-1h", "-h"]  # fmt: skip
    assert attach_dash_values(["--", "--freq", "-1h"]) == ["--", "--freq", "-1h"]
    assert attach_dash_values(["--freq"]) == ["--freq"]


@pytest.mark.parametrize("value", ["-1", "x", "1.5"])
def test_current_gpus_is_checked_as_a_flag(history, capsys, value):
    """`--current-gpus -1` reached the planner: "current GPUs must be a whole number >= 0", naming no flag."""
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--history", str(history), "--model", "llama-3.1-8b", "--input-tokens", "100",
              "--output-tokens", "50", "--current-gpus", value])  # fmt: skip
    assert exit_.value.code == 2
    assert f"argument --current-gpus: '{value}' is not a whole number of GPUs, 0 or more" in capsys.readouterr().err
