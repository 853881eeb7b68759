"""A lesson from /present with the keyboard alone, and a phone following it live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, OpenPage, Site, sign_in_as_instructor
from tests.server import wait_for_demos

pytestmark = [pytest.mark.slow, pytest.mark.browser]
# One live run per browser session a minute: the presenter's second run is refused (429),
# a real failure on stage, after which the page must show the last good output.
SITE_ENV = {"TFQUIZ_DEMO_LIMIT_PER_SESSION": "1", "TFQUIZ_FOLLOW_POLL_S": "0.2"}
READY_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def teacher(site: Site) -> tuple[str, str]:
    """An instructor account, and a warm TensorFlow worker to run the demos on."""
    wait_for_demos(site.url, READY_TIMEOUT_S)
    email = "presenter@example.org"
    return email, site.add_instructor(email)


def presenter_page(open_page: OpenPage, site: Site, teacher: tuple[str, str]) -> Page:
    """Open the presenter view in a browser signed in as the instructor."""
    watched = open_page()
    sign_in_as_instructor(watched.page, site.url, *teacher)
    watched.page.goto(site.url + "/present")
    return watched.page


def test_a_lesson_runs_from_the_keyboard_alone(
    open_page: OpenPage, site: Site, teacher: tuple[str, str]
) -> None:
    page = presenter_page(open_page, site, teacher)
    heading = page.get_by_role("heading", level=2)
    expect(heading).to_have_text("Demo 1: NumPy-like tensors on whatever hardware is there")
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(r"/present/1/2$"))
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"/present/1/3$"))
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(r"/present/1/2$"))
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/present/2/1$"))
    page.keyboard.press("PageDown")
    expect(page).to_have_url(re.compile(r"/present/3/1$"))
    page.keyboard.press("ArrowUp")
    expect(page).to_have_url(re.compile(r"/present/2/1$"))
    page.keyboard.press("ArrowDown")
    expect(heading).to_have_text("Demo 1: Compare the two dtypes")

    page.keyboard.press("?")
    expect(page.locator("#keys dl")).to_be_visible()
    expect(page.locator("#keys")).to_contain_text("back to the cached output")
    page.keyboard.press("Escape")
    expect(page.locator("#keys dl")).to_be_hidden()
    page.keyboard.press("s")
    expect(page.locator("#notes .prose")).to_contain_text("most expect int32 twice")
    page.keyboard.press("q")
    qr = page.locator("#follow-qr svg.qr")
    expect(qr).to_be_visible()
    assert (qr.bounding_box() or {"width": 0})["width"] >= 300  # scannable from afar
    page.keyboard.press("q")
    expect(qr).to_be_hidden()

    output = page.locator(".present-output .demo-output")
    page.keyboard.press("r")
    expect(page.locator(".present-status")).to_have_text("Done.", timeout=90_000)
    expect(output).to_contain_text("dtype=int64")
    expect(output).to_contain_text("claims hold")
    expect(output).not_to_contain_text("cached")

    page.keyboard.press("r")  # over the limit of one run a minute: refused, on stage
    failed = page.locator(".present-failed")
    expect(failed).to_contain_text("live run failed: ")
    expect(failed).to_contain_text("; showing the last good output from 20")
    expect(output).to_contain_text("dtype=int64")  # the good output is back at once
    page.keyboard.press("0")
    expect(failed).to_be_hidden()
    expect(page.locator(".present-status")).to_have_text("Showing the cached output.")
    expect(page.locator(".present-pool")).to_contain_text("TensorFlow 2.")


def test_a_phone_follows_the_presenter_live(
    open_page: OpenPage, site: Site, teacher: tuple[str, str]
) -> None:
    phone = open_page(viewport=PHONE, is_mobile=True, has_touch=True).page
    phone.goto(site.url + "/follow")
    expect(phone.locator("#follow-live")).to_have_text(re.compile("Following the presenter live"))
    presenter = open_page()
    sign_in_as_instructor(presenter.page, site.url, *teacher)
    presenter.page.goto(site.url + "/present/2/1")
    slide = phone.locator("#follow-slide")
    expect(slide.get_by_role("heading", level=2)).to_have_text(
        "Demo 1: Similar, but not the same API"
    )
    presenter.page.keyboard.press("j")
    expect(slide.get_by_role("heading", level=2)).to_have_text(
        "Demo 2: Tensors are immutable, variables are not"
    )
    expect(slide).to_contain_text("Not run yet on this server")
    presenter.page.keyboard.press("r")
    expect(presenter.page.locator(".present-status")).to_have_text("Done.", timeout=90_000)
    expect(slide.locator(".demo-meta")).to_contain_text("TensorFlow 2.")  # the run's output
    expect(slide.locator(".present-notes, #notes")).to_have_count(0)
    assert presenter.console_errors == []
