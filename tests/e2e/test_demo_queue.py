"""A learner pressing Run while the class's runs fill the queue: the cached output stays
shown with the runs ahead, then the live result replaces it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OpenPage, Site
from tests.routes.test_class_burst import every_demo

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TARGET = "/api/questions/3/demos/1/run"
CLASSMATES = 20  # a new lane is served after every lane already waiting
# Each classmate runs its demo again as soon as it is done, so the queue is still full
# when the learner's click arrives, however slow the machine is to click.
ROUNDS = 3


def classmate_runs(url: str, paths: list[str]) -> list[int]:
    """Run each path from a browser session of its own, all at once; return the statuses."""
    browsers = [httpx.Client(base_url=url, timeout=300) for _ in paths]
    for browser in browsers:
        browser.get("/")  # a session cookie: each classmate has a lane of their own

    def rounds(browser: httpx.Client, path: str) -> list[int]:
        return [browser.post(path).status_code for _ in range(ROUNDS)]

    with ThreadPoolExecutor(len(paths)) as threads:
        statuses = [status for run in threads.map(rounds, browsers, paths) for status in run]
    for browser in browsers:
        browser.close()
    return statuses


def waiting(url: str) -> int:
    """Runs waiting for the worker now."""
    count: int = httpx.get(url + "/readyz").json()["checks"]["demos"]["waiting"]
    return count


def test_a_queued_run_shows_its_place_and_the_cached_output(
    open_page: OpenPage, site: Site
) -> None:
    page = open_page().page
    page.goto(f"{site.url}/questions/3?demos=open")
    demo = page.locator("#demo-1")
    demo.get_by_role("button", name="Run").click()  # warms the worker, leaves a cached run
    expect(demo.locator(".demo-status")).to_contain_text("Done in", timeout=240_000)
    page.reload()
    expect(demo.locator(".demo-meta")).to_contain_text("cached, ran")

    others = [path for path in every_demo() if path != TARGET][:CLASSMATES]
    with ThreadPoolExecutor(1) as background:
        classmates = background.submit(classmate_runs, site.url, others)
        for _ in range(3000):  # until most of the class's runs wait for the one worker
            if waiting(site.url) >= CLASSMATES * 2 // 3 or classmates.done():
                break
            threading.Event().wait(0.01)
        demo.get_by_role("button", name="Run").click()
        expect(demo.locator(".demo-status")).to_contain_text("ahead of yours")
        expect(demo.locator(".demo-status")).to_contain_text("showing the last cached output")
        expect(demo.locator(".demo-output.stale .demo-meta")).to_contain_text("cached, ran")
        expect(demo.locator(".demo-status")).to_contain_text("Done in", timeout=240_000)
        assert classmates.result() == [200] * (CLASSMATES * ROUNDS)
    expect(demo.locator(".demo-output")).not_to_have_class("demo-output stale")
    expect(demo.locator(".demo-meta")).not_to_contain_text("cached")
    expect(demo.locator("pre.out").first).to_contain_text("dtype=int64")
