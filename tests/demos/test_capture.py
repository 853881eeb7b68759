"""A run's output on its way out of the worker: held in bursts, capped, noise dropped."""

from __future__ import annotations

import io
import time

import pytest

from app.demos import capture
from app.demos.capture import Channel, OutputBudget, RunOutput
from app.demos.protocol import NOISE, Limit, Output, parse_reply


def sent(stream: io.BytesIO) -> list[Output | Limit]:
    """Read back what a channel wrote."""
    replies = [parse_reply(line) for line in stream.getvalue().splitlines()]
    assert all(isinstance(reply, Output | Limit) for reply in replies)
    return replies  # type: ignore[return-value]


def output(limit: int = 1024) -> tuple[RunOutput, io.BytesIO]:
    """A run's output writing into memory."""
    stream = io.BytesIO()
    return RunOutput("r1", Channel(stream), OutputBudget(limit)), stream


def test_a_burst_of_lines_goes_as_one_message_per_stream_change() -> None:
    run, stream = output()
    for text in ("a\n", "b\n"):
        run.add("stdout", text)
    run.add("stderr", "oops\n")
    run.add("stdout", "c\n")
    assert sent(stream) == []  # held: nothing has waited HOLD_S yet
    run.flush()
    assert [(m.stream, m.text) for m in sent(stream) if isinstance(m, Output)] == [
        ("stdout", "a\nb\n"),
        ("stderr", "oops\n"),
        ("stdout", "c\n"),
    ]


def test_held_output_goes_once_it_has_waited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "HOLD_S", 0.01)
    run, stream = output()
    run.add("stdout", "early\n")
    time.sleep(0.02)
    run.flush_due()
    assert [m.text for m in sent(stream) if isinstance(m, Output)] == ["early\n"]


def test_output_past_the_budget_is_cut_and_reported_once() -> None:
    run, stream = output(limit=10)
    run.add("stdout", "0123456789abcdef\n")
    run.add("stdout", "more\n")
    run.flush()
    run.add("stdout", "and more\n")
    run.flush()
    messages = sent(stream)
    assert messages == [
        Output(run="r1", stream="stdout", text="0123456789"),
        Limit(run="r1", reason="output", limit=10),
    ]


def test_a_cut_never_splits_a_character() -> None:
    run, stream = output(limit=3)
    run.add("stdout", "aé€\n")  # 1 + 2 + 3 bytes
    run.flush()
    assert [m.text for m in sent(stream) if isinstance(m, Output)] == ["aé"]


def test_tensorflow_noise_is_dropped_from_stderr_only() -> None:
    noise = "I0000 00:00:1700000000.000000  123 cuda_executor.cc:1015] successful NUMA node\n"
    assert NOISE.match(noise)
    run, stream = output()
    run.add("stderr", noise + "real warning\n")
    run.add("stdout", noise)
    run.flush()
    assert [(m.stream, m.text) for m in sent(stream) if isinstance(m, Output)] == [
        ("stderr", "real warning\n"),
        ("stdout", noise),
    ]
