"""A learner's whole journey in a real browser: start, answer all eleven, demos, summary."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from app.config import PROJECT_ROOT
from tests.e2e.conftest import Watched, audit

pytestmark = [pytest.mark.slow, pytest.mark.browser]
DEVSET = PROJECT_ROOT / "tests" / "grading" / "devset"
SHOTS = PROJECT_ROOT / "docs" / "screenshots"


def excellent_answer(number: int) -> str:
    """Return the development set's excellent answer to a question."""
    items = yaml.safe_load((DEVSET / f"q{number:02d}.yaml").read_text(encoding="utf-8"))
    return str(next(item["text"] for item in items if item["label"] == "excellent"))


def shoot(watched: Watched, name: str) -> None:
    """Save a full-page screenshot for the README."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    watched.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_new_learner_answers_everything_and_runs_a_demo(
    watched: Watched, live_server: str
) -> None:
    page = watched.page
    page.goto(live_server + "/")
    shoot(watched, "start-desktop")
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.get_by_text("0 of 11 questions answered")).to_be_visible()
    assert audit(page) == []

    for number in range(1, 12):
        page.goto(f"{live_server}/questions/{number}")
        page.get_by_label("Your answer").fill(excellent_answer(number))
        page.get_by_role("button", name="Submit and grade").click()
        expect(page.get_by_role("heading", name="Your score:")).to_be_visible()
        expect(page.get_by_role("heading", name="Reference answer")).to_be_visible()
        if number == 3:
            assert audit(page) == []
            shoot(watched, "result-desktop")

    page.goto(f"{live_server}/questions/3")
    demo = page.locator("#demo-1")
    demo.get_by_role("button", name="Run").click()
    expect(demo.locator(".demo-meta")).to_contain_text("TensorFlow 2.", timeout=60_000)
    expect(demo.locator("pre.out").first).to_contain_text("dtype=int64")
    expect(demo.locator(".dtype-int32")).to_be_visible()
    shoot(watched, "demo-desktop")

    page.goto(f"{live_server}/summary")
    expect(page.get_by_text("11 of 11 questions answered")).to_be_visible()
    assert audit(page) == []
    shoot(watched, "summary-desktop")
    assert watched.console_errors == [] and watched.dialogs == []


def test_a_returning_learner_sees_their_progress(watched: Watched, live_server: str) -> None:
    page = watched.page
    page.goto(live_server + "/")
    page.get_by_label("Your name").fill("grace hopper")
    page.get_by_label("Email").fill("GRACE@example.org")
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.get_by_text("Welcome back, Grace Hopper.")).to_be_visible()
    expect(page.locator(".question-row .badge")).to_have_count(11)


def test_script_in_an_answer_shows_as_text_and_runs_nothing(
    watched: Watched, live_server: str
) -> None:
    page = watched.page
    page.goto(live_server + "/")
    page.get_by_label("Your name").fill("Mallory")
    page.get_by_role("button", name="Start the quiz").click()
    hostile = "<script>alert('x')</script> No, int32 <img src=x onerror=\"alert('y')\">"
    page.goto(f"{live_server}/questions/3")
    page.get_by_label("Your answer").fill(hostile)
    page.get_by_role("button", name="Submit and grade").click()
    expect(page.locator("blockquote.answer")).to_contain_text("<script>alert('x')</script>")
    expect(page.locator("blockquote.answer img")).to_have_count(0)
    assert watched.dialogs == [] and watched.console_errors == []


def test_pages_fit_a_phone(browser: object, live_server: str) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 360, "height": 740}, is_mobile=True, bypass_csp=True
    )
    page = context.new_page()
    try:
        for path, name in (("/", "start-phone"), ("/questions/3", "question-phone")):
            page.goto(live_server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} scrolls sideways ({width}px)"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


def test_screenshots_are_referenced_by_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for shot in sorted(Path(SHOTS).glob("*.png")):
        assert f"docs/screenshots/{shot.name}" in readme, shot.name
