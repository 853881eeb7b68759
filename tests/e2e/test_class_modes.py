"""The start page in each class mode, in a real browser: axe, a desktop and a phone, and the
class's way in (the projected class code, an imported roster) taken as people take it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    OpenPage,
    Site,
    audit,
    continue_as_learner,
    sign_in_as_instructor,
)
from tests.e2e.test_every_page import WIDE_ELEMENTS

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SITE_ENV = {"TFQUIZ_DEMO_WORKERS": "0"}  # no demo runs here: no TensorFlow worker to wait for
MODES = {"open": "Open", "code": "Class code", "roster": "Roster"}
ROSTER = "name,email\nAda Lovelace,ada@example.org\nAlan Turing,alan@example.org\n"
SIZES = {"desktop": {"viewport": DESKTOP}, "phone": {"viewport": PHONE, "is_mobile": True}}


@pytest.fixture(scope="module")
def teacher(browser: Browser, site: Site) -> Iterator[Page]:
    """An instructor's page, signed in, kept for the module: it switches the class mode."""
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    password = site.add_instructor("teacher@example.org")
    sign_in_as_instructor(page, site.url, "teacher@example.org", password)
    yield page
    context.close()


def choose_mode(teacher: Page, url: str, mode: str) -> None:
    """Pick a class mode on the class page, as an instructor does."""
    teacher.goto(url + "/instructor/class")
    teacher.get_by_role("radio", name=MODES[mode]).check()
    teacher.get_by_role("button", name="Save class mode").click()
    expect(teacher.locator(".flash")).to_contain_text("Class mode saved")


def start(page: Page, url: str, name: str, email: str = "", code: str = "") -> None:
    """Fill the start form and send it."""
    page.goto(url + "/")
    page.get_by_label("Your name").fill(name)
    if email:
        page.get_by_label("Email").fill(email)
    if code:
        page.get_by_label("Class code").fill(code)
    page.get_by_role("button", name="Start the quiz").click()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("mode", list(MODES))
def test_the_start_page_in_each_mode_passes_axe_and_fits(
    open_page: OpenPage, site: Site, teacher: Page, mode: str, size: str
) -> None:
    choose_mode(teacher, site.url, mode)
    watched = open_page(**SIZES[size])
    page = watched.page
    page.goto(site.url + "/")
    contents = page.get_by_role("region", name="What the quiz holds")
    expect(contents.get_by_role("link")).to_have_count(11)
    expect(page.get_by_label("Your name")).to_be_visible()
    expect(page.get_by_label("Class code")).to_have_count(1 if mode == "code" else 0)
    if mode == "roster":
        expect(page.get_by_text("starts from your instructor's list of names")).to_be_visible()
    assert audit(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    limit = SIZES[size]["viewport"]["width"]
    assert width <= limit, (mode, size, width, page.evaluate(WIDE_ELEMENTS, limit))
    if size == "desktop":  # the form and the list side by side, both in view
        listed, form = contents.bounding_box(), page.locator("form#start").bounding_box()
        assert listed and form and form["x"] + form["width"] <= listed["x"]
        expect(contents).to_be_in_viewport()
    else:  # stacked, the form first: a link above it leads down to the list
        page.get_by_role("link", name="See what the quiz holds").click()
        expect(contents.get_by_role("heading")).to_be_in_viewport()
    # A question opens to read without a name.
    contents.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/questions/1" in page.url
    assert watched.console_errors == []


def test_the_projected_class_code_lets_the_class_in_and_keeps_others_out(
    open_page: OpenPage, site: Site, teacher: Page
) -> None:
    choose_mode(teacher, site.url, "code")
    teacher.goto(site.url + "/instructor/class/code")
    code = teacher.locator(".join-code-large").inner_text()
    assert audit(teacher) == []
    outsider = open_page().page
    start(outsider, site.url, "Mallory", code="123 456 789" if code != "123 456 789" else "1")
    expect(outsider.get_by_role("alert")).to_contain_text("That class code is not right")
    learner = open_page(viewport=PHONE, is_mobile=True).page
    start(learner, site.url, "Grace Hopper", code=code)
    expect(learner.locator("#signin-code")).to_be_visible()  # in, and shown their own code


def test_an_imported_roster_lets_its_learners_in_and_refuses_others(
    open_page: OpenPage, site: Site, teacher: Page
) -> None:
    teacher.goto(site.url + "/instructor/class/roster")
    teacher.get_by_label("Or paste the names").fill(ROSTER)
    teacher.get_by_role("button", name="Preview").click()
    expect(teacher.get_by_text("2 new learners")).to_be_visible()
    assert audit(teacher) == []
    teacher.get_by_role("button", name="Import 2 learners").click()
    expect(teacher.get_by_role("status")).to_have_text("2 learners added to the roster.")
    ada_code = teacher.get_by_role("row", name="Ada Lovelace").locator("code").inner_text()
    assert audit(teacher) == []  # the printable page of codes, shown once
    choose_mode(teacher, site.url, "roster")
    outsider = open_page().page
    start(outsider, site.url, "Mallory")
    expect(outsider.get_by_role("alert")).to_contain_text("this name is not on it")
    assert audit(outsider) == []
    listed = open_page().page
    continue_as_learner(listed, site.url, "Ada Lovelace", ada_code)
    expect(listed.locator(".flash")).to_have_text("Welcome back, Ada Lovelace.")


def test_the_class_and_merge_pages_pass_axe(site: Site, teacher: Page) -> None:
    for path in ("/instructor/class", "/instructor/class/merge"):
        teacher.goto(site.url + path)
        assert audit(teacher) == [], path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_new_code_page_passes_axe_and_fits_a_phone(
    open_page: OpenPage, site: Site, teacher: Page, scheme: str
) -> None:
    """The page an instructor shows a learner who lost their code, often on a phone."""
    choose_mode(teacher, site.url, "open")
    name = f"Katherine Johnson {scheme}"
    start(open_page().page, site.url, name)
    phone = open_page(
        viewport=PHONE,
        is_mobile=True,
        color_scheme=scheme,
        storage_state=teacher.context.storage_state(),
    )
    page = phone.page
    page.goto(site.url + "/instructor/")
    page.get_by_role("link", name=name).first.click()
    page.get_by_role("button", name="End their sessions and issue a new code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"New sign-in code for {name}")
    expect(page.locator("#signin-code")).to_be_visible()
    assert audit(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], page.evaluate(WIDE_ELEMENTS, PHONE["width"])
    assert phone.console_errors == []
