"""Run question demos live or serve their cached results, shared by every web process."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.demos.expectations import check_expectations
from app.demos.protocol import FINISHED, DemoRunner, OnOutput, OnQueued, RunOutcome, checked
from app.models import DemoRun, utc_now
from app.ratelimit import Bucket, check
from app.schema import Demo, Question

logger = logging.getLogger("tfquiz.demos")


class DemoResult(RunOutcome):
    """A demo's outcome with where it comes from and whether its claims held."""

    question: int
    demo: int
    title: str
    cached: bool
    ran_at: datetime
    expectations_met: bool
    failures: list[str]


def snippet_hash(demo: Demo) -> str:
    """Hash what determines a demo's output: its code and the devices it asks for."""
    return _hash_snippet(demo.code, tuple(demo.devices))


@lru_cache(maxsize=4096)
def _hash_snippet(code: str, devices: tuple[str, ...]) -> str:
    payload = json.dumps({"code": code, "devices": list(devices)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


@lru_cache(maxsize=1)
def installed_tf_version() -> str:
    """Read TensorFlow's version from its metadata, without importing it."""
    try:
        return version("tensorflow")
    except PackageNotFoundError:
        return "not installed"


# Built once: pages look up every demo of a question on each view, and composing the
# statement costs more than running it. Newest first, so the first row per hash wins.
_CACHED_ANY_DEVICE = (
    select(DemoRun.snippet_hash, DemoRun.result, DemoRun.created_at)
    .where(
        DemoRun.snippet_hash.in_(bindparam("hashes", expanding=True)),
        DemoRun.tf_version == bindparam("tf_version"),
    )
    .order_by(DemoRun.created_at.desc())
)
_CACHED_ON_DEVICE = _CACHED_ANY_DEVICE.where(DemoRun.device_kind == bindparam("device_kind"))


def find_cached(
    session: Session, question: Question, demo: Demo, device_kind: str | None
) -> DemoResult | None:
    """Return the newest cached run for this TF version (and device kind, when known)."""
    return find_cached_all(session, question, [demo], device_kind)[demo.index]


def find_cached_all(
    session: Session, question: Question, demos: Sequence[Demo], device_kind: str | None
) -> dict[int, DemoResult | None]:
    """Return the newest cached run of each demo by its index, in one query."""
    by_hash = {snippet_hash(demo): demo for demo in demos}
    found: dict[int, DemoResult | None] = dict.fromkeys((demo.index for demo in demos), None)
    if not by_hash:
        return found
    parameters = {"hashes": list(by_hash), "tf_version": installed_tf_version()}
    statement = _CACHED_ANY_DEVICE
    if device_kind is not None:
        statement, parameters["device_kind"] = _CACHED_ON_DEVICE, device_kind
    rows = session.connection().execute(statement, parameters)  # Core: no ORM work needed
    for key, stored, ran_at in rows:
        demo = by_hash[key]
        if found[demo.index] is not None:
            continue
        # A row that breaks the bounds (forged, or written by an older version) is passed
        # over as if it were not there: the page shows an older row or "not run yet".
        if (outcome := checked(stored)) is None:
            logger.warning(
                "ignored an invalid cached run of question %d demo %d", question.number, demo.index
            )
            continue
        found[demo.index] = demo_result(question, demo, outcome, cached=True, ran_at=ran_at)
    return found


TOO_MANY = "Too many live demo runs; try again in {seconds} s (cached results stay open)."


def count_live_run(database: Database, settings: Settings, browser: str, address: str) -> None:
    """Count a live run per browser session and per address; raise RateLimited when over.

    Live runs are the one costly thing anyone may ask for without signing in, so each
    browser and each address gets a share of the workers per minute.
    """
    by_browser = Bucket("demo-session", browser, settings.demo_limit_per_session)
    by_address = Bucket("demo-address", address, settings.demo_limit_per_address)
    with database.writing() as session:
        check(session, by_browser, by_address, refusal=TOO_MANY)


def run_live(
    pool: DemoRunner,
    database: Database,
    question: Question,
    demo: Demo,
    on_output: OnOutput | None = None,
    client: str = "",
    on_queued: OnQueued | None = None,
) -> DemoResult:
    """Run a demo on a worker in its client's turn; keep a deterministic outcome in the cache."""
    outcome = pool.run(demo.code, demo.devices, on_output, client, on_queued)
    ran_at = utc_now()
    # Only a finished run is deterministic: a timeout or crash is worth retrying. One the
    # cache could not read back is not kept, nor shown.
    if (valid := checked(outcome)) is None:
        logger.warning(
            "a worker reported an invalid result for question %d demo %d",
            question.number,
            demo.index,
        )
        outcome = RunOutcome(status="crashed", message="The worker reported an invalid result.")
    elif outcome.status in FINISHED and outcome.tf_version and outcome.device_kind:
        with database.writing() as session:
            _store(session, demo, valid, ran_at)
    return demo_result(question, demo, outcome, cached=False, ran_at=ran_at)


_FORGET_RUN = delete(DemoRun).where(
    DemoRun.snippet_hash == bindparam("snippet_hash"),
    DemoRun.tf_version == bindparam("tf_version"),
    DemoRun.device_kind == bindparam("device_kind"),
)
_KEEP_RUN = insert(DemoRun)


def _store(session: Session, demo: Demo, outcome: RunOutcome, ran_at: datetime) -> None:
    """Replace the cached run of this snippet on this TF version and kind of device."""
    key = {
        "snippet_hash": snippet_hash(demo),
        "tf_version": outcome.tf_version,
        "device_kind": outcome.device_kind,
    }
    connection = session.connection()
    connection.execute(_FORGET_RUN, key)
    connection.execute(
        _KEEP_RUN, [{**key, "result": outcome.model_dump(mode="json"), "created_at": ran_at}]
    )


def demo_result(
    question: Question, demo: Demo, outcome: RunOutcome, cached: bool, ran_at: datetime
) -> DemoResult:
    """Say where an outcome comes from and whether the demo's claims held."""
    failures = check_expectations(outcome, demo.expect)
    return DemoResult(
        **outcome.model_dump(),
        question=question.number,
        demo=demo.index,
        title=demo.title,
        cached=cached,
        ran_at=ran_at,
        expectations_met=not failures,
        failures=failures,
    )
