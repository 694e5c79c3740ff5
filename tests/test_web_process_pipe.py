"""The plan processes' transport (gpucast.web.processes._Child, PlanProcesses): answers reach their own senders
when several threads share one child, errors travel, a dead child fails its jobs (then PlanProcesses retries once
in a fresh child, and answers 503 with Retry-After when that one dies too); the cached plan's JSON decodes to a
result that encodes to the same bytes; canonical keys of nested dataclasses are their fields, recursively."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time

import pytest

pytest.importorskip("fastapi")

from starlette.exceptions import HTTPException

from gpucast.planning.cache import canonical
from gpucast.web import processes
from gpucast.web.api_v1.planning import encoded


def slow_square(value: int, seconds: float) -> int:
    time.sleep(seconds)
    return value * value


def refuse(value: int) -> int:
    raise ValueError(f"no {value}")


def own_pid() -> int:
    return os.getpid()


def test_threads_sharing_one_child_each_get_their_own_answer():
    pool = processes.PlanProcesses(1)
    try:
        pool.wait_ready()
        answers: dict[int, int] = {}

        def ask(value: int) -> None:  # later values sleep less: the answers are read in the order sent, not done
            answers[value] = pool.run(slow_square, value, 0.02 * (8 - value))

        threads = [threading.Thread(target=ask, args=(value,)) for value in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert answers == {value: value * value for value in range(8)}
        assert pool.jobs == 8 and pool.replaced == 0
        with pytest.raises(ValueError, match="no 3"):  # the child's error, raised here
            pool.run(refuse, 3)
        assert pool.run(own_pid) != os.getpid()  # computed in the child
    finally:
        pool.shut_down()


def test_a_dead_child_is_replaced_and_a_job_that_loses_two_children_is_a_503():
    pool = processes.PlanProcesses(1)
    try:
        (first,) = pool.wait_ready()
        os.kill(first, signal.SIGKILL)
        time.sleep(0.2)
        assert pool.run(slow_square, 3, 0) == 9  # the dead child is noticed, replaced, the job run again
        assert pool.replaced == 1 and pool.pids() != [first]

        def kill_each_child() -> None:  # the child computing the job is killed, then the one retrying it
            killed: list[int] = []
            for _ in range(2):
                deadline = time.monotonic() + 60
                alive: list[int] = []
                while not alive and time.monotonic() < deadline:
                    alive = [pid for pid in pool.pids() if pid not in killed]
                    time.sleep(0.01)
                time.sleep(0.5)
                os.kill(alive[0], signal.SIGKILL)
                killed.append(alive[0])

        killer = threading.Thread(target=kill_each_child)
        killer.start()
        with pytest.raises(HTTPException) as raised:
            pool.run(slow_square, 4, 30)
        killer.join(timeout=60)
        assert raised.value.status_code == 503 and raised.value.headers == {"Retry-After": "1"}
        assert pool.lost == 1
        assert pool.run(slow_square, 5, 0) == 25  # and the pool still answers
    finally:
        pool.shut_down()
    assert pool.pids() == []


def test_a_cached_plan_decodes_to_a_result_with_the_same_bytes():
    result = {"b": [1, 2.5, 1e-07, 3.0], "a": {"x": None, "é": "ü", "t": (1, 2)}, "n": 12345678901234567890}
    once = encoded(result)
    assert json.loads(once.body) == once.result
    assert encoded(once.result).body == once.body  # saving re-encodes the decoded result: the same 201 body


@dataclasses.dataclass
class Inner:
    rate: float
    tags: tuple[str, ...] = ("a",)


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    extra: dict[str, object] = dataclasses.field(default_factory=dict)
    kind: type | None = None


def test_canonical_keys_are_the_fields_recursively():
    value = Outer("m", Inner(2.5), {"z": [Inner(1.0, ("b",))], "a": True}, kind=Inner)
    expected = [{"__type__": "Outer", "name": "m",
                 "inner": {"__type__": "Inner", "rate": 2.5, "tags": ["a"]},
                 "extra": {"z": [{"__type__": "Inner", "rate": 1.0, "tags": ["b"]}], "a": True},
                 "kind": repr(Inner)}]  # fmt: skip
    assert canonical(value) == json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert canonical(value) != canonical(Outer("m", Inner(2.5, ("c",))))
