"""Health and readiness probes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def test_healthz_answers_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.headers["cache-control"] == "no-store"


def test_readyz_checks_database_and_questions(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["questions"] == {"ok": True, "loaded": 11, "invalid_files": 0}
    assert "turned off" in body["checks"]["demos"]["last_error"]


def test_readyz_fails_without_questions(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(update={"questions_dir": tmp_path / "none"})
    with TestClient(create_app(empty)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["questions"]["ok"] is False


def test_readyz_shows_the_demo_queue(settings: Settings) -> None:
    chosen = settings.model_copy(update={"demo_queue_size": 50})
    with TestClient(create_app(chosen)) as client:
        demos = client.get("/readyz").json()["checks"]["demos"]
    assert demos["workers"] == chosen.demo_workers and demos["queue_size"] == 50
    assert demos["waiting"] == 0
    assert demos["wait"] == {"p50_ms": None, "p95_ms": None}  # no run has waited yet
