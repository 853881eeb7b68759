"""The sign-in code page in a real browser: the copy button, the bookmark link, axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OpenPage, Site, audit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_code_page_copies_the_code_and_its_link_signs_in(
    open_page: OpenPage, site: Site, scheme: str
) -> None:
    name = f"Hedy Lamarr {scheme}"
    first = open_page(color_scheme=scheme)
    first.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page = first.page
    page.goto(site.url + "/")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.get_by_role("heading", name=f"Welcome, {name}!")).to_be_visible()
    assert audit(page) == []
    code = page.locator("#signin-code").inner_text()
    assert len(code.split("-")) == 4

    page.get_by_role("button", name="Copy the code").click()
    expect(page.locator("#copy-status")).to_have_text("Copied: paste it somewhere safe.")
    assert page.evaluate("navigator.clipboard.readText()") == code

    link = page.get_by_role("link", name=f"Continue as {name}").get_attribute("href")
    assert link is not None and code in link
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_text("0 of 11 questions answered")).to_be_visible()

    bookmarked = open_page(color_scheme=scheme).page  # another device opens the bookmark
    bookmarked.goto(link)
    expect(bookmarked.get_by_label("Sign-in code")).to_have_value(code)
    expect(bookmarked.get_by_label("Your name")).to_have_value(name)
    assert audit(bookmarked) == []
    bookmarked.get_by_role("button", name="Continue").click()
    expect(bookmarked.get_by_text(f"Welcome back, {name}.")).to_be_visible()
    assert first.console_errors == []


def test_without_javascript_the_code_shows_and_no_broken_button(
    open_page: OpenPage, site: Site
) -> None:
    page = open_page(java_script_enabled=False).page
    page.goto(site.url + "/")
    page.get_by_label("Your name").fill("Nadia Nojs")
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.locator("#signin-code")).to_be_visible()
    expect(page.get_by_role("button", name="Copy the code")).to_be_hidden()
    expect(page.get_by_role("link", name="Continue as Nadia Nojs")).to_be_visible()


def test_leave_signs_out_and_a_copied_cookie_stops_working(open_page: OpenPage, site: Site) -> None:
    first = open_page()
    page = first.page
    page.goto(site.url + "/")
    page.get_by_label("Your name").fill("Leah Leaver")
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_role("link", name="Go to the questions").click()
    copy = open_page()
    copy.context.add_cookies(first.context.cookies())  # someone copied the cookie
    copy.page.goto(site.url + "/")
    expect(copy.page.get_by_text("0 of 11 questions answered")).to_be_visible()
    page.get_by_role("button", name="Leave").click()
    expect(page.get_by_role("button", name="Start the quiz")).to_be_visible()
    copy.page.goto(site.url + "/")
    expect(copy.page.get_by_text("Your session was ended")).to_be_visible()
