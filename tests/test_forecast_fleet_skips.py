"""A service too short or too gappy to forecast does not stop its fleet (`predict --all-services`, `gpucast fleet`,
``POST /api/v1/fleet``): the others are forecast, it is reported by name with its reason, and the fleet totals
leave it out and say so. Every service bad: still one error line, exit 2. The single-service `predict` keeps its
error. Real CLI runs on three synthetic services of three weeks and a 2-row one created at the end."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import gpucast_exe

pd = pytest.importorskip("pandas")

from test_forecast_coverage import _frame  # noqa: E402

REASON = "2 points at 1h; at least 8 are needed"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("skips")
    good = _frame(21, services=3)
    new = pd.DataFrame({"service": "new", "timestamp": good["timestamp"].iloc[-2:].to_numpy(), "rps": [5.0, 6.0]})
    pd.concat([good, new], ignore_index=True).to_csv(folder / "fleet.csv", index=False)
    pd.concat([new, new.assign(service="newer")], ignore_index=True).to_csv(folder / "bad.csv", index=False)
    (folder / "services.csv").write_text(
        "service,team,environment\nsvc-0,search,prod\nsvc-1,chat,prod\nsvc-2,chat,prod\nnew,chat,prod\nnewer,chat,prod\n"
    )
    return folder


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, check=False, timeout=300)


def fleet_excluding(result: subprocess.CompletedProcess[str], service: str, reason: str) -> dict:
    """``gpucast fleet --json`` that succeeded leaving ``service`` out for ``reason``, and said so: its JSON."""
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["not_forecast"] == [{"service": service, "status": "not forecast", "reason": reason}]
    assert data["totals_exclude"] == 1 and "totals exclude 1 service not forecast" in data["notes"]
    return data


def test_predict_all_services_forecasts_the_rest_and_reports_the_short_one(files) -> None:
    base = ("predict", "--history", str(files / "fleet.csv"), "--id-col", "service", "--all-services", "--horizon")
    result = run(*base, "1d", "--json")
    assert result.returncode == 0, result.stderr
    assert f"warning: service 'new' not forecast: {REASON}" in result.stderr
    data = json.loads(result.stdout)
    assert data["new"] == {"status": "not forecast", "reason": REASON}
    for uid in ("svc-0", "svc-1", "svc-2"):
        assert len(data[uid]["forecast"]) == 24
    table = run(*base, "1d")
    assert table.returncode == 0, table.stderr
    out = " ".join(table.stdout.split())
    assert "Forecast of 3 services (1d), 1 not forecast" in out and "new not forecast" in out


def test_single_service_predict_keeps_its_error(files) -> None:
    result = run("predict", "--history", str(files / "fleet.csv"), "--id-col", "service", "--horizon", "1d")
    assert result.returncode == 2
    result = run("predict", "--history", str(files / "bad.csv"), "--service", "new", "--horizon", "1d")
    assert result.returncode == 2 and "series 'new' has 2 points at 1h" in result.stderr


def test_fleet_totals_exclude_the_service_not_forecast(files) -> None:
    base = ("fleet", "--history", str(files / "fleet.csv"), "--services", str(files / "services.csv"))
    data = fleet_excluding(run(*base, "--horizon", "1d", "--no-capacity", "--json"), "new", REASON)
    nodes = {n["id"]: n for n in data["forecast"]["nodes"]}
    assert "service:new" not in nodes
    services = [nodes[f"service:svc-{k}"]["forecast"] for k in range(3)]
    for step, total in enumerate(nodes["all"]["forecast"]):  # bottom_up: the total is the three forecast services
        assert total["mean"] == pytest.approx(
            sum(s[step]["mean"] for s in services), abs=2e-4
        )  # JSON rounds to 4 decimals
    table = run(*base, "--horizon", "1d", "--no-capacity")
    assert table.returncode == 0, table.stderr
    out = " ".join(table.stdout.split())
    assert "service new not forecast" in out and "warning: totals exclude 1 service not forecast" in out
    assert f"warning: new: not forecast ({REASON}); left out of the totals" in out


@pytest.mark.parametrize("command", ["predict", "fleet"])
def test_every_service_bad_is_one_error(files, command) -> None:
    args = ["--history", str(files / "bad.csv"), "--horizon", "1d"]
    args += ["--all-services"] if command == "predict" else ["--services", str(files / "services.csv"), "--no-capacity"]
    result = run(command, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no service can be forecast: all 2 are too short or too gappy" in lines[0]


def test_fleet_api_reports_the_service_not_forecast(files) -> None:
    from fastapi.testclient import TestClient

    from gpucast.store import open_store
    from gpucast.web import WebSettings, create_app

    store = open_store(f"sqlite:///{files / 'api.db'}")
    try:
        client = TestClient(create_app(store=store, settings=WebSettings()))
        upload = {"file": ("h.csv", (files / "fleet.csv").read_bytes(), "text/csv"),
                  "services": ("s.csv", (files / "services.csv").read_bytes())}  # fmt: skip
        response = client.post("/api/v1/fleet", data={"horizon": "1d", "capacity": "false"}, files=upload)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["totals_exclude"] == 1 and data["not_forecast"][0]["service"] == "new"
        upload["file"] = ("h.csv", (files / "bad.csv").read_bytes(), "text/csv")
        response = client.post("/api/v1/fleet", data={"horizon": "1d", "capacity": "false"}, files=upload)
        assert response.status_code in (400, 422) and "no service can be forecast" in response.text
    finally:
        store.close()


def test_a_service_with_a_value_no_forecast_can_use_is_left_out(files) -> None:
    """One service's counter reset (a negative rps) used to stop the whole fleet with the column's error; now it is
    left out with that error as its reason, in the same shape as a too-short service. Single-service predict and a
    file where every service is bad (a wrong column) keep the error."""
    frame = _frame(21, services=3)
    frame.loc[frame.index[frame["service"] == "svc-2"][5], "rps"] = -3.0
    frame.to_csv(files / "reset.csv", index=False)
    reason = "negative value -3 in column 'rps'; request rates must be >= 0 (wrong column or a delta counter?)"
    result = run("predict", "--history", str(files / "reset.csv"), "--all-services", "--horizon", "1d", "--json")
    assert result.returncode == 0, result.stderr
    assert f"warning: service 'svc-2' not forecast: {reason}" in result.stderr
    data = json.loads(result.stdout)
    assert data["svc-2"] == {"status": "not forecast", "reason": reason} and len(data["svc-0"]["forecast"]) == 24
    fleet = ("fleet", "--history", str(files / "reset.csv"), "--services", str(files / "services.csv"))
    fleet_excluding(run(*fleet, "--horizon", "1d", "--no-capacity", "--json"), "svc-2", reason)
    result = run("predict", "--history", str(files / "reset.csv"), "--service", "svc-2", "--horizon", "1d")
    assert result.returncode == 2 and "negative value -3" in result.stderr
    frame.assign(rps=-frame["rps"] - 1).to_csv(files / "negative.csv", index=False)
    result = run("predict", "--history", str(files / "negative.csv"), "--all-services", "--horizon", "1d")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "negative value" in lines[0], result.stderr
