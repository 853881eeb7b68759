"""A pool of warm TensorFlow worker processes, kept in the web process without importing TF.

Workers (``app.demos.process``) are spawned as fresh interpreters (never forked), each in
its own process group, and answer over a JSON-lines pipe (``app.demos.protocol``). A spare
is started ahead so that replacing a worker that timed out, crashed, flooded its output or
reached its run quota costs no wait.

Untrusted code (the instructor playground) never runs on those workers: it gets a worker
of its own, started ahead like the spare, killed after its one run and never put in the
pool, so nothing it did to its process, threads or ``/tmp`` can reach a learner's run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from app.config import Settings
from app.demos.fairqueue import FairQueue
from app.demos.process import WorkerProcess
from app.demos.protocol import FAILED, Observer, OnOutput, OnQueued, PoolBusy, RunOutcome
from app.demos.sandbox import Containment, containment

logger = logging.getLogger("tfquiz.demos")
# Where a started worker goes: into service, the spare, or the one-run workers.
Role = Literal["worker", "spare", "fresh"]
# A one-run worker runs this, trusted, before it waits: TensorFlow's first op in a process
# costs about 300 ms, which an instructor's run would otherwise pay (bench.playground).
WARM_UP = "import tensorflow as tf\ntf.reduce_sum(tf.range(4) * 2).numpy()"
# Untrusted runs that may wait at once: each starts a worker of its own (TensorFlow, about
# 500 MB), so their queue stays at the size it had before the demo queue grew for classes.
FRESH_QUEUE = 8


class DemoPool:
    """N warm workers behind a bounded fair queue, a spare started ahead, one-run workers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Condition(threading.RLock())
        self._idle: list[WorkerProcess] = []
        self._spares: list[WorkerProcess] = []
        self._starting = 0
        self._fresh: list[WorkerProcess] = []  # warm, for one untrusted run each
        self._fresh_starting = 0
        self._fresh_waiting = 0
        self._fresh_failures = 0  # starts that failed: a waiting run gives up on one
        self._busy = 0
        self._queue = FairQueue()  # runs waiting for a worker, client by client
        self._closed = False
        self.restarts = 0
        self.hello: dict[str, Any] = {}
        self.last_error: str | None = None
        self.sandbox: str | None = None
        self.containment: Containment | None = None  # decided at start
        self._observers: list[Observer] = []
        # One long-lived thread spawns every worker: a sandbox dies with the thread that
        # started it (bwrap --die-with-parent), so that thread must outlive the workers.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="demo-spawner")

    def start(self) -> None:
        """Start the workers and the spare in the background; returns at once."""
        if not self.settings.demo_workers:
            self.last_error = "live demos are turned off on this server (TFQUIZ_DEMO_WORKERS=0)"
            return
        self.containment = plan = containment(self.settings)
        self.sandbox = plan.mode
        if plan.refusal is not None:  # e.g. a root server without bwrap: no worker at all
            self.last_error = plan.refusal
            logger.error("%s", plan.refusal)
            return
        for _ in range(self.settings.demo_workers):
            self._spawn("worker")
        self._spawn("spare")
        if self.settings.playground:  # its first run should not wait for TensorFlow either
            self._spawn("fresh")

    @property
    def state(self) -> dict[str, Any]:
        """Describe the pool for health checks and pages."""
        with self._lock:
            return {
                "idle": len(self._idle),
                "busy": self._busy,
                "waiting": len(self._queue),
                "queue_size": self.settings.demo_queue_size,
                "workers": self.settings.demo_workers,
                "wait": self._queue.percentiles(),
                "starting": self._starting,
                "spares": len(self._spares),
                "fresh": len(self._fresh),
                "restarts": self.restarts,
                "ready": bool(self._idle or self._busy),
                "sandbox": self.sandbox,
                "degraded": self.containment.degraded if self.containment else None,
                "notice": self.containment.notice if self.containment else None,
                "last_error": self.last_error,
                **{k: self.hello.get(k) for k in ("tf_version", "device_kind", "devices")},
            }

    def _spawn(self, role: Role) -> None:
        with self._lock:  # reentrant: callers may already hold it
            if self._closed:
                return
            if role == "fresh":
                self._fresh_starting += 1
            else:
                self._starting += 1
        threading.Thread(target=self._start_one, args=(role,), daemon=True).start()

    def _started(self, role: Role) -> None:
        """Count a start as over (caller holds the lock)."""
        if role == "fresh":
            self._fresh_starting -= 1
        else:
            self._starting -= 1

    def _start_one(self, role: Role) -> None:
        worker: WorkerProcess | None = None
        try:
            worker = self._spawner.submit(WorkerProcess, self.settings).result()
            worker.wait_ready(self.settings.demo_start_timeout_s)
            if role == "fresh" and worker.hello and worker.hello.tf_version:
                self._warm_up(worker)
        except (OSError, RuntimeError) as error:
            if not self._closed:  # a worker still starting when the pool closes dies with it
                logger.error("could not start a demo worker: %s", error)
            with self._lock:
                self._started(role)
                self._fresh_failures += role == "fresh"
                self.last_error = str(error)
                self._lock.notify_all()
            return
        with self._lock:
            self._started(role)
            if self._closed:
                worker.stop()
                return
            self.hello = worker.hello.model_dump() if worker.hello else {}
            self.sandbox = worker.launch.mode
            self.last_error = None
            {"worker": self._idle, "spare": self._spares, "fresh": self._fresh}[role].append(worker)
            self._lock.notify_all()

    def _warm_up(self, worker: WorkerProcess) -> None:
        """Run one TensorFlow op, so that the untrusted run does not pay TF's first-op cost."""
        outcome = worker.run(WARM_UP, [], None)
        if outcome.status != "ok":
            worker.kill()
            raise RuntimeError(f"a demo worker failed its warm-up run: {outcome.message}")

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer`` after every run request: its outcome (None when busy), seconds."""
        self._observers.append(observer)

    def run(
        self,
        code: str,
        devices: list[str] | None = None,
        on_output: OnOutput | None = None,
        client: str = "",
        on_queued: OnQueued | None = None,
    ) -> RunOutcome:
        """Run a snippet when its client's turn comes; raise PoolBusy when the queue is full.

        ``on_queued`` is told how many runs are ahead each time that changes while this one
        waits, then None when a worker takes it.
        """
        return self._observed(lambda: self._run(code, devices or [], on_output, client, on_queued))

    def run_isolated(
        self, code: str, devices: list[str] | None = None, on_output: OnOutput | None = None
    ) -> RunOutcome:
        """Run untrusted code on a worker of its own, killed after it; PoolBusy when full.

        Such code could patch its worker, leave a thread no one can list or plant files in
        its ``/tmp``: on a worker that later served a question demo, that would reach
        learners and the demo cache.
        """
        return self._observed(lambda: self._run_isolated(code, devices or [], on_output))

    def _observed(self, run: Callable[[], RunOutcome]) -> RunOutcome:
        """Run, then tell the observers how it went (None: refused as busy) and how long."""
        started = time.perf_counter()
        try:
            outcome = run()
        except PoolBusy:
            self._notify(None, started)
            raise
        self._notify(outcome, started)
        return outcome

    def _run_isolated(
        self, code: str, devices: list[str], on_output: OnOutput | None
    ) -> RunOutcome:
        worker = self._acquire_fresh()
        if worker is None:
            message = "No demo worker is running" + (
                f": {self.last_error}" if self.last_error else "."
            )
            return RunOutcome(status="unavailable", message=message)
        try:
            return worker.run(code, devices, on_output)
        finally:
            # Its process group, cgroup and /tmp go with it; it is in no list, so nothing
            # can take it meanwhile, and the answer need not wait for the reaping.
            threading.Thread(target=worker.kill, daemon=True, name="demo-kill").start()

    def _acquire_fresh(self) -> WorkerProcess | None:
        """Take a warm one-run worker and start the next; None when none can start."""
        settings = self.settings
        with self._lock:
            if self._closed or self.containment is None or self.containment.refusal:
                return None
            if not self._fresh and self._fresh_waiting >= min(
                settings.demo_queue_size, FRESH_QUEUE
            ):
                raise PoolBusy(retry_after=max(1, round(settings.demo_timeout_s / 4)))
            self._fresh_waiting += 1
            try:
                deadline = time.monotonic() + settings.demo_queue_wait_s
                while not self._fresh:
                    if self._closed:
                        return None
                    if self._fresh_starting < self._fresh_waiting:
                        self._spawn("fresh")  # one start per waiting run, no more
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PoolBusy(retry_after=max(1, round(settings.demo_timeout_s / 4)))
                    failures = self._fresh_failures
                    self._lock.wait(timeout=min(remaining, 1.0))
                    if not self._fresh and self._fresh_failures != failures:
                        return None  # the start failed: say why rather than wait on
                worker = self._fresh.pop()
                self._spawn("fresh")  # the next run's, started now
                return worker
            finally:
                self._fresh_waiting -= 1

    def _run(
        self,
        code: str,
        devices: list[str],
        on_output: OnOutput | None,
        client: str,
        on_queued: OnQueued | None,
    ) -> RunOutcome:
        worker = self._acquire(client, on_queued)
        if worker is None:
            message = "No demo worker is running" + (
                f": {self.last_error}" if self.last_error else "."
            )
            return RunOutcome(status="unavailable", message=message)
        if on_queued is not None:
            on_queued(None)
        outcome = RunOutcome(status="crashed")
        started = time.monotonic()
        try:
            outcome = worker.run(code, devices, on_output)
        finally:
            self._release(worker, outcome, time.monotonic() - started)
        return outcome

    def _notify(self, outcome: RunOutcome | None, started: float) -> None:
        seconds = time.perf_counter() - started
        for observer in self._observers:
            observer(outcome, seconds)

    def _acquire(self, client: str, on_queued: OnQueued | None) -> WorkerProcess | None:
        """Take an idle worker that is still alive; one that died while idle is replaced.

        A worker can die between runs (a raw thread a snippet left calls ``os._exit``) and
        the run it would get must not pay for that.
        """
        dead: list[WorkerProcess] = []
        try:
            return self._take_idle(dead, client, on_queued)
        finally:
            for worker in dead:
                worker.kill()  # reaped off the lock

    def _take_idle(
        self, dead: list[WorkerProcess], client: str, on_queued: OnQueued | None
    ) -> WorkerProcess | None:
        settings = self.settings
        with self._lock:
            queue = self._queue
            if len(queue) >= settings.demo_queue_size and not (self._idle and not queue):
                raise self._busy_error()
            ticket = queue.join(client)
            told: int | None = None
            try:
                deadline = time.monotonic() + settings.demo_queue_wait_s
                while True:
                    while not (self._idle and queue.is_next(ticket)):
                        if self._closed or not (self._busy or self._starting or self._spares):
                            return None
                        if self._spares and not self._busy and not self._starting:
                            self._promote_spare()
                            continue
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise self._busy_error()
                        if on_queued is not None and (ahead := queue.ahead(ticket)) != told:
                            told = ahead
                            on_queued(ahead)
                        self._lock.wait(timeout=min(remaining, 1.0))
                    worker = self._idle.pop()
                    if not worker.alive:
                        dead.append(worker)
                        self.restarts += 1
                        self._promote_spare()
                        continue
                    queue.serve(ticket)
                    self._busy += 1
                    self._lock.notify_all()  # the turns moved: tell the others their place
                    return worker
            finally:
                if not ticket.served:  # it gave up: the runs behind it move up
                    queue.leave(ticket)
                    self._lock.notify_all()

    def _busy_error(self) -> PoolBusy:
        """Refuse a run, saying when the queue should have room (caller holds the lock)."""
        queued = len(self._queue) + self._busy
        estimate = self._queue.drain_estimate(self.settings.demo_workers, queued)
        # Room comes back run by run: half the time to drain everything ahead spreads the
        # retries over the drain rather than sending them all back at its end.
        return PoolBusy(retry_after=max(1, min(round(estimate / 2), 60)))

    def _release(self, worker: WorkerProcess, outcome: RunOutcome, seconds: float) -> None:
        """Return a healthy worker; replace one that failed or has run its quota."""
        worn = worker.runs >= self.settings.demo_recycle_after or worker.dirty
        failed = outcome.status in FAILED or not worker.alive
        with self._lock:
            self._busy -= 1
            self._queue.runs.append(seconds)
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
            self._spawn("spare")
        else:
            self._spawn("worker")

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers = self._idle + self._spares + self._fresh
            self._idle, self._spares, self._fresh = [], [], []
            self._lock.notify_all()
        for worker in workers:
            worker.stop()
        self._spawner.shutdown(wait=False)
