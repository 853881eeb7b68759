"""Benchmark: what the worker's seccomp filter (no ptrace) adds to starting a fresh worker.

Starts plain workers (no TensorFlow, as the playground's fresh workers and the tests' are)
in the real sandbox and times spawn to hello; then times, in fresh interpreters that have
loaded the worker's module, ``deny_tracing()`` alone.
Both in the same run, so the ratio holds on a busy machine.

Run with ``.venv/bin/python -m bench.worker_start``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.config import Settings
from app.demos.process import WorkerProcess

STARTS = 10
# The worker's module loaded first: what is timed is what the filter alone adds.
FILTER_ONLY = (
    "import time\nfrom app.demos.worker import deny_tracing\nstarted = time.perf_counter()\n"
    "deny_tracing()\nprint((time.perf_counter() - started) * 1000)"
)


def start_ms(settings: Settings) -> float:
    """Start one plain worker and return the milliseconds until its hello."""
    started = time.perf_counter()
    worker = WorkerProcess(settings)
    worker.wait_ready(30)
    elapsed = (time.perf_counter() - started) * 1000
    worker.stop()
    return elapsed


def in_fresh_interpreter(code: str) -> float:
    """Run ``code`` in a new Python and return the milliseconds it prints."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    """Print the median start of a worker, of the filter alone, and their ratio."""
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()),
        secret_key="bench-worker-start-0123456789abcdef",
        demo_worker_tf=False,
    )
    start_ms(settings)  # warm the page cache
    starts = [start_ms(settings) for _ in range(STARTS)]
    filters = [in_fresh_interpreter(FILTER_ONLY) for _ in range(STARTS)]
    start, seccomp = statistics.median(starts), statistics.median(filters)
    print(f"plain worker, spawn to hello (bwrap), median of {STARTS}: {start:6.1f} ms")  # noqa: T201
    print(f"deny_tracing() (libseccomp), median:             {seccomp:6.1f} ms")  # noqa: T201
    print(f"the filter's share of a worker's start:           {seccomp / start:6.1%}")  # noqa: T201


if __name__ == "__main__":
    main()
