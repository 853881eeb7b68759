"""A demo run's output on its way from the snippet to the web process.

Writes to ``sys.stdout``/``sys.stderr`` are taken by the writing thread itself and what
reaches file descriptors 1 and 2 (C++ logs, child processes) by the worker's one reader
thread; both pass complete lines, in the order written, to the run's ``RunOutput``, which
holds a burst briefly and forwards it as one ``output`` message within the run's budget.
Nothing a snippet prints can pass for a protocol message: only ``Channel`` writes those,
built by ``app.demos.protocol``.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from typing import Any, BinaryIO, TextIO

from app.demos.protocol import NOISE, Limit, Message, Output, Stream, dump

MAX_PENDING = 65536  # a longer line without a newline is forwarded in pieces
# Output is held this long, or up to this many characters, before it is forwarded: one
# message for a burst of lines instead of one each, and a human watching sees no delay.
HOLD_S = 0.05
HOLD_CHARS = 16384


class Channel:
    """The pipe back to the web process; one JSON object per line, written atomically."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        # Reentrant: a signal handler that prints may interrupt a send in the same thread.
        self.lock = threading.RLock()
        self.owner = os.getpid()

    def send(self, *messages: Message) -> None:
        """Write messages in one go; a process the snippet forked may never speak for the worker."""
        if os.getpid() != self.owner:
            os._exit(0)
        data = dump(*messages)
        with self.lock:
            self.stream.write(data)
            self.stream.flush()


class OutputBudget:
    """Counts the bytes a run has printed and says when the cap is passed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.exceeded = False
        self.lock = threading.Lock()

    def take(self, size: int) -> int:
        """Reserve up to ``size`` bytes; return how many may still be forwarded."""
        with self.lock:
            allowed = max(0, min(size, self.limit - self.used))
            self.used += size
            if self.used > self.limit:
                self.exceeded = True
            return allowed


class RunOutput:
    """A run's output on its way out, held up to ``HOLD_S`` so that a burst goes as one message.

    A short run's output thus reaches the web process in one piece just before the result,
    and a long run's still streams: each write, and the worker's reader thread at least
    every ``HOLD_S``, forwards what has been held that long. Callers hold the worker's
    output lock.
    """

    def __init__(self, run: str, channel: Channel, budget: OutputBudget) -> None:
        self.run = run
        self.channel = channel
        self.budget = budget
        self.held: list[tuple[Stream, str]] = []  # (stream, text), in the order written
        self.held_chars = 0
        self.held_since = 0.0

    def add(self, stream: Stream, text: str) -> None:
        """Hold complete lines of one stream; forward them when enough is held."""
        if stream == "stderr":
            text = "".join(line for line in text.splitlines(True) if not NOISE.match(line))
        if not text or self.budget.exceeded:
            return
        if not self.held:
            self.held_since = time.monotonic()
        if self.held and self.held[-1][0] == stream:
            self.held[-1] = (stream, self.held[-1][1] + text)
        else:
            self.held.append((stream, text))
        self.held_chars += len(text)
        if self.held_chars >= HOLD_CHARS:
            self.flush()
        else:
            self.flush_due()

    def flush_due(self) -> None:
        """Forward what is held if it has waited ``HOLD_S``."""
        if self.held and time.monotonic() - self.held_since >= HOLD_S:
            self.flush()

    def flush(self) -> None:
        """Forward everything held, within the run's output budget."""
        if messages := self.take():
            self.channel.send(*messages)

    def take(self) -> list[Output | Limit]:
        """Return the messages that forward everything held, within the run's output budget."""
        held, self.held, self.held_chars = self.held, [], 0
        budget = self.budget
        messages: list[Output | Limit] = []
        for stream, text in held:
            if budget.exceeded:
                break
            encoded = text.encode("utf-8")
            allowed = budget.take(len(encoded))
            if allowed:
                piece = encoded[:allowed].decode("utf-8", "ignore")
                messages.append(Output(run=self.run, stream=stream, text=piece))
            if budget.exceeded:
                messages.append(Limit(run=self.run, reason="output", limit=budget.limit))
        return messages


class CapturedStream:
    """One run's stdout or stderr: bytes from its pipe and ``sys`` writes, kept in order.

    Every method but ``write`` expects the caller to hold ``lock``, which the reader thread
    shares, so that two pieces of output never pass each other.
    """

    def __init__(
        self, name: Stream, fd: int, read_fd: int, output: RunOutput, lock: threading.RLock
    ) -> None:
        self.name = name
        self.fd = fd  # 1 or 2: where writes go that cannot be forwarded directly
        self.read_fd = read_fd
        self.output = output
        self.lock = lock
        self.pending = b""
        self.eof = False
        self.finished = False  # the run is over: later output is not the run's
        self.written = 0  # bytes of sys writes: tells whether compiling showed a warning

    def write(self, data: bytes) -> None:
        """Take a ``sys.stdout``/``sys.stderr`` write, after what the pipe already holds."""
        if os.getpid() != self.output.channel.owner or self.finished:
            # A forked child or a thread outliving its run: write where fd 1 or 2 now leads.
            _write_all(self.fd, data)
            return
        with self.lock:
            self.written += len(data)
            self.drain()
            self.feed(data)

    def drain(self) -> None:
        """Take what the pipe holds now, without waiting for more."""
        while not self.eof:
            try:
                chunk = os.read(self.read_fd, 65536)
            except BlockingIOError:
                return
            except OSError:  # the snippet closed our end: nothing more will come
                chunk = b""
            if not chunk:
                self.eof = True
                return
            if not self.finished:
                self.feed(chunk)

    def feed(self, data: bytes) -> None:
        """Pass on the complete lines of ``data``; keep a partial last line for later."""
        self.pending += data
        head, newline, self.pending = self.pending.rpartition(b"\n")
        if newline:
            self.output.add(self.name, head.decode("utf-8", "replace") + "\n")
        if len(self.pending) > MAX_PENDING:
            self.output.add(self.name, self.pending.decode("utf-8", "replace"))
            self.pending = b""

    def finish(self) -> None:
        """Pass on a last line without newline; from now on output is no longer the run's."""
        if self.pending and not self.finished:
            self.output.add(self.name, self.pending.decode("utf-8", "replace"))
        self.pending = b""
        self.finished = True


class StreamWriter(io.RawIOBase):
    """The byte layer under a run's ``sys.stdout`` or ``sys.stderr``."""

    def __init__(self, stream: CapturedStream) -> None:
        super().__init__()
        self.stream = stream

    def writable(self) -> bool:
        """Say that this layer takes writes."""
        return True

    def write(self, data: Any) -> int:
        """Take the bytes; they are never refused, so report all as written."""
        chunk = bytes(data)
        self.stream.write(chunk)
        return len(chunk)

    def fileno(self) -> int:
        """Name fd 1 or 2, so a child process given ``sys.stdout`` writes into the capture."""
        return self.stream.fd


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


def text_stream(stream: CapturedStream, like: TextIO) -> io.TextIOWrapper:
    """Return a ``sys.stdout``-like text stream over ``stream``, encoding as ``like`` does."""
    return io.TextIOWrapper(
        StreamWriter(stream),  # type: ignore[arg-type]
        encoding=like.encoding,
        errors=like.errors,
        line_buffering=True,
        write_through=True,
    )
