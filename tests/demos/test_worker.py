"""One worker, without TensorFlow: values, tracebacks and output as a notebook shows them."""

from __future__ import annotations

import time

from app.demos.pool import DemoPool
from app.demos.protocol import RunOutcome

SNIPPETS = {
    "Raise": "def inner():\n    raise ValueError('bad value')\n\ninner()",
    "Mixed output": (
        "import os, subprocess, sys\nprint('a', end='')\nos.write(1, b'b\\n')\n"
        "subprocess.run(['echo', 'c'])\nsys.stdout.write('d')"
    ),
    "Slow print": "import time\nprint('first')\ntime.sleep(0.5)\nprint('second')",
    "Echo": "print('alive')\n6 * 7",
}


def run(pool: DemoPool, title: str) -> RunOutcome:
    """Run one of the snippets."""
    return pool.run(SNIPPETS[title])


def test_a_plain_worker_says_it_has_no_tensorflow(pool: DemoPool) -> None:
    outcome = run(pool, "Echo")
    assert outcome.status == "ok" and outcome.duration_ms > 0
    assert (outcome.tf_version, outcome.device_kind, outcome.tensors) == (None, None, [])


def test_a_snippet_exception_is_a_readable_traceback(pool: DemoPool) -> None:
    outcome = run(pool, "Raise")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error.type == "ValueError" and outcome.error.message == "bad value"
    traceback = outcome.error.traceback
    assert 'File "<demo>", line 2, in inner' in traceback and "raise ValueError" in traceback
    assert "app/demos/worker.py" not in traceback


def test_output_from_python_fds_and_children_keeps_its_order(pool: DemoPool) -> None:
    outcome = run(pool, "Mixed output")
    assert outcome.status == "ok" and outcome.stdout == "ab\nc\nd"


def test_output_streams_before_the_result(pool: DemoPool) -> None:
    heard: list[tuple[float, str, str]] = []
    outcome = pool.run(
        SNIPPETS["Slow print"],
        on_output=lambda stream, text: heard.append((time.monotonic(), stream, text)),
    )
    finished = time.monotonic()
    assert outcome.status == "ok" and outcome.stdout == "first\nsecond\n"
    assert [(stream, text) for _, stream, text in heard] == [
        ("stdout", "first\n"),
        ("stdout", "second\n"),
    ]
    assert finished - heard[0][0] > 0.3, "the first line waited for the end of the run"
