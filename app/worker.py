"""A demo worker process: imports TensorFlow once, then runs snippets on request.

This is the only module that imports TensorFlow. The web process spawns it with
``python -m app.worker`` and talks to it over two dedicated pipes (their numbers in
``TFQUIZ_WORKER_FDS``) with one JSON object per line. A snippet's stdout and stderr are
separate pipes, read by threads here and forwarded as ``output`` messages, so nothing a
snippet prints can pass for a protocol message.
"""

from __future__ import annotations

import ast
import contextlib
import json
import linecache
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, BinaryIO

SNIPPET_FILE = "<demo>"
MAX_VALUE_CHARS = 10_000
MAX_TENSORS = 20
# TensorFlow's C++ logging and start-up chatter: not the snippet's output.
NOISE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|.*(?:cuda_dnn|cuda_fft|cuda_blas|cudart_stub|cuda_executor)\.cc"
    r"|.*oneDNN custom operations are on"
    r"|.*This TensorFlow binary is optimized"
    r"|.*To enable the following instructions"
    r"|.*TF-TRT Warning)"
)


class Channel:
    """The pipe back to the web process; one JSON object per line, written atomically."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.owner = os.getpid()

    def send(self, message: dict[str, Any]) -> None:
        """Write one message; a process the snippet forked may never speak for the worker."""
        if os.getpid() != self.owner:
            os._exit(0)
        data = (json.dumps(message, ensure_ascii=True) + "\n").encode()
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


def forward(fd: int, stream: str, run: str, channel: Channel, budget: OutputBudget) -> None:
    """Read one captured stream to its end, forwarding lines and dropping TF noise."""
    pending = b""
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            text = "".join(line.decode("utf-8", "replace") + "\n" for line in lines)
            _send_output(text, stream, run, channel, budget)
            if len(pending) > 65536:  # a long line without newline: send what we have
                _send_output(pending.decode("utf-8", "replace"), stream, run, channel, budget)
                pending = b""
    if pending:
        _send_output(pending.decode("utf-8", "replace"), stream, run, channel, budget)


def _send_output(text: str, stream: str, run: str, channel: Channel, budget: OutputBudget) -> None:
    if stream == "stderr":
        text = "".join(line for line in text.splitlines(True) if not NOISE.match(line))
    if not text or budget.exceeded:
        return
    encoded = text.encode("utf-8")
    allowed = budget.take(len(encoded))
    if allowed:
        piece = encoded[:allowed].decode("utf-8", "ignore")
        channel.send({"type": "output", "run": run, "stream": stream, "text": piece})
    if budget.exceeded:
        channel.send({"type": "limit", "run": run, "reason": "output", "limit": budget.limit})


def compile_snippet(code: str) -> tuple[Any, Any]:
    """Compile a snippet; the last bare expression is compiled apart to show its value."""
    tree = ast.parse(code, SNIPPET_FILE)
    last = None
    if tree.body and isinstance(final := tree.body[-1], ast.Expr):
        tree.body.pop()
        last = ast.Expression(final.value)
    body = compile(tree, SNIPPET_FILE, "exec")
    return body, compile(last, SNIPPET_FILE, "eval") if last is not None else None


def format_error(error: BaseException) -> dict[str, str]:
    """Describe an exception by the snippet's own frames, as a notebook would."""
    summary = traceback.TracebackException.from_exception(error)
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if frame.filename == SNIPPET_FILE]
    )
    text = "".join(summary.format())
    message = str(error).strip().splitlines()
    return {
        "type": type(error).__name__,
        "message": message[0][:2000] if message else "",
        "traceback": text[-20_000:],
    }


class Worker:
    """Holds TensorFlow and the channel; runs one snippet at a time."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tf: Any = None

    def start(self) -> None:
        """Import TensorFlow, let GPUs grow their memory, and say hello."""
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
        self.channel.send(
            {
                "type": "hello",
                "pid": os.getpid(),
                "tf_version": tf.__version__,
                "devices": devices,
                "device_kind": "gpu" if gpus else "cpu",
            }
        )

    def run(self, request: dict[str, Any]) -> None:
        """Run one snippet with its output captured and report the outcome."""
        run_id = str(request["run"])
        budget = OutputBudget(int(request.get("max_output", 1024 * 1024)))
        workdir = tempfile.mkdtemp(prefix="tfquiz-run-")
        started = time.perf_counter()
        threads_before = set(threading.enumerate())
        readers, saved = self._capture(run_id, budget)
        outcome: dict[str, Any] = {"value": None, "error": None, "tensors": []}
        try:
            os.chdir(workdir)
            outcome = self._execute(str(request["code"]), list(request.get("devices") or []))
        finally:
            reap_leftovers()
            self._release(readers, saved)
            os.chdir("/")
            shutil.rmtree(workdir, ignore_errors=True)
            self._reset_globals()
        self.channel.send(
            {
                "type": "done",
                "run": run_id,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "truncated": budget.exceeded,
                # Threads the snippet left running hold resources and may run code later:
                # the web process then replaces this worker.
                "dirty": any(t.is_alive() for t in set(threading.enumerate()) - threads_before),
                **outcome,
            }
        )

    def _reset_globals(self) -> None:
        """Undo the global switch a snippet is likeliest to flip; recycling handles the rest."""
        with contextlib.suppress(Exception):
            self.tf.config.run_functions_eagerly(False)

    def _capture(self, run_id: str, budget: OutputBudget) -> tuple[list[threading.Thread], Any]:
        """Point fds 1 and 2 at fresh pipes read by forwarding threads."""
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
        readers = []
        for fd, stream in ((1, "stdout"), (2, "stderr")):
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            thread = threading.Thread(
                target=forward, args=(read_end, stream, run_id, self.channel, budget), daemon=True
            )
            thread.start()
            readers.append(thread)
        return readers, saved

    def _release(self, readers: list[threading.Thread], saved: tuple[int, int]) -> None:
        """Restore fds 1 and 2, which closes the pipes, and let the readers drain them."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        for fd, original in zip((1, 2), saved, strict=True):
            os.dup2(original, fd)
            os.close(original)
        for thread in readers:
            # A process the snippet left behind may hold a pipe open: do not wait for it.
            thread.join(timeout=2)

    def _execute(self, code: str, devices: list[str]) -> dict[str, Any]:
        """Run the snippet once, or once per requested device, each in a fresh namespace."""
        linecache.cache[SNIPPET_FILE] = (len(code), None, code.splitlines(True), SNIPPET_FILE)
        try:
            body, last = compile_snippet(code)
        except SyntaxError as error:
            return {"value": None, "error": format_error(error), "tensors": []}
        if not devices:
            return self._execute_once(body, last, None)
        available = {d.device_type.lower() for d in self.tf.config.list_logical_devices()}
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
        shown = None if value is None else _safe_repr(value)
        return {"value": shown, "error": None, "tensors": self._tensors(namespace, value)}

    def _tensors(self, namespace: dict[str, Any], value: Any = None) -> list[dict[str, Any]]:
        """Describe the tensors a snippet left behind: dtype, shape and device."""
        tf = self.tf
        items = [(name, obj) for name, obj in namespace.items() if not name.startswith("_")]
        if value is not None:
            items.append(("(value)", value))
        found = []
        for name, obj in items:
            if isinstance(obj, tf.Tensor | tf.Variable) and hasattr(obj, "device"):
                with contextlib.suppress(Exception):
                    found.append(
                        {
                            "name": name,
                            "dtype": obj.dtype.name,
                            "shape": [d if d is not None else -1 for d in obj.shape.as_list()]
                            if obj.shape.rank is not None
                            else None,
                            "device": obj.device,
                        }
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


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as error:  # noqa: BLE001 - a broken __repr__ is the snippet's problem
        text = f"<repr failed: {type(error).__name__}: {error}>"
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def main() -> None:
    """Serve run requests until the web process closes the request pipe."""
    read_fd, write_fd = (int(fd) for fd in os.environ["TFQUIZ_WORKER_FDS"].split(","))
    requests = os.fdopen(read_fd, "rb")
    channel = Channel(os.fdopen(write_fd, "wb"))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    worker = Worker(channel)
    worker.start()
    for line in requests:
        request = json.loads(line)
        if request.get("type") == "run":
            worker.run(request)
        elif request.get("type") == "stop":
            break


if __name__ == "__main__":
    main()
