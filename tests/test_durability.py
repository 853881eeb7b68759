"""No acknowledged answer is lost: SIGKILL the server at random moments, restart, check.

Clients retry what they sent without an answer, with the same Idempotency-Key, as a
well-behaved client after a dropped connection would: nothing may be stored twice.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text

from tests.databases import database_env
from tests.factories import GOOD_Q3
from tests.server import start_server

pytestmark = pytest.mark.slow
KILLS = 20
CLIENTS = 4
LOAD_CLIENTS = 32
LOAD_SECONDS = 30


class Ledger:
    """What the clients sent, and which attempts the server said it recorded."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, tuple[str, str]] = {}  # key -> (learner, text)
        self.acknowledged: dict[int, tuple[str, str]] = {}  # attempt id -> (key, text)
        self.errors: list[str] = []
        self.codes: dict[str, str] = {}  # learner -> sign-in code, the proof a new client sends

    def send(self, client: httpx.Client, key: str) -> None:
        """Post one answer; remember the attempt id if the server says it was recorded."""
        learner, answer = self.sent[key]
        try:
            response = client.post(
                "/api/questions/3/answers",
                # The code lets a fresh connection continue as the same learner.
                json={"learner": learner, "code": self.codes.get(learner), "text": answer},
                headers={"Idempotency-Key": key},
            )
        except httpx.TransportError:
            return  # killed mid-request: the client will retry this key later
        if response.status_code in (200, 201):
            body = response.json()
            with self.lock:
                self.acknowledged[body["attempt_id"]] = (key, answer)
                if body.get("sign_in_code"):
                    self.codes[learner] = body["sign_in_code"]
        elif response.status_code != 429:
            self.errors.append(f"{response.status_code}: {response.text[:200]}")


def submit_until_killed(url: str, ledger: Ledger, client_no: int, stop: threading.Event) -> None:
    """Keep answering as one learner until the server dies or ``stop`` is set."""
    with httpx.Client(base_url=url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            key = f"client{client_no}-{time.monotonic_ns()}-{n}"
            with ledger.lock:
                ledger.sent[key] = (f"learner-{client_no}", f"{GOOD_Q3} [{key}]")
            ledger.send(client, key)
            n += 1


def test_no_acknowledged_answer_is_lost_across_sigkills(tmp_path: Path) -> None:
    env = database_env()
    database_url = env.get("TFQUIZ_DATABASE_URL", f"sqlite:///{tmp_path / 'tfquiz.sqlite3'}")
    ledger = Ledger()
    randomness = random.Random(20261125)
    # Each learner's first answer creates them and brings back their code, sent from then
    # on: were that answer's response lost to a kill, nothing could prove who they are.
    process, url = start_server(tmp_path, env=env)
    with httpx.Client(base_url=url, timeout=10) as client:
        for client_no in range(CLIENTS):
            key = f"enrol-learner-{client_no}"
            ledger.sent[key] = (f"learner-{client_no}", f"{GOOD_Q3} [{key}]")
            ledger.send(client, key)
    process.terminate()
    process.wait()
    assert len(ledger.codes) == CLIENTS, ledger.errors
    for _ in range(KILLS):
        process, url = start_server(tmp_path, env=env)
        with httpx.Client(base_url=url, timeout=10) as client:  # retry what went unanswered
            answered = {key for key, _ in ledger.acknowledged.values()}
            for key in [k for k in ledger.sent if k not in answered]:
                ledger.send(client, key)
        stop = threading.Event()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for client_no in range(CLIENTS):
                pool.submit(submit_until_killed, url, ledger, client_no, stop)
            time.sleep(randomness.uniform(0.2, 1.0))
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            stop.set()
    process, url = start_server(tmp_path, env=env)
    process.terminate()
    process.wait()

    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, idempotency_key, text FROM attempt")).all()
    engine.dispose()
    stored = {row.id: (row.idempotency_key, row.text) for row in rows}
    lost = {i: v for i, v in ledger.acknowledged.items() if stored.get(i) != v}
    assert len(ledger.acknowledged) > KILLS, "too few answers went through to test anything"
    assert lost == {}, f"{len(lost)} acknowledged answers lost or changed"
    keys = [key for key, _ in stored.values()]
    assert len(keys) == len(set(keys)), "an answer was stored twice"
    assert ledger.errors == []


def test_thirty_two_submitters_never_see_database_is_locked(tmp_path: Path) -> None:
    limits = {
        "TFQUIZ_ANSWER_LIMIT_PER_LEARNER": "100000",
        "TFQUIZ_ANSWER_LIMIT_PER_ADDRESS": "100000",
    }
    process, url = start_server(tmp_path, env={**database_env(), **limits})
    statuses: list[int] = []
    bodies: list[str] = []
    deadline = time.monotonic() + LOAD_SECONDS

    def submit(client_no: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            n = 0
            while time.monotonic() < deadline:
                response = client.post(
                    "/api/questions/3/answers",
                    json={"learner": f"loaded-{client_no}", "text": f"No, int32 ({n})"},
                )
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    bodies.append(response.text[:200])
                n += 1

    try:
        with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
            list(pool.map(submit, range(LOAD_CLIENTS)))
    finally:
        process.terminate()
        process.wait()
    assert statuses and set(statuses) == {201}, set(statuses)
    assert bodies == []
    assert "database is locked" not in (tmp_path / "server.log").read_text()
