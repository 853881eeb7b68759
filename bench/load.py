"""Benchmark: throughput and latency under load, beside bare FastAPI endpoints in the same run.

With 1 and then 2 uvicorn workers, wrk drives 32 connections at the question page
(``GET /questions/3``) and at answer submission (``POST /api/questions/3/answers``, every
request from a different learner), and at a bare FastAPI page and JSON endpoint served with
the same uvicorn options (bench/bare.py). Targets: the page at >= 50 % of the bare page's
requests per second, submission at >= 25 % of the bare endpoint's, p99 under 50 ms, and no
errors. The servers run with default settings on a fresh SQLite file, without demo workers.

Run with ``.venv/bin/python -m bench.load`` (wrk must be installed: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from tests.factories import GOOD_Q3

HOST = "127.0.0.1"
CONNECTIONS = 32
P99_TARGET_MS = 50.0
PAGE, ANSWER = "/questions/3", "/api/questions/3/answers"
# An endpoint that does nothing through the app's whole middleware stack (access log,
# metrics, session, security headers, body limit): what any page of the app costs at least.
STACK_FLOOR = "/healthz"
# (app path, bare path, method, share of the bare throughput required)
CASES = ((PAGE, "/bare", "GET", 0.50), (ANSWER, "/bare", "POST", 0.25))
POST_SCRIPT = """
local answer = %s
local thread_id = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
local sent = 0
function request()
  sent = sent + 1
  local body = string.format('{"learner": "load %%d-%%d", "text": %%s}', id, sent, answer)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    """What wrk measured for one endpoint."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, probe: str) -> Iterator[str]:
    """Start a server, wait until ``probe`` answers, yield its URL, then stop it."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + probe, timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def environment(data_dir: Path) -> dict[str, str]:
    """Return default settings but for a fresh data dir, no demo workers and a fixed key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFQUIZ_")}
    env.update(
        TFQUIZ_DATA_DIR=str(data_dir),
        TFQUIZ_SECRET_KEY="load-benchmark-secret-key-0123456789abcdef",
        TFQUIZ_DEMO_WORKERS="0",
        # Every request comes from the one loopback address: lift the per-address limit.
        TFQUIZ_ANSWER_LIMIT_PER_ADDRESS="1000000000",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def wrk(url: str, method: str, seconds: int, threads: int, script: Path) -> Result:
    """Run wrk against ``url`` and read its requests/s, latency percentiles and errors."""
    command = ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["--latency"]
    if method == "POST":
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    return Result(rps, percentile(output, "50%"), percentile(output, "99%"), errors)


def percentile(output: str, label: str) -> float:
    """Read one latency percentile of wrk's --latency table, in milliseconds."""
    found = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if found is None:
        raise RuntimeError(f"wrk printed no {label} latency:\n{output}")
    return float(found.group(1)) * UNITS_MS[found.group(2)]


def warm_up(url: str, method: str) -> None:
    """Send a few requests so that templates are compiled and connections pooled."""
    with httpx.Client(timeout=10) as client:
        for n in range(20):
            if method == "GET":
                client.get(url).raise_for_status()
            else:
                body = {"learner": f"warm-up {n}", "text": GOOD_Q3}
                client.post(url, json=body).raise_for_status()


def measure(
    workers: int, seconds: int, threads: int, script: Path, folder: Path, only: str | None
) -> list[str]:
    """Measure the cases against the app and the bare app; return the table's rows."""
    rows: list[str] = []
    tfquiz = str(Path(sys.executable).with_name("tfquiz"))
    app_command = [tfquiz, "serve", "--host", HOST, "--workers", str(workers)]
    bare_command = [sys.executable, "-m", "bench.bare", "--workers", str(workers)]
    for path, bare_path, method, share in CASES:
        if only is not None and (only == "page") != (method == "GET"):
            continue
        data_dir = Path(tempfile.mkdtemp(dir=folder))
        env = environment(data_dir)
        with serving(bare_command, env, data_dir / "bare.log", "/docs") as url:
            warm_up(url + bare_path, method)
            bare = wrk(url + bare_path, method, seconds, threads, script)
        with serving(app_command, env, data_dir / "app.log", "/healthz") as url:
            if method == "GET":  # the app's fixed cost: its middleware on an empty endpoint
                warm_up(url + STACK_FLOOR, method)
                floor = wrk(url + STACK_FLOOR, method, seconds, threads, script)
            warm_up(url + path, method)
            app = wrk(url + path, method, seconds, threads, script)
        ratio = app.rps / bare.rps
        problems = []
        if ratio < share:
            problems.append(f"< {share:.0%} of bare")
        if app.p99_ms >= P99_TARGET_MS:
            problems.append(f"p99 >= {P99_TARGET_MS:g} ms")
        if app.errors or bare.errors:
            problems.append("errors")
        verdict = "PASS" if not problems else "FAIL: " + ", ".join(problems)
        rows.append(row(workers, f"bare {method} {bare_path}", bare, "", ""))
        if method == "GET":
            share_of_bare = f"{floor.rps / bare.rps:6.1%}"
            rows.append(row(workers, f"GET {STACK_FLOOR}", floor, share_of_bare, ""))
        rows.append(row(workers, f"{method} {path}", app, f"{ratio:6.1%}", verdict))
        if app.errors:
            rows.append(
                f"{'':>7}  failed statuses in the server's log: {failures(data_dir / 'app.log')}"
            )
    return rows


def failures(log: Path) -> str:
    """Count the failed statuses in a server's access lines, and quote its first error."""
    statuses = Counter(re.findall(r'" ([45]\d\d) [\d.]+ ms$', log.read_text(), re.M))
    first = next((line for line in log.read_text().splitlines() if "ERROR" in line), "")
    return f"{dict(statuses)} {first[:300]}"


def row(workers: int, name: str, result: Result, ratio: str, verdict: str) -> str:
    """Format one line of the table."""
    return (
        f"{workers:>7}  {name:<31} {result.rps:>8.0f} {result.p50_ms:>7.1f}ms "
        f"{result.p99_ms:>7.1f}ms {result.errors:>6}  {ratio:>7}  {verdict}"
    )


def say(text: str) -> None:
    """Print one line of the report at once."""
    print(text, flush=True)  # noqa: T201


def main() -> None:
    """Run every case with 1 and 2 uvicorn workers and print the table."""
    parser = argparse.ArgumentParser(description="Load benchmark of tfquiz against bare FastAPI.")
    parser.add_argument("--seconds", type=int, default=10, help="Duration of each wrk run.")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", choices=("page", "answers"), help="Run one case only.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        say("wrk is not installed: apt-get install wrk (Debian), then run again.")
        raise SystemExit(2)
    with tempfile.TemporaryDirectory(prefix="tfquiz-load-") as temp:
        folder = Path(temp)
        script = folder / "answer.lua"
        script.write_text(POST_SCRIPT % json.dumps(json.dumps(GOOD_Q3)))
        say(
            f"{CONNECTIONS} connections, {args.seconds} s per run, wrk -t{args.threads}, "
            f"{os.cpu_count()} CPUs; targets: page >= 50% and answers >= 25% of bare, "
            f"p99 < {P99_TARGET_MS:g} ms, no errors"
        )
        say(
            f"{'workers':>7}  {'endpoint':<31} {'req/s':>8} {'p50':>9} {'p99':>9} "
            f"{'errors':>6}  {'vs bare':>7}  verdict"
        )
        for workers in args.workers:
            for line in measure(workers, args.seconds, args.threads, script, folder, args.only):
                say(line)


if __name__ == "__main__":
    main()
