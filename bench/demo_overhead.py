"""Benchmark: what a live demo run costs beyond running its snippet in a warm TF process.

Runs the Q3 demo 1 snippet five ways, one after the other, and compares each with (b), the
snippet exec'd in an already warm TensorFlow process:

a. live through ``POST /api/questions/3/demos/1/run`` on a real ``tfquiz serve`` with one
   warm worker (target: overhead a - b under 5 ms);
c. the cached result through ``GET /api/questions/3/demos/1`` (target: median under 5 ms);
d. a fresh ``python -c <snippet>`` process per run (the naive way);
e. a warm Jupyter kernel's execute round trip.

Run with ``.venv/bin/python -m bench.demo_overhead``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from app.config import PROJECT_ROOT
from app.questions import load_folder
from bench.server import Server, running_server, wait_for_demo, wait_for_page, wait_for_workers

QUESTION = 3
DEMO = 1
WARMUP = 5
REPEATS = 50  # with the warm-up, below a worker's 100-run quota: no recycling
FRESH_REPEATS = 5
TARGET_OVERHEAD_MS = 5.0
TARGET_CACHED_MS = 5.0
EXPECTED = ("dtype=int32", "dtype=int64", "equal values: True")
RUN_PATH = f"/api/questions/{QUESTION}/demos/{DEMO}/run"
CACHED_PATH = f"/api/questions/{QUESTION}/demos/{DEMO}"
READY_TIMEOUT_S = 240.0
# The live runs here are far past the per-session and per-address minute limits.
UNLIMITED = {"TFQUIZ_DEMO_LIMIT_PER_SESSION": "100000", "TFQUIZ_DEMO_LIMIT_PER_ADDRESS": "100000"}
CALL_TIMEOUT_S = 120.0


@dataclass
class Timing:
    """The wall times of one way of running the snippet."""

    label: str
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        """Return the median in milliseconds."""
        return statistics.median(self.seconds) * 1000

    @property
    def p90_ms(self) -> float:
        """Return the 90th percentile in milliseconds, within the measured range."""
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[8] * 1000


def demo_code() -> str:
    """Return the snippet of the Q3 demo 1 from the shipped question files."""
    bank = load_folder(PROJECT_ROOT / "questions")
    return bank.questions[QUESTION].demos[DEMO - 1].code


def tf_environment() -> dict[str, str]:
    """Return this environment with TensorFlow's C++ logging quieted, as the workers have it."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


def check_output(text: str, where: str) -> None:
    """Raise when a run's output lacks what the demo prints."""
    missing = [part for part in EXPECTED if part not in text]
    if missing:
        raise RuntimeError(f"{where}: output lacks {missing}:\n{text[-2000:]}")


def time_calls(action: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Run ``action`` ``warmup`` times untimed, then return the wall times of ``repeats``."""
    for _ in range(warmup):
        action()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure_floor(code: str) -> Timing:
    """(b) Time exec of the snippet in a separate, already warm TensorFlow process."""
    request = json.dumps({"code": code, "warmup": WARMUP, "repeats": REPEATS})
    with tempfile.TemporaryDirectory(prefix="tfquiz-floor-") as workdir:
        done = subprocess.run(
            [sys.executable, "-m", "bench.exec_floor"],
            input=request.encode(),
            capture_output=True,
            env={**tf_environment(), "PYTHONPATH": str(PROJECT_ROOT)},
            cwd=workdir,
            timeout=READY_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"floor process failed:\n{done.stderr.decode()[-3000:]}")
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    check_output(result["stdout"], "exec in a warm TF process")
    return Timing("b. exec in a warm TF process", result["seconds"])


def post_run(client: httpx.Client, durations: list[float]) -> None:
    """Run the demo live once; keep the worker's own duration of the run."""
    response = client.post(RUN_PATH)
    response.raise_for_status()
    result = response.json()
    if result["status"] != "ok" or not result["expectations_met"] or result["cached"]:
        raise RuntimeError(f"unexpected live result: {result}")
    durations.append(result["duration_ms"] / 1000)


def get_cached(client: httpx.Client) -> None:
    """Fetch the cached result once and check it is the cached run."""
    response = client.get(CACHED_PATH)
    response.raise_for_status()
    result = response.json()
    if not result["cached"] or not result["expectations_met"]:
        raise RuntimeError(f"unexpected cached result: {result}")


def measure_server() -> tuple[Timing, Timing, Timing]:
    """(a, c) Time live runs and cached results on a real server with one warm worker."""
    with (
        tempfile.TemporaryDirectory(prefix="tfquiz-bench-") as data_dir,
        running_server(Path(data_dir), workers=1, settings=UNLIMITED) as server,
    ):
        return time_server(server)


def time_server(server: Server) -> tuple[Timing, Timing, Timing]:
    """Wait for a settled pool, then time the live and the cached endpoint."""
    wait_for_page(server, "/api/questions")
    with httpx.Client(base_url=server.url, timeout=CALL_TIMEOUT_S) as client:
        wait_for_demo(client, RUN_PATH)
        wait_for_workers(server)  # the spare has imported TF too: nothing competes
        durations: list[float] = []
        live = time_calls(lambda: post_run(client, durations), WARMUP, REPEATS)
        cached = time_calls(lambda: get_cached(client), WARMUP, REPEATS)
    return (
        Timing("a. live run, POST " + RUN_PATH, live),
        Timing("   of which inside the worker", durations[WARMUP:]),
        Timing("c. cached, GET " + CACHED_PATH, cached),
    )


def run_fresh(code: str, workdir: str) -> None:
    """Run the snippet once in a fresh python process and check its output."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=tf_environment(),
        cwd=workdir,
        timeout=CALL_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python -c failed:\n{done.stderr.decode()[-3000:]}")
    check_output(done.stdout.decode(), "fresh process")


def measure_fresh_process(code: str) -> Timing:
    """(d) Time a fresh ``python -c <snippet>`` process per run."""
    with tempfile.TemporaryDirectory(prefix="tfquiz-fresh-") as workdir:
        seconds = time_calls(lambda: run_fresh(code, workdir), 1, FRESH_REPEATS)
    return Timing("d. fresh python -c per run", seconds)


def kernel_manager(kernels_dir: Path) -> KernelManager:
    """Return a manager for an ipykernel of this virtualenv's python, from a private spec."""
    spec_dir = kernels_dir / "tfquiz-bench"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tfquiz bench",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    return KernelManager(kernel_name="tfquiz-bench", kernel_spec_manager=specs, ip="127.0.0.1")


def execute(client: BlockingKernelClient, code: str) -> str:
    """Execute code in the kernel, wait for its reply and idle status; return its stdout."""
    printed: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        if message["header"]["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = client.execute_interactive(code, timeout=CALL_TIMEOUT_S, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel execute failed: {reply['content']}")
    return "".join(printed)


def measure_jupyter(code: str) -> Timing:
    """(e) Time a warm Jupyter kernel's execute round trip for the snippet."""
    with tempfile.TemporaryDirectory(prefix="tfquiz-kernel-") as workdir:
        manager = kernel_manager(Path(workdir) / "kernels")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        manager.start_kernel(cwd=workdir, env=tf_environment(), **quiet)
        try:
            client = manager.client()
            client.start_channels()
            try:
                client.wait_for_ready(timeout=READY_TIMEOUT_S)
                execute(client, "import tensorflow as tf")
                check_output(execute(client, code), "Jupyter kernel")
                seconds = time_calls(lambda: execute(client, code), WARMUP, REPEATS)
            finally:
                client.stop_channels()
        finally:
            manager.shutdown_kernel(now=True)
    return Timing("e. warm Jupyter kernel execute", seconds)


def report(
    floor: Timing, live: Timing, inside: Timing, cached: Timing, naive: list[Timing]
) -> None:
    """Print the table, the overhead and the two verdicts."""
    print(f"Q{QUESTION} demo {DEMO}, sequential requests, keep-alive client")  # noqa: T201
    print(f"{'':48} {'runs':>4} {'median':>10} {'p90':>10} {'/ b':>8}")  # noqa: T201
    for row in [floor, live, inside, cached, *naive]:
        ratio = row.median_ms / floor.median_ms
        print(  # noqa: T201
            f"{row.label:48} {len(row.seconds):4d} {row.median_ms:7.2f} ms"
            f" {row.p90_ms:7.2f} ms {ratio:7.1f}x"
        )
    overhead = live.median_ms - floor.median_ms
    print(f"overhead a - b (medians):        {overhead:7.2f} ms")  # noqa: T201
    in_worker = inside.median_ms - floor.median_ms
    print(f"  in the worker, beyond exec:    {in_worker:7.2f} ms")  # noqa: T201
    web_side = live.median_ms - inside.median_ms
    print(f"  in the web process and HTTP:   {web_side:7.2f} ms")  # noqa: T201
    verdict = "PASS" if overhead < TARGET_OVERHEAD_MS else "FAIL"
    print(f"target overhead < {TARGET_OVERHEAD_MS:.0f} ms:          {verdict}")  # noqa: T201
    verdict = "PASS" if cached.median_ms < TARGET_CACHED_MS else "FAIL"
    print(f"target cached median < {TARGET_CACHED_MS:.0f} ms:     {verdict}")  # noqa: T201


def main() -> None:
    """Measure the five ways one after the other, so none competes with another for CPU."""
    code = demo_code()
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")  # noqa: T201
    floor = measure_floor(code)
    live, inside, cached = measure_server()
    fresh = measure_fresh_process(code)
    jupyter = measure_jupyter(code)
    report(floor, live, inside, cached, [fresh, jupyter])


if __name__ == "__main__":
    main()
