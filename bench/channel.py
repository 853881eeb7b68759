"""Benchmark: what hostile snippets that find the worker's own channels cost the web process.

Three attacks from ``tests/demos/test_channel.py``, each beside a baseline run in the same
pool, in the same run:

a. 200 MiB written to the result pipe without a newline: the web process's peak memory
   growth, against a well-behaved run that prints just under the output cap;
b. 1.9 MB of lines dressed as log entries written to the worker's real stderr: the bytes
   that reach the log, against the bytes written;
c. ``ptrace`` attached to the sandbox's init: the next ``print`` run's wall time, against
   the same run before the attack.

Workers start without TensorFlow (the attacks need none), in the real sandbox.
Run with ``.venv/bin/python -m bench.channel`` (about 20 s).
"""

from __future__ import annotations

import logging
import re
import statistics
import tempfile
import time
from pathlib import Path

from app.demos.pool import DemoPool
from tests.demos.pools import plain_settings, started
from tests.demos.test_channel import ECHO, FORGE_LOG, NO_NEWLINE, PTRACE, PeakMemory

MiB = 1024 * 1024
OUTPUT_CAP = MiB  # the default TFQUIZ_DEMO_MAX_OUTPUT_BYTES
# A run that prints 900 KiB, under the cap: what the web process holds for honest output.
BIG_PRINT = "import sys\nsys.stdout.write('y' * (900 * 1024))"
PRINT_RUNS = 20
SUPPRESSED = re.compile(r"stderr: suppressed ([\d,]+) bytes$")


class Collected(logging.Handler):
    """Keep the messages the web process logs for its workers."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def peak_growth(pool: DemoPool, code: str) -> tuple[int, str]:
    """Run ``code``; return the web process's peak memory growth and the run's status."""
    with PeakMemory() as memory:
        outcome = pool.run(code)
    return memory.growth, outcome.status


def print_ms(pool: DemoPool) -> float:
    """Return the median wall time of a ``print`` run, in milliseconds."""
    times = []
    for _ in range(PRINT_RUNS):
        started_at = time.perf_counter()
        pool.run(ECHO)
        times.append((time.perf_counter() - started_at) * 1000)
    return statistics.median(times)


def main() -> None:
    """Run the three attacks, each beside its baseline, and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        settings = plain_settings(
            Path(folder),
            demo_max_output_bytes=OUTPUT_CAP,
            demo_timeout_s=10,
            demo_recycle_after=1000,
        )
        log = logging.getLogger("tfquiz.demos")
        collected = Collected()
        log.addHandler(collected)
        log.setLevel(logging.INFO)
        pool = started(settings, seconds=30)
        report = [f"sandbox: {pool.state['sandbox']}"]
        try:
            honest, honest_status = peak_growth(pool, BIG_PRINT)
            hostile, hostile_status = peak_growth(pool, NO_NEWLINE)
            report.append(
                f"a. result pipe: 200 MiB without a newline ({hostile_status}) grew the web"
                f" process by {hostile / MiB:.1f} MiB; an honest 900 KiB print ({honest_status})"
                f" by {honest / MiB:.1f} MiB; ratio {hostile / max(honest, 4096):.2f}"
            )

            collected.lines.clear()
            pool.run(FORGE_LOG)
            pool.close()  # the worker's log ends, with its "suppressed" line, as it stops
            pool = started(settings, seconds=30)
            logged = sum(len(line) for line in collected.lines if "FORGED" in line)
            suppressed = sum(
                int(found.group(1).replace(",", ""))
                for line in collected.lines
                if (found := SUPPRESSED.search(line))
            )
            report.append(
                f"b. worker stderr: of about {logged + suppressed:,} bytes of forged log lines,"
                f" {logged:,} reached the log, marked and escaped, and {suppressed:,} were only"
                f" counted (cap {settings.demo_log_bytes_per_minute:,} a minute); share logged"
                f" {logged / (logged + suppressed):.4f}"
            )

            before = print_ms(pool)
            traced = pool.run(PTRACE)
            after = print_ms(pool)
            report.append(
                f"c. ptrace: the attach answered {traced.stdout.strip()!r}; a print run took"
                f" {after:.2f} ms after it against {before:.2f} ms before (median of"
                f" {PRINT_RUNS}); ratio {after / before:.2f}"
            )
        finally:
            pool.close()
            log.removeHandler(collected)
    print("\n".join(report))  # noqa: T201


if __name__ == "__main__":
    main()
