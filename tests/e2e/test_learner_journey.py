"""Journeys in a real browser: a learner answers all eleven, runs a demo and claims a point;
an instructor overrides a score, accepts the claim and downloads the gradebook; the learner
then sees both."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.config import PROJECT_ROOT
from tests.e2e.conftest import (
    SHOTS,
    OpenPage,
    Site,
    Watched,
    continue_as_learner,
    devset_answer,
    sign_in_as_instructor,
    start_as_learner,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CLAIMED_QUESTION = 1  # answered with the development set's "good" answer, which misses points
OVERRIDDEN_QUESTION = 2
OVERRIDE_POINTS = 8.0
OVERRIDE_COMMENT = "Strict dtypes are named but not explained: 8 points."
QUESTION = re.compile(r"Q([0-9]+) ")  # a gradebook column such as "Q3 Title (10)"
JUSTIFICATION = "My second sentence says graphs let TensorFlow optimise and deploy the model."


def answer(page: Page, url: str, number: int, text: str) -> str:
    """Answer a question through its form; return the result page's address."""
    page.goto(f"{url}/questions/{number}")
    page.get_by_label("Your answer").fill(text)
    page.get_by_role("button", name="Submit and grade").click()
    expect(page.get_by_role("heading", name="Your score:")).to_be_visible()
    expect(page.get_by_role("heading", name="Reference answer")).to_be_visible()
    return page.url


def claim_first_missed_point(page: Page) -> str:
    """Claim the first missed key point on a result page; return its text."""
    missed = page.locator(".key-points li.missed").first
    point = missed.inner_text().split("\n")[0].removeprefix("✗").strip()
    missed.get_by_text("My answer does make this point").click()
    missed.get_by_label("Where does your answer say it?").fill(JUSTIFICATION)
    missed.get_by_role("button", name="Send claim").click()
    expect(page.locator(".flash")).to_have_text("Claim sent: your instructor will review it.")
    expect(page.locator(".claim-pending")).to_contain_text(JUSTIFICATION)
    return point


def points_in(text: str) -> float:
    """Read the first number out of a text such as '7.5 / 10 points'."""
    found = re.search(r"[0-9]+(?:\.[0-9]+)?", text)
    assert found, text
    return float(found[0])


def test_a_learner_claims_a_point_and_an_instructor_reviews_it(
    open_page: OpenPage, site: Site
) -> None:
    learner = open_page()
    page = learner.page
    page.goto(site.url + "/")
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_text("0 of 11 questions answered")).to_be_visible()

    results = {}
    for number in range(1, 12):
        label = "good" if number == CLAIMED_QUESTION else "excellent"
        results[number] = answer(page, site.url, number, devset_answer(number, label))
        if number == CLAIMED_QUESTION:
            claimed = claim_first_missed_point(page)

    page.goto(f"{site.url}/questions/3")
    demo = page.locator("#demo-1")
    demo.get_by_role("button", name="Run").click()
    expect(demo.locator(".demo-meta")).to_contain_text("TensorFlow 2.", timeout=60_000)
    expect(demo.locator("pre.out").first).to_contain_text("dtype=int64")
    expect(demo.locator(".dtype-int32")).to_be_visible()
    expect(demo.locator(".demo-status")).to_contain_text("Done in")
    demo.screenshot(path=str(SHOTS / "demo-desktop.png"), animations="disabled")

    page.goto(f"{site.url}/summary")
    expect(page.get_by_text("11 of 11 questions answered")).to_be_visible()

    instructor = open_page(accept_downloads=True)
    gradebook = review_as_instructor(instructor, site, claimed)

    page.goto(results[OVERRIDDEN_QUESTION])
    score = page.get_by_role("heading", name="Your score:")
    expect(score).to_contain_text("80%")
    assert points_in(score.inner_text().split("%")[1]) == OVERRIDE_POINTS
    review = page.get_by_role("region", name="Instructor review")
    expect(review).to_contain_text("Score override")
    expect(review.locator("blockquote.comment")).to_have_text(OVERRIDE_COMMENT)
    page.goto(results[CLAIMED_QUESTION])
    expect(page.locator(".claim-accepted")).to_contain_text("Claim accepted on")
    expect(page.get_by_text("Reviewed by your instructor")).to_be_visible()
    counted = points_in(page.get_by_role("heading", name="Your score:").inner_text().split("%")[1])
    assert counted == gradebook[CLAIMED_QUESTION]

    page.goto(f"{site.url}/summary")
    total = page.locator("tfoot td.num").inner_text()
    assert points_in(total) == gradebook[0]
    assert learner.console_errors == [] and learner.dialogs == []
    assert instructor.console_errors == [] and instructor.dialogs == []


def review_as_instructor(instructor: Watched, site: Site, claimed: str) -> dict[int, float]:
    """Override a score, accept the claim and download the gradebook; return Grace's row.

    The row maps each question number to its counted points, and 0 to the total.
    """
    page = instructor.page
    password = site.add_instructor("teacher@example.org")
    sign_in_as_instructor(page, site.url, "teacher@example.org", password)
    expect(page.get_by_role("heading", name="Class dashboard")).to_be_visible()

    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", name="Grace Hopper", exact=True)).to_be_visible()
    group = page.get_by_role("region", name=re.compile(f"^Question {OVERRIDDEN_QUESTION}:"))
    group.get_by_role("link", name=re.compile("^Review attempt")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Grace Hopper on question {OVERRIDDEN_QUESTION}"
    )
    page.get_by_label("Counted score, in points").fill(f"{OVERRIDE_POINTS:g}")
    page.get_by_label("Comment").fill(OVERRIDE_COMMENT)
    page.get_by_role("button", name="Set score").click()
    expect(page.locator(".flash")).to_have_text(f"Score set to {OVERRIDE_POINTS:g} points.")
    expect(page.locator("table.history")).to_contain_text(OVERRIDE_COMMENT)

    page.get_by_role("link", name="Claims", exact=True).click()
    card = page.locator("article.claim").filter(has_text="Grace Hopper")
    expect(card).to_contain_text(claimed)
    expect(card).to_contain_text(JUSTIFICATION)
    worth = points_in(card.get_by_text("worth").inner_text())
    now = points_in(card.get_by_text("Counted score now").inner_text())
    card.get_by_label("Note to the learner").fill("Agreed, well spotted.")
    card.get_by_role("button", name="Accept").click()
    expect(page.locator(".flash")).to_have_text("Claim accepted.")
    expect(page.get_by_text("No claim is waiting.")).to_be_visible()
    expect(page.locator("table.claims-decided")).to_contain_text("accepted")

    page.get_by_role("link", name="Dashboard").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the scores (CSV)").click()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert download.value.suggested_filename == f"tfquiz-scores-{today}.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = {row["Learner"]: row for row in csv.DictReader(io.StringIO(text))}
    row = rows["Grace Hopper"]
    assert row["Email"] == "grace@example.org"
    scores = {int(m[1]): float(value) for key, value in row.items() if (m := QUESTION.match(key))}
    assert len(scores) == 11
    assert scores[OVERRIDDEN_QUESTION] == OVERRIDE_POINTS
    assert scores[CLAIMED_QUESTION] == pytest.approx(min(10.0, now + worth))
    total = next(float(value) for key, value in row.items() if key.startswith("Total"))
    assert total == pytest.approx(sum(scores.values()))
    return {**scores, 0: total}


def test_a_returning_learner_sees_their_progress(open_page: OpenPage, site: Site) -> None:
    first = open_page().page
    code = start_as_learner(first, site.url, "Margaret Hamilton", "margaret@example.org")
    answer(first, site.url, 4, devset_answer(4))

    again = open_page().page  # another device: the name and the code, not the email
    continue_as_learner(again, site.url, "margaret hamilton", code)
    expect(again.get_by_text("Welcome back, Margaret Hamilton.")).to_be_visible()
    expect(again.get_by_text("1 of 11 questions answered")).to_be_visible()
    expect(again.locator(".question-row .badge")).to_have_count(1)


def test_script_in_an_answer_shows_as_text_and_runs_nothing(watched: Watched, site: Site) -> None:
    page = watched.page
    start_as_learner(page, site.url, "Mallory")
    hostile = "<script>alert('x')</script> No, int32 <img src=x onerror=\"alert('y')\">"
    answer(page, site.url, 3, hostile)
    expect(page.locator("blockquote.answer")).to_contain_text("<script>alert('x')</script>")
    expect(page.locator("blockquote.answer img")).to_have_count(0)
    assert watched.dialogs == [] and watched.console_errors == []


def test_screenshots_are_referenced_by_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for shot in sorted(Path(SHOTS).glob("*.png")):
        assert f"docs/screenshots/{shot.name}" in readme, shot.name
    for name in re.findall(r"docs/screenshots/([^)\s]+)", readme):
        assert (SHOTS / name).is_file(), f"the README shows {name}, which no test takes"
