"""Prometheus metrics: what /metrics counts, who may read it, and sums over worker processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import (
    GOOD_Q3,
    answer_api,
    answer_page,
    csrf,
    make_instructor,
    sign_in,
    start,
)
from tests.server import free_port, wait_until_up

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client on loopback, where /metrics answers without a token."""
    with TestClient(app, client=LOOPBACK) as test_client:
        yield test_client


def sample(text: str, name: str, **labels: str) -> float:
    """Return the value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and found == labels:
            return float(value)
    return 0.0


def scrape(client: TestClient) -> str:
    """Read /metrics, checking it is Prometheus' text format and never cached."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert response.headers["cache-control"] == "no-store"
    return response.text


def test_requests_are_counted_by_route_template_method_and_status(client: TestClient) -> None:
    for number in (3, 4, 4):
        assert client.get(f"/questions/{number}").status_code == 200
    assert client.get("/no/such/page/here").status_code == 404
    text = scrape(client)
    total = "tfquiz_http_requests_total"
    assert sample(text, total, route="/questions/{n}", method="GET", status="200") == 3
    assert sample(text, total, route="<unmatched>", method="GET", status="404") == 1
    assert "/questions/4" not in text and "/no/such" not in text  # no series per URL
    latency = "tfquiz_http_request_duration_seconds_count"
    assert sample(text, latency, route="/questions/{n}", method="GET") == 3


def test_answers_from_the_api_and_the_form_are_counted(client: TestClient) -> None:
    assert answer_api(client, 3, GOOD_Q3).status_code == 201
    assert answer_api(client, 3, "").status_code == 422  # refused: not recorded
    start(client, "Grace")
    assert answer_page(client, 3, GOOD_Q3).status_code == 303
    text = scrape(client)
    assert sample(text, "tfquiz_answers_recorded_total", channel="api") == 1
    assert sample(text, "tfquiz_answers_recorded_total", channel="form") == 1


def test_a_replayed_answer_is_not_counted_again(client: TestClient) -> None:
    start(client, "Grace")
    token = csrf(client, "/questions/3")
    form = {"answer": GOOD_Q3, "idempotency_key": "same-key-twice", "csrf_token": token}
    first = client.post("/questions/3", data=form, follow_redirects=False)
    again = client.post("/questions/3", data=form, follow_redirects=False)
    assert first.headers["location"] == again.headers["location"]  # the same attempt
    assert sample(scrape(client), "tfquiz_answers_recorded_total", channel="form") == 1


def test_instructor_sign_ins_are_counted_by_outcome(client: TestClient, app: object) -> None:
    make_instructor(app)
    assert sign_in(client, password="not the password").status_code == 401
    assert sign_in(client).status_code == 303
    text = scrape(client)
    assert sample(text, "tfquiz_instructor_logins_total", outcome="failure") == 1
    assert sample(text, "tfquiz_instructor_logins_total", outcome="success") == 1


def test_demo_runs_and_the_pool_are_reported(client: TestClient) -> None:
    # No workers in this app: the run is refused as unavailable, and counted so.
    assert client.post("/api/questions/3/demos/1/run").status_code == 503
    text = scrape(client)
    assert sample(text, "tfquiz_demo_runs_total", status="unavailable") == 1
    assert sample(text, "tfquiz_demo_queue_length") == 0
    for state in ("idle", "busy", "starting", "spares", "fresh"):
        assert f'tfquiz_demo_workers{{state="{state}"}} 0.0' in text
    assert "tfquiz_demo_worker_restarts_total 0.0" in text


def test_metrics_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics": False}))) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/healthz").status_code == 200


def test_a_metrics_token_is_required_when_configured(settings: Settings) -> None:
    token = "scrape-token-0123456789"
    app = create_app(settings.model_copy(update={"metrics_token": token}))
    # Not on loopback: with a token set, the token is what lets a scraper in, from anywhere.
    with TestClient(app, client=("203.0.113.7", 40000)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in refused.json()["detail"]
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and "tfquiz_http_requests_total" in right.text


def test_without_a_token_only_this_machine_may_read_the_metrics(app: FastAPI) -> None:
    with TestClient(app, client=("203.0.113.7", 40000)) as elsewhere:
        refused = elsewhere.get("/metrics")
        assert refused.status_code == 403
        assert "TFQUIZ_METRICS_TOKEN" in refused.json()["detail"]
        assert "tfquiz_http_requests_total" not in refused.text
    with TestClient(app, client=("::1", 40000)) as local:
        assert local.get("/metrics").status_code == 200
        # A proxy on this machine connects over loopback: what it forwards is from outside.
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            proxied = local.get("/metrics", headers={header: "198.51.100.4"})
            assert proxied.status_code == 403, header


@pytest.mark.slow
def test_several_workers_report_the_sum_of_every_process(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    port = free_port()
    env = {
        **os.environ,
        "TFQUIZ_DATA_DIR": str(tmp_path),
        "TFQUIZ_SECRET_KEY": "metrics-test-secret-key-0123456789abcdef",
        "TFQUIZ_DEMO_WORKERS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"left over from an earlier run")
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)

        def probe(_: int) -> int:
            # A new connection each time, so that both processes take some of them.
            return httpx.get(url + "/healthz", headers={"Connection": "close"}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(probe, range(200))) == {200}
        counters = {p.name for p in shared.glob("counter_*.db")}
        assert "counter_999999.db" not in counters  # emptied at start
        assert len(counters) >= 2, f"only one process served: {counters}\n{log.read_text()}"
        for _ in range(6):  # whichever process answers, the figures are the sum
            text = httpx.get(url + "/metrics", headers={"Connection": "close"}).text
            healthz = sample(
                text, "tfquiz_http_requests_total", route="/healthz", method="GET", status="200"
            )
            assert healthz == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, log.read_text()  # SIGTERM: a clean stop
