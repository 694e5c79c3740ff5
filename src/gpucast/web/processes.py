"""Plan processes: the plan lanes' new questions computed in a few child processes of the one server process.

A new question is a capacity search in pure Python (~10 ms for an API plan, ~35 ms for a plan page); it holds
the GIL, so in one process the lanes (:mod:`.offload`) and the event loop take turns on one core while the
machine's other cores idle. ``gpucast serve --plan-processes N`` (default: one per core) keeps everything that
must be shared in the server process — the event loop, the plan and page caches, the coalescing of identical
questions in flight, admission (:mod:`.limits`) — and sends only the computation itself, a picklable function of
picklable inputs, to a pool of ``N`` processes; the lane thread that sent it waits without the GIL. ``0``
computes in the lane threads as before.

Children are started with the ``spawn`` context (a fork of a process running an event loop and 40 threads may
copy a held lock) when the server starts, and each imports the planner and loads the catalogs once
(:func:`_warm`), so no request pays for that. A child computes the same code on the same catalog files, so its
answer is the one the server would have computed, its errors too (rebuilt by type, arguments and attributes:
:func:`_raised`): each job carries the server's data version
(:func:`..planning.cache.data_version`); a child whose catalogs differ reloads them, and when they still differ
the job is computed in the server instead.

When a child dies (killed, out of memory) :class:`~concurrent.futures.ProcessPoolExecutor` fails every job it
holds and refuses new ones; :meth:`PlanProcesses.run` then starts a fresh pool and runs the job once more there.
A job whose second try also loses its process is answered ``503`` with ``Retry-After`` — never a hang. Shutting
the app down terminates the children; a child whose server was killed outright ends itself within a second.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from starlette.exceptions import HTTPException

T = TypeVar("T")
RETRY_AFTER_S = 1  # a lost process is replaced in about a second (spawn + imports + catalogs)
MAX_PROCESSES = 64
PARENT_POLL_S = 1.0  # how often a child checks that the server process is still there


def default_count() -> int:
    """One process per core the server may use (2 on the 2-core machine of docs/reliability.md)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _watch(parent: int) -> None:
    """Each child's initializer: a thread that ends the child when the server process is gone (``kill -9`` of the
    server runs no shutdown, and a child waiting for its next job would otherwise wait forever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="gpucast-parent-watch", daemon=True).start()


def _warm(modules: tuple[str, ...]) -> int:
    """Run once in each child before its first job: the imports (``modules``: those whose functions the server
    sends, named by the app) and the catalogs every plan needs."""
    import importlib

    from ..catalog import loader
    from ..planning import compare, estimate, inference  # noqa: F401  (imported for their import cost)
    from ..training import plan  # noqa: F401

    for module in modules:
        importlib.import_module(module)
    loader.load_gpus()
    loader.load_prices()
    loader.clouds()
    return os.getpid()


def _call(version: str, function: Callable[..., T], args: tuple[Any, ...]) -> tuple[str, Any]:
    """In the child: ``("done", result)``; ``("raised", (type, args, attributes))`` of the error ``function``
    raised (rebuilt in the server by :func:`_raised`: pickling an error calls its ``__init__`` with its ``args``,
    which breaks the pool for errors whose ``__init__`` takes other arguments, such as ``SLOInfeasibleError``); or
    ``("here", None)`` when the server must compute it itself (its catalogs are not the child's, or the error does
    not travel)."""
    from ..catalog.loader import reload_prices
    from ..planning.cache import data_version

    if data_version() != version:
        reload_prices()
        if data_version() != version:
            return "here", None
    try:
        return "done", function(*args)
    except Exception as error:
        state = (type(error), error.args, dict(vars(error)))
        try:
            pickle.loads(pickle.dumps(state))
        except Exception:
            return "here", None
        return "raised", state


def _raised(state: tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]) -> BaseException:
    """The child's error, the same type, arguments and attributes, without calling its ``__init__``."""
    kind, args, attributes = state
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(attributes)
    return error


class PlanProcesses:
    """A pool of ``count`` spawned processes that is replaced when one of its processes dies."""

    def __init__(self, count: int, warm: tuple[str, ...] = ()) -> None:
        if not 1 <= count <= MAX_PROCESSES:
            raise ValueError(f"count {count} must be between 1 and {MAX_PROCESSES}")
        self.count = count
        self.warm = warm
        self.jobs = 0  # sent to a child
        self.replaced = 0  # pools started again after losing a process
        self.lost = 0  # jobs answered 503 because their process died twice
        self._lock = threading.Lock()
        self._counted = threading.Lock()
        self._closed = False
        self._pool = self._started()

    def _started(self) -> ProcessPoolExecutor:
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.count, mp_context=spawn, initializer=_watch, initargs=(os.getpid(),))
        for _ in range(self.count):  # each of the first `count` jobs starts a process: every child warms at once
            pool.submit(_warm, self.warm)
        return pool

    def wait_ready(self, timeout: float = 120.0) -> list[int]:
        """Block until every child has warmed (a fresh pool's first jobs); their pids."""
        futures: list[Future[int]] = [self._pool.submit(_warm, self.warm) for _ in range(self.count)]
        return [future.result(timeout=timeout) for future in futures]

    def pids(self) -> list[int]:
        """The live children's process ids (for tests and the RSS figures of docs/reliability.md)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(int(pid) for pid in processes)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` computed in a child (blocking: called from a lane thread, which waits without the
        GIL); its exception is raised here. See the module's text for a lost process."""
        from ..planning.cache import data_version

        version = data_version()
        for _ in range(2):
            pool = self._pool
            with self._counted:
                self.jobs += 1
            try:
                future = pool.submit(_call, version, function, args)
            except RuntimeError:  # broken (BrokenProcessPool is one), or being replaced or shut down
                if self._closed:
                    break
                self._replace(pool)
                continue
            try:
                outcome, value = future.result()
            except (BrokenProcessPool, CancelledError):  # its process died (or its broken pool was shut down)
                self._replace(pool)
                continue
            if outcome == "raised":
                raise _raised(value)
            if outcome == "here":
                return function(*args)
            return value  # type: ignore[no-any-return]
        with self._counted:
            self.lost += 1
        raise HTTPException(
            503,
            "the planner process computing this request stopped; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )  # the one error shape (.errors)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A fresh pool in place of ``broken`` (once, however many lane threads saw it break)."""
        with self._lock:
            if self._closed or self._pool is not broken:
                return
            self._pool = self._started()
            self.replaced += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def shut_down(self) -> None:
        """Stop the children (the app is stopping): queued jobs are dropped, running ones are terminated."""
        with self._lock:
            self._closed = True
            pool = self._pool
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)


def run(state: Any, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in the app's plan processes, or right here when it has none (``--plan-processes 0``,
    and apps built by tests)."""
    processes: PlanProcesses | None = getattr(state, "plan_processes", None)
    if processes is None:
        return function(*args)
    return processes.run(function, *args)
