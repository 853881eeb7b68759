"""Every page, filled with a small class's data: axe-core in light and dark, a 360 px phone,
and the README's screenshots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    OpenPage,
    Site,
    audit,
    devset_answer,
    shoot,
    sign_in_as_instructor,
    start_as_learner,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SITE_ENV = {"TFQUIZ_PLAYGROUND": "1"}  # its page is one of those audited
# A class that answered through the JSON API: who, with which kind of answer, skipping some.
CLASS = {
    "Alan Turing": ("excellent", "good"),
    "Katherine Johnson": ("good", "excellent"),
    "Edsger Dijkstra": ("partial", "good"),
    "Barbara Liskov": ("misconception", "partial"),
    "Ken Thompson": ("wrong", "partial"),
}
# (who looks, path): who is None, "learner" (Ada Lovelace) or "instructor"; the path may
# name {result}, {attempt} and {learner}, which the seeded data fills in.
PAGES: dict[str, tuple[str | None, str]] = {
    "start": (None, "/"),
    "continue": (None, "/continue"),
    "home": ("learner", "/"),
    "question": ("learner", "/questions/3"),
    "result": ("learner", "{result}"),
    "summary": ("learner", "/summary"),
    "present": (None, "/present"),
    "present-notes": ("instructor", "/present/3/1"),  # with speaker notes and the QR code
    "follow": (None, "/follow"),
    "login": (None, "/instructor/login"),
    "setup": (None, "/instructor/setup?token=expired"),
    "dashboard": ("instructor", "/instructor/"),
    "question-analysis": ("instructor", "/instructor/questions/3"),
    "learner": ("instructor", "/instructor/learners/{learner}"),
    "attempt": ("instructor", "/instructor/attempts/{attempt}"),
    "claims": ("instructor", "/instructor/claims"),
    "review": ("instructor", "/instructor/review"),
    "agreement": ("instructor", "/instructor/agreement"),
    "groups": ("instructor", "/instructor/questions/3/groups"),
    "regrade": ("instructor", "/instructor/regrade"),
    "settings": ("instructor", "/instructor/settings"),
    "class": ("instructor", "/instructor/class"),
    "class-code": ("instructor", "/instructor/class/code"),
    "roster": ("instructor", "/instructor/class/roster"),
    "merge": ("instructor", "/instructor/class/merge"),
    "lti": ("instructor", "/instructor/lti"),
    "password": ("instructor", "/instructor/password"),
    "playground": ("instructor", "/instructor/playground/3/1"),
    "error": (None, "/questions/99"),
}
STATUS = {"error": 404, "setup": 403}
FRENCH_Q3 = "Non : tf.range(10) donne des entiers int32, alors que np.arange(10) donne des int64."
# The innermost elements that reach past the right edge, outside any scrolling box.
WIDE_ELEMENTS = """(edge) => {
  const wide = (el) => el.getBoundingClientRect().right > edge + 0.5;
  const scrolls = (el) => getComputedStyle(el).overflowX !== "visible";
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (scrolls(up) && !wide(up)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  return [...document.body.querySelectorAll("*")]
    .filter((el) => wide(el) && !clipped(el) && ![...el.children].some(wide))
    .slice(0, 8).map((el) => name(el) + " " + Math.round(el.getBoundingClientRect().right) + "px");
}"""
DESKTOP_SHOTS = (
    "start",
    "home",
    "result",
    "summary",
    "dashboard",
    "learner",
    "attempt",
    "claims",
    "review",
    "agreement",
    "present-notes",
)
PHONE_SHOTS = ("start", "question", "result", "summary", "dashboard", "attempt", "follow")
DARK_SHOTS = ("result", "dashboard")


@dataclass(frozen=True)
class Seeded:
    """The server with its class, and what a learner's and an instructor's browser hold."""

    site: Site
    states: dict[str, Any]
    ids: dict[str, str]

    def url(self, name: str) -> str:
        """Return the address of one of PAGES."""
        return self.site.url + PAGES[name][1].format(**self.ids)

    def options(self, name: str, **more: Any) -> dict[str, Any]:
        """Return the context options for looking at a page as the right person."""
        who = PAGES[name][0]
        return {**({"storage_state": self.states[who]} if who else {}), **more}


def answer_as(client: httpx.Client, learner: str, number: int, labels: tuple[str, ...]) -> None:
    """Answer through the JSON API, with the first of the labels the development set has."""
    body = {"learner": learner, "text": devset_answer(number, *labels)}
    response = client.post(f"/api/questions/{number}/answers", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def seeded(browser: Browser, site: Site) -> Any:
    """Fill the server: a class via the API; Ada's claims and an override via the pages."""
    for index, (name, labels) in enumerate(CLASS.items()):
        with httpx.Client(base_url=site.url, timeout=30) as client:
            for number in range(1, 12):
                if (number + index) % 5:  # everyone skips a few questions
                    answer_as(client, name, number, labels)
    with httpx.Client(base_url=site.url, timeout=30) as client:
        # An answer in French: provisional, so the review queue has one to show.
        body = {"learner": "Marie Curie", "text": FRENCH_Q3}
        client.post("/api/questions/3/answers", json=body).raise_for_status()
    with httpx.Client(base_url=site.url, timeout=90) as client:
        demos = client.get("/api/questions/3").raise_for_status().json()["demos"]
        for demo in demos:  # cached outputs for the question, result and presenter pages
            client.post(f"/api/questions/3/demos/{demo['index']}/run").raise_for_status()

    learner = browser.new_context(viewport=DESKTOP)
    page = learner.new_page()
    start_as_learner(page, site.url, "Ada Lovelace", "ada@example.org")
    for number in (1, 2, 5):
        page.goto(f"{site.url}/questions/{number}")
        page.get_by_label("Your answer").fill(devset_answer(number))
        page.get_by_role("button", name="Submit and grade").click()
    page.goto(f"{site.url}/questions/3")
    page.get_by_label("Your answer").fill(devset_answer(3, "misconception"))
    page.get_by_role("button", name="Submit and grade").click()
    expect(page.get_by_role("heading", name="Your score:")).to_be_visible()
    result = page.url.removeprefix(site.url)
    attempt = result.rsplit("/", 1)[1]
    for point in page.locator(".key-points li.missed").all()[:2]:
        point.get_by_text("My answer does make this point").click()
        point.get_by_label("Where does your answer say it?").fill("The first sentence says so.")
        point.get_by_role("button", name="Send claim").click()
        expect(page.locator(".flash")).to_contain_text("Claim sent")
    page.goto(site.url + "/")  # shows, and so clears, the last message before saving the state
    learner_state = learner.storage_state()
    learner.close()

    teacher = browser.new_context(viewport=DESKTOP)
    page = teacher.new_page()
    password = site.add_instructor("teacher@example.org")
    sign_in_as_instructor(page, site.url, "teacher@example.org", password)
    page.get_by_role("link", name="Ada Lovelace").click()
    learner_id = page.url.rsplit("/", 1)[1]
    page.goto(f"{site.url}/instructor/attempts/{attempt}")
    page.get_by_label("Counted score, in points").fill("3")
    page.get_by_label("Comment").fill("The dtypes are right in your second paragraph: 3 points.")
    page.get_by_role("button", name="Set score").click()
    page.goto(f"{site.url}/instructor/claims")
    page.locator("article.claim").first.get_by_role("button", name="Accept").click()
    expect(page.locator(".flash")).to_have_text("Claim accepted.")
    # On the follow-along page, followers see this demo with its cached output.
    with page.expect_response(
        lambda response: response.url.endswith("/present/3/1/show") and response.ok
    ):
        page.goto(f"{site.url}/present/3/1")
    page.goto(f"{site.url}/instructor/")
    teacher_state = teacher.storage_state()
    teacher.close()

    ids = {"result": result, "attempt": attempt, "learner": learner_id}
    return Seeded(site, {"learner": learner_state, "instructor": teacher_state}, ids)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_passes_axe(open_page: OpenPage, seeded: Seeded, name: str, scheme: str) -> None:
    watched = open_page(**seeded.options(name, color_scheme=scheme))
    response = watched.page.goto(seeded.url(name))
    assert response is not None and response.status == STATUS.get(name, 200)
    background = watched.page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in re.findall(r"[0-9]+", background)[:3]]
    assert max(channels) < 80 if scheme == "dark" else min(channels) > 200, background
    assert audit(watched.page) == []
    # Chrome logs a page's own error status as a console error; anything else is a fault.
    expected = f"the server responded with a status of {STATUS.get(name)}"
    assert [e for e in watched.console_errors if expected not in e] == []


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_fits_a_360px_phone(open_page: OpenPage, seeded: Seeded, name: str) -> None:
    page = open_page(**seeded.options(name, viewport=PHONE, is_mobile=True, has_touch=True)).page
    page.goto(seeded.url(name))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (name, width, page.evaluate(WIDE_ELEMENTS, PHONE["width"]))
    assert audit(page) == []  # boxes that scroll at this width must be reachable by keyboard
    if name in PHONE_SHOTS:
        shoot(page, f"{name}-phone")


def test_screenshots_of_the_main_pages(open_page: OpenPage, seeded: Seeded) -> None:
    for scheme, names, suffix in (("light", DESKTOP_SHOTS, ""), ("dark", DARK_SHOTS, "-dark")):
        for name in names:
            page = open_page(**seeded.options(name, color_scheme=scheme)).page
            page.goto(seeded.url(name))
            shoot(page, f"{name}-desktop{suffix}")


def test_the_audit_reports_what_it_should(open_page: OpenPage, seeded: Seeded) -> None:
    page = open_page().page
    page.goto(seeded.url("start"))
    faults = '<p style="color: #d8d8d8">Faint text</p><input name="unlabelled">'
    page.locator("main").evaluate(
        "(main, html) => main.insertAdjacentHTML('beforeend', html)", faults
    )
    found = {violation.split()[0] for violation in audit(page)}
    assert found == {"color-contrast", "label"}
