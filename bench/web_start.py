"""Benchmark: start-up time and memory of the web process, beside a TF worker and bare FastAPI.

Times ``tfquiz serve`` (default settings, a fresh data dir, one demo worker) from spawn to
the first ``GET /`` answered 200 (target: under 2 s, median of STARTS), then measures the
resident memory of the web process alone, once serving, beside a demo worker process and a
bare ``python -c "import fastapi, uvicorn"`` process, and checks that the web process has
no TensorFlow library mapped.

Run with ``.venv/bin/python -m bench.web_start``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import psutil

from bench.server import (
    running_server,
    wait_for_demo,
    wait_for_page,
    wait_for_workers,
)

STARTS = 5
TARGET_S = 2.0
PAUSE_S = 1.0
BARE_TIMEOUT_S = 60.0
RUN_PATH = "/api/questions/3/demos/1/run"
PAGES = ("/", "/api/questions", "/api/questions/3", "/present", "/openapi.json")
MIB = 1024 * 1024


@dataclass
class Memory:
    """Resident set sizes, in bytes, and whether TensorFlow is mapped in each process."""

    web: int
    worker: int
    bare: int
    tf_in_web: bool
    tf_in_worker: bool


def time_start() -> float:
    """Spawn a server on a fresh data dir; return the seconds until ``GET /`` answers 200."""
    with (
        tempfile.TemporaryDirectory(prefix="tfquiz-start-") as data_dir,
        running_server(Path(data_dir), workers=1) as server,
    ):
        return wait_for_page(server, "/")


def maps_tensorflow(process: psutil.Process) -> bool:
    """Tell whether any file mapped into the process lies in a ``tensorflow`` folder."""
    return any("/tensorflow/" in region.path for region in process.memory_maps(grouped=True))


def measure_server_memory() -> tuple[int, int, bool, bool]:
    """Serve, run a demo and a few pages, then read the web and the worker process's RSS."""
    with (
        tempfile.TemporaryDirectory(prefix="tfquiz-memory-") as data_dir,
        running_server(Path(data_dir), workers=1) as server,
    ):
        wait_for_page(server, "/")
        with httpx.Client(base_url=server.url, timeout=120.0) as client:
            wait_for_demo(client, RUN_PATH)
            wait_for_workers(server)
            for path in PAGES:
                client.get(path).raise_for_status()
        web = psutil.Process(server.process.pid)
        workers = web.children(recursive=True)  # a sandboxed worker is a grandchild
        worker = max(workers, key=lambda child: child.memory_info().rss)
        return (
            web.memory_info().rss,
            worker.memory_info().rss,
            maps_tensorflow(web),
            maps_tensorflow(worker),
        )


def measure_bare_rss() -> int:
    """Return the RSS of a python process that imported fastapi and uvicorn, then waits."""
    code = "import sys, fastapi, uvicorn; print('ready', flush=True); sys.stdin.read()"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # returns at "ready" or when the process ends
        if line.strip() != b"ready":
            raise RuntimeError(f"the bare process did not start (exit code {process.poll()})")
        return int(psutil.Process(process.pid).memory_info().rss)
    finally:
        process.kill()
        process.wait(timeout=BARE_TIMEOUT_S)


def measure_memory() -> Memory:
    """Measure the three processes' memory, one after the other."""
    web, worker, tf_in_web, tf_in_worker = measure_server_memory()
    return Memory(web, worker, measure_bare_rss(), tf_in_web, tf_in_worker)


def report(starts: list[float], memory: Memory) -> None:
    """Print the start times, the memory beside its baselines and the verdict."""
    median = statistics.median(starts)
    print(f"spawn to first GET / = 200, {len(starts)} starts:")  # noqa: T201
    print(  # noqa: T201
        f"  median {median * 1000:6.0f} ms   min {min(starts) * 1000:6.0f} ms"
        f"   max {max(starts) * 1000:6.0f} ms"
    )
    print("resident memory (RSS) once serving:        / bare")  # noqa: T201
    rows = (
        ('bare python -c "import fastapi, uvicorn"', memory.bare),
        ("web process (workers excluded)", memory.web),
        ("one demo worker (TensorFlow)", memory.worker),
    )
    for label, size in rows:
        print(f"  {label:42} {size / MIB:7.1f} MiB {size / memory.bare:6.1f}x")  # noqa: T201
    print(f"  web / worker: {memory.web / memory.worker:.2f}x")  # noqa: T201
    print(f"tensorflow mapped in the web process: {memory.tf_in_web}")  # noqa: T201
    print(f"tensorflow mapped in the worker:      {memory.tf_in_worker}")  # noqa: T201
    verdict = "PASS" if median < TARGET_S else "FAIL"
    print(f"target start < {TARGET_S:.0f} s:                  {verdict}")  # noqa: T201


def main() -> None:
    """Time the starts one after the other, then measure memory on one more start."""
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")  # noqa: T201
    starts = []
    for _ in range(STARTS):
        starts.append(time_start())
        time.sleep(PAUSE_S)  # let the killed workers' memory go before the next start
    memory = measure_memory()
    report(starts, memory)
    if memory.tf_in_web:
        raise SystemExit("the web process has TensorFlow loaded")


if __name__ == "__main__":
    main()
