"""argon2id hashing: at most one hash or check per core at once, whatever the threads."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher

from app import passwords


class CountingHasher(PasswordHasher):
    """argon2-cffi's own hasher, counting how many of its hashes and checks overlap."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.running = self.most = 0

    def _counted(self, work: str, *args: str) -> object:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return getattr(super(), work)(*args)
        finally:
            with self._lock:
                self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return str(self._counted("hash", password))  # type: ignore[arg-type]

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        return bool(self._counted("verify", hash, password))  # type: ignore[arg-type]


def test_a_burst_of_sign_ups_hashes_at_most_one_code_per_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", counting)
    cores = os.cpu_count() or 1
    secrets = [f"correct horse battery {n}" for n in range(4 * cores)]
    with ThreadPoolExecutor(len(secrets)) as threads:
        hashes = list(threads.map(passwords.hash_password, secrets))
        checked = list(threads.map(passwords.verify_password, hashes, secrets))
    assert checked == [True] * len(secrets)
    assert 1 <= counting.most <= cores
    assert passwords.verify_password(hashes[0], "wrong horse battery") is False
    assert (
        passwords.verify_password(None, secrets[0]) is False
    )  # no account: refused, after as long a check
