"""Pools of demo workers that start without TensorFlow, for tests of the machinery."""

from __future__ import annotations

import time
from pathlib import Path

from app.config import Settings
from app.demos.pool import DemoPool


def plain_settings(folder: Path, **changes: object) -> Settings:
    """Settings for one worker without TensorFlow, with short limits."""
    chosen: dict[str, object] = {
        "data_dir": folder,
        "secret_key": "pool-test-secret-key-0123456789abcdef",
        "demo_workers": 1,
        "demo_worker_tf": False,
        "demo_timeout_s": 2,
        "demo_max_output_bytes": 64 * 1024,
        "demo_queue_size": 4,
    }
    return Settings.model_validate({**chosen, **changes})


def started(settings: Settings, seconds: float = 6) -> DemoPool:
    """Start a pool and wait until its worker is ready (TensorFlow's needs more seconds)."""
    pool = DemoPool(settings)
    pool.start()
    for _ in range(round(seconds / 0.02)):
        if pool.state["ready"]:
            return pool
        time.sleep(0.02)
    pool.close()
    raise AssertionError(f"the worker did not start: {pool.state}")
