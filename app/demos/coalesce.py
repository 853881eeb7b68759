"""Share one execution between identical live runs asked for at the same time.

When a class presses Run on the same demo at once, the snippet is the same and so is its
output: one run on a worker answers everyone. The first request (the leader) is admitted
(its own slot) and runs; every request for the same key while that run is queued or
running joins it, is sent every event produced so far and then the rest as they come, and
gets the same result or the same error. A joiner that goes away cancels nothing: the
leader's thread runs on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
# An event as the stream endpoint sends it: its name and its JSON payload.
OnEvent = Callable[[str, dict[str, Any]], None]
Release = Callable[[], None]


class _Job(Generic[T]):
    """One execution and everyone waiting on it."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.events: list[tuple[str, dict[str, Any]]] = []  # what a late joiner is sent first
        self.listeners: list[OnEvent] = []
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Keep an event for late joiners and pass it to everyone listening now."""
        with self.lock:
            if name == "queued" or name == "running":  # only the newest position matters
                self.events = [e for e in self.events if e[0] not in ("queued", "running")]
            self.events.append((name, data))
            for listener in self.listeners:
                listener(name, data)

    def listen(self, listener: OnEvent) -> None:
        """Replay what happened so far to ``listener``, then keep it posted (atomically)."""
        with self.lock:
            for name, data in self.events:
                listener(name, data)
            self.listeners.append(listener)

    def finish(self, result: T | None, error: BaseException | None) -> None:
        with self.lock:
            self.result, self.error = result, error
            self.done = True
            self.listeners.clear()
            self.lock.notify_all()

    def wait(self) -> None:
        with self.lock:
            while not self.done:
                self.lock.wait()


class Coalescer(Generic[T]):
    """Hands out places in keyed jobs, so that concurrent requests for one key share one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Hashable, _Job[T]] = {}
        self.executions = 0  # how many jobs actually ran: for tests, benches and /readyz

    def active(self) -> int:
        """Count the jobs queued or running now."""
        with self._lock:
            return len(self._jobs)

    def enter(self, key: Hashable, admit: Callable[[], Release]) -> Place[T]:
        """Join the job running for ``key``, or lead a new one if ``admit`` lets this caller.

        ``admit`` is the leader's own admission (e.g. its client's in-flight slot), taken
        under this lock so that it must be quick; it raises to refuse, and then no job
        exists for anyone to join. It returns what gives the admission back at the end.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                return Place(self, key, job, None)
            release = admit()
            job = self._jobs[key] = _Job()
            self.executions += 1
        return Place(self, key, job, release)

    def _end(
        self, key: Hashable, job: _Job[T], result: T | None, error: BaseException | None
    ) -> None:
        with self._lock:  # out of the map first: a request from now on starts a new run
            if self._jobs.get(key) is job:
                del self._jobs[key]
        job.finish(result, error)


class Place(Generic[T]):
    """A request's place in a job: the leader runs it, a joiner waits for its outcome."""

    def __init__(
        self, owner: Coalescer[T], key: Hashable, job: _Job[T], release: Release | None
    ) -> None:
        self._owner, self._key, self._job, self._release = owner, key, job, release

    @property
    def leading(self) -> bool:
        """Whether this request runs the job (else it joined one already queued or running)."""
        return self._release is not None

    def run(self, work: Callable[[OnEvent], T], on_event: OnEvent | None = None) -> T:
        """Run ``work`` (leader) or wait for it (joiner); both get the same result or error.

        ``on_event`` gets every event the work emits; a joiner first gets those emitted
        before it came. Call it once, and always: a leader that never runs leaves its
        joiners waiting.
        """
        job = self._job
        if on_event is not None:
            job.listen(on_event)
        if self._release is None:
            job.wait()
            if job.error is not None:
                raise job.error
            return job.result  # type: ignore[return-value]  # set when done without error
        try:
            result = work(job.emit)
        except BaseException as error:
            self._owner._end(self._key, job, None, error)
            raise
        finally:
            self._release()
        self._owner._end(self._key, job, result, None)
        return result

    def fail(self, error: BaseException) -> None:
        """End a leader's job with ``error`` without running it (its thread did not start)."""
        if self._release is not None:
            self._owner._end(self._key, self._job, None, error)
            self._release()
