"""Start a real uvicorn server process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx

from tests.databases import database_env

START_TIMEOUT_S = 30.0


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    data_dir: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    open_files: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``tfquiz serve`` on a free port (it migrates first); return it once it answers.

    ``open_files``: the soft open-file limit the server inherits, set in the child alone
    (lowering this process's own could leave the test run no descriptor to open).
    """
    port = free_port()
    given = env or {}
    environment = {
        **os.environ,
        "TFQUIZ_DATA_DIR": str(data_dir),
        "TFQUIZ_SECRET_KEY": "server-test-secret-key-0123456789abcdef",
        "TFQUIZ_DEMO_WORKERS": "0",
        **({} if "TFQUIZ_DATABASE_URL" in given else database_env()),
        **given,
    }
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), *extra]
    with (data_dir / "server.log").open("a") as log:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if open_files is None else _soft_open_files(open_files),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, data_dir / "server.log")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, url


def _soft_open_files(limit: int) -> Callable[[], None]:
    """Return what lowers a child's soft open-file limit before it runs the server."""

    def lower() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))

    return lower


@contextmanager
def running_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve a fresh database in ``data_dir`` and yield the base URL; stop it afterwards."""
    log = data_dir / "server.log"
    log.write_text("")
    process, url = start_server(data_dir, *extra, env=env)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> float:
    """Poll until the server answers; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/api/questions", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not start in {START_TIMEOUT_S} s:\n{log.read_text()}")


def wait_for_demos(url: str, seconds: float = 240) -> None:
    """Poll /readyz until a demo worker is ready (it starts beside serving)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if httpx.get(url + "/readyz", timeout=10).json()["checks"]["demos"]["ready"]:
            return
        time.sleep(0.05)
    raise AssertionError("no demo worker became ready")


def add_instructor(data_dir: Path, env: dict[str, str], email: str) -> str:
    """Create an instructor with the CLI, as an administrator would; return the password."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "instructor", "add", email, "--generate"],
        env={**os.environ, "TFQUIZ_DATA_DIR": str(data_dir), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = re.search(r"store it now\): (\S+)", done.stdout)
    assert found, done.stdout + done.stderr
    return found[1]
