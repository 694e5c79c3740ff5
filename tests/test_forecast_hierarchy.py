"""Fleet hierarchy (forecast/hierarchy.py) and fleet capacity (planning/fleet.py): reconciliation algebra checked by
hand, coherence of a real fit, GPUs per team, the run-out date and monthly spend; `gpucast fleet` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from gpucast.cli.main import main  # noqa: E402
from gpucast.errors import InputError  # noqa: E402
from gpucast.forecast.hierarchy import (  # noqa: E402
    build_tree,
    forecast_hierarchy,
    projection,
    reconcile,
    shrunk_covariance,
)
from gpucast.inputs.types import GPUConfig, ModelConfig  # noqa: E402
from gpucast.planning.fleet import ServiceConfig, ServiceSizing, fleet_plan  # noqa: E402

GROUPS = {"a": ("search", "prod"), "b": ("search", "prod"), "c": ("chat", "prod"), "d": ("chat", "staging")}


def fleet_frame(days: int = 21, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(days * 24)
    stamps = pd.date_range("2026-09-01", periods=len(t), freq="h", tz="UTC")
    rows = []
    for k, (service, level) in enumerate({"a": 20.0, "b": 8.0, "c": 12.0, "d": 3.0}.items()):
        y = level * (1 + 0.4 * np.sin(2 * np.pi * (t + 3 * k) / 24)) * np.exp(rng.normal(0, 0.1, len(t)))
        rows.append(pd.DataFrame({"service": service, "timestamp": stamps, "rps": y}))
    return pd.concat(rows, ignore_index=True)


def test_tree_and_summing_matrix_hand_checked() -> None:
    nodes, s = build_tree(["a", "b", "c", "d"], GROUPS)
    assert [n.id for n in nodes] == [
        "all", "environment:prod", "environment:staging", "team:prod/chat", "team:prod/search",
        "team:staging/chat", "service:a", "service:b", "service:c", "service:d",
    ]  # fmt: skip
    assert s[0].tolist() == [1, 1, 1, 1]
    assert s[1].tolist() == [1, 1, 1, 0] and s[2].tolist() == [0, 0, 0, 1]
    assert s[4].tolist() == [1, 1, 0, 0] and s[5].tolist() == [0, 0, 0, 1]
    assert np.array_equal(s[6:], np.eye(4))
    with pytest.raises(InputError, match="1 services have no team/environment"):
        build_tree(["a", "x"], GROUPS)


def test_bottom_up_and_ols_hand_checked() -> None:
    # two services under one total: base total 10, services 3 and 5 (incoherent by 2)
    s = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    base = np.array([[10.0], [3.0], [5.0]])
    p, _ = projection(s, "bottom_up", None)
    assert reconcile(base, s, p)[:, 0].tolist() == [8.0, 3.0, 5.0]
    # OLS splits the gap of 2 evenly over the three nodes: each service +2/3, the total -2/3
    p, _ = projection(s, "ols", None)
    assert reconcile(base, s, p)[:, 0] == pytest.approx([28 / 3, 11 / 3, 17 / 3])


def test_wls_trusts_the_node_with_the_smaller_errors() -> None:
    s = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    base = np.array([[10.0], [3.0], [5.0]])
    rng = np.random.default_rng(0)
    errors = rng.normal(0, 1, (500, 3)) * np.array([0.01, 1.0, 1.0])  # the total is nearly exact
    p, _ = projection(s, "wls", errors)
    out = reconcile(base, s, p)[:, 0]
    assert out[0] == pytest.approx(10.0, abs=0.01) and out[1] + out[2] == pytest.approx(out[0])


def test_shrinkage_intensity_bounds() -> None:
    rng = np.random.default_rng(1)
    independent = rng.normal(0, 1, (40, 5))
    _, lam_noise = shrunk_covariance(independent)
    shared = rng.normal(0, 1, (40, 1))
    correlated = shared + 0.05 * rng.normal(0, 1, (40, 5))
    cov, lam_shared = shrunk_covariance(correlated)
    assert 0.0 <= lam_shared < lam_noise <= 1.0  # real correlation is kept, noise correlation shrunk
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)


@pytest.fixture(scope="module")
def fitted():
    frame = fleet_frame()
    from gpucast.forecast import load_history

    history = load_history(frame, id_col="service")
    return history, {
        m: forecast_hierarchy(history, "3d", GROUPS, method=m, n_jobs=1) for m in ("bottom_up", "mint_shrink")
    }


@pytest.mark.parametrize("method", ["bottom_up", "mint_shrink"])
def test_reconciled_forecasts_add_up_at_every_level(fitted, method) -> None:
    _, hf = fitted
    hf = hf[method]
    assert len(hf.results["all"].forecast) == 72
    for node in hf.nodes:
        children = hf.children(node.id)
        if not children:
            continue
        own = np.array([p.mean for p in hf.results[node.id].forecast])
        summed = np.sum([[p.mean for p in hf.results[c.id].forecast] for c in children], axis=0)
        assert own == pytest.approx(summed, rel=1e-9)
        for p in hf.results[node.id].forecast:
            assert 0 <= p.lo95 <= p.lo80 <= p.mean <= p.hi80 <= p.hi95
    if method == "mint_shrink":
        assert hf.shrinkage is not None and 0 <= hf.shrinkage <= 1
    data = hf.to_dict()
    assert data["method"] == method and len(data["nodes"]) == len(hf.nodes)


def test_fleet_plan_gpus_per_team_run_out_and_spend(fitted) -> None:
    history, hf = fitted
    hf = hf["bottom_up"]
    config = ServiceConfig(ModelConfig(model_name="llama-3.1-8b"), 500, 200, GPUConfig(gpu_type="L4"))
    plan = fleet_plan(hf, dict.fromkeys(GROUPS, config), history=history, period="day", current_gpus=10)
    by = {s.service: s for s in plan.sizing}
    assert set(by) == set(GROUPS) and all(s.gpu_type.startswith("L4") for s in plan.sizing)
    teams = {(t.environment, t.team) for t in plan.teams}
    assert teams == {("prod", "search"), ("prod", "chat"), ("staging", "chat")}
    assert len(plan.totals) == 3  # three UTC days
    for t in plan.teams:
        assert t.gpus_low <= t.gpus <= t.gpus_high and t.monthly_cost and t.monthly_cost > 0
    # the fleet total at the mean is the sum of each service's whole replicas at its own mean, per step
    mean = {s: np.array([p.mean for p in hf.results[f"service:{s}"].forecast]) for s in GROUPS}
    per_step = np.sum([by[s].gpus(mean[s]) for s in GROUPS], axis=0)
    assert plan.totals[0]["gpus"] == int(per_step[:24].max())
    # runs out: the first step whose need exceeds the fleet; earliest <= expected
    first = int(np.flatnonzero(per_step > 10)[0]) if (per_step > 10).any() else None
    assert plan.runs_out["expected"] == (None if first is None else hf.results["all"].forecast[first].timestamp)
    assert plan.runs_out["earliest"] is not None and plan.runs_out["earliest"] <= (plan.runs_out["expected"] or "~")
    # spend: September from history only, the forecast continues in September too (21 days + 3)
    assert [m.month for m in plan.spend] == ["2026-09"]
    month = plan.spend[0]
    assert month.source == "history+forecast" and month.hours == 24 * 24
    assert month.spend_low <= month.spend <= month.spend_high


def test_service_sizing_rounds_replicas_hand_checked() -> None:
    s = ServiceSizing("x", "t", "prod", "L4", 2, 10.0, 2, 0.25, 1.0)
    # 7 req/s x 1.25 / 10 = 0.875 -> 1 replica, but at least 2 -> 4 GPUs; 30 x 1.25 / 10 = 3.75 -> 4 -> 8 GPUs
    assert s.gpus(np.array([7.0, 30.0, 32.0])).tolist() == [4, 8, 8]


def test_fleet_cli_table_and_json(tmp_path, capsys) -> None:
    history = tmp_path / "fleet.csv"
    fleet_frame().to_csv(history, index=False)
    services = tmp_path / "services.csv"
    lines = ["service,team,environment,model,input_tokens,output_tokens,gpu"]
    lines += [f"{s},{team},{env},llama-3.1-8b,500,200,L4" for s, (team, env) in GROUPS.items()]
    services.write_text("\n".join(lines) + "\n")
    base = ["fleet", "--history", str(history), "--services", str(services), "--horizon", "2d"]
    assert main([*base, "--current-gpus", "4"]) == 0
    out = capsys.readouterr().out
    assert "GPUs per team and week" in out and "Monthly GPU spend" in out and "run out" in out
    assert main([*base, "--json", "--reconcile", "wls"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["forecast"]["method"] == "wls" and data["capacity"]["teams"]
    # bad input: one line, exit 2
    services.write_text("service,team\na,search\n")
    assert main(base) == 2
    assert "needs the columns service, team, environment" in capsys.readouterr().err
    services.write_text("service,team,environment\na,s,prod\nb,s,prod\nc,c,prod\nd,c,staging\n")
    assert main(base) == 2
    assert "lack model, input_tokens or output_tokens" in capsys.readouterr().err
    assert main([*base, "--no-capacity", "--json"]) == 0
    assert "capacity" not in json.loads(capsys.readouterr().out)


def test_fleet_from_the_store(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'fleet.db'}")
    frame = fleet_frame(days=14)
    for service, (team, env) in GROUPS.items():
        add = ["service", "add", service + "-svc", "--team", team, "--environment", env, "--criticality", "tier2",
               "--cloud", "aws", "--region", "us-east-1", "--model", "llama-3.1-8b", "--input-tokens", "500",
               "--output-tokens", "200"]  # fmt: skip
        assert main(add) == 0
        path = tmp_path / f"{service}.csv"
        frame[frame["service"] == service][["timestamp", "rps"]].to_csv(path, index=False)
        assert main(["metrics", "import", service + "-svc", str(path)]) == 0
    capsys.readouterr()
    assert main(["fleet", "--from-store", "--horizon", "1d", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {n["name"] for n in data["forecast"]["nodes"] if n["level"] == "service"}
    assert names == {s + "-svc" for s in GROUPS}
    assert {t["team"] for t in data["capacity"]["teams"]} == {"search", "chat"}
    assert main(["fleet", "--from-store", "--team", "search", "--horizon", "1d", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {n["name"] for n in data["forecast"]["nodes"] if n["level"] == "team"} == {"search"}
    assert main(["fleet", "--from-store", "--history", "x.csv"]) == 2
    capsys.readouterr()
    # a service without a model: its traffic is forecast, but a capacity plan needs its model -> one-line error
    assert main(["service", "add", "bare", "--team", "chat", "--environment", "prod", "--criticality", "tier3",
                 "--cloud", "aws", "--region", "us-east-1"]) == 0  # fmt: skip
    path = tmp_path / "bare.csv"
    frame[frame["service"] == "a"][["timestamp", "rps"]].to_csv(path, index=False)
    assert main(["metrics", "import", "bare", str(path)]) == 0
    main(["service", "add", "empty", "--team", "chat", "--environment", "prod", "--criticality", "tier3",
          "--cloud", "aws", "--region", "us-east-1"])  # fmt: skip
    capsys.readouterr()
    assert main(["fleet", "--from-store", "--horizon", "1d"]) == 2
    assert "1 services have no model or tokens (bare)" in capsys.readouterr().err
    assert main(["fleet", "--from-store", "--horizon", "1d", "--no-capacity", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "empty: no usage history, left out" in data["notes"] and "capacity" not in data
    assert "bare" in {n["name"] for n in data["forecast"]["nodes"]}
