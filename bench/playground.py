"""Benchmark: a playground run on a worker of its own against one on a reused warm worker.

Runs the Q3 demo 1 snippet on one pool with TensorFlow workers (in bwrap where it runs):

a. ``run`` on the pool's reused warm worker, the way playground runs went before (baseline);
b. ``run_isolated`` once the one-run worker started ahead is warm: an instructor who reads
   a result before pressing Run again;
c. ``run_isolated`` back to back, where each run waits for the next worker's TensorFlow.

Prints medians and their ratio to (a). Run with ``.venv/bin/python -m bench.playground``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.config import PROJECT_ROOT, Settings
from app.demos.pool import DemoPool
from app.demos.protocol import RunOutcome
from app.questions import load_folder

REUSED = 10
SPACED = 5
BACK_TO_BACK = 3
READY_TIMEOUT_S = 240.0


def wait_for(pool: DemoPool, key: str) -> None:
    """Wait until the pool reports a warm worker under ``key``."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not pool.state[key]:
        if time.monotonic() > deadline:
            raise SystemExit(f"no warm worker ({key}) after {READY_TIMEOUT_S:g} s: {pool.state}")
        time.sleep(0.05)


def timed(run: Callable[[], RunOutcome], before: Callable[[], None], count: int) -> list[float]:
    """Time ``count`` runs in milliseconds, calling ``before`` untimed ahead of each."""
    times = []
    for _ in range(count):
        before()
        started = time.perf_counter()
        outcome = run()
        times.append((time.perf_counter() - started) * 1000)
        if outcome.status != "ok":
            raise SystemExit(f"the run failed: {outcome.message}")
    return times


def main() -> None:
    """Measure the three ways and print them against the reused worker."""
    code = load_folder(PROJECT_ROOT / "questions").questions[3].demos[0].code
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder), demo_workers=1, playground=True, demo_queue_wait_s=120
        )
        pool = DemoPool(settings)
        pool.start()
        try:
            wait_for(pool, "ready")
            wait_for(pool, "fresh")
            pool.run(code)  # the first run of a snippet compiles TensorFlow's kernels
            results = {
                "a. reused warm worker": timed(lambda: pool.run(code), lambda: None, REUSED),
                "b. own worker, started ahead": timed(
                    lambda: pool.run_isolated(code), lambda: wait_for(pool, "fresh"), SPACED
                ),
                "c. own worker, back to back": timed(
                    lambda: pool.run_isolated(code), lambda: None, BACK_TO_BACK
                ),
            }
            sandbox = pool.state["sandbox"]
        finally:
            pool.close()
    baseline = statistics.median(results["a. reused warm worker"])
    print(f"Q3 demo 1, TensorFlow workers, sandbox {sandbox}: median ms, ratio to (a)")  # noqa: T201
    for label, times in results.items():
        median = statistics.median(times)
        line = f"  {label:30} {median:8.1f} ms  x{median / baseline:6.1f}  (n={len(times)})"
        print(line)  # noqa: T201


if __name__ == "__main__":
    main()
