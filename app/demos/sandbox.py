"""How a demo worker is contained: bubblewrap namespaces, a minimal view, limits, a cgroup.

With ``bwrap`` a worker runs as ``nobody`` in new user, PID, network, IPC and UTS
namespaces. It sees only the system folders, the Python installation (interpreter,
standard library, virtual environment) and the worker's own modules, read-only: nothing
else of the project, no data folder, no question files, and no file of /etc that other
users may not read; /tmp is a small private tmpfs; the environment is an allow-list.
Killing the sandbox tears down its PID namespace, so no process of a run survives it,
setsid() or not. Resource limits (rlimits, and a cgroup for memory and process count where
the kernel allows) apply in every mode. Where bwrap cannot run, workers run with the limits
and the allow-listed environment only, as ``nobody``: the degraded mode, announced at
start-up, on /readyz, the dashboard and /present, in which the playground refuses to run.
A root server whose Python ``nobody`` cannot run starts no worker at all.
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT, Settings
from app.demos.cgroups import Cgroup, create_cgroup

logger = logging.getLogger("tfquiz.demos")
NOBODY = 65534
MIB = 1024 * 1024
APP_DIR = Path(__file__).resolve().parent.parent
# All of the app a worker imports (tests/demos/test_confinement.py holds the worker to it):
# the sandbox shows these files and nothing else of the project.
WORKER_FILES = (
    "__init__.py",
    "demos/__init__.py",
    "demos/capture.py",
    "demos/protocol.py",
    "demos/snippet.py",
    "demos/worker.py",
)
INSTALL_BUBBLEWRAP = "install bubblewrap (apt-get install bubblewrap) and restart"
DEGRADED = (
    "Live demos run in DEGRADED mode: bwrap cannot run here ({problem}), so workers have "
    "resource limits but no namespaces, and the playground is off. To sandbox them, "
    f"{INSTALL_BUBBLEWRAP}; see docs/security.md."
)
ROOT_REFUSAL = (
    "Live demos are off: bwrap cannot run here ({problem}), and without it a worker would "
    "keep root's privileges, because the user nobody cannot run {python}. To fix it, "
    f"{INSTALL_BUBBLEWRAP}, or put Python and its virtual environment where nobody can "
    "read them (not under /root), or run the server as an unprivileged user; "
    "see docs/security.md."
)
ENV_ALLOWED = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "PYTHONPATH",
    "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "XLA_FLAGS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
SYSTEM_DIRS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/sys",
)
GPU_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset")


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one contained worker."""

    argv: list[str]
    env: dict[str, str]
    user: int | None  # who the worker runs as, once ``preexec`` has switched; None: unchanged
    preexec: Callable[[], None]
    mode: str
    cgroup: Cgroup | None


@dataclass(frozen=True)
class Containment:
    """How this server contains demo workers, decided once per process."""

    bwrap: str | None  # the bwrap program, when workers run in its namespaces
    problem: str | None  # why bwrap cannot run, in degraded mode
    user: int | None  # who a degraded worker runs as; None: the server's own user
    refusal: str | None  # why no worker may start at all

    @property
    def degraded(self) -> bool:
        """Tell whether workers run without namespaces."""
        return self.bwrap is None

    @property
    def mode(self) -> str:
        """Name the containment, as /readyz reports it."""
        return "bwrap" if self.bwrap else "rlimits (degraded: no namespaces)"

    @property
    def notice(self) -> str | None:
        """Say in one line what people must know and how to fix it; None under bwrap."""
        if self.refusal is not None:
            return self.refusal
        return DEGRADED.format(problem=self.problem) if self.degraded else None


def worker_env(fds: str) -> dict[str, str]:
    """Return the allow-listed environment a worker gets, and nothing else."""
    env = {name: os.environ[name] for name in ENV_ALLOWED if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        {
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
            "TFQUIZ_WORKER_FDS": fds,
        }
    )
    return env


def gpu_device_files() -> list[str]:
    """Return the NVIDIA device files of this machine (none without a GPU)."""
    numbered = sorted(str(p) for p in Path("/dev").glob("nvidia[0-9]*"))
    return numbered + [path for path in GPU_DEVICES if os.path.exists(path)]


def hidden_paths(settings: Settings) -> list[Path]:
    """Return the folders a snippet must not see: data, the database's and the questions'."""
    paths = {settings.data_dir.resolve(), settings.questions_dir.resolve()}
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        paths.add(Path(url.removeprefix("sqlite:///")).resolve().parent)
    return sorted(p for p in paths if p != Path("/"))


@functools.lru_cache(maxsize=1)
def private_files(folder: str = "/etc") -> tuple[tuple[str, bool], ...]:
    """List what under ``folder`` other users may not read: (path, is a folder)."""
    found: list[tuple[str, bool]] = []
    for current, dirs, files in os.walk(folder):
        for name in list(dirs):
            path = os.path.join(current, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and not (mode & stat.S_IROTH and mode & stat.S_IXOTH):
                found.append((path, True))
                dirs.remove(name)
        for name in files:
            path = os.path.join(current, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode) and not mode & stat.S_IROTH:
                found.append((path, False))
    return tuple(found)


def view_args(settings: Settings, gpu_files: list[str], hide: bool = True) -> list[str]:
    """Return bwrap's filesystem: system folders, Python and the worker's code, read-only."""
    # /tmp first: Python may live under /tmp, and a later mount would hide it.
    args = ["--size", str(settings.demo_tmp_mb * MIB), "--tmpfs", "/tmp"]
    bound: list[Path] = []
    for top in SYSTEM_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
            bound.append(Path(top).resolve())
    python = python_dirs()
    for folder in python:
        if not _within(folder, bound):
            args += ["--ro-bind", str(folder), str(folder)]
            bound.append(folder)
    # The project and the app package show only when they lie in a folder bound above (an
    # installed wheel under /opt, say): cover them, then bind back what the worker needs.
    covered = [p for p in (PROJECT_ROOT, APP_DIR) if _within(p, bound)]
    for folder in covered:
        args += ["--tmpfs", str(folder)]
    for folder in python:
        if _within(folder, covered):  # a virtual environment kept in the project
            args += ["--ro-bind", str(folder), str(folder)]
    for name in WORKER_FILES:
        args += ["--ro-bind", str(APP_DIR / name), str(APP_DIR / name)]
    for link, target in python_links():
        if not _within(Path(link).parent, bound):
            args += ["--symlink", target, link]
    empty = [Path(p) for p, is_folder in private_files() if is_folder]
    for private, is_folder in private_files():
        args += ["--tmpfs", private] if is_folder else ["--ro-bind", "/dev/null", private]
    for hidden in hidden_paths(settings) if hide else []:
        # Only what shows needs covering: under a bound folder, and not one covered above.
        if _within(hidden, bound) and (not _within(hidden, covered) or _within(hidden, python)):
            # Created now if need be: a folder made later would show through the view.
            hidden.mkdir(parents=True, exist_ok=True)
            args += ["--tmpfs", str(hidden)]
            empty.append(hidden)
    args += ["--proc", "/proc", "--dev", "/dev"]
    for device in gpu_files:
        args += ["--dev-bind", device, device]
    # Once every mount point is made, only /tmp (and /dev) stay writable: nothing a snippet
    # writes elsewhere, in the view's own root or a covering tmpfs, outlives its run there.
    for folder in [Path("/"), *covered, *empty]:
        args += ["--remount-ro", str(folder)]
    args += ["--chdir", "/tmp"]
    return args


def python_dirs() -> list[Path]:
    """Return the folders of the running Python: its installation and virtual environment."""
    return sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})


def python_links() -> list[tuple[str, str]]:
    """Return (link, target) for each Python folder reached through a symlink."""
    links = {Path(sys.base_prefix), Path(sys.prefix)}
    return sorted((str(p), str(p.resolve())) for p in links if p.resolve() != p.absolute())


def _within(path: Path, folders: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(folder) for folder in folders)


def namespace_args() -> list[str]:
    """Return bwrap's isolation switches."""
    # --die-with-parent fires when the *thread* that spawned bwrap ends, so the pool spawns
    # every worker from one long-lived thread; killing bwrap then tears the namespace down.
    args = [
        "--die-with-parent",
        "--new-session",
        "--unshare-user",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--disable-userns",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
    ]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
    return args


def limits(
    settings: Settings, gpu: bool, cgroup: Cgroup | None, user: int | None = None
) -> Callable[[], None]:
    """Return what the child runs before exec: join the cgroup, set rlimits, become ``user``."""
    chosen = [
        (resource.RLIMIT_FSIZE, settings.demo_max_file_mb * MIB),
        (resource.RLIMIT_NOFILE, settings.demo_max_open_files),
        (resource.RLIMIT_NPROC, settings.demo_max_processes),
        (resource.RLIMIT_CORE, 0),
        # A backstop over the worker's whole life; each run also has a wall-clock limit.
        (resource.RLIMIT_CPU, int(settings.demo_timeout_s * settings.demo_recycle_after) + 60),
    ]
    if not gpu:  # CUDA maps far more address space than it uses: no cap beside a GPU
        chosen.append((resource.RLIMIT_AS, settings.demo_memory_mb * MIB))

    def apply() -> None:
        if cgroup is not None:
            cgroup.join()
        for which, value in chosen:
            _, hard = resource.getrlimit(which)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (cap, cap))
        if user is not None:
            # Here rather than Popen(user=...), which switches before this runs: only root
            # may join the cgroup. Groups first, then the user: root's groups are dropped too.
            os.setgroups([])
            os.setgid(user)
            os.setuid(user)

    return apply


@functools.lru_cache(maxsize=4)
def bwrap_problem(bwrap: str | None) -> str | None:
    """Try bwrap once with the real arguments; return None when it works, else why not."""
    if bwrap is None:
        return "bwrap is not installed"
    probe = [bwrap, *namespace_args(), *view_args(Settings(), [], hide=False), "--"]
    probe += [sys.executable, "-c", "import app.demos.worker"]  # its code is in view
    try:
        result = subprocess.run(
            probe, capture_output=True, text=True, timeout=30, env=worker_env("")
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return None if result.returncode == 0 else (result.stderr.strip()[-500:] or "bwrap failed")


@functools.lru_cache(maxsize=2)
def unprivileged_user() -> int | None:
    """Return ``nobody`` if a root parent can run Python as it, else None (stay as is)."""
    if os.geteuid() != 0:
        return None
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import app.demos.worker"],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            capture_output=True,
            timeout=30,
            cwd="/",
            env=worker_env(""),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return NOBODY if probe.returncode == 0 else None


def containment(settings: Settings) -> Containment:
    """Decide how workers are contained here: bwrap, degraded, or not at all."""
    return _containment(settings.demo_sandbox)


@functools.lru_cache(maxsize=3)
def _containment(choice: str) -> Containment:
    if choice == "rlimits":
        problem = "TFQUIZ_DEMO_SANDBOX=rlimits turns it off"
    else:
        bwrap = shutil.which("bwrap")
        problem = bwrap_problem(bwrap) or ""
        if not problem and bwrap is not None:
            return Containment(bwrap, None, None, None)
        if choice == "bwrap":
            refusal = "the demo sandbox is required (TFQUIZ_DEMO_SANDBOX=bwrap) but cannot run: "
            return Containment(None, problem, None, refusal + problem)
    user = unprivileged_user()
    if os.geteuid() == 0 and user is None:
        refusal = ROOT_REFUSAL.format(problem=problem, python=sys.executable)
        return Containment(None, problem, None, refusal)
    return Containment(None, problem, user, None)


def plan_launch(settings: Settings, fds: str) -> Launch:
    """Decide how to start a worker here; raise RuntimeError when none may start."""
    plan = containment(settings)
    if plan.refusal is not None:
        raise RuntimeError(plan.refusal)
    gpu_files = gpu_device_files()
    cgroup = create_cgroup(settings.demo_max_processes, settings.demo_memory_mb * MIB)
    command = [sys.executable, "-m", "app.demos.worker"]
    env = worker_env(fds)
    if not settings.demo_worker_tf:  # tests of plain snippets: the worker skips TensorFlow
        env["TFQUIZ_DEMO_WORKER_TF"] = "0"
    extras = " + cgroup" if cgroup else ""
    if plan.bwrap is not None:
        preexec = limits(settings, gpu=bool(gpu_files), cgroup=cgroup)
        argv = [plan.bwrap, *namespace_args(), *view_args(settings, gpu_files), "--", *command]
        sandboxed = {**env, "TFQUIZ_SANDBOXED": "1"}  # owns its PID namespace
        return Launch(argv, sandboxed, None, preexec, f"bwrap{extras}", cgroup)
    warn_degraded(str(plan.problem))
    preexec = limits(settings, gpu=bool(gpu_files), cgroup=cgroup, user=plan.user)
    mode = f"rlimits{extras} (degraded: no namespaces)"
    return Launch(command, env, plan.user, preexec, mode, cgroup)


@functools.lru_cache(maxsize=8)
def warn_degraded(problem: str) -> None:
    """Say once per reason that demos run without namespaces."""
    logger.warning(DEGRADED.format(problem=problem))
