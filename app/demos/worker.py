"""A demo worker process: imports TensorFlow once, then runs snippets on request.

This is the only module that imports TensorFlow (tests may start it without, with
``TFQUIZ_DEMO_WORKER_TF=0``, to run plain-Python snippets in a blink). The web process
spawns it with ``python -m app.demos.worker`` and talks to it over two dedicated pipes
(their numbers in ``TFQUIZ_WORKER_FDS``) with one JSON object per line. Everything a
snippet prints is forwarded as ``output`` messages, so nothing it prints can pass for a
protocol message (``app.demos.protocol`` builds and reads every message).
Writes to ``sys.stdout``/``sys.stderr`` are taken by the writing thread itself; what reaches
file descriptors 1 and 2 (C++ logs, child processes) goes through a fresh pipe per run,
read by one long-lived thread. Neither costs a thread switch per line, which on a small
snippet used to cost more than the snippet.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import linecache
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from typing import Any, TextIO

from app.demos.capture import HOLD_S, CapturedStream, Channel, OutputBudget, RunOutput, text_stream
from app.demos.protocol import (
    MAX_TENSORS,
    Done,
    Hello,
    Message,
    Ping,
    Pong,
    Run,
    Stop,
    Stream,
    TensorInfo,
    parse_request,
)
from app.demos.snippet import SNIPPET_FILE, compile_snippet, format_error, safe_repr

COMPILED_SNIPPETS = 64
# How long the end of a run waits for a process it left behind to close the output pipes.
PIPE_GRACE_S = 2.0
# What no snippet may call: attach to or read and write the memory of another process.
DENIED_SYSCALLS = ("ptrace", "process_vm_readv", "process_vm_writev")
SCMP_ACT_ALLOW = 0x7FFF0000  # <seccomp.h>
DENY = 0x00050000 | errno.EPERM  # SCMP_ACT_ERRNO(EPERM)
# The sandbox's own tmpfs folders: what a run leaves there could reach the next run.
SCRATCH = ("/tmp", "/dev/shm")
MAX_SCRATCH_ENTRIES = 1_000  # past this many, the folders count as changed unread


class Worker:
    """Holds TensorFlow and the channel; runs one snippet at a time."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tf: Any = None
        self.sandboxed = os.environ.get("TFQUIZ_SANDBOXED") == "1"
        # Guards the streams below and their state; the reader thread shares it.
        self.lock = threading.RLock()
        self.streams: dict[int, CapturedStream] = {}  # by the read end of their pipe
        self.output: RunOutput | None = None  # the running snippet's
        self.epoll = select.epoll()
        self.saved_fds = (os.dup(1), os.dup(2))  # where fds 1 and 2 lead between runs
        self.python_streams: tuple[TextIO, TextIO] = (sys.stdout, sys.stderr)
        self.workdir: str | None = None
        self.scratch: frozenset[tuple[str, int, int, int]] | None = None  # as before run 1
        self.workdir_id: tuple[int, int, int] = (0, 0, 0)
        self.compiled: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self.stderr: CapturedStream | None = None  # the running snippet's

    def start(self) -> None:
        """Import TensorFlow (unless told not to), let GPUs grow their memory, say hello."""
        # One reader for the worker's life: a thread started per run costs more than a run.
        threading.Thread(target=self._pump, daemon=True, name="demo-output").start()
        if os.environ.get("TFQUIZ_DEMO_WORKER_TF") == "0":  # tests of the machinery only
            self.channel.send(Hello(pid=os.getpid(), tf_version=None, devices=[], device_kind=None))
            return
        import tensorflow as tf

        self.tf = tf
        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            with contextlib.suppress(RuntimeError, ValueError):
                tf.config.experimental.set_memory_growth(gpu, True)
        devices = [
            {"name": device.name, "type": device.device_type}
            for device in tf.config.list_physical_devices()
        ]
        kind = "gpu" if gpus else "cpu"
        self.channel.send(
            Hello(pid=os.getpid(), tf_version=tf.__version__, devices=devices, device_kind=kind)
        )

    def run(self, request: Run) -> None:
        """Run one snippet with its output captured and report the outcome."""
        started = time.perf_counter()
        run_id = request.run
        budget = OutputBudget(request.max_output)
        threads_before = set(threading.enumerate())
        if self.sandboxed and self.scratch is None:
            self.scratch = self._scratch()
        streams = self._capture(run_id, budget)
        outcome: dict[str, Any] = {"value": None, "error": None, "tensors": []}
        try:
            os.chdir(self._workdir())
            # Temporary files (TensorFlow's autograph modules among them) go in the run
            # folder, which is tidied, rather than in /tmp, which must stay as it was.
            tempfile.tempdir = self.workdir
            outcome = self._execute(request.code, request.devices)
        finally:
            tempfile.tempdir = None
            reap_leftovers()
            last_output = self._release(streams)
            os.chdir("/")
            self._tidy_workdir()
            self._reset_globals()
        # The output's last messages and the result in one write: all output comes first.
        done = Done(
            run=run_id,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            truncated=budget.exceeded,
            dirty=any(t.is_alive() for t in set(threading.enumerate()) - threads_before)
            or (self.scratch is not None and self._scratch() != self.scratch),
            **outcome,
        )
        self.channel.send(*last_output, done)

    def _workdir(self) -> str:
        """Return the folder runs start in, creating it when there is none."""
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="tfquiz-run-")
            info = os.lstat(self.workdir)
            self.workdir_id = (info.st_dev, info.st_ino, info.st_mode)
        return self.workdir

    def _tidy_workdir(self) -> None:
        """Keep the run folder only if the run left it as it was, else replace it.

        Only in the sandbox, where no process of the run outlives it: elsewhere one could
        write into a kept folder during the next run, so each run gets a new one.
        """
        if self.workdir is None or (self.sandboxed and self._workdir_untouched(self.workdir)):
            return
        shutil.rmtree(self.workdir, ignore_errors=True)  # never follows a planted symlink
        self.workdir = None

    def _workdir_untouched(self, path: str) -> bool:
        """Tell whether the folder is still ours, with its mode, and empty."""
        try:
            info = os.lstat(path)
            if (info.st_dev, info.st_ino, info.st_mode) != self.workdir_id:
                return False
            with os.scandir(path) as entries:
                return next(entries, None) is None
        except OSError:
            return False

    def _scratch(self) -> frozenset[tuple[str, int, int, int]]:
        """Describe every entry of /tmp and /dev/shm but the run folder, to tell a change.

        Keras keeps its settings in /tmp/.keras, and a snippet may plant or fill files
        anywhere there: a worker whose folders differ from before its first run is replaced.
        Only the tmpfs itself counts: a project kept under /tmp has its Python and the
        worker's code bound there read-only, on another device. Past the limit the answer
        never equals another, so a flood of files always retires the worker.
        """
        found: set[tuple[str, int, int, int]] = set()
        for top in SCRATCH:
            try:
                device = os.lstat(top).st_dev
            except OSError:
                continue
            for folder, folders, files in os.walk(top):
                entries: set[str] = set()
                for name in folders + files:
                    path = os.path.join(folder, name)
                    with contextlib.suppress(OSError):
                        info = os.lstat(path)
                        if info.st_dev == device and path != self.workdir:
                            entries.add(name)
                            found.add((path, info.st_mode, info.st_size, info.st_mtime_ns))
                folders[:] = [f for f in folders if f in entries]
                if len(found) > MAX_SCRATCH_ENTRIES:
                    return frozenset({("(too many)", 0, 0, time.monotonic_ns())})
        return frozenset(found)

    def _reset_globals(self) -> None:
        """Undo the global switch a snippet is likeliest to flip; recycling handles the rest."""
        with contextlib.suppress(Exception):
            self.tf.config.run_functions_eagerly(False)

    def _capture(self, run_id: str, budget: OutputBudget) -> list[CapturedStream]:
        """Point fds 1 and 2 at fresh pipes and ``sys.stdout``/``sys.stderr`` at the run."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        output = RunOutput(run_id, self.channel, budget)
        streams = []
        names: tuple[tuple[int, Stream], ...] = ((1, "stdout"), (2, "stderr"))
        for fd, name in names:
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)  # drained by whoever holds the lock, never waited on
            os.dup2(write_fd, fd)
            os.close(write_fd)
            stream = CapturedStream(name, fd, read_fd, output, self.lock)
            with self.lock:
                self.streams[read_fd] = stream
            self.epoll.register(read_fd, select.EPOLLIN)
            streams.append(stream)
        with self.lock:
            self.output = output
        self.stderr = streams[1]
        # Fresh text streams each run: one the snippet closed or replaced does not carry on.
        sys.stdout = text_stream(streams[0], self.python_streams[0])
        sys.stderr = text_stream(streams[1], self.python_streams[1])
        return streams

    def _release(self, streams: list[CapturedStream]) -> list[Message]:
        """Restore fds 1 and 2, take all the run's output; return the messages still to send."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = self.python_streams
        for original in self.python_streams:
            with contextlib.suppress(Exception):
                original.flush()  # what the snippet wrote through sys.__stdout__
        for stream in streams:
            with contextlib.suppress(OSError, ValueError):
                self.epoll.unregister(stream.read_fd)  # this thread reads them to the end now
        for stream, saved in zip(streams, self.saved_fds, strict=True):
            os.dup2(saved, stream.fd)  # closes this process's write end of the pipe
        with self.lock:
            for stream in streams:
                stream.drain()
        # A process the snippet left behind may hold a pipe open: wait a little, not forever.
        self._wait_for_eof([stream for stream in streams if not stream.eof])
        with self.lock:
            for stream in streams:
                stream.finish()
                if stream.eof:
                    del self.streams[stream.read_fd]
                    os.close(stream.read_fd)
                else:  # the reader thread discards what still comes, until the pipe closes
                    self.epoll.register(stream.read_fd, select.EPOLLIN)
            last_output: list[Message] = [*self.output.take()] if self.output is not None else []
            self.output = None
        return last_output

    def _wait_for_eof(self, streams: list[CapturedStream]) -> None:
        """Forward the output of pipes still open until they close or the grace time ends."""
        if not streams:
            return
        poller = select.poll()
        for stream in streams:
            poller.register(stream.read_fd, select.POLLIN)
        deadline = time.monotonic() + PIPE_GRACE_S
        while streams and (left := deadline - time.monotonic()) > 0:
            poller.poll(left * 1000)
            with self.lock:
                for stream in list(streams):
                    stream.drain()
                    if stream.eof:
                        poller.unregister(stream.read_fd)
                        streams.remove(stream)

    def _pump(self) -> None:
        """Take what reaches fds 1 and 2 as it comes, so no pipe fills up; forward held output.

        It wakes at least every ``HOLD_S`` to forward output a run printed before going
        quiet for a while (a training step, say).
        """
        while True:
            ready = self.epoll.poll(HOLD_S)
            with self.lock:
                if self.output is not None:
                    self.output.flush_due()
                for read_fd, _ in ready:
                    stream = self.streams.get(read_fd)
                    if stream is None:  # released meanwhile
                        continue
                    stream.drain()
                    if not stream.eof:
                        continue
                    with contextlib.suppress(OSError, ValueError):
                        self.epoll.unregister(read_fd)  # a closed pipe would wake us forever
                    if stream.finished:  # left over from an earlier run: no one else owns it
                        del self.streams[read_fd]
                        os.close(read_fd)

    def _execute(self, code: str, devices: list[str]) -> dict[str, Any]:
        """Run the snippet once, or once per requested device, each in a fresh namespace."""
        linecache.cache[SNIPPET_FILE] = (len(code), None, code.splitlines(True), SNIPPET_FILE)
        try:
            body, last = self._compile(code)
        except SyntaxError as error:
            return {"value": None, "error": format_error(error), "tensors": []}
        if not devices:
            return self._execute_once(body, last, None)
        tf = self._tensorflow()
        available = {d.device_type.lower() for d in tf.config.list_logical_devices()}
        outcome: dict[str, Any] = {"value": None, "error": None, "tensors": []}
        for kind in devices:
            print(f"── on {kind.upper()} ──", flush=True)  # noqa: T201 - into the output
            if kind not in available:
                print(f"(no {kind.upper()} on this server: skipped)", flush=True)  # noqa: T201
                continue
            outcome = self._execute_once(body, last, f"/{kind.upper()}:0")
            if outcome["error"]:
                break
        return outcome

    def _compile(self, code: str) -> tuple[Any, Any]:
        """Compile a snippet, reusing the code of one compiled before: a demo runs many times.

        Not one whose compiling showed a warning (a SyntaxWarning): every run must show it.
        """
        if (known := self.compiled.get(code)) is not None:
            self.compiled.move_to_end(code)
            return known
        stderr = self.stderr
        before = stderr.written if stderr is not None else 0
        compiled = compile_snippet(code)
        if stderr is not None and stderr.written == before:
            self.compiled[code] = compiled
            if len(self.compiled) > COMPILED_SNIPPETS:
                self.compiled.popitem(last=False)
        return compiled

    def _execute_once(self, body: Any, last: Any, device: str | None) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        value = None
        worker_pid = os.getpid()
        try:
            with self.tf.device(device) if device else contextlib.nullcontext():
                exec(body, namespace)
                if last is not None:
                    value = eval(last, namespace)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - the snippet's failure, SystemExit too
            _leave_if_forked(worker_pid)
            return {
                "value": None,
                "error": format_error(error),
                "tensors": self._tensors(namespace),
            }
        _leave_if_forked(worker_pid)
        shown = None if value is None else safe_repr(value)
        return {"value": shown, "error": None, "tensors": self._tensors(namespace, value)}

    def _tensorflow(self) -> Any:
        """Return TensorFlow, importing it now in a worker started without it."""
        if self.tf is None:
            import tensorflow as tf

            self.tf = tf
        return self.tf

    def _tensors(self, namespace: dict[str, Any], value: Any = None) -> list[TensorInfo]:
        """Describe the tensors a snippet left behind: dtype, shape and device."""
        tf = self.tf or sys.modules.get("tensorflow")  # a snippet may import it itself
        if tf is None or not hasattr(tf, "Tensor"):
            return []
        items = [(name, obj) for name, obj in namespace.items() if not name.startswith("_")]
        if value is not None:
            items.append(("(value)", value))
        found = []
        for name, obj in items:
            if isinstance(obj, tf.Tensor | tf.Variable) and hasattr(obj, "device"):
                # One the report cannot describe (a name past its bound) is left out.
                with contextlib.suppress(Exception):
                    found.append(
                        TensorInfo(
                            name=name,
                            dtype=obj.dtype.name,
                            shape=[d if d is not None else -1 for d in obj.shape.as_list()]
                            if obj.shape.rank is not None
                            else None,
                            device=obj.device,
                        )
                    )
            if len(found) >= MAX_TENSORS:
                break
        return found


def _leave_if_forked(worker_pid: int) -> None:
    """End a process the snippet forked once the snippet's code returns in it.

    Such a child is a copy of this worker: left to run on, it would report results and
    clean up as if it were the worker, killing the real one.
    """
    if os.getpid() != worker_pid:
        os._exit(0)


def reap_leftovers() -> None:
    """Kill every process a run left behind, setsid() or not, when in our own PID namespace.

    In the sandbox, bwrap's init is PID 1 and this worker the only other legitimate process,
    so anything else was started by a snippet. Outside a sandbox this does nothing: there,
    other processes are not ours to kill.
    """
    if os.environ.get("TFQUIZ_SANDBOXED") != "1":
        return
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry), signal.SIGKILL)
    deadline = time.monotonic() + 1.0
    with contextlib.suppress(ChildProcessError):  # raised once no child is left
        while time.monotonic() < deadline:
            if not os.waitpid(-1, os.WNOHANG)[0]:
                time.sleep(0.005)


def deny_tracing() -> None:
    """Make ptrace and reading or writing other processes' memory fail with EPERM, for good.

    A snippet that attached ptrace to the sandbox's init left the worker waiting on a child
    it could never reap, a second more for every later run; with other processes' memory
    it could read or patch them. The filter is built by libseccomp (Debian's libseccomp2),
    called directly: pyseccomp's import finds the library by running ldconfig, 12 ms of a
    plain worker's start (bench/worker_start.py). It is set before any snippet runs and
    holds for every process and thread the worker starts.
    """
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_init.argtypes = (ctypes.c_uint32,)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
    lib.seccomp_rule_add_array.argtypes = (
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_void_p,
    )
    lib.seccomp_load.argtypes = (ctypes.c_void_p,)
    lib.seccomp_release.argtypes = (ctypes.c_void_p,)
    context = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not context:
        raise OSError("libseccomp could not start a filter")
    try:
        for name in DENIED_SYSCALLS:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            failed = number < 0 or lib.seccomp_rule_add_array(context, DENY, number, 0, None)
            if failed:
                raise OSError(f"libseccomp could not deny {name}")
        if (code := lib.seccomp_load(context)) < 0:
            raise OSError(-code, f"the seccomp filter did not load: {os.strerror(-code)}")
    finally:
        lib.seccomp_release(context)


def main() -> None:
    """Serve run requests until the web process closes the request pipe."""
    # Out of the environment and closed on exec: no process a snippet starts inherits them.
    read_fd, write_fd = (int(fd) for fd in os.environ.pop("TFQUIZ_WORKER_FDS").split(","))
    for fd in (read_fd, write_fd):
        os.set_inheritable(fd, False)
    requests = os.fdopen(read_fd, "rb")
    channel = Channel(os.fdopen(write_fd, "wb"))
    deny_tracing()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    worker = Worker(channel)
    worker.start()
    for line in requests:
        request = parse_request(line)  # only the web process writes here: a bad line is a bug
        if isinstance(request, Stop):
            break
        if isinstance(request, Ping):  # the run is over and this loop is reading again
            channel.send(Pong(ping=request.ping))
            continue
        worker.run(request)


if __name__ == "__main__":
    main()
