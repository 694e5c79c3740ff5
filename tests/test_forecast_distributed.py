"""The Dask backend of the fleet forecast, on real local Dask clusters (no mocks): same answers as the local backend.

statsforecast's distributed backend (fugue) returns float32 columns, so forecasts are compared to the local ones
within a relative 1e-5; which members are picked and how they are combined must be identical. One in-process cluster
(``processes=False``, two single-thread workers) is shared by the module; one test starts the default temporary
cluster of worker processes, as the CLI does. Measured: the module runs in ~25 s on two cores.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("statsforecast")
distributed = pytest.importorskip("distributed")
pytest.importorskip("fugue_dask")

from gpucast.cli.main import main  # noqa: E402
from gpucast.errors import InputError  # noqa: E402
from gpucast.forecast import forecast_fleet, load_history  # noqa: E402
from gpucast.forecast.distributed import open_backend  # noqa: E402

HOURS = 3 * 7 * 24


def fleet(n: int = 4, seed: int = 3) -> pd.DataFrame:
    """Hourly services with different levels, daily/weekly shapes and noise, plus one constant and one short series:
    several plan groups, a constant shortcut and a short-history fallback go through both backends."""
    rng = np.random.default_rng(seed)
    t = np.arange(HOURS)
    ds = pd.date_range("2026-01-05", periods=HOURS, freq="h")
    frames = []
    for k in range(n):
        level = rng.uniform(5, 300)
        weekly = np.where((t // 24) % 7 >= 5, 0.6 + 0.1 * k, 1.0)
        y = level * (1 + 0.003 * k * t / 24) * (1 + 0.4 * np.sin(2 * np.pi * (t + 3 * k) / 24)) * weekly
        frames.append(
            pd.DataFrame({"service": f"svc-{k}", "timestamp": ds, "rps": y + rng.normal(0, 0.04 * level, HOURS)})
        )
    frames.append(pd.DataFrame({"service": "flat", "timestamp": ds, "rps": 7.0}))
    short = 5 * 24  # under two weeks: no weekly season
    frames.append(
        pd.DataFrame({"service": "young", "timestamp": ds[-short:], "rps": 20 + 5 * np.sin(np.arange(short) / 3.8)})
    )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def history():
    return load_history(fleet(), id_col="service")


@pytest.fixture(scope="module")
def local(history):
    return forecast_fleet(history, "1d", fast=False, engine="statsforecast")


@pytest.fixture(scope="module")
def cluster():
    """A real in-process cluster: two single-thread workers. Its start/stop warnings are distributed's, not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    yield cluster
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster.close()


@pytest.fixture(scope="module")
def client(cluster):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = distributed.Client(cluster, set_as_default=False)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()


def assert_same(a, b):
    """Same services, members, combination and forecasts (float32 tolerance) for two fleet results."""
    assert list(a) == list(b)
    for uid in a:
        x, y = a[uid], b[uid]
        assert [m.name for m in x.members] == [m.name for m in y.members], uid
        assert x.combination == y.combination, uid
        for field in ("mean", "lo80", "hi80", "lo95", "hi95"):
            left = np.array([getattr(p, field) for p in x.forecast])
            right = np.array([getattr(p, field) for p in y.forecast])
            np.testing.assert_allclose(right, left, rtol=1e-5, atol=1e-6, err_msg=f"{uid} {field}")
        assert [p.timestamp for p in x.forecast] == [p.timestamp for p in y.forecast]
        assert y.backtest.mase == pytest.approx(x.backtest.mase, rel=1e-5, nan_ok=True)
        assert y.backtest.baseline_mase == pytest.approx(x.backtest.baseline_mase, rel=1e-5, nan_ok=True)


def test_dask_client_gives_the_local_forecasts(history, local, client):
    calls = []
    on_dask = forecast_fleet(
        history, "1d", fast=False, backend="dask", scheduler=client, progress=lambda *c: calls.append(c)
    )
    assert_same(local, on_dask)
    assert calls[0][0] == 1 and calls[-1] == (6, 6)  # the constant series needs no fit
    assert client.status == "running"  # a client passed in is not closed


def test_dask_scheduler_address_and_fast_mode(history, cluster):
    local_fast = forecast_fleet(history, "12h", fast=True, engine="statsforecast")
    on_dask = forecast_fleet(history, "12h", fast=True, backend="dask", scheduler=cluster.scheduler_address)
    assert_same(local_fast, on_dask)


def test_default_temporary_cluster_of_worker_processes():
    """scheduler=None: the path the CLI takes — a LocalCluster of worker processes started and closed for the call."""
    two = load_history(fleet(2, seed=5), id_col="service")
    assert_same(
        forecast_fleet(two, "6h", fast=True, engine="statsforecast"),
        forecast_fleet(two, "6h", fast=True, backend="dask", n_jobs=2),
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "ray"}, "unknown backend 'ray'; accepted: local, dask"),
        ({"scheduler": "tcp://127.0.0.1:8786"}, "needs backend 'dask'"),
        ({"backend": "dask", "scheduler": 8786}, "scheduler of type int is not accepted"),
        ({"backend": "dask", "scheduler": "nonsense:::"}, "cannot reach the Dask scheduler at 'nonsense:::'"),
    ],
)
def test_bad_backend_options(history, options, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        forecast_fleet(history, "1d", **options)


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "fugue_dask", None)  # as if fugue[dask] were not installed
    with (
        pytest.raises(InputError, match=r"fugue_dask is missing\); .*\[distributed\]"),
        open_backend("dask"),
    ):
        pass


def test_cli_backend_flags(tmp_path, capsys):
    path = tmp_path / "fleet.csv"
    fleet(2).to_csv(path, index=False)
    base = ["predict", "--history", str(path), "--id-col", "service", "--horizon", "6h"]
    assert main([*base, "--all-services", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "--scheduler 'tcp://127.0.0.1:8786' needs --backend dask" in capsys.readouterr().err
    assert main([*base, "--service", "svc-0", "--backend", "dask"]) == 2
    assert "apply to --all-services" in capsys.readouterr().err
    assert main([*base, "--all-services", "--backend", "dask", "--scheduler", "nonsense:::"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpucast: error: cannot reach the Dask scheduler") and "Traceback" not in err
