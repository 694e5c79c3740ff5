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

Each child has memos of its own (the latencies of configurations at loads, replica estimates), so a question goes
to the child that computed its family before (:func:`family`, :meth:`PlanProcesses._route`: the same model,
precision and request shape), unless that child is busy; measured on the 2-core machine of docs/reliability.md.

Each child is in a :class:`~concurrent.futures.ProcessPoolExecutor` of its own; when it dies (killed, out of
memory) its pool fails every job it holds and refuses new ones; :meth:`PlanProcesses.run` then starts a fresh
one in its place and runs the job once more (wherever the routing sends it).
A job whose second try also loses its process is answered ``503`` with ``Retry-After`` — never a hang. Shutting
the app down terminates the children; a child whose server was killed outright ends itself within a second.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from starlette.exceptions import HTTPException

T = TypeVar("T")
RETRY_AFTER_S = 1  # a lost process is replaced in about a second (spawn + imports + catalogs)
MAX_PROCESSES = 64
PARENT_POLL_S = 1.0  # how often a child checks that the server process is still there
AFFINITY_QUEUE = 2  # jobs a process may hold (one computing, one waiting) before its family spills to an idler one
FAMILY_FIELDS = ("model_name", "model_size_billions", "precision", "avg_input_tokens", "avg_output_tokens")


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


def family(args: tuple[Any, ...]) -> str | None:
    """What the search of a job shares with others, for :class:`PlanProcesses`' routing: the model, its precision
    and the request shape found in ``args`` (and in the arguments of a :func:`functools.partial` among them), or
    ``None`` when there is none (a training plan, an estimate). The child's memos — ``core.load_memo``'s latencies,
    ``inference.replica_estimates``, the per-step ``lru_cache``\\ s of ``core.memory`` — are keyed by the replica
    configuration and the request shape, not by the rate, the SLOs or the cloud, so two questions of one family
    reuse each other's work when they are computed in the same process. The GPU choice is left out on purpose: a
    search over every GPU ("any") tries the configurations of a pinned-GPU question of the same family too."""
    parts: list[tuple[str, Any]] = []
    pending: list[Any] = list(args)
    while pending:
        value = pending.pop(0)
        if isinstance(value, functools.partial):
            pending[:0] = list(value.args)
            continue
        if isinstance(value, (str, int, float, bytes, type(None))) or callable(value):
            continue
        parts.extend((name, getattr(value, name)) for name in FAMILY_FIELDS if getattr(value, name, None) is not None)
    return repr(parts) if parts else None


class PlanProcesses:
    """``count`` spawned processes, each in a pool of its own (so a job can be sent to a chosen one), each replaced
    when it dies.

    A job goes to the process its :func:`family` hashes to (a stable hash: the same process in every run), so the
    process's memos serve the whole family; when that process already holds :data:`AFFINITY_QUEUE` jobs and
    another holds fewer, the job goes to the least busy one instead (a popular family does not queue behind
    itself while a core idles). A job without a family goes to the least busy process (of equally busy ones, each
    in turn)."""

    def __init__(self, count: int, warm: tuple[str, ...] = ()) -> None:
        if not 1 <= count <= MAX_PROCESSES:
            raise ValueError(f"count {count} must be between 1 and {MAX_PROCESSES}")
        self.count = count
        self.warm = warm
        self.jobs = 0  # sent to a child
        self.replaced = 0  # processes started again after one died
        self.lost = 0  # jobs answered 503 because their process died twice
        self.sent = [0] * count  # jobs sent to each process
        self.spilled = 0  # jobs of a family sent to another process than their own (it was busy)
        self._held = [0] * count  # jobs sent to each process and not answered yet
        self._turn = 0
        self._lock = threading.Lock()
        self._counted = threading.Lock()
        self._closed = False
        self._pools = [self._started() for _ in range(count)]

    def _started(self) -> ProcessPoolExecutor:
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(1, mp_context=spawn, initializer=_watch, initargs=(os.getpid(),))
        pool.submit(_warm, self.warm)  # its first job starts the process: every child warms at once
        return pool

    def wait_ready(self, timeout: float = 120.0) -> list[int]:
        """Block until every child has warmed (a fresh pool's first jobs); their pids."""
        futures: list[Future[int]] = [pool.submit(_warm, self.warm) for pool in self._pools]
        return [future.result(timeout=timeout) for future in futures]

    def pids(self) -> list[int]:
        """The live children's process ids (for tests and the RSS figures of docs/reliability.md)."""
        return sorted(int(pid) for pool in self._pools for pid in (getattr(pool, "_processes", None) or {}))

    def _route(self, key: str | None) -> int:
        """The process a job of family ``key`` goes to (see the class's text); counted as held until answered."""
        with self._counted:
            self.jobs += 1
            self._turn = (self._turn + 1) % self.count  # among the least busy, each in turn
            least = min(range(self.count), key=lambda slot: (self._held[slot], (slot - self._turn) % self.count))
            chosen = least
            if key is not None:
                own = zlib.crc32(key.encode()) % self.count
                if self._held[own] < AFFINITY_QUEUE or self._held[own] <= self._held[least]:
                    chosen = own
                else:
                    self.spilled += 1
            self._held[chosen] += 1
            self.sent[chosen] += 1
            return chosen

    def _answered(self, slot: int) -> None:
        with self._counted:
            self._held[slot] -= 1

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` computed in a child (blocking: called from a lane thread, which waits without the
        GIL); its exception is raised here. See the module's text for a lost process."""
        from ..planning.cache import data_version

        version = data_version()
        key = family(args)
        for _ in range(2):
            slot = self._route(key)
            pool = self._pools[slot]
            try:
                try:
                    future = pool.submit(_call, version, function, args)
                except RuntimeError:  # broken (BrokenProcessPool is one), or being replaced or shut down
                    if self._closed:
                        break
                    self._replace(slot, pool)
                    continue
                try:
                    outcome, value = future.result()
                except (BrokenProcessPool, CancelledError):  # its process died (or its broken pool was shut down)
                    self._replace(slot, pool)
                    continue
            finally:
                self._answered(slot)
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

    def _replace(self, slot: int, broken: ProcessPoolExecutor) -> None:
        """A fresh process in place of ``broken`` (once, however many lane threads saw it break)."""
        with self._lock:
            if self._closed or self._pools[slot] is not broken:
                return
            self._pools[slot] = self._started()
            self.replaced += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def shut_down(self) -> None:
        """Stop the children (the app is stopping): queued jobs are dropped, running ones are terminated."""
        with self._lock:
            self._closed = True
            pools = list(self._pools)
        processes = [process for pool in pools for process in (getattr(pool, "_processes", None) or {}).values()]
        for pool in pools:
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
