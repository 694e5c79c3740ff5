"""Distributed fitting: the fleet forecast on a Dask cluster, through statsforecast's own distributed backend.

Why it exists: one machine fits about a thousand services in a minute or two (fast fleet mode, 2 cores). A fleet of
tens of thousands of services, or the full ensemble on a large fleet, wants the cores of several machines. Given a
Dask DataFrame, statsforecast runs the very same models through fugue on the cluster's workers (one task per
series), so members, backtest folds and forecasts are the library's and unchanged; only where they run differs. The
results come back to this process as pandas and go through the same combination and conformal intervals as the
local backend (``ensemble._assemble``), so answers match it to float32 precision: statsforecast's distributed
backend returns float32 columns, which this module widens back to float64.

It is not a speed-up on one machine: the local backend already uses every core without shipping data, and a
cluster adds scheduling, a shuffle by series and worker start-up (``benchmarks/bench_forecast_distributed.py``).

``scheduler``: ``None`` starts a temporary ``LocalCluster`` (one single-threaded worker process per core) for the
call; a string is the address of a running scheduler (``tcp://host:8786``); a ``dask.distributed.Client`` is used
as it is and left open. Workers need ``gpucast[distributed]``'s libraries (statsforecast, fugue, dask), not gpucast.
On the workers, warnings raised by those libraries are filtered out, as the local backend silences the same fits.

Install: ``pip install 'gpucast[distributed]'``. Imports are lazy: importing this module needs none of it.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..extras import install_hint

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

BACKENDS = ("local", "dask")
CONNECT_TIMEOUT_S = 10  # an unreachable scheduler address fails after this long, with the address in the message
PARTITIONS_PER_THREAD = 2  # input partitions per worker thread: enough to keep every worker busy while tasks vary
# warnings raised on the workers by the fitting libraries (ARIMA convergence, a pandas deprecation inside dask's
# groupby-apply): not the user's to act on, and the local backend silences the same fits
_LIBRARY_WARNINGS = r"(statsforecast|statsmodels|coreforecast|dask|distributed|fugue|fugue_dask|triad|pandas)(\.|$)"


def check_backend(backend: str, scheduler: Any = None) -> None:
    """Reject a bad backend/scheduler pair before any history is read or any cluster started."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise InputError(f"a scheduler ({scheduler!r}) needs backend 'dask', not {backend!r}")
    if scheduler is not None and not isinstance(scheduler, str) and not hasattr(scheduler, "submit"):
        raise InputError(
            f"scheduler of type {type(scheduler).__name__} is not accepted; pass an address like tcp://host:8786 "
            "or a dask.distributed.Client"
        )


def _require() -> Any:
    """The ``distributed`` module; fails with the install command, not an ImportError traceback, when the extra is
    missing. Imported by name: the extra is optional, so type checking must not depend on it being installed."""
    try:
        for name in ("dask.dataframe", "fugue_dask"):
            importlib.import_module(name)
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise InputError(
            f"backend 'dask' needs dask, distributed and fugue[dask] ({exc.name} is missing); {install_hint('distributed')}"
        ) from None


@contextmanager
def open_backend(backend: str = "local", scheduler: Any = None, n_workers: int = -1) -> Iterator[DaskBackend | None]:
    """The engine ``forecast_frame`` fits with, open for the ``with`` block: ``None`` for the local backend.

    For ``dask`` it holds a client for the whole fleet (every group and chunk), so a temporary local cluster starts
    once; a cluster or client this module opened is closed on exit, a client passed in is not.
    """
    check_backend(backend, scheduler)
    if backend == "local":
        yield None
        return
    dist = _require()
    if scheduler is not None and not isinstance(scheduler, str):
        yield DaskBackend(scheduler)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # start-up warnings of distributed/tornado are not the user's
        if scheduler is None:
            workers = n_workers if n_workers >= 1 else (os.cpu_count() or 1)
            cluster = dist.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = dist.Client(cluster, set_as_default=False)
        else:
            cluster = None
            try:
                _probe(scheduler)
                client = dist.Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
            except Exception as exc:  # OSError, TimeoutError, ValueError, or garbage from a non-Dask server
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputError(
                    f"cannot reach the Dask scheduler at {scheduler!r} ({reason}); give the address of a running "
                    "`dask scheduler` (tcp://host:8786) or no scheduler for a local cluster"
                ) from None
    try:
        yield DaskBackend(client)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            if cluster is not None:
                cluster.close()


def _probe(address: str) -> None:
    """Dask's own connect-and-handshake to ``address``, without a Client: a Client that fails half-way (no
    scheduler, or something else listening there) hangs 20 s at exit and prints a traceback from ``__del__``."""
    comm = importlib.import_module("distributed.comm")

    async def handshake() -> None:
        connection = await comm.connect(address, timeout=CONNECT_TIMEOUT_S)
        await connection.close()

    asyncio.run(handshake())


class DaskBackend:
    """Runs statsforecast's backtest and forecast on a Dask DataFrame through ``client`` and returns pandas."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._quieted = False

    def run(self, sf: Any, df: pd.DataFrame, folds: dict[str, Any], horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``sf.cross_validation(**folds)`` and ``sf.forecast(h=horizon)`` on ``df`` partitioned by series.

        Both are built lazily on one frame and computed together, so the cluster reads the input once. Warnings
        are silenced here as the local backend silences them: statsforecast/fugue/dask warn about internals
        (a pandas deprecation inside dask's groupby-apply, ARIMA convergence), never about the user's data, and
        ``filterwarnings = error`` in the tests would otherwise fail on them in an in-process cluster.
        """
        shuffle_log = logging.getLogger("distributed.shuffle")
        level = shuffle_log.level
        shuffle_log.setLevel(logging.ERROR)  # "shuffle initialized/deactivated" notes of every groupby are noise
        try:
            with warnings.catch_warnings(), self.client.as_current():
                warnings.simplefilter("ignore")
                if not self._quieted:
                    self.client.run(functools.partial(warnings.filterwarnings, "ignore", module=_LIBRARY_WARNINGS))
                    self._quieted = True
                data = self._frame(df)
                cv = sf.cross_validation(df=data, **folds)
                fc = sf.forecast(df=data, h=horizon)
                cv, fc = self.client.gather(self.client.compute([cv, fc]))
        finally:
            shuffle_log.setLevel(level)
        return _plain(cv), _plain(fc)

    def _frame(self, df: pd.DataFrame) -> Any:
        """A Dask DataFrame of ``df`` whose partitions hold whole series (divisions on ``unique_id``)."""
        dd = importlib.import_module("dask.dataframe")
        threads = max(1, sum(self.client.nthreads().values()))
        parts = max(1, min(int(df["unique_id"].nunique()), PARTITIONS_PER_THREAD * threads))
        indexed = df.set_index("unique_id")
        return dd.from_pandas(indexed, npartitions=parts, sort=True).reset_index()


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Local-backend dtypes: object ids, datetime64 stamps, float64 values (the distributed path gives string,
    pyarrow timestamps and nullable Float32)."""
    import numpy as np
    import pandas as pd

    out = pd.DataFrame(index=range(len(frame)))
    for name in frame.columns:
        column = frame[name]
        if name == "unique_id":
            out[name] = column.astype(str).to_numpy(dtype=object)
        elif name in ("ds", "cutoff"):
            out[name] = column.astype("datetime64[ns]").to_numpy()
        else:
            out[name] = column.to_numpy(dtype="float64", na_value=np.nan)
    return out
