"""Fixtures for the demo machinery: a pool of workers that start without TensorFlow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.demos.pool import DemoPool
from tests.demos.pools import plain_settings, started


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPool]:
    """One pool for the module: one plain worker and a spare."""
    demo_pool = started(plain_settings(tmp_path_factory.mktemp("pool")))
    yield demo_pool
    demo_pool.close()
