"""Misbehaving snippets in the bubblewrap sandbox: each is contained and the server serves on."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT, Settings
from app.demos.sandbox import bwrap_problem
from app.main import create_app
from tests.databases import fresh_database_url, migrate
from tests.factories import answer_api

pytestmark = pytest.mark.slow
CANARY = "CANARY-7f3e9b21"
SNIPPETS = {
    "Loop ignoring SIGXCPU": (
        "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass"
    ),
    "Memory bomb": "chunks = []\nwhile True:\n    chunks.append(bytearray(256 * 1024 * 1024))",
    "Fork bomb": "import os\nwhile True:\n    os.fork()",
    "Thread bomb": (
        "import threading, time\nwhile True:\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()"
    ),
    "Fill the disk": (
        "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 1048576)"
    ),
    "Fill the tmpfs": (
        "import itertools\nfor n in itertools.count():\n"
        "    with open(f'part{n}', 'wb') as f:\n        f.write(b'x' * 32 * 1048576)"
    ),
    "Grandchild holds the pipe": (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    while True:\n"
        "        print('still here', flush=True)\n        time.sleep(0.2)\nprint('parent done')"
    ),
    "Snoop": (
        "import os, glob\nfound = []\n"
        "for path in ['/proc/1/environ', '/proc/self/environ'] + glob.glob(DATA + '/*') "
        "+ glob.glob('/tmp/*/*'):\n"
        "    try:\n        found.append(open(path, 'rb').read().decode('latin-1'))\n"
        "    except OSError as error:\n        print(type(error).__name__, path)\n"
        "print('canary' if CANARY in ''.join(found) + str(os.environ) else 'clean')"
    ),
    "Leave a file": "print(__import__('os').getcwd())\nopen('mine', 'w').write(CANARY)",
    "Call home": (
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', PORT), timeout=2)\n"
        "    print('connected')\nexcept OSError as error:\n"
        "    print('refused', type(error).__name__)\n"
        "try:\n    socket.getaddrinfo('example.com', 80)\n    print('resolved')\n"
        "except OSError as error:\n    print('no dns', type(error).__name__)"
    ),
    "Plant a symlink": (
        "import os, shutil\nhere = os.getcwd()\nos.symlink(QUESTIONS, 'escape')\nos.chdir('/')\n"
        "shutil.rmtree(here)\nos.symlink(QUESTIONS, here)\nprint('planted')"
    ),
    "Echo": "print('alive')",
}
TITLES = list(SNIPPETS)


def question_file(values: dict[str, str]) -> str:
    """A question whose demos misbehave; ``values`` are prepended as constants."""
    prelude = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    demos = "\n".join(
        f"## Demo: {title}\n\n```python\n{prelude}{code}\n```\n" for title, code in SNIPPETS.items()
    )
    rubric = '```yaml\nkey_points:\n  - id: any\n    text: Any.\n    any_of: ["any"]\n```'
    return (
        "---\nid: 4e0c2a11-0000-4f00-8000-00000000beef\nnumber: 60\ntitle: Sandbox\n"
        f"topic: Testing\n---\n\n## Question\n\nQ?\n\n## Reference answer\n\nA.\n\n"
        f"## Rubric\n\n{rubric}\n\n{demos}"
    )


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """An app whose demos must run in bwrap, with canaries planted all around."""
    problem = bwrap_problem(shutil.which("bwrap"))
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the sandbox cannot run in CI: {problem}")
        pytest.skip(f"bwrap cannot run here: {problem}")
    folder = tmp_path_factory.mktemp("sandbox")
    data, questions = folder / "data", folder / "questions"
    data.mkdir()
    shutil.copytree(PROJECT_ROOT / "questions", questions)
    values = {"CANARY": CANARY, "DATA": str(data), "PORT": 8000, "QUESTIONS": str(questions)}
    (questions / "60-sandbox.md").write_text(question_file(values))  # type: ignore[arg-type]
    (data / "secret_key").write_text(CANARY)
    os.environ["TFQUIZ_CANARY_ENV"] = CANARY  # in the web process, never in a worker
    settings = Settings(
        data_dir=data,
        database_url=fresh_database_url(),
        demo_limit_per_session=10_000,  # these tests run demos back to back
        demo_limit_per_address=10_000,
        questions_dir=questions,
        secret_key=CANARY + "-key-0123456789abcdef",
        demo_workers=1,
        demo_sandbox="bwrap",
        demo_timeout_s=10,  # a memory bomb takes seconds to fill 4 GiB on a busy machine
        demo_tmp_mb=64,
        demo_max_file_mb=16,
        demo_max_processes=128,
        demo_queue_size=4,
    )
    migrate(settings)
    try:
        with TestClient(create_app(settings)) as client:
            assert answer_api(client, 3, f"No, {CANARY} int32", learner="Canary").status_code == 201
            assert demo(client, "Echo")["stdout"] == "alive\n"
            yield client, questions
    finally:
        os.environ.pop("TFQUIZ_CANARY_ENV", None)


def demo(client: TestClient, title: str) -> dict[str, Any]:
    """Run one of the misbehaving demos."""
    response = client.post(f"/api/questions/60/demos/{TITLES.index(title) + 1}/run")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def sandbox_processes() -> list[str]:
    """List processes running as the sandbox's user, outside it."""
    out = subprocess.run(["ps", "-eo", "user:20,pid,comm"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.startswith(("nobody", "65534"))]


def while_serving(client: TestClient, title: str) -> tuple[dict[str, Any], bool]:
    """Run a demo while loading a page; return its result and whether the page came first."""
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(demo, client, title)
        time.sleep(0.3)
        assert client.get("/questions/3").status_code == 200
        page_first = not running.done()
        result = running.result(timeout=60)
    after = demo(client, "Echo")
    assert after["stdout"] == "alive\n", after  # and the next demo runs
    return result, page_first


def test_the_pool_reports_the_sandbox(sandboxed: tuple[TestClient, Path]) -> None:
    client, _ = sandboxed
    assert client.get("/readyz").json()["checks"]["demos"]["sandbox"].startswith("bwrap")


def test_a_loop_that_ignores_sigxcpu_is_stopped(sandboxed: tuple[TestClient, Path]) -> None:
    result, page_first = while_serving(sandboxed[0], "Loop ignoring SIGXCPU")
    assert result["status"] == "timeout"
    assert page_first, "a page waited for the endless demo to be stopped"


def test_a_memory_bomb_fails_inside_the_snippet(sandboxed: tuple[TestClient, Path]) -> None:
    result, _ = while_serving(sandboxed[0], "Memory bomb")
    assert result["status"] in ("error", "crashed")
    if result["status"] == "error":
        assert result["error"]["type"] == "MemoryError"


@pytest.mark.parametrize("title", ["Fork bomb", "Thread bomb"])
def test_process_bombs_are_contained(sandboxed: tuple[TestClient, Path], title: str) -> None:
    result, _ = while_serving(sandboxed[0], title)
    assert result["status"] in ("error", "timeout", "crashed")
    time.sleep(0.5)
    assert len(sandbox_processes()) <= 2, sandbox_processes()  # the worker, maybe a spare


@pytest.mark.parametrize(
    ("title", "error"), [("Fill the disk", "OSError"), ("Fill the tmpfs", "OSError")]
)
def test_filling_the_disk_stops_at_a_limit(
    sandboxed: tuple[TestClient, Path], title: str, error: str
) -> None:
    result, _ = while_serving(sandboxed[0], title)
    assert result["status"] == "error" and result["error"]["type"] == error


def test_a_setsid_grandchild_does_not_survive_its_run(sandboxed: tuple[TestClient, Path]) -> None:
    client, _ = sandboxed
    result = demo(client, "Grandchild holds the pipe")
    assert result["status"] == "ok" and "parent done" in result["stdout"], result["error"]
    after = demo(client, "Echo")
    assert after["stdout"] == "alive\n" and "still here" not in after["stdout"]


def test_secrets_and_other_runs_stay_out_of_reach(sandboxed: tuple[TestClient, Path]) -> None:
    client, _ = sandboxed
    first = demo(client, "Leave a file")
    assert first["status"] == "ok"
    snoop = demo(client, "Snoop")
    assert snoop["status"] == "ok" and snoop["stdout"].strip().endswith("clean"), snoop
    assert CANARY not in snoop["stdout"] + snoop["stderr"]


def test_no_connection_leaves_the_sandbox(sandboxed: tuple[TestClient, Path]) -> None:
    result = demo(sandboxed[0], "Call home")
    assert "refused" in result["stdout"] and "no dns" in result["stdout"]
    assert "connected" not in result["stdout"] and "resolved" not in result["stdout"]


def test_a_planted_symlink_is_never_followed(sandboxed: tuple[TestClient, Path]) -> None:
    client, questions = sandboxed
    before = sorted(p.name for p in questions.iterdir())
    result = demo(client, "Plant a symlink")
    assert result["status"] in ("ok", "error")
    assert sorted(p.name for p in questions.iterdir()) == before
    assert demo(client, "Echo")["stdout"] == "alive\n"
