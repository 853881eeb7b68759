"""Benchmark: ``/healthz`` latency while hostile clients attack a real server on loopback.

The baseline, in the same run, is ``/healthz`` with no attack. Then, while one client sends
an endless header (64 KiB writes as fast as the server takes them, reconnecting whenever
it is refused) and 500 connections hold partial requests open (a header line every second
each, reopened whenever the server closes one), ``/healthz`` is timed again, each request
on a fresh connection as a new learner's browser would. Target: p99 under 100 ms under
attack. Every phase is bounded in time and in count; the whole run takes about 45 s.

Run with ``.venv/bin/python -m bench.hostile`` (loopback only; ``--revision REV`` attacks
an earlier revision of app/ instead, such as the tree before the limits, for comparison).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.baseline import checkout
from bench.server import HOST, Server, free_port, server_environment, stop, wait_for_page

P99_TARGET_MS = 100.0
PARTIAL_REQUESTS = 500
# Each phase lasts PHASE_S, past the server's 10 s header timeout, so that the partial
# requests are closed and reopened during it; a probe every PACE_S, at most REQUESTS.
PHASE_S = 15.0
PACE_S = 0.02
REQUESTS = int(PHASE_S / PACE_S)
PROBE_TIMEOUT_S = 5.0  # a probe slower than this counts as an error
SETTLE_S = 3.0  # the attack runs this long before the probes start
CHUNK = b"a" * 65536
# One endless header stops here even if the server takes it all (a server without a
# header limit keeps every byte in memory).
HEADER_BUDGET = 1024 * 2**20
TREE = ("app", "questions", "templates", "static")


@dataclass
class Probes:
    """Latencies of one phase's ``/healthz`` requests, and the failed ones."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def quantile(self, q: float) -> float:
        """Return the q-quantile of the latencies, in ms (inf when none answered)."""
        if not self.latencies_ms:
            return float("inf")
        ranked = sorted(self.latencies_ms)
        return ranked[min(len(ranked) - 1, int(q * len(ranked)))]


@dataclass
class Attack:
    """What the attackers did, and the stop signal they share."""

    stop: threading.Event = field(default_factory=threading.Event)
    header_bytes: int = 0
    header_refusals: int = 0
    partial_open: int = 0
    partial_closed: int = 0
    open_failures: int = 0


def probe(port: int) -> Probes:
    """Time ``GET /healthz`` every PACE_S for PHASE_S, each on a new connection."""
    result = Probes()
    deadline = time.monotonic() + PHASE_S
    for n in range(REQUESTS):
        if time.monotonic() > deadline:
            break
        time.sleep(max(0.0, deadline - PHASE_S + n * PACE_S - time.monotonic()))
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=PROBE_TIMEOUT_S)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                raise OSError(f"status {response.status}")
        except (OSError, http.client.HTTPException):
            result.errors += 1
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
    return result


def endless_header(port: int, attack: Attack) -> None:
    """Send one header that never ends; start another whenever the server refuses it."""
    while not attack.stop.is_set():
        try:
            with socket.create_connection((HOST, port), timeout=PROBE_TIMEOUT_S) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nX-Endless: ")
                sent = 0
                while not attack.stop.is_set() and sent < HEADER_BUDGET:
                    sock.sendall(CHUNK)
                    sent += len(CHUNK)
                    attack.header_bytes += len(CHUNK)
        except OSError:
            attack.header_refusals += 1
            time.sleep(0.01)


def partial_requests(port: int, attack: Attack) -> None:
    """Hold ``PARTIAL_REQUESTS`` half-sent requests open, a header line a second each."""
    selector = selectors.DefaultSelector()

    def open_one() -> None:
        try:
            sock = socket.create_connection((HOST, port), timeout=PROBE_TIMEOUT_S)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
        except OSError:
            attack.open_failures += 1
            return
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        attack.partial_open += 1

    def drop(sock: socket.socket) -> None:
        selector.unregister(sock)
        sock.close()
        attack.partial_open -= 1
        attack.partial_closed += 1

    for _ in range(PARTIAL_REQUESTS):
        open_one()
    line = 0
    while not attack.stop.is_set():
        # Anything readable is an answer or a close: the server gave up on that request.
        for key, _ in selector.select(timeout=1.0):
            drop(key.fileobj)  # type: ignore[arg-type]
        line += 1
        for key in list(selector.get_map().values()):
            try:
                key.fileobj.send(b"X-Line-%d: 1\r\n" % line)  # type: ignore[union-attr]
            except OSError:
                drop(key.fileobj)  # type: ignore[arg-type]
        for _ in range(PARTIAL_REQUESTS - attack.partial_open):
            open_one()
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def serving(folder: Path, tree: Path | None) -> Iterator[Server]:
    """Serve a fresh database, from the current tree or an extracted one; stop it after."""
    port = free_port()
    data_dir = folder / "data"
    data_dir.mkdir()
    env = server_environment(data_dir, 0, {"TFQUIZ_ACCESS_LOG": "false"})
    command = [sys.executable, "-m", "app", "serve", "--host", HOST, "--port", str(port)]
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=tree,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://{HOST}:{port}", log, time.perf_counter())
    try:
        wait_for_page(server, "/healthz")
        yield server
    finally:
        stop(process)


def report(name: str, probes: Probes, baseline: Probes | None) -> str:
    """Format one phase's line: p50, p99, max, errors and the ratios to the baseline."""
    p50, p99 = probes.quantile(0.5), probes.quantile(0.99)
    worst = max(probes.latencies_ms, default=float("inf"))
    ratios = ""
    if baseline is not None:
        ratios = f"  {p50 / baseline.quantile(0.5):5.1f}x {p99 / baseline.quantile(0.99):5.1f}x"
    return (
        f"{name:<28} {len(probes.latencies_ms):>5} {p50:>8.1f} {p99:>8.1f} {worst:>8.1f}"
        f" {probes.errors:>6}{ratios}"
    )


def say(text: str) -> None:
    """Print one line of the report at once."""
    print(text, flush=True)  # noqa: T201


def main() -> None:
    """Time /healthz without and then under attack, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", help="Attack this git revision's app/ instead.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfquiz-hostile-") as temp:
        folder = Path(temp)
        tree = None
        if options.revision:
            tree = folder / "tree"
            tree.mkdir()
            if not checkout(options.revision, tree, TREE):
                raise SystemExit(f"git cannot check out {options.revision}")
        with serving(folder, tree) as server:
            port = int(server.url.rsplit(":", 1)[1])
            measured = psutil.Process(server.process.pid)
            say(
                f"{os.cpu_count()} CPUs; one endless header and {PARTIAL_REQUESTS} partial "
                f"requests; target: p99 under {P99_TARGET_MS:g} ms under attack"
                + (f"; revision {options.revision}" if tree else "")
            )
            say(f"{'phase':<28} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}")
            rss_before = measured.memory_info().rss
            baseline = probe(port)
            say(report("no attack (baseline)", baseline, None))
            attack = Attack()
            attackers = [
                threading.Thread(target=endless_header, args=(port, attack), daemon=True),
                threading.Thread(target=partial_requests, args=(port, attack), daemon=True),
            ]
            for attacker in attackers:
                attacker.start()
            time.sleep(SETTLE_S)
            under = probe(port)
            rss_peak = measured.memory_info().rss
            held = attack.partial_open
            attack.stop.set()
            for attacker in attackers:
                attacker.join(timeout=10)
            say(report("under attack", under, baseline) + "  (p50, p99 vs baseline)")
            say(
                f"endless header: {attack.header_bytes / 2**20:.0f} MiB sent, refused "
                f"{attack.header_refusals} times; partial requests: {held} open at the end, "
                f"{attack.partial_closed} closed by the server, {attack.open_failures} "
                f"connections refused; server RSS {rss_before / 2**20:.0f} -> "
                f"{rss_peak / 2**20:.0f} MiB"
            )
    verdict = under.quantile(0.99) < P99_TARGET_MS and not under.errors
    say("PASS" if verdict else f"FAIL: p99 >= {P99_TARGET_MS:g} ms or errors under attack")
    if not verdict:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
