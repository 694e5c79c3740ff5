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

Each child is a :class:`_Child`: a spawned process and one pipe. The lane thread that sends a job pickles it,
writes it and reads the answer itself (answers come back in the order the jobs were sent; the thread that reads
hands each to its sender), so a new plan costs the server one pickle, one write, one read and one wake-up of the
waiting thread — a :class:`~concurrent.futures.ProcessPoolExecutor` (as before) added a manager thread and a
queue-feeder thread, each woken for every job, which cost the server process ~0.2 ms per plan and more on a
CPU-saturated machine (docs/reliability.md). When a child dies (killed, out of memory) its pipe ends: every job
it holds is failed and :meth:`PlanProcesses.run` starts a fresh child in its place and runs the job once more
(wherever the routing sends it).
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
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
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


def _serve(connection: Connection, parent: int, modules: tuple[str, ...]) -> None:
    """A child's life: warm up, then answer each job (a pickled ``(function, args)``) with the pickled result of
    ``function(*args)``, in order, until the server closes the pipe or is gone (:func:`_watch`)."""
    _watch(parent)
    _warm(modules)
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: Any = function(*args)
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # a warm-up that failed, or a result that does not pickle: computed in the server
            data = pickle.dumps(("here", repr(error)), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            connection.send_bytes(data)
        except OSError:
            return


class ChildLost(Exception):
    """The child died (or was shut down) before answering."""


class _Ticket:
    """One job sent to a :class:`_Child`, waiting for its answer."""

    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = False
        self.answer: Any = None


class _Child:
    """A spawned process computing the jobs written to its pipe, in order (see the module's text)."""

    def __init__(self, parent: int, modules: tuple[str, ...]) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._connection, theirs = spawn.Pipe()
        self.process = spawn.Process(target=_serve, args=(theirs, parent, modules), daemon=True,
                                     name="gpucast-plan")  # fmt: skip
        self.process.start()
        theirs.close()  # only the child holds its end: its death ends the pipe
        self._waiting: deque[_Ticket] = deque()
        self._sending = threading.Lock()  # a job's ticket queued and its bytes written, one job at a time
        self._queue = threading.Lock()  # the waiting tickets (never held while writing or reading the pipe)
        self._reading = threading.Lock()
        self.lost = False
        self._warmed = self._send((_warm, (modules,)))  # answered when the child is ready (wait_ready)

    def _send(self, job: tuple[Callable[..., Any], tuple[Any, ...]]) -> _Ticket:
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)  # an unpicklable job raises here, sending nothing
        ticket = _Ticket()
        with self._sending:
            with self._queue:
                if self.lost:
                    raise ChildLost
                self._waiting.append(ticket)
            try:
                self._connection.send_bytes(data)
            except (OSError, ValueError):
                self._lose()
        return ticket

    def _receive(self, ticket: _Ticket) -> Any:
        """``ticket``'s answer: the thread that holds the read lock reads the next answer and hands it to the
        oldest job still waiting, until its own is there."""
        while not ticket.done:
            with self._reading:
                if ticket.done:
                    break
                try:
                    data = self._connection.recv_bytes()
                except (EOFError, OSError, ValueError):
                    self._lose()
                    break
                with self._queue:  # empty when the child was stopped meanwhile (_lose answered every job)
                    oldest = self._waiting.popleft() if self._waiting else None
                if oldest is None:
                    break
                try:
                    oldest.answer = pickle.loads(data)
                except Exception:  # an answer that does not unpickle here: computed in the server instead
                    oldest.answer = ("here", None)
                oldest.done = True
        if ticket.answer is ChildLost:
            raise ChildLost
        return ticket.answer

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)``'s answer from the child (blocking, the GIL released while waiting); raises
        :class:`ChildLost` when the child died first."""
        return self._receive(self._send((function, args)))

    def ready(self) -> int:
        """The child's pid once it has warmed up."""
        pid = self._receive(self._warmed)
        if not isinstance(pid, int):
            raise RuntimeError(f"plan process failed to start: {pid!r}")
        return pid

    def _lose(self) -> None:
        """The child is gone: every job it holds is answered :class:`ChildLost`."""
        with self._queue:
            self.lost = True
            waiting, self._waiting = list(self._waiting), deque()
        for ticket in waiting:
            ticket.answer, ticket.done = ChildLost, True

    def stop(self, signal_first: bool = True) -> None:
        """End the child: its jobs are lost, the process terminated (``kill`` when ``signal_first`` is false),
        waited for, then the pipe closed (after the process, so no thread is left reading a closed pipe)."""
        self._lose()
        if self.process.is_alive():
            self.process.terminate() if signal_first else self.process.kill()
        self.process.join(timeout=5)
        self._connection.close()


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
    """``count`` spawned processes (:class:`_Child`: a job can be sent to a chosen one), each replaced when it dies.

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
        self._children = [self._started() for _ in range(count)]  # every child starts and warms at once

    def _started(self) -> _Child:
        return _Child(os.getpid(), self.warm)

    def wait_ready(self) -> list[int]:
        """Block until every child has warmed; their pids."""
        return [child.ready() for child in list(self._children)]

    def pids(self) -> list[int]:
        """The live children's process ids (for tests and the RSS figures of docs/reliability.md)."""
        return sorted(int(c.process.pid) for c in self._children if c.process.pid is not None and c.process.is_alive())

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
            child = self._children[slot]
            try:
                outcome, value = child.call(_call, version, function, args)
            except ChildLost:  # its process died (or is being replaced, or the app is shutting down)
                if self._closed:
                    break
                self._replace(slot, child)
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

    def _replace(self, slot: int, broken: _Child) -> None:
        """A fresh process in place of ``broken`` (once, however many lane threads saw it break)."""
        with self._lock:
            if self._closed or self._children[slot] is not broken:
                return
            self._children[slot] = self._started()
            self.replaced += 1
        broken.stop(signal_first=False)

    def shut_down(self) -> None:
        """Stop the children (the app is stopping): queued jobs are dropped, running ones are terminated."""
        with self._lock:
            self._closed = True
            children = list(self._children)
        for child in children:
            child._lose()
            if child.process.is_alive():
                child.process.terminate()
        for child in children:
            child.stop()


def run(state: Any, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in the app's plan processes, or right here when it has none (``--plan-processes 0``,
    and apps built by tests)."""
    processes: PlanProcesses | None = getattr(state, "plan_processes", None)
    if processes is None:
        return function(*args)
    return processes.run(function, *args)
