"""What confines a worker: bwrap shows it only Python and its own code; degraded mode never runs
it as root; the playground runs nowhere but in bwrap; and people are told when demos are degraded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT, Settings
from app.demos.sandbox import APP_DIR, NOBODY, WORKER_FILES, bwrap_problem
from app.main import create_app
from tests.databases import database_env
from tests.demos.pools import plain_settings, started
from tests.factories import csrf, make_instructor, sign_in
from tests.server import free_port, wait_until_up

CANARY = f"CANARY-{uuid.uuid4().hex[:8]}"  # what the planted files hold
PLANTED = f"planted-{uuid.uuid4().hex[:8]}"  # what their names hold
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="a server not run as root stays as is")
SNOOP = """
import os
found = []
for path in PATHS:
    try:
        found.append(open(path).read())
        print('read', path)
    except OSError as error:
        print(type(error).__name__, path)
print(sorted(os.listdir(ROOT)) if os.path.isdir(ROOT) else 'no project root')
print('canary' if CANARY in ''.join(found) else 'clean')
"""


def needs_bwrap() -> None:
    """Skip where bwrap cannot run (fail in CI, which must have it)."""
    problem = bwrap_problem(shutil.which("bwrap"))
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the sandbox cannot run in CI: {problem}")
        pytest.skip(f"bwrap cannot run here: {problem}")


@pytest.fixture
def canaries(tmp_path: Path) -> Iterator[tuple[Settings, list[Path]]]:
    """Canary files in the project root, in another instance's data folder and in ours."""
    ours = tmp_path / "data"
    other = PROJECT_ROOT / "var" / f"other-{PLANTED}"  # another instance, from this checkout
    planted = [
        PROJECT_ROOT / f"{PLANTED}.db",
        PROJECT_ROOT / f"secret_key-{PLANTED}",
        other / "secret_key",
        other / "tfquiz.sqlite3",
        ours / "secret_key",
        ours / "tfquiz.sqlite3",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CANARY)
        path.chmod(0o600)  # as the server writes its key
    settings = plain_settings(ours, demo_sandbox="bwrap")
    try:
        yield settings, [*planted, settings.questions_dir / "01-what-is-tensorflow.md"]
    finally:
        for path in planted[:4]:
            path.unlink(missing_ok=True)
        other.rmdir()


def test_a_sandboxed_worker_reads_nothing_of_the_project_or_any_data_folder(
    canaries: tuple[Settings, list[Path]],
) -> None:
    needs_bwrap()
    settings, paths = canaries
    prelude = f"PATHS = {[str(p) for p in paths]!r}\nROOT = {str(PROJECT_ROOT)!r}\n"
    pool = started(settings)
    try:
        outcome = pool.run(prelude + f"CANARY = {CANARY!r}\n" + SNOOP)
    finally:
        pool.close()
    assert outcome.status == "ok", outcome
    lines = outcome.stdout.splitlines()
    assert lines[-1] == "clean" and CANARY not in outcome.stdout, outcome.stdout
    assert not [line for line in lines if line.startswith("read ")], outcome.stdout
    shown = lines[-2]  # what the project root holds in the sandbox: the worker's code, Python
    for absent in ("var", "questions", "templates", "static", f"{PLANTED}.db", "pyproject.toml"):
        assert repr(absent) not in shown, shown


def test_the_worker_imports_only_the_files_the_sandbox_shows() -> None:
    probe = (
        "import json, sys, app.demos.worker\n"
        "print(json.dumps([getattr(m, '__file__', None) for m in list(sys.modules.values())]))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    files = {Path(f).resolve() for f in json.loads(loaded.stdout) if f}
    of_app = {str(f.relative_to(APP_DIR)) for f in files if f.is_relative_to(APP_DIR)}
    assert of_app == set(WORKER_FILES)


@pytest.mark.slow
def test_a_tensorflow_demo_runs_under_the_minimal_view(tmp_path: Path) -> None:
    needs_bwrap()
    settings = plain_settings(tmp_path, demo_sandbox="bwrap", demo_worker_tf=True)
    pool = started(settings, seconds=120)
    try:
        outcome = pool.run("import tensorflow as tf\nx = tf.constant([1, 2]) * 2\nx.numpy()")
    finally:
        pool.close()
    assert outcome.status == "ok", outcome
    assert outcome.value == "array([2, 4], dtype=int32)" and outcome.tf_version
    assert [t.name for t in outcome.tensors] == ["x"]


# Degraded mode (TFQUIZ_DEMO_SANDBOX=rlimits), in real processes run by other interpreters.


def python_with_our_packages(folder: Path, base: str) -> Path:
    """Make a virtual environment on ``base`` that sees this one's packages; return its python."""
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    ours = "".join(f"site.addsitedir({path!r}); " for path in site.getsitepackages())
    (folder / "lib" / version / "site-packages" / "tfquiz-test.pth").write_text(
        f"import site; {ours}\n"
    )
    return folder / "bin" / "python"


@pytest.fixture
def locked_python(tmp_path: Path) -> Path:
    """An interpreter with the app that nobody cannot run: it lies in a folder only root opens."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    return python_with_our_packages(locked / "venv", sys._base_executable)


@pytest.fixture
def open_python() -> Iterator[Path]:
    """An interpreter with the app that nobody can run, or a skip where there is none."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        for n, base in enumerate(dict.fromkeys([sys._base_executable, "/usr/bin/python3.11"])):
            if not os.path.exists(base):
                continue
            python = python_with_our_packages(Path(folder) / f"venv{n}", base)
            probe = [str(python), "-c", "import app.demos.worker"]
            with contextlib.suppress(OSError):  # nobody may not even execute it
                if subprocess.run(probe, user=NOBODY, group=NOBODY, cwd="/").returncode == 0:
                    yield python
                    return
        pytest.skip("no Python here that nobody may run, with this project's packages")


DEGRADED_ENV = {
    "TFQUIZ_DEMO_SANDBOX": "rlimits",
    "TFQUIZ_DEMO_WORKERS": "1",
    "TFQUIZ_DEMO_WORKER_TF": "0",
    "TFQUIZ_SECRET_KEY": "confinement-test-secret-key-0123456789",
}


@ROOT_ONLY
def test_a_root_server_that_cannot_drop_to_nobody_starts_no_worker_and_says_why(
    tmp_path: Path, locked_python: Path
) -> None:
    port, log = free_port(), tmp_path / "stderr.log"
    env = {**os.environ, **DEGRADED_ENV, "TFQUIZ_DATA_DIR": str(tmp_path), **database_env()}
    env["TFQUIZ_LOG_FORMAT"] = "json"  # the line is plain even so
    command = [str(locked_python), "-m", "app", "serve", "--port", str(port)]
    with log.open("w") as err:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server, log)
        demos = httpx.get(url + "/readyz").json()["checks"]["demos"]
        run = httpx.post(url + "/api/questions/1/demos/1/run", timeout=30)
        present = httpx.get(url + "/present").text
    finally:
        server.terminate()
        server.wait(timeout=15)
    plain = [line for line in log.read_text().splitlines() if not line.startswith("{")]
    assert len(plain) == 1 and plain[0].startswith("Live demos are off"), plain
    assert "install bubblewrap" in plain[0] and f"nobody cannot run {locked_python}" in plain[0]
    assert demos["degraded"] is True and demos["sandbox"].startswith("rlimits"), demos
    assert demos["last_error"] == demos["notice"] and demos["idle"] == demos["starting"] == 0
    assert run.status_code == 503 and "install bubblewrap" in run.json()["detail"], run.text
    assert 'id="sandbox-notice"' in present and "keep root&#39;s privileges" in present


@ROOT_ONLY
def test_a_degraded_worker_runs_as_nobody_without_root_groups(
    tmp_path: Path, open_python: Path
) -> None:
    script = (
        "import sys, time\nfrom app.config import Settings\nfrom tests.demos.pools import *\n"
        f"settings = plain_settings({str(tmp_path)!r}, demo_sandbox='rlimits')\n"
        "pool = started(settings)\n"
        "outcome = pool.run('import os\\nprint(os.getuid(), os.getgid(), os.getgroups())')\n"
        "pool.close()\nprint(outcome.model_dump_json())"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}  # for tests.demos.pools
    done = subprocess.run(
        [str(open_python), "-c", script], capture_output=True, text=True, env=env, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["status"] == "ok", outcome
    assert outcome["stdout"] == f"{NOBODY} {NOBODY} []\n"


@pytest.fixture
def degraded_client(settings: Settings) -> Iterator[TestClient]:
    """An instructor signed in to an app whose demos run, or would run, without bwrap."""
    changes = {"demo_sandbox": "rlimits", "demo_workers": 1, "demo_worker_tf": False}
    degraded = settings.model_copy(update={**changes, "playground": True})
    app = create_app(degraded)
    make_instructor(app)
    with TestClient(app) as client:
        sign_in(client)
        yield client
    app.state.db.engine.dispose()


def test_the_playground_refuses_to_run_outside_bwrap(degraded_client: TestClient) -> None:
    page = "/instructor/playground/1/1"
    shown = degraded_client.get(page)
    assert shown.status_code == 200 and 'id="playground-unconfined"' in shown.text
    token = csrf(degraded_client, page)
    api = degraded_client.post(
        "/api/instructor/playground/1/1/run",
        json={"code": "print(1)"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 503, api.text
    assert "only in the bubblewrap sandbox" in api.json()["detail"]
    assert "install bubblewrap" in api.json()["detail"]
    form = degraded_client.post(page, data={"code": "print(1)", "csrf_token": token})
    assert form.status_code == 503 and "only in the bubblewrap sandbox" in form.text


def test_the_dashboard_and_present_show_degraded_demos(degraded_client: TestClient) -> None:
    for page in ("/instructor/", "/present"):
        shown = degraded_client.get(page)
        assert shown.status_code == 200 and 'id="sandbox-notice"' in shown.text, page
        assert "install bubblewrap" in shown.text, page
    ready = degraded_client.get("/readyz").json()["checks"]["demos"]
    assert ready["degraded"] is True and "bubblewrap" in ready["notice"]
