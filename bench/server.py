"""Start a real ``tfquiz serve`` process on a free loopback port, for the benchmarks.

Every process started here is killed when the ``running_server`` block ends, the demo
workers (which run in their own process groups) included.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import psutil

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 15.0
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Server:
    """A running server: its process, base URL, log file and spawn time."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    spawned: float

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the server's log, for error messages."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve_command(port: int) -> list[str]:
    """Return the ``tfquiz serve`` command line of this virtualenv, bound to loopback."""
    script = Path(sys.executable).with_name("tfquiz")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    return [*program, "serve", "--host", HOST, "--port", str(port)]


def server_environment(
    data_dir: Path, workers: int, settings: dict[str, str] | None = None
) -> dict[str, str]:
    """Return a server's environment: default settings but for data dir, workers and these."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TFQUIZ_")}
    environment["TFQUIZ_DATA_DIR"] = str(data_dir)
    environment["TFQUIZ_DEMO_WORKERS"] = str(workers)
    return {**environment, **(settings or {})}


@contextlib.contextmanager
def running_server(
    data_dir: Path, workers: int = 1, settings: dict[str, str] | None = None
) -> Iterator[Server]:
    """Spawn ``tfquiz serve`` on a fresh data dir; yield it at once, kill it all at the end.

    ``settings`` are extra ``TFQUIZ_*`` environment variables.
    """
    port = free_port()
    log = data_dir / "server.log"
    with log.open("wb") as output:
        spawned = time.perf_counter()
        process = subprocess.Popen(
            serve_command(port),
            env=server_environment(data_dir, workers, settings),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Server(process, f"http://{HOST}:{port}", log, spawned)
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server, then kill whatever it started that is still alive."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(children, timeout=STOP_TIMEOUT_S)


def wait_for_page(server: Server, path: str = "/", timeout: float = START_TIMEOUT_S) -> float:
    """Poll ``path`` until it answers 200; return the seconds since the server was spawned."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + path, timeout=1.0).status_code == 200:
                return time.perf_counter() - server.spawned
        except httpx.TransportError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"server did not answer {path} in {timeout:g} s:\n{server.log_tail()}")


def send_csrf_token(client: httpx.Client) -> None:
    """Open a session and send its CSRF token on every request, should the API check it."""
    response = client.get("/")
    response.raise_for_status()
    if match := CSRF_FIELD.search(response.text):
        client.headers["X-CSRF-Token"] = match.group(1)


def wait_for_demo(client: httpx.Client, run_path: str, timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Poll a demo's live run until it answers ``ok``; the first call waits for TensorFlow."""
    send_csrf_token(client)
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        response = client.post(run_path)
        last = response.json() if response.status_code == 200 else response.text
        if isinstance(last, dict) and last.get("status") == "ok":
            return
        time.sleep(1.0)
    raise RuntimeError(f"the demo did not run in {timeout:g} s: last answer {last}")


def wait_for_workers(server: Server, count: int = 1, timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Wait until the server has at least ``count`` descendants, all of them idle.

    The pool starts its workers and a warm spare together, at start-up, each maybe inside
    a sandbox process (so a grandchild). A worker is idle once it has imported TensorFlow
    and waits for requests, so idle descendants mean a ready pool with nothing left
    competing for the CPU.
    """
    parent = psutil.Process(server.process.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_tail()}")
        children = parent.children(recursive=True)
        if len(children) >= count and cpu_seconds_over(children, 1.0) < 0.02:
            return
        time.sleep(0.2)
    raise RuntimeError(f"demo workers did not settle in {timeout:g} s:\n{server.log_tail()}")


def cpu_seconds_over(processes: list[psutil.Process], interval: float) -> float:
    """Return the CPU seconds the processes used together during ``interval``."""

    def total() -> float:
        used = 0.0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                used += times.user + times.system
        return used

    before = total()
    time.sleep(interval)
    return total() - before
