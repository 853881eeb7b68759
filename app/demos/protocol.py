"""What crosses the pipe between the web process and a demo worker, and what a run returns.

One JSON object per line, ASCII only. The web process sends ``run``, ``ping`` and
``stop``; the worker answers ``hello`` once, then ``output`` and ``limit`` messages and one
``done`` per run, and a ``pong`` to the ``ping`` that follows each ``done``. Both ends build
and read messages only here. Nothing a snippet prints can pass for a message: the worker
writes its output into ``output`` messages, on a pipe of its own.

The worker imports this module, so it imports nothing heavy (no TensorFlow, no app code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

if TYPE_CHECKING:  # the worker never loads the settings
    from app.config import Settings

Status = Literal["ok", "error", "timeout", "crashed", "output_limit", "unavailable"]
# A snippet ran to its end, raising or not: the same code gives the same outcome again.
FINISHED: frozenset[Status] = frozenset({"ok", "error"})
# The worker was killed or lost: it is replaced, and the run is worth retrying.
FAILED: frozenset[Status] = frozenset({"timeout", "crashed", "output_limit"})
Stream = Literal["stdout", "stderr"]
OnOutput = Callable[[str, str], None]
# Told a waiting run's place (runs ahead of it) as it changes, then None when it starts.
OnQueued = Callable[[int | None], None]
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


class ProtocolError(ValueError):
    """Raised for a line that is not a message this end accepts, saying what is wrong."""


# Bounds on what a worker reports. A worker runs untrusted code that may patch it, so its
# replies and the cache rows built from them are checked against these before they are
# stored or rendered: a result that breaks them is refused, never shown.
MAX_TENSORS = 20
MAX_NAME_CHARS = 200  # a tensor's variable name, a device's name
MAX_DEVICES = 64
MAX_ERROR_TYPE_CHARS = 200
MAX_ERROR_MESSAGE_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
MAX_VALUE_CHARS = 10_000
_DIM = Annotated[int, Field(strict=True, ge=-1, lt=2**63)]  # -1: an unknown dimension
_NAME = Annotated[str, Field(max_length=MAX_NAME_CHARS)]


class Checked(BaseModel):
    """A piece of a worker's report: exactly these keys, each within its bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SnippetError(Checked):
    """An exception the snippet raised, with its own frames only."""

    type: Annotated[str, Field(max_length=MAX_ERROR_TYPE_CHARS)]
    message: Annotated[str, Field(max_length=MAX_ERROR_MESSAGE_CHARS)]
    traceback: Annotated[str, Field(max_length=MAX_TRACEBACK_CHARS)]


class TensorInfo(Checked):
    """A tensor a snippet left behind, as the results table shows it."""

    name: _NAME
    dtype: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]  # shown in a CSS class too
    shape: Annotated[list[_DIM], Field(max_length=32)] | None  # None: unknown rank
    device: _NAME


class DeviceInfo(Checked):
    """A device the worker's TensorFlow sees."""

    name: _NAME
    type: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,32}$")]


Tensors = Annotated[list[TensorInfo], Field(max_length=MAX_TENSORS)]
Devices = Annotated[list[DeviceInfo], Field(max_length=MAX_DEVICES)]
# The cache is keyed by these (demo_run.tf_version is 40 characters).
TFVersion = Annotated[str, Field(pattern=r"^[0-9A-Za-z.+_-]{1,40}$")]
DeviceKind = Literal["cpu", "gpu"]
Value = Annotated[str, Field(max_length=MAX_VALUE_CHARS + 1)]  # safe_repr adds an ellipsis
Milliseconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Message(BaseModel):
    """A message on the pipe; subclasses name their ``type``."""

    # Extra keys are refused: a message is exactly what this module says it is.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Run(Message):
    """Web to worker: run this snippet, on these devices, within this output budget."""

    type: Literal["run"] = "run"
    run: str
    code: str
    devices: list[str] = []
    max_output: int = 1024 * 1024


class Stop(Message):
    """Web to worker: finish and exit."""

    type: Literal["stop"] = "stop"


class Ping(Message):
    """Web to worker, after each run's ``done``: answer once you are back to reading requests."""

    type: Literal["ping"] = "ping"
    ping: str


class Hello(Message):
    """Worker to web, once: ready, with the TensorFlow and devices it holds."""

    type: Literal["hello"] = "hello"
    pid: int
    tf_version: TFVersion | None
    devices: Devices
    device_kind: DeviceKind | None


class Output(Message):
    """Worker to web: a piece of a run's stdout or stderr, in the order written."""

    type: Literal["output"] = "output"
    run: str
    stream: Stream
    text: str


class Limit(Message):
    """Worker to web: the run passed a limit; the web process kills the worker."""

    type: Literal["limit"] = "limit"
    run: str
    reason: Literal["output"]
    limit: int


class Done(Message):
    """Worker to web, last for a run: its value or error, after all its output."""

    type: Literal["done"] = "done"
    run: str
    duration_ms: Milliseconds
    truncated: bool
    # Threads the snippet left running hold resources and may run code later: the web
    # process then replaces this worker.
    dirty: bool
    value: Value | None
    error: SnippetError | None
    tensors: Tensors


class Pong(Message):
    """Worker to web: the answer to a ``ping``; only the worker's own loop sends it."""

    type: Literal["pong"] = "pong"
    ping: str


T = TypeVar("T")
Request = Run | Stop | Ping
Reply = Hello | Output | Limit | Done | Pong
# Read by their "type" first: a line names the one model it must match.
_REQUEST: TypeAdapter[Request] = TypeAdapter(Annotated[Request, Field(discriminator="type")])
_REPLY: TypeAdapter[Reply] = TypeAdapter(Annotated[Reply, Field(discriminator="type")])


def dump(*messages: Message) -> bytes:
    """Encode messages as JSON lines, one write's worth."""
    # json.dumps rather than pydantic's encoder: the same bytes as the dicts sent before.
    return "".join(json.dumps(m.model_dump(), ensure_ascii=True) + "\n" for m in messages).encode()


def parse_request(line: bytes | str) -> Request:
    """Read one line the web process sent; raise ProtocolError when it is not a request."""
    return _parse(_REQUEST, line)


def parse_reply(line: bytes | str) -> Reply:
    """Read one line a worker sent; raise ProtocolError when it is not a reply."""
    return _parse(_REPLY, line)


def _parse(adapter: TypeAdapter[T], line: bytes | str) -> T:
    """Validate a line as one of the adapter's models, or say what is wrong and show it."""
    try:
        return adapter.validate_json(line)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'line'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        raise ProtocolError(f"malformed demo message ({problems}): {line[:200]!r}") from None


class RunOutcome(BaseModel):
    """What happened when a snippet ran, and where; a cached one is read back through it."""

    status: Status
    message: str | None = None
    stdout: str = ""
    stderr: str = ""
    value: Value | None = None
    error: SnippetError | None = None
    tensors: Tensors = []
    truncated: bool = False
    duration_ms: Milliseconds = 0
    tf_version: TFVersion | None = None
    device_kind: DeviceKind | None = None
    devices: Devices = []


def checked(outcome: object) -> RunOutcome | None:
    """Return the outcome validated afresh, or None when any field breaks its bounds.

    ``model_copy(update=...)`` and a JSON column both skip validation, so what is stored
    and what is read back from the cache pass through here.
    """
    data = outcome.model_dump() if isinstance(outcome, BaseModel) else outcome
    try:
        return RunOutcome.model_validate(data)
    except ValidationError:
        return None


class PoolBusy(Exception):
    """Raised when the run queue is full; the caller should retry later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"all demo workers are busy; retry in {retry_after} s")
        self.retry_after = retry_after


# Called after every run request with its outcome (None: refused as busy) and its seconds.
Observer = Callable[[RunOutcome | None, float], None]


@runtime_checkable
class DemoRunner(Protocol):
    """Runs snippets: the pool of workers, or a test's stand-in for it."""

    settings: Settings

    @property
    def state(self) -> dict[str, Any]:
        """Describe the runner for health checks and pages."""
        ...

    def run(
        self,
        code: str,
        devices: list[str] | None = None,
        on_output: OnOutput | None = None,
        client: str = "",
        on_queued: OnQueued | None = None,
    ) -> RunOutcome:
        """Run a snippet in its client's turn; raise PoolBusy when no worker frees up in time."""
        ...

    def run_isolated(
        self, code: str, devices: list[str] | None = None, on_output: OnOutput | None = None
    ) -> RunOutcome:
        """Run untrusted code on a worker no later run shares; raise PoolBusy when full."""
        ...
