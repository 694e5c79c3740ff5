"""Hostile traffic histories and fleet tables through `gpucast predict`, `gpucast fleet`, `service plan` and the
Python API: each bad input is one `gpucast: error:` line and exit 2, never a traceback or a silent misreading.
Found by the forecast and history sweep of 2026-12-07 (docs/reliability.md); `main(argv)` runs in-process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gpucast.cli.main import main
from gpucast.errors import InputError

pd = pytest.importorskip("pandas")

SERVICES = Path(__file__).resolve().parent.parent / "docs" / "sample-fleet-services.csv"
FLEET = Path(__file__).resolve().parent.parent / "data" / "traffic" / "servegen_clients.csv"


def hourly(n: int = 24 * 14, base: float = 20.0) -> tuple[list[str], np.ndarray]:
    stamps = pd.date_range("2026-09-01", periods=n, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    rng = np.random.default_rng(0)
    return stamps, base * (1 + 0.5 * np.sin(2 * np.pi * np.arange(n) / 24)) + rng.normal(0, 1, n)


def write_csv(path: Path, header: str, rows: list[str]) -> str:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command in-process: exit 2 and exactly one error line (returned), no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("gpucast: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_history_with_one_empty_token_column_is_one_error(tmp_path, capsys):
    """input_tokens all empty, output_tokens given: `require_tokens` let the timeline plan with the 500/200 default
    silently and `--spend` then divided by zero (a ZeroDivisionError traceback)."""
    stamps, rps = hourly()
    path = write_csv(tmp_path / "t.csv", "timestamp,rps,input_tokens,output_tokens",
                     [f"{t},{v:.3f},,300" for t, v in zip(stamps, rps, strict=True)])  # fmt: skip
    for extra in ([], ["--spend"]):
        line = one_error(capsys, ["predict", "--history", path, "--model", "llama-3.1-8b", "--horizon", "2d", *extra])
        assert "input_tokens and output_tokens columns holding values" in line


def test_negative_current_gpus_are_refused_wherever_a_timeline_is_planned(tmp_path, capsys):
    """`predict --current-gpus -1` printed "-1 GPUs carry -13.20 req/s: exceeded at ..." (fleet refused it)."""
    from gpucast.forecast import forecast_load, load_history
    from gpucast.inputs.types import ModelConfig
    from gpucast.planning.timeline import capacity_timeline

    stamps, rps = hourly()
    path = write_csv(tmp_path / "h.csv", "timestamp,rps", [f"{t},{v:.3f}" for t, v in zip(stamps, rps, strict=True)])
    with pytest.raises(SystemExit) as exit_:  # refused as the flag is parsed, naming it
        main(["predict", "--history", path, "--model", "llama-3.1-8b", "--input-tokens", "1000",
              "--output-tokens", "300", "--horizon", "2d", "--current-gpus", "-1"])  # fmt: skip
    assert exit_.value.code == 2
    assert "argument --current-gpus: '-1' is not a whole number of GPUs, 0 or more" in capsys.readouterr().err
    result = forecast_load(load_history(path), "2d")
    with pytest.raises(InputError, match="current GPUs"):
        capacity_timeline(result, model=ModelConfig(model_name="llama-3.1-8b"), input_tokens=100, output_tokens=10,
                          current_gpus=-3)  # fmt: skip
    zero = capacity_timeline(result, model=ModelConfig(model_name="llama-3.1-8b"), input_tokens=100,
                             output_tokens=10, current_gpus=0)  # fmt: skip
    assert zero.current_capacity_rps == 0 and zero.exceeds_capacity_at is not None  # no GPU: exceeded at once


def test_token_columns_beyond_the_planners_bound_name_the_columns(tmp_path, capsys):
    """1e12 input tokens per request in the history's column was reported as `--input-tokens` (never given)."""
    stamps, rps = hourly()
    path = write_csv(tmp_path / "t.csv", "timestamp,rps,input_tokens,output_tokens",
                     [f"{t},{v:.3f},1e12,300" for t, v in zip(stamps, rps, strict=True)])  # fmt: skip
    line = one_error(capsys, ["predict", "--history", path, "--model", "llama-3.1-8b", "--horizon", "2d"])
    assert "the history's token columns forecast 1e+12 input" in line and "(--input-tokens)" not in line


@pytest.mark.parametrize(
    ("stamp", "what"),
    [("9999-09-01 00:00:00", "ISO 8601"), ("0001-01-01T00:00:00Z", "ISO 8601"), ("1e20", "epoch ms"),
     ("10000000000000", "epoch ms")],
)  # fmt: skip
def test_timestamps_outside_the_span_say_so(tmp_path, capsys, stamp, what):
    """Epoch 1e13 ms (the year 2286) and 1e20 were pandas tracebacks (OutOfBoundsDatetime, OverflowError); the year
    9999 was "cannot parse ... use ISO 8601" although it is ISO 8601. `metrics import` names the span; so does this."""
    later = [f"{float(stamp) + 3_600_000 * i:.0f}" for i in range(1, 12)] if "epoch" in what else ["2026-09-01"] * 11
    path = write_csv(tmp_path / "h.csv", "timestamp,rps", [f"{t},5" for t in [stamp, *later]])
    line = one_error(capsys, ["predict", "--history", path, "--horizon", "2h"])
    assert f"({what})" in line and "outside 1677-09-22 .. 2262-04-10" in line


def test_json_true_is_not_a_rate(tmp_path, capsys):
    """JSON `true` was forecast as 1 req/s (`metrics import` refuses it since the store sweep)."""
    stamps, _ = hourly(48)
    (tmp_path / "h.json").write_text(json.dumps([{"timestamp": t, "rps": True} for t in stamps]))
    line = one_error(capsys, ["predict", "--history", str(tmp_path / "h.json"), "--horizon", "2h"])
    assert "value True in column 'rps' is not a number" in line


def test_rows_without_a_service_id_are_refused(tmp_path, capsys):
    """Rows with an empty service id became one service named "nan", forecast and planned as if it existed."""
    stamps, rps = hourly(48)
    rows = [f"{t},{sid},{v:.3f}" for sid in ("a", "") for t, v in zip(stamps, rps, strict=True)]
    path = write_csv(tmp_path / "h.csv", "timestamp,service,rps", rows)
    for argv in (["--all-services"], ["--service", "a"], ["--service", "nan"]):
        line = one_error(capsys, ["predict", "--history", path, "--horizon", "2h", *argv])
        assert "48 rows have no service id in column 'service' (the first: data row 49)" in line


def test_one_column_cannot_be_both_timestamp_and_value(tmp_path, capsys):
    """`--timestamp-col rps` read the rates as epoch seconds *and* as the values: a forecast of nonsense, exit 0."""
    stamps, rps = hourly(48)
    path = write_csv(tmp_path / "h.csv", "timestamp,rps", [f"{t},{v:.3f}" for t, v in zip(stamps, rps, strict=True)])
    for flag, column in (("--timestamp-col", "rps"), ("--value-col", "timestamp")):
        line = one_error(capsys, ["predict", "--history", path, flag, column])
        assert f"column {column!r} cannot be two of the timestamp, value and id columns" in line


def test_all_services_with_one_service_is_refused(tmp_path, capsys):
    """`--all-services --service a` forecast every service and ignored `--service` without a word."""
    stamps, rps = hourly(48)
    rows = [f"{t},{sid},{v:.3f}" for sid in ("a", "b") for t, v in zip(stamps, rps, strict=True)]
    path = write_csv(tmp_path / "h.csv", "timestamp,service,rps", rows)
    line = one_error(capsys, ["predict", "--history", path, "--all-services", "--service", "a", "--horizon", "2h"])
    assert "--service 'a' picks one service and --all-services forecasts every one" in line


def test_scenarios_read_in_any_case(tmp_path, capsys):
    """`--scenario Spike` was "unknown scenario" while `--engine VLLM` and `--cloud AWS` read any case."""
    from gpucast.forecast import forecast_load, load_history

    stamps, rps = hourly()
    path = write_csv(tmp_path / "h.csv", "timestamp,rps", [f"{t},{v:.3f}" for t, v in zip(stamps, rps, strict=True)])
    assert main(["predict", "--history", path, "--horizon", "2d", "--scenario", " Spike", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    spike = forecast_load(load_history(path), "2d", scenario="spike")
    assert shown["scenario"] == "spike"
    assert [p["mean"] for p in shown["forecast"]] == pytest.approx([p.mean for p in spike.forecast], abs=1e-3)


def test_messages_name_the_step_as_written(tmp_path, capsys):
    """The pandas alias ("2 points at h", "one h step", "a multiple of 7D") instead of the step a user writes."""
    stamps, rps = hourly(2)
    path = write_csv(tmp_path / "h.csv", "timestamp,rps", [f"{t},{v:.3f}" for t, v in zip(stamps, rps, strict=True)])
    assert "has 2 points at 1h; at least 8" in one_error(capsys, ["predict", "--history", path])
    stamps, rps = hourly()
    path = write_csv(tmp_path / "g.csv", "timestamp,rps", [f"{t},{v:.3f}" for t, v in zip(stamps, rps, strict=True)])
    assert "between one 1h step and 366 days" in one_error(capsys, ["predict", "--history", path, "--horizon", "0"])
    line = one_error(capsys, ["predict", "--history", path, "--freq", "1w", "--horizon", "2d"])
    assert "points at 7d" in line


def test_token_column_errors_speak_of_tokens(tmp_path, capsys):
    """A negative token count was refused as "request rates must be >= 0"."""
    stamps, rps = hourly(48)
    rows = [f"{t},{v:.3f},{-1000 if i == 3 else 1000},300" for i, (t, v) in enumerate(zip(stamps, rps, strict=True))]
    path = write_csv(tmp_path / "t.csv", "timestamp,rps,input_tokens,output_tokens", rows)
    line = one_error(capsys, ["predict", "--history", path, "--horizon", "2h"])
    assert "negative value -1000 in column 'input_tokens'; token counts must be >= 0" in line


def services_with(tmp_path: Path, name: str, change: str, to: str, *, data: bytes | None = None) -> str:
    text = SERVICES.read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_bytes(data if data is not None else text.replace(change, to, 1).encode("utf-8"))
    return str(path)


@pytest.mark.parametrize("tokens", ["inf", "1e400"])
def test_fleet_tokens_past_float_range_are_one_error(tmp_path, capsys, tokens):
    """`int(float("inf"))` raised OverflowError: a traceback from `gpucast fleet` (and the fleet API)."""
    path = services_with(tmp_path, "s.csv", "llama-3.1-70b,1200,", f"llama-3.1-70b,{tokens},")
    line = one_error(capsys, ["fleet", "--history", str(FLEET), "--services", path, "--horizon", "1w"])
    assert f"input_tokens {tokens!r} is not a number of tokens" in line


def test_fleet_services_table_encoding(tmp_path, capsys):
    """Latin-1 was a UnicodeDecodeError traceback; a byte-order mark hid the `service` column (the fleet API reads
    its upload as utf-8-sig: the CLI now does too)."""
    text = SERVICES.read_text(encoding="utf-8")
    latin = services_with(tmp_path, "l.csv", "", "", data=text.replace("chat", "ch\xe4t").encode("latin-1"))
    assert "is not UTF-8 text" in one_error(capsys, ["fleet", "--history", str(FLEET), "--services", latin])
    bom = services_with(tmp_path, "b.csv", "", "", data=b"\xef\xbb\xbf" + text.encode("utf-8"))
    plain = str(SERVICES)
    outputs = []
    for services in (bom, plain):
        assert main(["fleet", "--history", str(FLEET), "--services", services, "--horizon", "1w", "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out)["capacity"]["totals"])
    assert outputs[0] == outputs[1]


def test_fleet_duplicate_service_rows_are_refused(tmp_path, capsys):
    """A service listed twice took the later row's team (and model, tokens) without a word."""
    first = SERVICES.read_text(encoding="utf-8").splitlines()[1]
    path = tmp_path / "d.csv"
    path.write_text(SERVICES.read_text(encoding="utf-8") + first.replace(",chat,", ",search,") + "\n")
    line = one_error(capsys, ["fleet", "--history", str(FLEET), "--services", str(path), "--no-capacity"])
    assert "line 14: service 'm-large/client-104' is listed again (first on line 2)" in line


def test_the_cli_reads_a_file_as_the_server_does(tmp_path, capsys):
    """A tab-separated `.csv` was forecast by `POST /api/v1/forecast` (uploads are judged by their bytes) and refused
    by `predict` ("no timestamp column among ['timestamp\\trps']"); both read it as TSV now, with the same numbers
    as the same rows in a `.tsv`."""
    stamps, rps = hourly()
    rows = [f"{t}\t{v:.3f}" for t, v in zip(stamps, rps, strict=True)]
    means = []
    for name in ("h.csv", "h.tsv"):
        path = write_csv(tmp_path / name, "timestamp\trps", rows)
        assert main(["predict", "--history", path, "--horizon", "2d", "--json"]) == 0
        means.append([p["mean"] for p in json.loads(capsys.readouterr().out)["forecast"]])
    assert means[0] == means[1]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("l.csv", "timestamp,r\xe9qu\xeates\n2026-09-01,1\n".encode("latin-1"), "is not UTF-8 text (invalid byte at "
      "position 11); save it as UTF-8"),
     ("s.csv", b"timestamp;rps\n2026-09-01;1\n", "the header 'timestamp;rps' is one column: separate the columns"),
     ("n.json", b"42", 'accepted: a list of {"timestamp": ..., "rps": ...} objects'),
     ("one.csv", b"timestamp,rps\n2026-09-01T00:00:00Z,1\n", "the history has one distinct timestamp (1 rows)")],
)  # fmt: skip
def test_unreadable_histories_say_what_is_accepted(tmp_path, capsys, name, content, message):
    """The codec's "can't decode byte 0xe9", pandas' "DataFrame constructor not properly called!", "name it
    'timestamp'" for a header that names it so (with semicolons), and "pass freq" for a one-row file."""
    (tmp_path / name).write_bytes(content)
    assert message in one_error(capsys, ["predict", "--history", str(tmp_path / name), "--horizon", "2h"])


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda f, h: f.forecast_future_needs([5.0] * 48, "7"), "horizon_days must be a finite number > 0, got '7'"),
     (lambda f, h: f.forecast_future_needs([5.0] * 48, None), "horizon_days must be a finite number > 0, got None"),
     (lambda f, h: f.forecast_load(h, "2d", growth_rate="5"), "growth_rate '5' must be a number"),
     (lambda f, h: f.forecast_load(h, "2d", level="x"), "interval levels 'x' are not accepted"),
     (lambda f, h: f.forecast_load(h, "2d", freq="nope"), "unknown freq 'nope'"),
     (lambda f, h: f.load_history(None), "history NoneType is not accepted; pass a file path or a pandas DataFrame")],
)  # fmt: skip
def test_python_api_wrong_types_are_input_errors(call, message):
    """The Python API raised TypeError ("'<' not supported between 'int' and 'str'"), ValueError (int("x"), pandas'
    "Invalid frequency: nope") for what the CLI refuses in one line."""
    from gpucast import forecast

    stamps, rps = hourly()
    history = forecast.load_history(pd.DataFrame({"timestamp": stamps, "rps": rps}))
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(forecast, history)


def test_python_api_timeline_wrong_types_are_input_errors():
    """`current_gpus="3"` was a TypeError; a model name instead of a ModelConfig an AttributeError ('validate')."""
    from gpucast import LLMForecastEngine
    from gpucast.forecast import forecast_load, load_history
    from gpucast.inputs.types import ModelConfig
    from gpucast.planning.timeline import capacity_timeline

    stamps, rps = hourly()
    result = forecast_load(load_history(pd.DataFrame({"timestamp": stamps, "rps": rps})), "2d")
    with pytest.raises(InputError, match="current GPUs must be a whole number >= 0, got 3"):
        capacity_timeline(result, model=ModelConfig(model_name="llama-3.1-8b"), input_tokens=100, output_tokens=10,
                          current_gpus="3")  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(InputError, match="model must be a ModelConfig"):
        LLMForecastEngine().forecast_future_needs(list(rps), "llama-3.1-8b", 2)  # type: ignore[arg-type]


def test_a_per_minute_history_keeps_its_daily_cycle(tmp_path, capsys):
    """Two weeks of per-minute traffic (10-30 req/s, a daily cycle): the fit window was 1,344 points whatever the
    step (22 hours of minutes), so no daily season was found, the 80% band held a quarter of its backtest, and the
    band walked to 22,854 req/s two days out: `predict --model` planned 1,731 H100s. The window is 8 weeks of time
    now (at most 16,128 points): the daily cycle is modelled and the plan is a handful of GPUs."""
    from gpucast.forecast import forecast_load, load_history

    stamps = pd.date_range("2026-09-01", periods=14 * 1440, freq="min", tz="UTC")
    hours = stamps.hour + stamps.minute / 60
    rng = np.random.default_rng(2)
    rps = 20 * (1 + 0.5 * np.sin(2 * np.pi * hours / 24)) * (1 + rng.normal(0, 0.05, len(stamps)))
    path = tmp_path / "minutes.csv"
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "rps": rps}).to_csv(path, index=False)
    result = forecast_load(load_history(path), "2d")
    assert 1440 in result.seasonalities and result.fit_points == 16_128
    assert max(p.hi80 for p in result.forecast) < 2 * rps.max()
    assert result.backtest.coverage[80] > 0.6
    argv = ["predict", "--history", str(path), "--horizon", "2d", "--model", "llama-3.1-8b", "--gpu", "H100",
            "--input-tokens", "1000", "--output-tokens", "300", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert max(p["gpus"] for p in json.loads(capsys.readouterr().out)["capacity"]) <= 4


def test_json_nested_past_the_decoders_depth_is_one_error(tmp_path, capsys):
    """`[[[[...]]]]` 100,000 deep was a RecursionError traceback from `metrics import`, `--length-profile` and
    `forecast --config` (the history reader already said pandas' "depth limit" in one line)."""
    from gpucast.store.metrics import read_rows

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply to be usage rows"):
        read_rows(deep)
    line = one_error(capsys, ["inference", "--model", "llama-3.1-8b", "--rps", "1", "--length-profile", str(deep)])
    assert "nested too deeply to be request rows" in line
    assert "nested too deeply to be a config" in one_error(capsys, ["forecast", "--config", str(deep)])


def test_a_config_with_a_byte_order_mark_is_read(tmp_path, capsys):
    """A config saved by a Windows editor (UTF-8 with BOM) was "not valid JSON at line 1"."""
    assert main(["forecast", "--generate-config", "inference"]) == 0
    text = capsys.readouterr().out
    plain, marked = tmp_path / "plain.json", tmp_path / "marked.json"
    plain.write_text(text, encoding="utf-8")
    marked.write_text(text, encoding="utf-8-sig")
    answers = []
    for path in (plain, marked):
        assert main(["forecast", "--config", str(path), "--json"]) == 0
        answers.append(json.loads(capsys.readouterr().out)["gpu_resources"])
    assert answers[0] == answers[1]


def test_the_store_refuses_what_the_forecaster_cannot_read(tmp_path):
    """`metrics import` stored 1e308 req/s; every forecast of the service then failed ("too large to forecast")."""
    from gpucast.forecast.values import MAX_VALUE
    from gpucast.store.metrics import MAX_FORECAST_VALUE, read_rows

    assert MAX_FORECAST_VALUE == MAX_VALUE
    stamps, rps = hourly(24)
    for column, header in (("rps", "timestamp,rps,input_tokens"), ("input_tokens", "timestamp,rps,input_tokens")):
        rows = [f"{t},{'1e308' if column == 'rps' and i == 5 else f'{v:.3f}'},"
                f"{'1e200' if column == 'input_tokens' and i == 5 else 100}" for i, (t, v) in enumerate(zip(stamps, rps, strict=True))]  # fmt: skip
        path = write_csv(tmp_path / f"{column}.csv", header, rows)
        with pytest.raises(InputError, match=f"row 7: {column} '1e[23]0[08]' is too large to forecast"):
            read_rows(path)


def test_fleet_node_ids_cannot_collide(tmp_path):
    """Team "y" of environment "prod/x" and team "x/y" of "prod" were one node, team:prod/x/y: its forecast was
    the sum of one, its parents' sums disagreed by 5x, and `fleet` showed one team of 28 GPUs for the two."""
    from gpucast.forecast import load_history
    from gpucast.forecast.hierarchy import forecast_hierarchy

    stamps, rps = hourly(24 * 7)
    rows = [f"{t},{sid},{v * (k + 1):.3f}" for k, sid in enumerate("abc") for t, v in zip(stamps, rps, strict=True)]
    history = load_history(write_csv(tmp_path / "f.csv", "timestamp,service,rps", rows))
    with pytest.raises(InputError, match="environment 'prod/x' holds '/'"):
        forecast_hierarchy(history, "1d", {"a": ("y", "prod/x"), "b": ("x/y", "prod"), "c": ("z", "prod")})
    fleet = forecast_hierarchy(history, "1d", {"a": ("y", "dev"), "b": ("x/y", "prod"), "c": ("z", "prod")})
    ids = [node.id for node in fleet.nodes]
    assert len(ids) == len(set(ids)) and "team:prod/x/y" in ids  # a slash in a team is still one team


def test_fleet_names_a_service_of_the_table_without_history(tmp_path, capsys):
    """A services-table row with no rows in the history was dropped from the fleet without a word (`--from-store`
    says "NAME: no usage history, left out")."""
    path = tmp_path / "s.csv"
    path.write_text(SERVICES.read_text(encoding="utf-8") + "ghost,chat,prod,llama-3.1-8b,100,100,H100,,aws\n")
    assert main(["fleet", "--history", str(FLEET), "--services", str(path), "--horizon", "1d", "--json"]) == 0
    assert "ghost: no usage history, left out" in json.loads(capsys.readouterr().out)["notes"]


def test_fleet_from_store_names_a_filter_that_matches_nothing(tmp_path, capsys):
    """`fleet --from-store --team nosuch` said "no stored service has usage history; import it with `gpucast metrics
    import`", although the team's name was the mistake."""
    stamps, rps = hourly()
    path = write_csv(tmp_path / "h.csv", "timestamp,rps", [f"{t},{v:.3f}" for t, v in zip(stamps, rps, strict=True)])
    db = ["--db", str(tmp_path / "s.db")]
    assert main(["user", "add", "alice", "--role", "admin", *db]) == 0
    assert main(["service", "add", "chat", "--team", "ml", "--environment", "prod", "--criticality", "tier2",
                 "--cloud", "aws", "--region", "us-east-1", "--as", "alice", *db]) == 0  # fmt: skip
    assert main(["metrics", "import", "chat", path, "--as", "alice", *db]) == 0
    capsys.readouterr()
    line = one_error(capsys, ["fleet", "--from-store", "--team", "nosuch", "--no-capacity", *db])
    assert "no stored service matches --team 'nosuch' (teams: ml; environments: prod)" in line


def test_capacity_timeline_flags_without_a_model_are_said_to_be_unused(capsys) -> None:
    """``predict --gpu H100 --current-gpus 4`` without ``--model`` forecast the load and dropped both flags without a
    word (the chat passes --gpu on load-only forecasts, so they warn rather than refuse)."""
    sample = str(Path(__file__).resolve().parents[1] / "docs" / "sample-traffic.csv")
    assert (
        main(["predict", "--history", sample, "--horizon", "1d", "--gpu", "H100", "--current-gpus", "4", "--json"]) == 0
    )
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert "not used without --model (they size its capacity timeline): --gpu, --current-gpus" in warnings


def test_save_service_without_save_is_refused(capsys) -> None:
    """``--save-service NAME`` names where a saved forecast goes; without ``--save`` nothing was saved, silently."""
    sample = str(Path(__file__).resolve().parents[1] / "docs" / "sample-traffic.csv")
    line = one_error(capsys, ["predict", "--history", sample, "--horizon", "1d", "--save-service", "chat"])
    assert "--save-service 'chat'" in line and "add --save" in line
