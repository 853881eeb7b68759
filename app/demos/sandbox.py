"""How a demo worker is contained: bubblewrap namespaces, a minimal view, limits, a cgroup.

With ``bwrap`` a worker runs as ``nobody`` in new user, PID, network, IPC and UTS
namespaces. It sees only the system folders, the Python installation and the project,
read-only; the data folder and every file of /etc that other users may not read are
hidden; /tmp is a small private tmpfs; the environment is an allow-list. Killing the
sandbox tears down its PID namespace, so no process of a run survives it, setsid() or
not. Resource limits (rlimits, and a cgroup for memory and process count where the kernel
allows) apply in every mode. Where bwrap cannot run, workers run with the limits and the
allow-listed environment only: the degraded mode announced at start-up and on /readyz.
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
    user: int | None
    preexec: Callable[[], None]
    mode: str
    cgroup: Cgroup | None


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
    """Return the folders a snippet must not see: the data folder and the database's."""
    paths = {settings.data_dir.resolve()}
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        paths.add(Path(url.removeprefix("sqlite:///")).resolve().parent)
    return sorted(p for p in paths if p not in (Path("/"), PROJECT_ROOT))


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
    """Return bwrap's filesystem: system folders, Python and the project, read-only."""
    # /tmp first: the project or Python may live under /tmp, and a later mount would hide them.
    args = ["--size", str(settings.demo_tmp_mb * MIB), "--tmpfs", "/tmp"]
    for top in SYSTEM_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    bound = [Path(p) for p in SYSTEM_DIRS]
    for extra in sorted({Path(sys.base_prefix), Path(sys.prefix), PROJECT_ROOT}):
        resolved = extra.resolve()
        link = str(extra)
        if not any(resolved.is_relative_to(b) for b in bound):
            args += ["--ro-bind", str(resolved), str(resolved)]
            if resolved != extra:
                args += ["--symlink", str(resolved), link]
    for private, is_folder in private_files():
        args += ["--tmpfs", private] if is_folder else ["--ro-bind", "/dev/null", private]
    for hidden in hidden_paths(settings) if hide else []:
        # Created now if need be: a folder made later would show through the read-only view.
        hidden.mkdir(parents=True, exist_ok=True)
        args += ["--tmpfs", str(hidden)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for device in gpu_files:
        args += ["--dev-bind", device, device]
    args += ["--chdir", "/tmp"]
    return args


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


def limits(settings: Settings, gpu: bool, cgroup: Cgroup | None) -> Callable[[], None]:
    """Return a function that joins the cgroup and sets rlimits in the child, before exec."""
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

    return apply


@functools.lru_cache(maxsize=4)
def bwrap_problem(bwrap: str | None) -> str | None:
    """Try bwrap once with the real arguments; return None when it works, else why not."""
    if bwrap is None:
        return "bwrap is not installed"
    probe = [bwrap, *namespace_args(), *view_args(Settings(), [], hide=False), "--"]
    probe += [sys.executable, "-c", "import app"]
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
            [sys.executable, "-c", "import app"],
            user=NOBODY,
            group=NOBODY,
            capture_output=True,
            timeout=30,
            cwd="/",
            env=worker_env(""),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return NOBODY if probe.returncode == 0 else None


def plan_launch(settings: Settings, fds: str) -> Launch:
    """Decide how to start a worker here, with the strongest containment available."""
    gpu_files = gpu_device_files()
    cgroup = create_cgroup(settings.demo_max_processes, settings.demo_memory_mb * MIB)
    preexec = limits(settings, gpu=bool(gpu_files), cgroup=cgroup)
    command = [sys.executable, "-m", "app.demos.worker"]
    env = worker_env(fds)
    if not settings.demo_worker_tf:  # tests of plain snippets: the worker skips TensorFlow
        env["TFQUIZ_DEMO_WORKER_TF"] = "0"
    extras = " + cgroup" if cgroup else ""
    if settings.demo_sandbox != "rlimits":
        bwrap = shutil.which("bwrap")
        problem = bwrap_problem(bwrap)
        if problem is None and bwrap is not None:
            argv = [bwrap, *namespace_args(), *view_args(settings, gpu_files), "--", *command]
            sandboxed = {**env, "TFQUIZ_SANDBOXED": "1"}  # owns its PID namespace
            return Launch(argv, sandboxed, None, preexec, f"bwrap{extras}", cgroup)
        if settings.demo_sandbox == "bwrap":
            if cgroup is not None:
                cgroup.remove()
            raise RuntimeError(f"the demo sandbox is required but cannot run: {problem}")
        warn_degraded(str(problem))
    user = unprivileged_user()
    mode = f"rlimits{extras} (degraded: no namespaces)"
    return Launch(command, env, user, preexec, mode, cgroup)


@functools.lru_cache(maxsize=8)
def warn_degraded(problem: str) -> None:
    """Say once per reason that demos run without namespaces."""
    logger.warning(
        "bwrap cannot run (%s): demo workers run in DEGRADED mode, with resource limits and "
        "an allow-listed environment but no namespaces; see docs/security.md",
        problem,
    )
