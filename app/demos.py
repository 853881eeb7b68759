"""Run question demos live or serve their cached results, shared by every web process."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import Database
from app.demo_pool import DemoPool, OnOutput, RunOutcome
from app.expectations import check_expectations
from app.models import DemoRun, utc_now
from app.schema import Demo, Question

CACHEABLE = ("ok", "error")  # deterministic outcomes; a timeout or crash is worth retrying


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
    payload = json.dumps({"code": demo.code, "devices": demo.devices}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


@lru_cache(maxsize=1)
def installed_tf_version() -> str:
    """Read TensorFlow's version from its metadata, without importing it."""
    try:
        return version("tensorflow")
    except PackageNotFoundError:
        return "not installed"


def find_cached(
    session: Session, question: Question, demo: Demo, device_kind: str | None
) -> DemoResult | None:
    """Return the newest cached run for this TF version (and device kind, when known)."""
    query = select(DemoRun).where(
        DemoRun.snippet_hash == snippet_hash(demo),
        DemoRun.tf_version == installed_tf_version(),
    )
    if device_kind is not None:
        query = query.where(DemoRun.device_kind == device_kind)
    row = session.scalars(query.order_by(DemoRun.created_at.desc()).limit(1)).first()
    if row is None:
        return None
    outcome = RunOutcome.model_validate(row.result)
    return _result(question, demo, outcome, cached=True, ran_at=row.created_at)


def run_live(
    pool: DemoPool,
    database: Database,
    question: Question,
    demo: Demo,
    on_output: OnOutput | None = None,
) -> DemoResult:
    """Run a demo on a worker now; keep a deterministic outcome in the cache."""
    outcome = pool.run(demo.code, demo.devices, on_output)
    ran_at = utc_now()
    if outcome.status in CACHEABLE and outcome.tf_version and outcome.device_kind:
        with database.writing() as session:
            _store(session, demo, outcome, ran_at)
    return _result(question, demo, outcome, cached=False, ran_at=ran_at)


def _store(session: Session, demo: Demo, outcome: RunOutcome, ran_at: datetime) -> None:
    key = snippet_hash(demo)
    session.execute(
        delete(DemoRun).where(
            DemoRun.snippet_hash == key,
            DemoRun.tf_version == outcome.tf_version,
            DemoRun.device_kind == outcome.device_kind,
        )
    )
    session.add(
        DemoRun(
            snippet_hash=key,
            tf_version=outcome.tf_version,
            device_kind=outcome.device_kind,
            result=outcome.model_dump(mode="json"),
            created_at=ran_at,
        )
    )


def _result(
    question: Question, demo: Demo, outcome: RunOutcome, cached: bool, ran_at: datetime
) -> DemoResult:
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
