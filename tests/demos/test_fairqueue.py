"""Waiting runs get workers client by client, in turn, whoever submitted the most."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.demos.fairqueue import FairQueue, Ticket
from tests.demos.pools import plain_settings, started


def serve_all(queue: FairQueue, waiting: list[Ticket]) -> list[str]:
    """Serve every waiting ticket in the queue's order; return their clients."""
    order = []
    while len(queue):
        head = next(t for t in waiting if queue.is_next(t))
        queue.serve(head)
        waiting.remove(head)
        order.append(head.client)
    return order


def test_lanes_are_served_in_turn() -> None:
    queue = FairQueue()
    waiting = [queue.join("a") for _ in range(4)]
    waiting.append(queue.join("b"))
    waiting.extend(queue.join("c") for _ in range(2))
    assert serve_all(queue, waiting) == ["a", "b", "c", "a", "c", "a", "a"]
    assert len(queue.waits) == 7 and queue.percentiles()["p50_ms"] is not None


def test_each_ticket_knows_how_many_runs_are_ahead_of_it() -> None:
    queue = FairQueue()
    a = [queue.join("a") for _ in range(3)]
    b = queue.join("b")
    c = [queue.join("c") for _ in range(2)]
    # Turns: a0 b0 c0 a1 c1 a2
    assert [queue.ahead(t) for t in (*a, b, *c)] == [0, 3, 5, 1, 2, 4]
    queue.leave(a[1])  # gave up: the runs behind it move up
    assert [queue.ahead(t) for t in (a[0], a[2], b, *c)] == [0, 3, 1, 2, 4]
    queue.leave(a[1])  # a second leave does nothing
    assert len(queue) == 5


def test_an_empty_queue_has_no_next_and_no_waits() -> None:
    queue = FairQueue()
    assert not queue.is_next(Ticket("a")) and len(queue) == 0
    assert queue.percentiles() == {"p50_ms": None, "p95_ms": None}


def test_a_client_with_many_runs_waiting_does_not_hold_the_worker(tmp_path: Path) -> None:
    pool = started(plain_settings(tmp_path, demo_queue_size=20, demo_timeout_s=10))
    order: list[str] = []
    lock = threading.Lock()

    def run(client: str, code: str = "print('x')") -> str:
        def queued(ahead: int | None) -> None:
            if ahead is None:  # a worker took it: the order in which runs got one
                with lock:
                    order.append(client)

        return pool.run(code, client=client, on_queued=queued).status

    def wait_for(waiting: int) -> None:
        for _ in range(500):
            if pool.state["waiting"] == waiting:
                return
            time.sleep(0.01)
        raise AssertionError(f"never {waiting} waiting: {pool.state}")

    try:
        with ThreadPoolExecutor(12) as threads:
            holder = threads.submit(run, "holder", "import time\ntime.sleep(2)")
            for _ in range(500):  # the worker is taken: what comes next waits in the queue
                if pool.state["busy"]:
                    break
                time.sleep(0.01)
            flood = [threads.submit(run, "A") for _ in range(10)]
            wait_for(10)
            single = threads.submit(run, "B")
            wait_for(11)
            statuses = [holder.result(), single.result(), *(f.result() for f in flood)]
    finally:
        pool.close()
    assert statuses == ["ok"] * 12
    assert order[0] == "holder" and order.index("B") <= 2  # before 8 or more of A's 10
    assert order.count("A") == 10 and pool.state["wait"]["p95_ms"] is not None
