"""Logs: readable lines by default, one JSON object per line on request, and no secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.logs import JsonFormatter, RequestContext, logging_config
from app.main import create_app
from tests.factories import GOOD_Q3
from tests.server import running_server

SECRET = "logging-test-secret-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def request_context(caplog: pytest.LogCaptureFixture) -> None:
    """Give captured records their request's fields, as the configured handler does."""
    caplog.handler.addFilter(RequestContext())


def json_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Format the captured records as the JSON log would, and parse them back."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def failing_app(settings: Settings) -> FastAPI:
    """The app with one more route that fails, to produce an error event."""
    app = create_app(settings)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("the database went away")

    return app


def test_each_request_gets_one_access_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tfquiz.access")
    client.get("/questions/3?token=do-not-log-me")
    (access,) = [r for r in caplog.records if r.name == "tfquiz.access"]
    assert access.getMessage().startswith('testclient "GET /questions/3" 200 ')
    assert access.getMessage().endswith(" ms")
    (event,) = [e for e in json_events(caplog) if e["logger"] == "tfquiz.access"]
    assert event["method"] == "GET" and event["path"] == "/questions/3"
    assert event["status"] == 200 and event["client"] == "testclient"
    assert isinstance(event["duration_ms"], float) and event["duration_ms"] >= 0
    assert event["level"] == "INFO" and event["timestamp"].endswith("Z")
    assert "do-not-log-me" not in caplog.text


def test_an_error_event_names_its_request_and_carries_the_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(failing_app(settings), raise_server_exceptions=False) as client:
        client.cookies.set("tfquiz_session", "cookie-value-xyz")
        response = client.get("/api/boom")
    assert response.status_code == 500
    errors = [e for e in json_events(caplog) if e["level"] == "ERROR"]
    assert errors, caplog.text
    error = errors[0]
    assert error["logger"] == "tfquiz" and "GET /api/boom" in error["message"]
    assert error["method"] == "GET" and error["path"] == "/api/boom"
    assert "RuntimeError: the database went away" in error["error"]
    access = [e for e in json_events(caplog) if e["logger"] == "tfquiz.access"]
    assert [(e["path"], e["status"]) for e in access] == [("/api/boom", 500)]
    assert "cookie-value-xyz" not in json.dumps(json_events(caplog))


def test_access_lines_can_be_turned_off(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tfquiz.access")
    with TestClient(create_app(settings.model_copy(update={"access_log": False}))) as client:
        assert client.get("/healthz").status_code == 200
    assert not [r for r in caplog.records if r.name == "tfquiz.access"]


def test_the_logging_config_routes_uvicorn_through_one_formatter() -> None:
    config = logging_config("json", "warning")
    assert config["formatters"]["default"] == {"()": JsonFormatter}
    assert config["loggers"]["uvicorn.access"]["propagate"] is False  # replaced by ours
    assert config["loggers"]["tfquiz"]["level"] == "WARNING"
    text = logging_config("text")
    assert "%(message)s" in text["formatters"]["default"]["format"]
    assert text["root"]["level"] == "WARNING" and text["loggers"]["tfquiz"]["level"] == "INFO"


@pytest.mark.slow
def test_a_json_server_writes_only_json_lines_without_secrets(tmp_path: Path) -> None:
    env = {"TFQUIZ_LOG_FORMAT": "json", "TFQUIZ_SECRET_KEY": SECRET}
    with running_server(tmp_path, env=env) as url, httpx.Client(base_url=url) as client:
        body = {"learner": "Body Person", "text": GOOD_Q3 + " body-value-xyz"}
        assert client.post("/api/questions/3/answers", json=body).status_code == 201
        assert client.get("/questions/3?token=query-value-xyz").status_code == 200
        forged = {"Cookie": "tfquiz_session=cookie-value-xyz"}  # refused, and never logged
        assert (
            httpx.post(url + "/api/questions/3/answers", json=body, headers=forged).status_code
            == 401
        )
    lines = (tmp_path / "server.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"timestamp", "level", "logger", "message"} <= set(events[0])
    loggers = {event["logger"] for event in events}
    assert {"tfquiz", "uvicorn.error", "tfquiz.access"} <= loggers  # setup link, start-up
    access = {(e["method"], e["path"], e["status"]) for e in events if "status" in e}
    assert ("POST", "/api/questions/3/answers", 201) in access
    assert ("POST", "/api/questions/3/answers", 401) in access
    assert ("GET", "/questions/3", 200) in access
    text = "\n".join(lines)
    for secret in (SECRET, "cookie-value-xyz", "query-value-xyz", "body-value-xyz"):
        assert secret not in text
