"""How many demo workers a machine gets when TFQUIZ_DEMO_WORKERS is unset."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.machine import Machine, demo_workers_for, this_machine


@pytest.mark.parametrize(
    ("machine", "web_processes", "workers"),
    [
        (Machine(cores=2, memory_gib=8, gpus=0), 1, 1),  # one core left to the web process
        (Machine(cores=1, memory_gib=1, gpus=0), 1, 1),  # never fewer than one
        (Machine(cores=16, memory_gib=64, gpus=0), 1, 8),  # capped
        (Machine(cores=16, memory_gib=4.5, gpus=0), 1, 3),  # memory bounds it
        (Machine(cores=16, memory_gib=64, gpus=1), 1, 2),  # two per GPU
        (Machine(cores=16, memory_gib=64, gpus=8), 1, 8),
        (Machine(cores=9, memory_gib=64, gpus=0), 2, 4),  # each web process has its pool
        (Machine(cores=4, memory_gib=64, gpus=0), 8, 1),
    ],
)
def test_the_worker_count_follows_cores_memory_and_gpus(
    machine: Machine, web_processes: int, workers: int
) -> None:
    assert demo_workers_for(machine, web_processes) == workers


def test_this_machine_reports_what_it_has() -> None:
    found = this_machine()
    assert found.cores >= 1 and found.memory_gib > 0 and found.gpus >= 0


def test_unset_or_auto_takes_the_machines_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = demo_workers_for(this_machine())
    assert Settings(data_dir=tmp_path).demo_workers == expected
    monkeypatch.setenv("TFQUIZ_DEMO_WORKERS", "auto")
    assert Settings(data_dir=tmp_path).demo_workers == expected
    monkeypatch.setenv("TFQUIZ_WORKERS", "64")  # shared between web processes: one each
    assert Settings(data_dir=tmp_path).demo_workers == 1


def test_an_explicit_count_wins_and_zero_still_turns_demos_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFQUIZ_DEMO_WORKERS", "0")
    assert Settings(data_dir=tmp_path).demo_workers == 0
    monkeypatch.setenv("TFQUIZ_DEMO_WORKERS", "3")
    assert Settings(data_dir=tmp_path).demo_workers == 3
    monkeypatch.setenv("TFQUIZ_DEMO_WORKERS", "many")
    with pytest.raises(ValidationError, match="demo_workers"):
        Settings(data_dir=tmp_path)
