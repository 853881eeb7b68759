"""The pool, without TensorFlow: every way a plain snippet can take its worker down.

Workers started with ``demo_worker_tf=False`` are ready in a fraction of a second, so these
run in the fast suite; what needs TensorFlow itself is in ``test_runs.py``, marked slow.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.demos.pool import DemoPool
from app.demos.protocol import PoolBusy, RunOutcome
from tests.demos.pools import plain_settings, started

MISBEHAVING = {
    "Loop forever": "while True:\n    pass",
    "Exit hard": "import os\nos._exit(3)",
    "Segfault": "import ctypes\nctypes.string_at(0)",
    "Flood": "while True:\n    print('x' * 1000)",
    "Raise": "def inner():\n    raise ValueError('bad value')\n\ninner()",
    "Sleep": "import time\ntime.sleep(0.5)\nprint('slept')",
    "Leave a thread": (
        "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True)"
        ".start()\nprint('left one')"
    ),
    "Echo": "print('alive')\n6 * 7",
}


def run(pool: DemoPool, title: str) -> RunOutcome:
    """Run one of the misbehaving snippets."""
    return pool.run(MISBEHAVING[title])


def assert_next_run_works(pool: DemoPool) -> None:
    """A failed run leaves a pool that runs the next snippet as if nothing happened."""
    outcome = run(pool, "Echo")
    assert outcome.status == "ok" and outcome.stdout == "alive\n" and outcome.value == "42"


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


def test_a_run_that_leaves_files_in_tmp_retires_its_worker(pool: DemoPool) -> None:
    if not str(pool.state["sandbox"]).startswith("bwrap"):
        pytest.skip("only bwrap gives each worker a /tmp of its own")
    restarts = pool.state["restarts"]
    planted = "for folder in ('/tmp', '/dev/shm'):\n    open(folder + '/left', 'w').write('x')"
    assert pool.run(planted).status == "ok"
    assert pool.state["restarts"] == restarts + 1
    look = "import os\nprint(os.path.exists('/tmp/left'), os.path.exists('/dev/shm/left'))"
    assert pool.run(look).stdout == "False False\n"


def test_a_run_that_floods_tmp_with_files_retires_its_worker(pool: DemoPool) -> None:
    if not str(pool.state["sandbox"]).startswith("bwrap"):
        pytest.skip("only bwrap gives each worker a /tmp of its own")
    restarts = pool.state["restarts"]
    flood = (
        "import os\nos.mkdir('/tmp/many')\nfor n in range(1500):\n    open(f'/tmp/many/{n}', 'w')"
    )
    assert pool.run(flood).status == "ok"
    assert pool.state["restarts"] == restarts + 1  # past the count it reads, still a change
    assert pool.run("import os\nprint(os.path.exists('/tmp/many'))").stdout == "False\n"


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


# Untrusted code that tries to outlive its run: a patched builtin, a thread that
# threading.enumerate() does not list, writing into every later run, and planted files.
PERSIST = """
import _thread, builtins, os, time
builtins.print = lambda *args, **kwargs: os.write(1, b"FORGED by print\\n")
def forge():
    while True:
        time.sleep(0.02)
        os.write(1, b"FORGED by a thread\\n")
_thread.start_new_thread(forge, ())
for folder in ("/tmp", "/dev/shm"):
    with open(os.path.join(folder, "planted"), "w") as planted:
        planted.write("FORGED")
builtins.MARK = "planted"
"""
LOOK = """
import builtins, os, time
time.sleep(0.2)
print("genuine", getattr(builtins, "MARK", None))
print(sorted(os.listdir("/tmp")), sorted(os.listdir("/dev/shm")))
"""


def test_isolated_code_reaches_no_later_run(pool: DemoPool) -> None:
    restarts = pool.state["restarts"]
    assert pool.run_isolated(PERSIST).status == "ok"
    later = pool.run(LOOK)
    assert later.status == "ok" and "FORGED" not in later.stdout
    assert later.stdout.startswith("genuine None\n") and "planted" not in later.stdout
    again = pool.run_isolated(LOOK)  # not even the next untrusted run sees the last one's
    assert "FORGED" not in again.stdout and "planted" not in again.stdout
    assert pool.state["restarts"] == restarts  # the pool's own workers were never touched


def test_isolated_runs_are_counted_like_any_other(tmp_path: Path) -> None:
    observed = started(plain_settings(tmp_path, playground=True))
    heard: list[str | None] = []
    observed.add_observer(lambda outcome, _: heard.append(outcome and outcome.status))
    try:
        for _ in range(3):
            assert observed.run_isolated("print('alive')").stdout == "alive\n"
    finally:
        observed.close()
    assert heard == ["ok"] * 3


def test_a_worker_that_dies_while_idle_is_replaced_before_the_next_run(pool: DemoPool) -> None:
    # A raw thread (one threading.enumerate() does not list) ends the worker after its run.
    code = (
        "import _thread, os, time\n"
        "_thread.start_new_thread(lambda: (time.sleep(0.5), os._exit(3)), ())"
    )
    left = pool.run(code)
    assert left.status == "ok"
    restarts = pool.state["restarts"]
    time.sleep(1.5)  # the worker is idle in the pool, and dead
    assert_next_run_works(pool)
    assert pool.state["restarts"] == restarts + 1
