"""The prices, validate and fleet sweep of 2026-12-07 (docs/reliability.md): hand-edited local price files, `prices
update` that must not lose the file it replaces, hostile measurement CSVs through `gpucast validate`, and the flags
of `fleet`, `predict` and a config file that were dropped or misread without a word. Each case was a traceback, a
silent wrong answer ($0 plans, negative throughput) or a lost file before its fix; each is now one error line (exit
2), a skipped row with its reason, or the right answer. Run through the real CLI entry point
(``gpucast.cli.main.main``) where a user meets it; the property tests call the checks directly."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpucast.catalog import loader
from gpucast.catalog.price_overrides import ENV_FILE
from gpucast.catalog.price_rows import MAX_GPU_HOUR_USD, MIN_GPU_HOUR_USD, price_rows
from gpucast.catalog.price_update import update
from gpucast.cli.main import main
from gpucast.errors import CatalogError, GpucastError
from gpucast.validation.inference import validate_file

ROOT = Path(__file__).resolve().parent.parent
SERVING = ["--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens", "200"]
TRAFFIC = str(ROOT / "docs" / "sample-traffic.csv")
FLEET = str(ROOT / "data" / "traffic" / "servegen_clients.csv")
SERVICES = str(ROOT / "docs" / "sample-fleet-services.csv")


def _one_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; it must exit 2 with exactly one ``gpucast: error:`` line (no traceback)."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucast: error: "), err
    return err[0]


@pytest.fixture
def price_file(local_price_file: Path) -> Path:
    return local_price_file


def _row(**change: Any) -> str:
    """One [[instances]] table of the 1-GPU p5.4xlarge (the offer an 8B model is planned on), ``change`` applied:
    a value is written as TOML text as given (``'"x"'`` for a string)."""
    values = {"cloud": '"aws"', "instance_type": '"p5.4xlarge"', "gpu": '"h100-sxm"', "gpus": "1",
              "region": '"us-east-1"', "on_demand_usd_h": "6.0", "source": '"https://example.org"',
              "as_of": '"2026-12-01"'} | change  # fmt: skip
    return "[[instances]]\n" + "".join(f"{k} = {v}\n" for k, v in values.items() if v is not None)


# ---------------------------------------------------------------------------------------------- local price file

BAD_PRICES = [
    # a price of 1e-300 was planned at "$0.00 per GPU-hour", $0 a month; 0.004 over 8 GPUs printed as $0.00
    (_row(on_demand_usd_h="1e-300"), "on_demand_usd_h 1e-300 is $1e-300 per GPU-hour"),
    (_row(gpus="8", on_demand_usd_h="0.004"), "$0.0005 per GPU-hour over its 8 GPU(s)"),
    (_row(on_demand_usd_h="1e9"), "between $0.01 and $1,000 per GPU-hour"),
    (_row(spot_usd_h="1e-300"), "spot_usd_h 1e-300"),
    # a marketplace low end without its high end was a TypeError traceback from `prices list`
    (_row(on_demand_usd_h=None, marketplace_low_usd_h="5.0"), "must be given together, low <= high"),
    (_row(marketplace_low_usd_h="50.0", marketplace_high_usd_h="5.0"), "must be given together, low <= high"),
    (_row(reserved_1yr_usd_h="60.0"), "reserved_1yr_usd_h 60.0 is above on-demand (6.0)"),
    (_row(reserved_1yr_usd_h="4.0", reserved_3yr_usd_h="5.0"), "reserved_3yr_usd_h 5.0 is above 1yr (4.0)"),
    # a number for the cloud was a TypeError from every command; for the instance type a rich traceback
    (_row(cloud="5"), "cloud 5 must be text"),
    (_row(instance_type="5"), "instance_type 5 must be text"),
    (_row(source="5"), "source 5 must be text"),
    # "no" was a multi-node instance (a truthy string)
    (_row(multi_node='"no"'), "multi_node 'no' must be true or false"),
    # a second row of one offer replaced the first without a word
    (_row() + _row(on_demand_usd_h="3.0"), "in region 'us-east-1' is listed twice (instances 1 and 2)"),
    (_row(region=None, regions='["us-east-1"]') + _row(), "is listed twice"),
    # a future as_of counted as 0 days old; "2026-12-01garbage" was read as its first ten characters
    (_row(as_of='"2099-01-01"'), "as_of '2099-01-01' is in the future"),
    (_row(as_of='"2026-12-01garbage"'), "as_of '2026-12-01garbage' is not a date"),
    (_row(as_of='"2026-13"'), "prices.toml instance aws/'p5.4xlarge': price as_of '2026-13' is not a date"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "words"), BAD_PRICES)
def test_a_bad_local_price_row_is_one_line_naming_it(
    price_file: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    price_file.write_text(text, encoding="utf-8")
    loader.reload_prices()
    for argv in (["inference", *SERVING, "--gpu", "H100", "--cloud", "aws"], ["prices", "list"], ["prices", "show"]):
        error = _one_error(argv, capsys)
        assert words in error and ("p5.4xlarge" in error or "instance_type" in words), error  # the row named


def test_a_price_file_with_a_byte_order_mark_and_an_upper_case_cloud_is_used(
    price_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A byte-order mark was "not valid TOML: Invalid statement"; "AWS" was a cloud of its own that `--cloud AWS`
    (read as aws) never chose, so the plan kept the packaged price without a word."""
    price_file.write_text("\ufeff" + _row(cloud='" AWS "', on_demand_usd_h="5.0"), encoding="utf-8")
    loader.reload_prices()
    assert main(["inference", *SERVING, "--gpu", "H100", "--cloud", "AWS", "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert (cost["instance_type"], cost["gpu_hourly_cost"], cost["price_as_of"]) == ("p5.4xlarge", 5.0, "2026-12-01")
    assert main(["prices", "show", "--json"]) == 0
    providers = json.loads(capsys.readouterr().out)["providers"]
    assert "AWS" not in providers and providers["aws"]["local_rows"] == 1


def test_an_iso_time_of_day_in_as_of_is_still_a_date(price_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    price_file.write_text(_row(as_of='"2026-12-01T10:00:00+00:00"'), encoding="utf-8")
    loader.reload_prices()
    assert main(["prices", "list", "--clouds", "aws", "--gpu", "H100", "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["origin"] == "local"]
    assert [r["instance_type"] for r in rows] == ["p5.4xlarge"]


def test_the_packaged_catalog_lies_within_the_price_bounds() -> None:
    """The bounds are chosen around real prices: every packaged price per GPU-hour lies well inside them."""
    per_gpu = [price / p.gpus for p in loader.packaged_prices()
               for price in (p.on_demand_usd_h, p.spot_usd_h, p.reserved_1yr_usd_h, p.reserved_3yr_usd_h,
                             p.marketplace_low_usd_h, p.marketplace_high_usd_h) if price is not None]  # fmt: skip
    assert min(per_gpu) > 5 * MIN_GPU_HOUR_USD and max(per_gpu) < MAX_GPU_HOUR_USD / 50


PRICE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([None, True, "6", "", [], {}, 1e-300, 0.01, 0.0099, 1000.0, 1000.01]),
)
VALUE = st.one_of(PRICE, st.text(max_size=12), st.sampled_from(["aws", "AWS", " Lambda ", "2026-12-01", "2099-01"]))
KEYS = ["cloud", "instance_type", "gpu", "gpus", "region", "regions", "on_demand_usd_h", "spot_usd_h",
        "reserved_1yr_usd_h", "reserved_3yr_usd_h", "marketplace_low_usd_h", "marketplace_high_usd_h", "source",
        "as_of", "interconnect", "multi_node", "commitment_source", "commitment_as_of"]  # fmt: skip
GOOD = {"cloud": "aws", "instance_type": "p5.4xlarge", "gpu": "h100-sxm", "gpus": 1, "region": "us-east-1",
        "on_demand_usd_h": 6.0, "source": "https://example.org", "as_of": "2026-12-01"}  # fmt: skip


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=4), min_size=1, max_size=3))
def test_price_rows_take_only_sane_rows_or_say_why(changes: list[dict[str, Any]]) -> None:
    """Rows of a local price file with 1-4 fields replaced by anything: either every row read is a sane offer (a
    lower-case cloud, text names, whole GPUs, every price within the per-GPU-hour bounds, commitments no dearer
    than on-demand, a marketplace range low <= high, each offer once), or one CatalogError of one line."""
    entries = [{k: v for k, v in (GOOD | change).items() if not (k == "region" and "regions" in change)}
               for change in changes]  # fmt: skip
    try:
        rows = price_rows(entries, "prices.toml", ["h100-sxm", "a100-80gb-sxm"])
    except CatalogError as error:
        assert "\n" not in str(error)
        return
    offers = [(r.cloud, r.instance_type, r.region) for r in rows]
    assert len(offers) == len(set(offers))
    for r in rows:
        assert isinstance(r.cloud, str) and r.cloud == r.cloud.strip().lower() and r.cloud
        assert isinstance(r.instance_type, str) and isinstance(r.gpus, int) and r.gpus >= 1
        assert isinstance(r.multi_node, bool)
        prices = [r.hourly(m) for m in ("on-demand", "spot", "1yr", "3yr")] + [r.marketplace_high_usd_h]
        assert any(p is not None for p in prices)
        assert all(MIN_GPU_HOUR_USD <= p / r.gpus <= MAX_GPU_HOUR_USD for p in prices if p is not None)
        if r.on_demand_usd_h is not None and r.reserved_1yr_usd_h is not None:
            assert r.reserved_1yr_usd_h <= r.on_demand_usd_h
        assert (r.marketplace_low_usd_h is None) == (r.marketplace_high_usd_h is None)


def test_prices_update_refuses_a_row_before_it_replaces_the_local_file(price_file: Path) -> None:
    """`update` wrote the refreshed rows and only then read them back: a row the loader refuses left the file
    unreadable for every command and the earlier prices lost. It is now checked first and nothing is written."""
    price_file.write_text(_row(cloud='"lambda"', instance_type='"mine"'), encoding="utf-8")
    before = price_file.read_bytes()
    header = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice\n"
    feed = header + "gpu_8x_h100_sxm5,H100,8.0,208.0,1800.0,0.004,us-east-1,,\n"  # $0.0005 per GPU-hour
    with pytest.raises(CatalogError, match=r"\$0\.0005 per GPU-hour.*nothing was written, the local price file is"):
        update(["lambda"], fetch=lambda url: feed)
    assert price_file.read_bytes() == before


def test_a_directory_is_no_price_file(tmp_path: Path, price_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`prices list --file DIR` showed the packaged prices alone, without a word; `update` into it was an
    IsADirectoryError traceback that left its temporary file beside the directory."""
    folder = tmp_path / "prices"
    folder.mkdir()
    for action in ("list", "show", "update"):
        assert "cannot be read: it is a directory" in _one_error(["prices", action, "--file", str(folder)], capsys)
    assert not list(tmp_path.glob(".prices-*"))


def test_update_writes_a_regular_file_only_and_through_a_link(
    tmp_path: Path, price_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename replaced whatever was at the path: a FIFO (or, as root, a device named by `--file`) became a
    regular file, and a symbolic link was replaced by a file while the file it named kept the old prices."""
    feed = (ROOT / "tests" / "data" / "prices" / "skypilot" / "lambda" / "vms.csv").read_text(encoding="utf-8")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv(ENV_FILE, str(fifo))
    with pytest.raises(CatalogError, match="is not a regular file"):
        update(["lambda"], fetch=lambda url: feed)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and not list(tmp_path.glob(".prices-*"))
    real, link = tmp_path / "real.toml", tmp_path / "link.toml"
    link.symlink_to(real)
    monkeypatch.setenv(ENV_FILE, str(link))
    update(["lambda"], fetch=lambda url: feed)
    assert link.is_symlink() and "gpu_8x_h100_sxm5" in real.read_text(encoding="utf-8")


def test_prices_update_replaces_a_hand_written_row_of_its_provider_in_any_case(price_file: Path) -> None:
    """A row written `cloud = "Lambda"` is lambda's: a refresh of lambda replaces it, where it was kept beside the
    refreshed rows (and, once clouds were read in lower case, refused as a second row of the same offer)."""
    feed = (ROOT / "tests" / "data" / "prices" / "skypilot" / "lambda" / "vms.csv").read_text(encoding="utf-8")
    price_file.write_text(_row(cloud='"Lambda"', instance_type='"gpu_8x_h100_sxm5"', gpus="8", region='"us-west-3"',
                               on_demand_usd_h="9.0"))  # fmt: skip
    update(["lambda"], fetch=lambda url: feed)
    loader.reload_prices()
    mine = [p for p in loader.local_prices() if p.instance_type == "gpu_8x_h100_sxm5" and p.region == "us-west-3"]
    assert [p.on_demand_usd_h for p in mine] == [23.92]


def test_prices_update_reads_a_provider_in_any_case(
    price_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--provider Lambda` was "not one of aws, lambda, ..." while every other name is read in any case."""
    from gpucast.catalog import price_update

    feed = (ROOT / "tests" / "data" / "prices" / "skypilot" / "lambda" / "vms.csv").read_text(encoding="utf-8")
    real = price_update.update
    monkeypatch.setattr(price_update, "update", lambda wanted: real(wanted, fetch=lambda url: feed))
    assert main(["prices", "update", "--provider", " Lambda "]) == 0
    assert capsys.readouterr().out.startswith("lambda: 10 instance prices from")


# ---------------------------------------------------------------------------------------------- validate

HEADER = ("id,source,engine,model,gpu,num_gpus,tp,pp,precision,kv_precision,input_tokens,output_tokens,load,"
          "load_value,metric,value,unit,notes")  # fmt: skip


def _measurements(path: Path, **change: str) -> str:
    """Two rows of one closed-loop operating point (Llama-3.1-8B, one H100, vLLM, 32 in flight), ``change``
    applied to both."""
    values = {"engine": "vLLM 0.8.5", "model": "Llama-3.1-8B", "gpu": "H100", "num_gpus": "1", "tp": "1", "pp": "1",
              "precision": "BF16", "kv_precision": "", "input_tokens": "1000", "output_tokens": "200",
              "load": "concurrency", "load_value": "32"} | change  # fmt: skip
    rows = [{"id": f"r{i}", "source": "s", **values, "metric": metric, "value": value, "unit": "", "notes": ""}
            for i, (metric, value) in enumerate((("output_tok_per_s_total", "2500"), ("ttft_ms", "150")))]  # fmt: skip
    path.write_text(HEADER + "\n" + "".join(",".join(r[c] for c in HEADER.split(",")) + "\n" for r in rows))
    return str(path)


@pytest.mark.parametrize(("column", "value", "words"), [
    ("input_tokens", "nan", "must be finite numbers of at least 1 token"),  # a ValueError traceback
    ("input_tokens", "inf", "must be finite numbers of at least 1 token"),  # an OverflowError traceback
    ("output_tokens", "0", "must be finite numbers of at least 1 token"),  # a ZeroDivisionError traceback
    ("input_tokens", "-5", "must be finite numbers of at least 1 token"),  # estimated as 1 token
    ("load_value", "-3", "must be a number greater than 0 and at most 10,000,000"),  # a negative throughput
    ("load_value", "0", "must be a number greater than 0"),  # a throughput of 0
    ("load_value", "inf", "must be a number greater than 0"),  # "Infinity" in --json: not JSON
    ("load_value", "nan", "must be a number greater than 0"),  # a ValueError traceback
    ("load_value", "1e30", "at most 10,000,000"),
])  # fmt: skip
def test_a_measurement_row_that_cannot_be_estimated_is_skipped_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], column: str, value: str, words: str
) -> None:
    path = _measurements(tmp_path / "m.csv", **{column: value})
    assert main(["validate", "--json", path]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == [] and [s["id"] for s in report["skipped"]] == ["r0", "r1"]
    assert all(words in s["reason"] and repr(value) in s["reason"] for s in report["skipped"])


def test_a_measurements_csv_with_a_byte_order_mark_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark: it was "lacks column(s) id"."""
    plain = _measurements(tmp_path / "plain.csv")
    marked = tmp_path / "bom.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + Path(plain).read_bytes())
    assert main(["validate", "--json", plain]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["validate", "--json", str(marked)]) == 0
    assert json.loads(capsys.readouterr().out) == expected and len(expected["rows"]) == 2


def test_a_measurements_csv_that_is_not_utf8_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(Path(_measurements(tmp_path / "m.csv", engine="vLLM é")).read_text().encode("latin-1"))
    for argv in (["validate", str(path)], ["validate", "--plans", str(path)]):
        assert "is not UTF-8 text (byte 0xe9 at offset" in _one_error(argv, capsys)


def test_validate_json_agrees_with_its_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "data" / "benchmarks" / "nim.csv")
    assert main(["validate", "--json", path]) == 0
    summary = {s["metric"]: s for s in json.loads(capsys.readouterr().out)["summary"]}
    assert main(["validate", path]) == 0
    table = capsys.readouterr().out
    for metric, s in summary.items():
        cells = re.search(rf"^\s*{metric}\s+(\d+)\s+([\d.]+)\s+([\d.]+)", table, re.MULTILINE)
        assert cells is not None, metric
        assert int(cells[1]) == s["n"] and float(cells[2]) == round(s["median_error_pct"], 1)


NUMBER = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e30", "1e-9", "0.5", "abc", "", "1e400", "7", "²"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(10**9), max_value=10**9).map(str),
)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["input_tokens", "output_tokens", "load_value", "tp", "pp", "num_gpus",
                                        "value"]), NUMBER, min_size=1, max_size=3))  # fmt: skip
def test_validate_takes_any_number_in_a_row(tmp_path_factory: pytest.TempPathFactory, change: dict[str, str]) -> None:
    """Any text in a row's numeric columns: the row is estimated (every prediction finite and positive) or skipped
    with a reason; never a traceback."""
    path = _measurements(tmp_path_factory.mktemp("v") / "m.csv", **change)
    try:
        report = validate_file(path)
    except GpucastError as error:  # a whole-file problem only
        pytest.fail(f"a row's value stopped the whole file: {error}")
    assert len(report.rows) + len(report.skipped) >= 1
    for row in report.rows:
        assert math.isfinite(row.predicted) and row.predicted > 0, row


# ---------------------------------------------------------------------------------------------- fleet, predict


def test_fleet_says_current_gpus_are_not_used_without_the_capacity_plan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fleet", "--history", FLEET, "--services", SERVICES, "--no-capacity", "--current-gpus", "400"]
    assert main(argv) == 0
    assert "current GPUs (400) not used: without the capacity plan there is no run-out date" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    assert any("current GPUs (400) not used" in n for n in json.loads(capsys.readouterr().out)["notes"])


@pytest.mark.parametrize(("column", "value", "words"), [
    ("cloud", "abc", "--cloud 'abc' is not one of"), ("gpu", "H900", "--gpu-type 'H900' is not in the catalog"),
    ("model", "nosuch", "--model 'nosuch' is not in the catalog"), ("precision", "FP7", "--precision 'FP7' is not"),
    ("output_tokens", "99999999", "must be at most 1e+06"),
])  # fmt: skip
def test_a_bad_value_in_the_services_table_names_its_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], column: str, value: str, words: str
) -> None:
    """The planner's message named a flag the user never typed (`--cloud 'abc'`), not which of the table's rows
    held the value."""
    lines = Path(SERVICES).read_text(encoding="utf-8").splitlines()
    header, row = lines[0].split(","), lines[5].split(",")
    row[header.index(column)] = value
    table = tmp_path / "services.csv"
    table.write_text("\n".join([*lines[:5], ",".join(row), *lines[6:]]) + "\n", encoding="utf-8")
    error = _one_error(["fleet", "--history", FLEET, "--services", str(table)], capsys)
    assert f"service {row[0]!r}: " in error and words in error, error


@pytest.mark.parametrize("flags", [["--save"], ["--spend"], ["--current-gpus", "5"], ["--gpu", "H100"],
                                   ["--input-tokens", "500", "--output-tokens", "200"]])  # fmt: skip
def test_all_services_refuses_the_flags_of_one_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    """Each was dropped without a word: no plan saved, no spend, no run-out date."""
    error = _one_error(["predict", "--history", FLEET, "--all-services", *flags], capsys)
    assert f"and {flags[0]}" in error and "for one service: pass --service ID instead" in error


def test_all_services_writes_no_plot_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "fan.html"
    assert "--plot is for one service" in _one_error(
        ["predict", "--history", FLEET, "--all-services", "--plot", str(plot)], capsys
    )
    assert not plot.exists()


@pytest.mark.parametrize("where", [["--gpu", "MI325X"], ["--gpu", "H100", "--cloud", "vast"]])
def test_spend_without_a_price_is_refused_not_zero(capsys: pytest.CaptureFixture[str], where: list[str]) -> None:
    """The spend table said $0 a month, every month (the timeline beside it said n/a): MI325X has no price in the
    catalog, and Vast.ai prices H100s as a marketplace, not on demand."""
    argv = ["predict", "--history", TRAFFIC, "--model", "llama-3.1-8b", "--input-tokens", "500", "--output-tokens",
            "200", *where, "--spend"]  # fmt: skip
    assert "has no on-demand price on" in _one_error(argv, capsys)


# ---------------------------------------------------------------------------------------------- config options


@pytest.mark.parametrize(("key", "value", "accepted"), [
    ("include_cost", True, True), ("include_cost", False, True), ("include_cost", "no", False),
    ("include_cost", 5, False), ("include_cost", None, True),  # null = the default, for every config key
    ("output_file", True, False), ("output_file", 5, False),  # TypeError tracebacks from pathlib
])  # fmt: skip
def test_config_options_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any, accepted: bool
) -> None:
    assert main(["forecast", "--generate-config", "inference"]) == 0
    config = json.loads(capsys.readouterr().out)
    config["options"][key] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    for command in ("forecast", "inference"):
        if accepted:
            assert main([command, "--config", str(path), "--json"]) == 0
            assert json.loads(capsys.readouterr().out)["cost"]["monthly_gpu_cost"] > 0
        else:
            assert f"options.{key} {json.dumps(value)} must be" in _one_error([command, "--config", str(path)], capsys)
