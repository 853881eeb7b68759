"""A real server facing hostile clients: huge or endless heads, slow lorises, floods."""

from __future__ import annotations

import contextlib
import re
import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from tests.server import running_server, start_server

pytestmark = pytest.mark.slow
HUGE_HEADER_BYTES = 20 * 1024 * 1024
CHUNK = b"a" * 65536
# Long enough that a refusal is never a slow answer mistaken for one.
ANSWER_TIMEOUT_S = 10.0


def connect(url: str) -> socket.socket:
    """Open a raw TCP connection to the server behind ``url``."""
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_TIMEOUT_S)


def closed_or_answer(sock: socket.socket) -> bytes:
    """Read until the server closes; return what it sent (empty if it reset)."""
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def is_closed(sock: socket.socket) -> bool:
    """Tell, without waiting, whether the server closed the connection (or answered)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)  # a held connection gets nothing until it completes its head


class EndlessHeader(threading.Thread):
    """Send one header value of ``HUGE_HEADER_BYTES`` bytes, then end the head."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.sock = connect(url)
        self.answer: bytes | None = None

    def run(self) -> None:
        """Send until done or refused, then read the answer."""
        try:
            self.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ")
            for _ in range(HUGE_HEADER_BYTES // len(CHUNK)):
                self.sock.sendall(CHUNK)
            self.sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # refused mid-way: the server closed the connection
        try:
            self.answer = closed_or_answer(self.sock)
        except TimeoutError:
            self.answer = None  # still open, waiting for more
        finally:
            self.sock.close()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_20_mb_header_is_refused_while_healthz_answers(tmp_path: Path, workers: str) -> None:
    with running_server(tmp_path, "--workers", workers) as url:
        attacks = [EndlessHeader(url) for _ in range(4)]
        for attack in attacks:
            attack.start()
        during = [httpx.get(url + "/healthz", timeout=ANSWER_TIMEOUT_S) for _ in range(5)]
        for attack in attacks:
            attack.join(timeout=60)
    assert [response.status_code for response in during] == [200] * 5
    for attack in attacks:
        assert attack.answer is not None, "the connection was left open"
        assert attack.answer == b"" or attack.answer.startswith(b"HTTP/1.1 431 "), attack.answer


def test_too_many_headers_are_refused_with_431(tmp_path: Path) -> None:
    with running_server(tmp_path) as url:
        many = httpx.get(
            url + "/healthz", headers={f"x-h{n}": "1" for n in range(1000)}, timeout=10
        )
        some = httpx.get(url + "/healthz", headers={f"x-h{n}": "1" for n in range(50)})
        long_but_fine = httpx.get(url + "/healthz", headers={"x-long": "v" * 8000})
    assert many.status_code == 431
    assert "too many" in many.text.lower() or "too large" in many.text.lower()
    assert many.headers["connection"] == "close"
    assert (some.status_code, long_but_fine.status_code) == (200, 200)


def test_a_header_past_the_size_limit_gets_431(tmp_path: Path) -> None:
    env = {"TFQUIZ_MAX_HEADER_BYTES": "4096"}
    with running_server(tmp_path, env=env) as url:
        refused = httpx.get(url + "/healthz", headers={"x-long": "v" * 5000})
        fine = httpx.get(url + "/healthz", headers={"x-long": "v" * 3000})
    assert refused.status_code == 431 and "too large" in refused.text.lower()
    assert fine.status_code == 200


def test_a_slow_loris_is_closed_after_the_header_timeout(tmp_path: Path) -> None:
    env = {"TFQUIZ_REQUEST_HEADER_TIMEOUT_S": "2"}
    with running_server(tmp_path, env=env) as url:
        sock = connect(url)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        lines_sent, closed = 0, False
        # A header line every half second for up to 20 s: ten times the timeout.
        while lines_sent < 40 and not closed:
            time.sleep(0.5)
            closed = is_closed(sock)
            if not closed:
                try:
                    sock.sendall(b"X-Slow-%d: 1\r\n" % lines_sent)
                    lines_sent += 1
                except OSError:
                    closed = True
        answer = closed_or_answer(sock) if closed else b""
        sock.close()
        healthz = httpx.get(url + "/healthz")
    assert closed, f"still open after {lines_sent} header lines"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
    assert healthz.status_code == 200


def test_a_body_that_never_ends_is_closed_after_the_body_timeout(tmp_path: Path) -> None:
    env = {"TFQUIZ_REQUEST_BODY_TIMEOUT_S": "2"}
    with running_server(tmp_path, env=env) as url:
        sock = connect(url)
        sock.sendall(
            b"POST /api/questions/3/answers HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
        )
        sent, closed = 0, False
        while sent < 40 and not closed:
            time.sleep(0.5)
            closed = is_closed(sock)
            if not closed:
                try:
                    sock.sendall(b" ")
                    sent += 1
                except OSError:
                    closed = True
        answer = closed_or_answer(sock) if closed else b""
        sock.close()
    assert closed, f"still open after {sent} bytes of body"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer


@contextlib.contextmanager
def held_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    """Open ``count`` connections that each sent half a request head; close them after."""
    socks = [connect(url) for _ in range(count)]
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_connections_past_the_cap_get_503_until_the_held_ones_close(tmp_path: Path) -> None:
    env = {"TFQUIZ_MAX_CONNECTIONS": "5", "TFQUIZ_REQUEST_HEADER_TIMEOUT_S": "60"}
    with running_server(tmp_path, env=env) as url:
        for _ in range(10):  # until the start-up probe's connection is gone, on a slow machine
            time.sleep(0.5)
            with held_connections(url, 5) as held:
                full = httpx.get(url + "/healthz", timeout=ANSWER_TIMEOUT_S)
                still_open = [not is_closed(sock) for sock in held]
            if all(still_open):
                break
        after = None
        for _ in range(50):  # the server notices the closed connections in a moment
            after = httpx.get(url + "/healthz", timeout=ANSWER_TIMEOUT_S)
            if after.status_code == 200:
                break
            time.sleep(0.1)
    assert full.status_code == 503
    assert "full" in full.text.lower()
    assert int(full.headers["retry-after"]) >= 1
    assert full.headers["connection"] == "close"
    assert still_open == [True] * 5
    assert after is not None and after.status_code == 200


def test_serve_raises_the_open_file_limit_and_clamps_the_cap(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    env = {"TFQUIZ_MAX_CONNECTIONS": "1000000"}
    # The server inherits a low soft limit, as under a default `ulimit -n` of 1,024 or less.
    process, _ = start_server(tmp_path, env=env, open_files=256)
    try:
        limits = open_file_limits(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)
    log = (tmp_path / "server.log").read_text()
    assert limits == (hard, hard)
    match = re.search(r"serving at most (\d+) connections", log)
    assert match, log
    assert int(match.group(1)) < hard


def open_file_limits(pid: int) -> tuple[int, int]:
    """Return the (soft, hard) open-file limits of a running process."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError(f"no open-file limit for process {pid}")
