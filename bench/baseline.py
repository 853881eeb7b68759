"""A baseline for a benchmark: an earlier revision of the tree, checked out from git.

Benchmarks that compare against the code as it stood before a change run that revision in
a process of their own, from a temporary folder, in the same run as the current code.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout(revision: str, into: Path, paths: tuple[str, ...] = ("app", "questions")) -> bool:
    """Extract ``paths`` of a revision into ``into``; False when git cannot."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, *paths], capture_output=True
    )
    if archive.returncode != 0:
        return False
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return True
