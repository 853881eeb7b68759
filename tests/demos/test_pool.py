"""The pool and its workers, without TensorFlow: every way a plain snippet can misbehave.

Workers started with ``demo_worker_tf=False`` are ready in a fraction of a second, so these
run in the fast suite; what needs TensorFlow itself is in ``test_runs.py``, marked slow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.config import Settings
from app.demos.pool import DemoPool
from app.demos.protocol import PoolBusy, RunOutcome

MISBEHAVING = {
    "Loop forever": "while True:\n    pass",
    "Exit hard": "import os\nos._exit(3)",
    "Segfault": "import ctypes\nctypes.string_at(0)",
    "Flood": "while True:\n    print('x' * 1000)",
    "Raise": "def inner():\n    raise ValueError('bad value')\n\ninner()",
    "Sleep": "import time\ntime.sleep(0.5)\nprint('slept')",
    "Mixed output": (
        "import os, subprocess, sys\nprint('a', end='')\nos.write(1, b'b\\n')\n"
        "subprocess.run(['echo', 'c'])\nsys.stdout.write('d')"
    ),
    "Slow print": "import time\nprint('first')\ntime.sleep(0.5)\nprint('second')",
    "Leave a thread": (
        "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True)"
        ".start()\nprint('left one')"
    ),
    "Echo": "print('alive')\n6 * 7",
}


def plain_settings(folder: Path, **changes: object) -> Settings:
    """Settings for one worker without TensorFlow, with short limits."""
    chosen: dict[str, object] = {
        "data_dir": folder,
        "secret_key": "pool-test-secret-key-0123456789abcdef",
        "demo_workers": 1,
        "demo_worker_tf": False,
        "demo_timeout_s": 2,
        "demo_max_output_bytes": 64 * 1024,
        "demo_queue_size": 4,
    }
    return Settings.model_validate({**chosen, **changes})


def started(settings: Settings) -> DemoPool:
    """Start a pool and wait until its worker is ready."""
    pool = DemoPool(settings)
    pool.start()
    for _ in range(300):
        if pool.state["ready"]:
            return pool
        time.sleep(0.02)
    pool.close()
    raise AssertionError(f"the worker did not start: {pool.state}")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPool]:
    """One pool for the module: one plain worker and a spare."""
    demo_pool = started(plain_settings(tmp_path_factory.mktemp("pool")))
    yield demo_pool
    demo_pool.close()


def run(pool: DemoPool, title: str) -> RunOutcome:
    """Run one of the misbehaving snippets."""
    return pool.run(MISBEHAVING[title])


def assert_next_run_works(pool: DemoPool) -> None:
    """A failed run leaves a pool that runs the next snippet as if nothing happened."""
    outcome = run(pool, "Echo")
    assert outcome.status == "ok" and outcome.stdout == "alive\n" and outcome.value == "42"


def test_a_plain_worker_says_it_has_no_tensorflow(pool: DemoPool) -> None:
    outcome = run(pool, "Echo")
    assert outcome.status == "ok" and outcome.duration_ms > 0
    assert (outcome.tf_version, outcome.device_kind, outcome.tensors) == (None, None, [])


def test_an_endless_loop_is_stopped_and_the_next_run_works(pool: DemoPool) -> None:
    outcome = run(pool, "Loop forever")
    assert outcome.status == "timeout" and "2 s time limit" in (outcome.message or "")
    assert_next_run_works(pool)


@pytest.mark.parametrize(("title", "how"), [("Exit hard", "exit code 3"), ("Segfault", "SIGSEGV")])
def test_a_crashing_snippet_is_reported_and_its_worker_replaced(
    pool: DemoPool, title: str, how: str
) -> None:
    restarts = pool.state["restarts"]
    outcome = run(pool, title)
    assert outcome.status == "crashed" and how in (outcome.message or "")
    assert_next_run_works(pool)
    assert pool.state["restarts"] == restarts + 1


def test_an_output_flood_is_capped(pool: DemoPool) -> None:
    outcome = run(pool, "Flood")
    assert outcome.status == "output_limit" and outcome.truncated is True
    assert len(outcome.stdout.encode()) <= 64 * 1024
    assert "65,536 byte limit" in (outcome.message or "")
    assert_next_run_works(pool)


def test_a_snippet_exception_is_a_readable_traceback(pool: DemoPool) -> None:
    outcome = run(pool, "Raise")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error.type == "ValueError" and outcome.error.message == "bad value"
    traceback = outcome.error.traceback
    assert 'File "<demo>", line 2, in inner' in traceback and "raise ValueError" in traceback
    assert "app/demos/worker.py" not in traceback


def test_output_from_python_fds_and_children_keeps_its_order(pool: DemoPool) -> None:
    outcome = run(pool, "Mixed output")
    assert outcome.status == "ok" and outcome.stdout == "ab\nc\nd"


def test_output_streams_before_the_result(pool: DemoPool) -> None:
    heard: list[tuple[float, str, str]] = []
    outcome = pool.run(
        MISBEHAVING["Slow print"],
        on_output=lambda stream, text: heard.append((time.monotonic(), stream, text)),
    )
    finished = time.monotonic()
    assert outcome.status == "ok" and outcome.stdout == "first\nsecond\n"
    assert [(stream, text) for _, stream, text in heard] == [
        ("stdout", "first\n"),
        ("stdout", "second\n"),
    ]
    assert finished - heard[0][0] > 0.3, "the first line waited for the end of the run"


def test_concurrent_runs_all_complete_with_their_own_output(pool: DemoPool) -> None:
    codes = [f"print({n})\n{n} * 2" for n in range(4)]
    with ThreadPoolExecutor(len(codes)) as threads:
        outcomes = list(threads.map(pool.run, codes))
    assert [o.status for o in outcomes] == ["ok"] * len(codes)
    assert [(o.stdout, o.value) for o in outcomes] == [(f"{n}\n", str(n * 2)) for n in range(4)]


def test_a_thread_left_running_retires_its_worker(pool: DemoPool) -> None:
    restarts = pool.state["restarts"]
    assert run(pool, "Leave a thread").stdout == "left one\n"
    assert pool.state["restarts"] == restarts + 1
    assert_next_run_works(pool)


def test_a_full_queue_raises_busy_with_a_retry_delay(tmp_path: Path) -> None:
    busy_pool = started(plain_settings(tmp_path, demo_queue_size=0))
    try:
        with ThreadPoolExecutor(1) as threads:
            sleeping = threads.submit(run, busy_pool, "Sleep")
            for _ in range(100):  # until the sleeping run holds the only worker
                if busy_pool.state["busy"]:
                    break
                time.sleep(0.01)
            with pytest.raises(PoolBusy) as refused:
                run(busy_pool, "Echo")
            assert sleeping.result().stdout == "slept\n"
    finally:
        busy_pool.close()
    assert refused.value.retry_after >= 1 and "busy" in str(refused.value)


def test_workers_are_recycled_after_their_quota(tmp_path: Path) -> None:
    recycled = started(plain_settings(tmp_path, demo_recycle_after=2))
    try:
        for _ in range(5):
            assert_next_run_works(recycled)
        assert recycled.state["restarts"] >= 2
    finally:
        recycled.close()


def test_observers_hear_every_run_and_every_refusal(tmp_path: Path) -> None:
    observed = started(plain_settings(tmp_path, demo_queue_size=0))
    heard: list[tuple[str | None, float]] = []
    lock = threading.Lock()

    def observe(outcome: RunOutcome | None, seconds: float) -> None:
        with lock:
            heard.append((outcome.status if outcome else None, seconds))

    observed.add_observer(observe)
    try:
        assert run(observed, "Raise").status == "error"
        with ThreadPoolExecutor(1) as threads:
            sleeping = threads.submit(run, observed, "Sleep")
            while not observed.state["busy"]:
                time.sleep(0.01)
            with pytest.raises(PoolBusy):
                run(observed, "Echo")
            sleeping.result()
    finally:
        observed.close()
    assert [status for status, _ in heard] == ["error", None, "ok"]
    assert all(seconds >= 0 for _, seconds in heard) and heard[2][1] >= 0.5


def test_a_pool_without_workers_answers_unavailable(tmp_path: Path) -> None:
    off = DemoPool(plain_settings(tmp_path, demo_workers=0))
    off.start()
    outcome = off.run("print('never')")
    off.close()
    assert outcome.status == "unavailable" and "turned off" in (outcome.message or "")
