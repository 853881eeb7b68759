"""One execution for identical concurrent runs: shared results, errors and output."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.demos.coalesce import Coalescer, OnEvent
from app.demos.protocol import PoolBusy
from app.ratelimit import InFlight, RateLimited

KEY = ("snippet-hash", "cpu")


def admitted() -> None:
    """An admission that always lets the leader in and has nothing to give back."""


def test_concurrent_callers_share_one_execution_and_result() -> None:
    runs = Coalescer[dict[str, int]]()
    callers = 8
    entered = threading.Barrier(callers)  # every caller has its place before the run starts
    executed: list[int] = []

    def work(emit: OnEvent) -> dict[str, int]:
        executed.append(1)
        return {"answer": 42}

    def caller(_: int) -> tuple[bool, dict[str, int]]:
        place = runs.enter(KEY, lambda: admitted)
        entered.wait()
        return place.leading, place.run(work)

    with ThreadPoolExecutor(callers) as threads:
        outcomes = list(threads.map(caller, range(callers)))
    assert len(executed) == 1 and runs.executions == 1
    assert sum(leading for leading, _ in outcomes) == 1
    results = [result for _, result in outcomes]
    assert all(result is results[0] for result in results)
    assert runs.active() == 0  # over: the next request starts a new run
    assert runs.enter(KEY, lambda: admitted).leading


def test_a_late_joiner_gets_the_events_so_far_then_the_rest() -> None:
    runs = Coalescer[str]()
    first_out, go_on = threading.Event(), threading.Event()

    def work(emit: OnEvent) -> str:
        emit("queued", {"ahead": 3})
        emit("queued", {"ahead": 0})
        emit("output", {"stream": "stdout", "text": "first\n"})
        first_out.set()
        go_on.wait(10)
        emit("output", {"stream": "stdout", "text": "second\n"})
        return "done"

    leader_seen: list[tuple[str, dict[str, Any]]] = []
    leader = runs.enter(KEY, lambda: admitted)
    with ThreadPoolExecutor(2) as threads:
        led = threads.submit(leader.run, work, lambda *event: leader_seen.append(event))
        assert first_out.wait(10)
        joiner_seen: list[tuple[str, dict[str, Any]]] = []
        joiner = runs.enter(KEY, lambda: admitted)
        joined = threads.submit(joiner.run, work, lambda *event: joiner_seen.append(event))
        go_on.set()
        assert led.result() == joined.result() == "done"
    texts = [data["text"] for name, data in joiner_seen if name == "output"]
    assert texts == ["first\n", "second\n"] and not joiner.leading
    assert [name for name, _ in joiner_seen] == ["queued", "output", "output"]  # newest place
    assert joiner_seen[0][1] == {"ahead": 0}
    assert len(leader_seen) == 4 and runs.executions == 1


def test_a_failed_run_fails_every_participant_alike() -> None:
    runs = Coalescer[str]()
    leader = runs.enter(KEY, lambda: admitted)
    joiners = [runs.enter(KEY, lambda: admitted) for _ in range(3)]
    busy = PoolBusy(retry_after=7)

    def work(emit: OnEvent) -> str:
        raise busy

    with ThreadPoolExecutor(4) as threads:
        waiting = [threads.submit(place.run, work) for place in joiners]
        with pytest.raises(PoolBusy):
            leader.run(work)
        errors = [future.exception() for future in waiting]
    assert all(error is busy for error in errors)


def test_a_refused_leader_leaves_no_run_behind() -> None:
    runs = Coalescer[str]()
    slots = InFlight(cap=1)
    held = slots.take("client", "{cap} at most")
    with pytest.raises(RateLimited):
        runs.enter(KEY, lambda: slots.take("client", "{cap} at most").release)
    assert runs.active() == 0 and runs.executions == 0
    held.release()
    place = runs.enter(KEY, lambda: slots.take("client", "{cap} at most").release)
    assert place.leading
    joiner = runs.enter(KEY, lambda: slots.take("client", "{cap} at most").release)
    assert not joiner.leading  # a joiner takes no slot: the client's one slot is the leader's
    assert place.run(lambda emit: "ran") == "ran" == joiner.run(lambda emit: "never")
    again = slots.take("client", "{cap} at most")  # the leader's slot came back with its end
    again.release()


def test_a_joiner_that_goes_away_cancels_nothing() -> None:
    runs = Coalescer[str]()
    leader = runs.enter(KEY, lambda: admitted)
    runs.enter(KEY, lambda: admitted)  # a joiner whose client left before it ever waited
    gone: list[str] = []

    def vanished(name: str, data: dict[str, Any]) -> None:
        gone.append(name)  # like a stream's queue that nobody reads any more

    third = runs.enter(KEY, lambda: admitted)
    with ThreadPoolExecutor(1) as threads:
        waiting = threads.submit(third.run, lambda emit: "never", vanished)
        result = leader.run(lambda emit: emit("output", {"text": "x"}) or "ran")
    assert result == "ran" == waiting.result() and gone == ["output"]
