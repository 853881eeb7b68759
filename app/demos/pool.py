"""A pool of warm TensorFlow worker processes, kept in the web process without importing TF.

Workers are spawned as fresh interpreters (never forked), each in its own process group, and
answer over a JSON-lines pipe (see app.demos.worker). A spare is started ahead so that replacing a
worker that timed out, crashed, flooded its output or reached its run quota costs no wait.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import BaseModel

from app.config import Settings
from app.demos.capture import NOISE
from app.demos.sandbox import plan_launch

logger = logging.getLogger("tfquiz.demos")
Status = Literal["ok", "error", "timeout", "crashed", "output_limit", "unavailable"]
OnOutput = Callable[[str, str], None]
EOF_MARK: dict[str, Any] = {"type": "eof"}


class PoolBusy(Exception):
    """Raised when the run queue is full; the caller should retry later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"all demo workers are busy; retry in {retry_after} s")
        self.retry_after = retry_after


class SnippetError(BaseModel):
    """An exception the snippet raised, with its own frames only."""

    type: str
    message: str
    traceback: str


class RunOutcome(BaseModel):
    """What happened when a snippet ran, and where."""

    status: Status
    message: str | None = None
    stdout: str = ""
    stderr: str = ""
    value: str | None = None
    error: SnippetError | None = None
    tensors: list[dict[str, Any]] = []
    truncated: bool = False
    duration_ms: float = 0
    tf_version: str | None = None
    device_kind: str | None = None
    devices: list[dict[str, str]] = []


class WorkerProcess:
    """One spawned worker and the thread that reads its messages."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs = 0
        self.dirty = False  # the last run left threads behind: replace this worker
        self.hello: dict[str, Any] = {}
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
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
            user=self.launch.user,
            preexec_fn=self.launch.preexec,  # only setrlimit calls: safe after fork
            start_new_session=True,  # its own process group, killed as one
        )
        os.close(request_read)
        os.close(result_write)
        self.requests = os.fdopen(self._request_write, "wb")
        threading.Thread(target=self._read, daemon=True, name="demo-worker-reader").start()
        threading.Thread(target=self._log_stderr, daemon=True, name="demo-worker-log").start()

    def _log_stderr(self) -> None:
        """Log what the worker says outside runs, without TensorFlow's start-up chatter."""
        assert self.process.stderr is not None
        with self.process.stderr as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if line and not NOISE.match(line):
                    logger.warning("demo worker %s: %s", self.process.pid, line)

    def _read(self) -> None:
        with os.fdopen(self._result_read, "rb") as results:
            for line in results:
                try:
                    self.messages.put(json.loads(line))
                except json.JSONDecodeError:
                    logger.warning("worker %s sent a malformed line", self.process.pid)
        self.messages.put(EOF_MARK)

    def wait_ready(self, timeout: float) -> None:
        """Wait for the worker's hello; raise RuntimeError when it does not come."""
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"demo worker did not start within {timeout:g} s") from None
        if message.get("type") != "hello":
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
        request = {
            "type": "run",
            "run": run_id,
            "code": code,
            "devices": devices,
            "max_output": self.settings.demo_max_output_bytes,
        }
        outcome = RunOutcome(status="ok", **self._where())
        streams = {"stdout": [], "stderr": []}  # type: dict[str, list[str]]
        started = time.monotonic()
        deadline = started + self.settings.demo_timeout_s
        try:
            self.requests.write((json.dumps(request) + "\n").encode())
            self.requests.flush()
        except OSError:
            return self._failed(outcome, "crashed", streams, started)
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                return self._failed(outcome, "timeout", streams, started)
            kind = message.get("type")
            if kind == "output" and message.get("run") == run_id:
                streams[message["stream"]].append(message["text"])
                if on_output is not None:
                    on_output(message["stream"], message["text"])
            elif kind == "limit" and message.get("run") == run_id:
                self.kill()
                return self._failed(outcome, "output_limit", streams, started)
            elif kind == "done" and message.get("run") == run_id:
                self.dirty = bool(message.get("dirty"))
                return _updated(
                    outcome,
                    {
                        "status": "error" if message.get("error") else "ok",
                        "stdout": "".join(streams["stdout"]),
                        "stderr": "".join(streams["stderr"]),
                        "value": message.get("value"),
                        "error": message.get("error"),
                        "tensors": message.get("tensors") or [],
                        "truncated": bool(message.get("truncated")),
                        "duration_ms": message.get("duration_ms", 0),
                    },
                )
            elif kind == "eof":
                self.process.wait(timeout=5)
                return self._failed(outcome, "crashed", streams, started)

    def _where(self) -> dict[str, Any]:
        return {
            "tf_version": self.hello.get("tf_version"),
            "device_kind": self.hello.get("device_kind"),
            "devices": self.hello.get("devices", []),
        }

    def _failed(
        self, outcome: RunOutcome, status: Status, streams: dict[str, list[str]], started: float
    ) -> RunOutcome:
        settings = self.settings
        messages = {
            "timeout": f"Stopped after the {settings.demo_timeout_s:g} s time limit.",
            "output_limit": f"Stopped: the output passed the {settings.demo_max_output_bytes:,}"
            " byte limit.",
            "crashed": f"The worker process crashed ({describe_exit(self.process.poll())}).",
        }
        return _updated(
            outcome,
            {
                "status": status,
                "message": messages.get(status, status),
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
            self.requests.write(b'{"type": "stop"}\n')
            self.requests.flush()
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


def _updated(outcome: RunOutcome, changes: dict[str, Any]) -> RunOutcome:
    """Return a validated copy of an outcome with some fields changed."""
    return RunOutcome.model_validate({**outcome.model_dump(), **changes})


def describe_exit(code: int | None) -> str:
    """Say how a process ended, naming the signal (a sandbox reports it as 128 + signal)."""
    if code is None:
        return "still running"
    number = -code if code < 0 else code - 128 if code > 128 else 0
    if number:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(number).name}"
    return f"exit code {code}"


class DemoPool:
    """N warm workers behind a bounded queue, plus a spare started ahead."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Condition(threading.RLock())
        self._idle: list[WorkerProcess] = []
        self._spares: list[WorkerProcess] = []
        self._starting = 0
        self._busy = 0
        self._waiting = 0
        self._closed = False
        self.restarts = 0
        self.hello: dict[str, Any] = {}
        self.last_error: str | None = None
        self.sandbox: str | None = None
        # One long-lived thread spawns every worker: a sandbox dies with the thread that
        # started it (bwrap --die-with-parent), so that thread must outlive the workers.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="demo-spawner")

    def start(self) -> None:
        """Start the workers and the spare in the background; returns at once."""
        if not self.settings.demo_workers:
            self.last_error = "live demos are turned off on this server (TFQUIZ_DEMO_WORKERS=0)"
            return
        for _ in range(self.settings.demo_workers):
            self._spawn(spare=False)
        self._spawn(spare=True)

    @property
    def state(self) -> dict[str, Any]:
        """Describe the pool for health checks and pages."""
        with self._lock:
            return {
                "idle": len(self._idle),
                "busy": self._busy,
                "waiting": self._waiting,
                "starting": self._starting,
                "spares": len(self._spares),
                "restarts": self.restarts,
                "ready": bool(self._idle or self._busy),
                "sandbox": self.sandbox,
                "last_error": self.last_error,
                **{k: self.hello.get(k) for k in ("tf_version", "device_kind", "devices")},
            }

    def _spawn(self, spare: bool) -> None:
        with self._lock:  # reentrant: callers may already hold it
            if self._closed:
                return
            self._starting += 1
        threading.Thread(target=self._start_one, args=(spare,), daemon=True).start()

    def _start_one(self, spare: bool) -> None:
        worker: WorkerProcess | None = None
        try:
            worker = self._spawner.submit(WorkerProcess, self.settings).result()
            worker.wait_ready(self.settings.demo_start_timeout_s)
        except (OSError, RuntimeError) as error:
            if not self._closed:  # a worker still starting when the pool closes dies with it
                logger.error("could not start a demo worker: %s", error)
            with self._lock:
                self._starting -= 1
                self.last_error = str(error)
                self._lock.notify_all()
            return
        with self._lock:
            self._starting -= 1
            if self._closed:
                worker.stop()
                return
            self.hello = worker.hello
            self.sandbox = worker.launch.mode
            self.last_error = None
            (self._spares if spare else self._idle).append(worker)
            self._lock.notify_all()

    def run(
        self, code: str, devices: list[str] | None = None, on_output: OnOutput | None = None
    ) -> RunOutcome:
        """Run a snippet on the next free worker; raise PoolBusy when the queue is full."""
        worker = self._acquire()
        if worker is None:
            message = "No demo worker is running" + (
                f": {self.last_error}" if self.last_error else "."
            )
            return RunOutcome(status="unavailable", message=message)
        outcome = RunOutcome(status="crashed")
        try:
            outcome = worker.run(code, devices or [], on_output)
        finally:
            self._release(worker, outcome)
        return outcome

    def _acquire(self) -> WorkerProcess | None:
        settings = self.settings
        with self._lock:
            if not self._idle and self._waiting >= settings.demo_queue_size:
                raise PoolBusy(retry_after=max(1, round(settings.demo_timeout_s / 4)))
            self._waiting += 1
            try:
                deadline = time.monotonic() + settings.demo_queue_wait_s
                while not self._idle:
                    if self._closed or not (self._busy or self._starting or self._spares):
                        return None
                    if self._spares and not self._busy and not self._starting:
                        self._promote_spare()
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PoolBusy(retry_after=max(1, round(settings.demo_timeout_s / 4)))
                    self._lock.wait(timeout=min(remaining, 1.0))
                worker = self._idle.pop()
                self._busy += 1
                return worker
            finally:
                self._waiting -= 1

    def _release(self, worker: WorkerProcess, outcome: RunOutcome) -> None:
        """Return a healthy worker; replace one that failed or has run its quota."""
        worn = worker.runs >= self.settings.demo_recycle_after or worker.dirty
        failed = outcome.status in ("timeout", "crashed", "output_limit") or not worker.alive
        with self._lock:
            self._busy -= 1
            if not (worn or failed) and not self._closed:
                self._idle.append(worker)
                self._lock.notify_all()
                return
            self.restarts += 1
            self._promote_spare()
            self._lock.notify_all()
        if failed:
            worker.kill()
        else:
            worker.stop()

    def _promote_spare(self) -> None:
        """Move the warm spare into service and start a new spare (caller holds the lock)."""
        if self._spares:
            self._idle.append(self._spares.pop())
            self._spawn(spare=True)
        else:
            self._spawn(spare=False)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers = self._idle + self._spares
            self._idle, self._spares = [], []
            self._lock.notify_all()
        for worker in workers:
            worker.stop()
        self._spawner.shutdown(wait=False)
