"""One demo worker process seen from the web side: spawn it, send it runs, read its replies.

Each is a fresh interpreter (never forked) in its own process group, started as
``app.demos.sandbox`` plans, answering over a JSON-lines pipe that only
``app.demos.protocol`` writes and reads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from typing import Any

from app.config import Settings
from app.demos.protocol import (
    NOISE,
    Hello,
    Limit,
    OnOutput,
    Output,
    ProtocolError,
    Reply,
    Run,
    RunOutcome,
    Status,
    Stop,
    dump,
    parse_reply,
)
from app.demos.sandbox import plan_launch
from app.logs import CappedLog

logger = logging.getLogger("tfquiz.demos")
MIB = 1024 * 1024
LOG_LINE_BYTES = 4096  # a longer stderr line is logged in pieces, each counted


def line_limit(settings: Settings) -> int:
    """Return the longest line a worker may send: a full run's output as JSON, and room."""
    # JSON with ensure_ascii writes a control byte as \u0000: six bytes for each byte of
    # output, at worst; the MiB is for the value, the traceback and the tensors.
    return 6 * settings.demo_max_output_bytes + MIB


class WorkerProcess:
    """One spawned worker and the thread that reads its messages."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs = 0
        self.dirty = False  # the last run left threads behind: replace this worker
        self.broken: str | None = None  # how the worker broke the protocol: replace it
        self.line_limit = line_limit(settings)
        self.hello: Hello | None = None
        self.messages: queue.Queue[Reply | None] = queue.Queue()  # None: the pipe closed
        request_read, self._request_write = os.pipe()
        self._result_read, result_write = os.pipe()
        self.launch = plan_launch(settings, f"{request_read},{result_write}")
        self.process = subprocess.Popen(
            self.launch.argv,
            pass_fds=(request_read, result_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.launch.env,
            cwd="/",
            # setrlimit, and in degraded mode the switch to nobody: plain calls, safe after fork
            preexec_fn=self.launch.preexec,
            start_new_session=True,  # its own process group, killed as one
        )
        os.close(request_read)
        os.close(result_write)
        self.requests = os.fdopen(self._request_write, "wb")
        threading.Thread(target=self._read, daemon=True, name="demo-worker-reader").start()
        threading.Thread(target=self._log_stderr, daemon=True, name="demo-worker-log").start()

    def _log_stderr(self) -> None:
        """Log what the worker writes on its stderr, without TensorFlow's start-up chatter.

        Snippet code can write there too, so lines are read in bounded pieces and logged
        marked as the worker's, escaped, within ``demo_log_bytes_per_minute``.
        """
        assert self.process.stderr is not None
        prefix = f"worker[{self.process.pid}] stderr:"
        log = CappedLog(logger, prefix, self.settings.demo_log_bytes_per_minute)
        with self.process.stderr as stream:
            while raw := stream.readline(LOG_LINE_BYTES):
                line = raw.decode("utf-8", "replace").rstrip()
                if line and not NOISE.match(line):
                    log.write(line)
        log.close()

    def _read(self) -> None:
        """Pass on the worker's messages; stop at the first line it had no right to send.

        Each line is read with a limit, so a line without end costs the web process no more
        than that; a worker that sends one, or anything else than a message, is killed.
        """
        limit = self.line_limit
        with os.fdopen(self._result_read, "rb") as results:
            while line := results.readline(limit + 1):
                if len(line) > limit:
                    self._break(f"sent a message over {limit:,} bytes")
                    break
                try:
                    self.messages.put(parse_reply(line))
                except ProtocolError as error:
                    self._break(f"sent a {error}")
                    break
        self.messages.put(None)

    def _break(self, reason: str) -> None:
        """Say once that the worker broke the protocol, and kill it: it is not trusted again."""
        self.broken = reason
        logger.warning("demo worker %s %s; killed", self.process.pid, reason)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def wait_ready(self, timeout: float) -> None:
        """Wait for the worker's hello; raise RuntimeError when it does not come."""
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"demo worker did not start within {timeout:g} s") from None
        if not isinstance(message, Hello):
            self.kill()
            raise RuntimeError(f"demo worker failed to start (exit code {self.process.poll()})")
        self.hello = message

    @property
    def alive(self) -> bool:
        """Tell whether the process still runs."""
        return self.process.poll() is None

    def run(self, code: str, devices: list[str], on_output: OnOutput | None) -> RunOutcome:
        """Send one snippet and collect its outcome; the worker is dead after a failure."""
        self.runs += 1
        run_id = uuid.uuid4().hex
        request = Run(
            run=run_id,
            code=code,
            devices=devices,
            max_output=self.settings.demo_max_output_bytes,
        )
        outcome = RunOutcome(status="ok", **self._where())
        streams = {"stdout": [], "stderr": []}  # type: dict[str, list[str]]
        started = time.monotonic()
        deadline = started + self.settings.demo_timeout_s
        try:
            self.requests.write(dump(request))
            self.requests.flush()
        except OSError:
            return self._failed(outcome, "crashed", streams, started)
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                return self._failed(outcome, "timeout", streams, started)
            if message is None:
                self.process.wait(timeout=5)
                return self._failed(outcome, "crashed", streams, started, self._broken())
            if isinstance(message, Hello) or message.run != run_id:
                continue  # an earlier run's leftovers
            if isinstance(message, Output):
                streams[message.stream].append(message.text)
                if on_output is not None:
                    on_output(message.stream, message.text)
            elif isinstance(message, Limit):
                self.kill()
                return self._failed(outcome, "output_limit", streams, started)
            else:
                self.dirty = message.dirty
                return outcome.model_copy(
                    update={
                        "status": "error" if message.error else "ok",
                        "stdout": "".join(streams["stdout"]),
                        "stderr": "".join(streams["stderr"]),
                        "value": message.value,
                        "error": message.error,
                        "tensors": message.tensors,
                        "truncated": message.truncated,
                        "duration_ms": message.duration_ms,
                    },
                )

    def _where(self) -> dict[str, Any]:
        hello = self.hello
        return {
            "tf_version": hello.tf_version if hello else None,
            "device_kind": hello.device_kind if hello else None,
            "devices": hello.devices if hello else [],
        }

    def _broken(self) -> str | None:
        """Say why the run could not run when its worker broke the protocol, else None."""
        if self.broken is None:
            return None
        return f"The demo could not run: its worker {self.broken}, so it was replaced."

    def _failed(
        self,
        outcome: RunOutcome,
        status: Status,
        streams: dict[str, list[str]],
        started: float,
        message: str | None = None,
    ) -> RunOutcome:
        settings = self.settings
        messages = {
            "timeout": f"Stopped after the {settings.demo_timeout_s:g} s time limit.",
            "output_limit": f"Stopped: the output passed the {settings.demo_max_output_bytes:,}"
            " byte limit.",
            "crashed": f"The worker process crashed ({describe_exit(self.process.poll())}).",
        }
        return outcome.model_copy(
            update={
                "status": status,
                "message": message or messages.get(status, status),
                "stdout": "".join(streams["stdout"]),
                "stderr": "".join(streams["stderr"]),
                "truncated": status == "output_limit",
                "duration_ms": round((time.monotonic() - started) * 1000, 2),
            },
        )

    def kill(self) -> None:
        """Kill the worker's whole process group and reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("demo worker %s did not die", self.process.pid)
        if self.launch.cgroup is not None:
            self.launch.cgroup.kill_all()
            self.launch.cgroup.remove()
        with contextlib.suppress(OSError):
            self.requests.close()

    def stop(self) -> None:
        """Ask the worker to finish, then make sure it has."""
        try:
            self.requests.write(dump(Stop()))
            self.requests.flush()
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


def describe_exit(code: int | None) -> str:
    """Say how a process ended, naming the signal (a sandbox reports it as 128 + signal)."""
    if code is None:
        return "still running"
    number = -code if code < 0 else code - 128 if code > 128 else 0
    if number:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(number).name}"
    return f"exit code {code}"
