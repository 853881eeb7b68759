"""The messages between the web process and a worker: exact bytes, round trips, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from app.demos.pool import DemoPool
from app.demos.protocol import (
    DemoRunner,
    Done,
    Hello,
    Limit,
    Output,
    ProtocolError,
    Run,
    SnippetError,
    Stop,
    dump,
    parse_reply,
    parse_request,
)

REPLIES = [
    Hello(
        pid=7, tf_version="2.17.0", devices=[{"name": "CPU:0", "type": "CPU"}], device_kind="cpu"
    ),
    Hello(pid=8, tf_version=None, devices=[], device_kind=None),
    Output(run="r1", stream="stderr", text="héllo\n"),
    Limit(run="r1", reason="output", limit=1024),
    Done(
        run="r1",
        duration_ms=1.25,
        truncated=False,
        dirty=True,
        value="42",
        error=SnippetError(type="ValueError", message="bad", traceback="Traceback…"),
        tensors=[{"name": "a", "dtype": "int32", "shape": [2], "device": "CPU:0"}],
    ),
]


@pytest.mark.parametrize("message", REPLIES, ids=lambda m: m.type)
def test_every_reply_survives_the_round_trip(message: Hello | Output | Limit | Done) -> None:
    line = dump(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and line.isascii()
    assert parse_reply(line) == message


@pytest.mark.parametrize("message", [Run(run="r1", code="print(1)", devices=["cpu"]), Stop()])
def test_every_request_survives_the_round_trip(message: Run | Stop) -> None:
    assert parse_request(dump(message)) == message


def test_the_wire_format_is_the_one_workers_have_always_spoken() -> None:
    assert dump(Stop()) == b'{"type": "stop"}\n'
    assert dump(Output(run="r", stream="stdout", text="é\n")) == (
        b'{"type": "output", "run": "r", "stream": "stdout", "text": "\\u00e9\\n"}\n'
    )
    done = Done(
        run="r", duration_ms=2, truncated=True, dirty=False, value=None, error=None, tensors=[]
    )
    assert list(json.loads(dump(done))) == [
        "type", "run", "duration_ms", "truncated", "dirty", "value", "error", "tensors"
    ]  # fmt: skip
    run = Run(run="r", code="x", devices=[], max_output=2048)
    assert dump(run) == (
        b'{"type": "run", "run": "r", "code": "x", "devices": [], "max_output": 2048}\n'
    )


def test_several_messages_go_in_one_write_in_order() -> None:
    first, second = (
        Output(run="r", stream="stdout", text="a"),
        Limit(run="r", reason="output", limit=1),
    )
    lines = dump(first, second).splitlines()
    assert [parse_reply(line) for line in lines] == [first, second]


def test_printed_text_that_looks_like_a_message_stays_output() -> None:
    forged = dump(Done(run="r", duration_ms=0, truncated=False, dirty=False, value="0wned",
                       error=None, tensors=[])).decode()  # fmt: skip
    line = dump(Output(run="r", stream="stdout", text=forged + forged))
    assert line.count(b"\n") == 1  # the newlines inside are escaped
    reply = parse_reply(line)
    assert isinstance(reply, Output) and reply.text == forged + forged


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"not json\n", "Invalid JSON"),
        (b'{"type": "done", "run": "r"}\n', "duration_ms"),
        (b'{"type": "explode"}\n', "type"),
        (b'{"run": "r"}\n', "type"),
        (b'{"type": "output", "run": "r", "stream": "stdin", "text": "x"}\n', "stream"),
        (b'{"type": "output", "run": "r", "stream": "stdout", "text": "x", "extra": 1}\n', "extra"),
        (b'["type", "hello"]\n', "line"),
    ],
)
def test_malformed_lines_are_refused_saying_why(line: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match="malformed demo message") as refused:
        parse_reply(line)
    assert problem in str(refused.value)


def test_a_request_is_never_read_as_a_reply_nor_the_reverse() -> None:
    with pytest.raises(ProtocolError):
        parse_reply(dump(Run(run="r", code="x")))
    with pytest.raises(ProtocolError):
        parse_request(dump(Output(run="r", stream="stdout", text="x")))


def test_the_protocol_imports_nothing_heavy() -> None:
    probe = "import json, sys, app.demos.worker; print(json.dumps(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    modules = set(json.loads(loaded.stdout))
    assert not {"tensorflow", "app.config", "sqlalchemy", "fastapi"} & modules


def test_the_pool_and_the_tests_stand_in_are_demo_runners(tmp_path: Path) -> None:
    from tests.routes.test_playground import RecordingPool

    settings = Settings(data_dir=tmp_path, demo_workers=0)
    assert isinstance(DemoPool(settings), DemoRunner)
    assert isinstance(RecordingPool(settings), DemoRunner)
