"""The quiz with a keyboard alone, its focus always visible, and with JavaScript turned off."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OpenPage, Site, Watched, devset_answer, start_as_learner

pytestmark = [pytest.mark.slow, pytest.mark.browser]
MAX_TABS = 40
# What has the focus, and whether a sighted keyboard user can see where it is.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute("href"),
    text: (el.innerText || "").trim().slice(0, 60),
    outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
    onScreen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
      && box.left < innerWidth && box.top < innerHeight,
  };
}"""


def tab(page: Page) -> dict[str, Any]:
    """Press Tab; check the newly focused element shows a visible focus ring; describe it."""
    page.keyboard.press("Tab")
    focused: dict[str, Any] = page.evaluate(FOCUSED)
    assert focused["tag"] != "body", "Tab left the page's controls"
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2, focused
    assert focused["onScreen"], focused
    return focused


def tab_until(page: Page, wanted: str, **fields: str) -> dict[str, Any]:
    """Press Tab until the focused element has the given fields; fail after MAX_TABS."""
    seen = []
    for _ in range(MAX_TABS):
        focused = tab(page)
        if all(focused[name] == value for name, value in fields.items()):
            return focused
        seen.append(focused["text"] or focused["id"] or focused["tag"])
    raise AssertionError(f"Tab never reached {wanted}; it went through {seen}")


def skip_to_content(page: Page) -> None:
    """Use the skip link, the first stop on every page, to jump past the navigation."""
    assert tab(page)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))  # retries: the jump lands a moment later


def test_a_keyboard_alone_signs_in_answers_and_claims(watched: Watched, site: Site) -> None:
    page = watched.page
    page.goto(site.url + "/")
    skip_to_content(page)
    assert tab(page)["id"] == "name"  # the first control after the navigation
    page.keyboard.type("Kay Board")
    tab_until(page, "the start button", tag="button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Welcome, Kay Board!")).to_be_visible()
    skip_to_content(page)  # the code page: its copy button, link and way on, by keyboard
    tab_until(page, "the copy button", id="copy-code")
    tab_until(page, "the bookmark link", id="signin-link")
    tab_until(page, "the way to the questions", href="/")
    page.keyboard.press("Enter")
    expect(page.get_by_text("0 of 11 questions answered")).to_be_visible()

    skip_to_content(page)
    tab_until(page, "question 3", href="/questions/3")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("tf.range(10)")

    skip_to_content(page)
    tab_until(page, "the answer box", id="answer")
    page.keyboard.type(devset_answer(3, "partial"))
    tab_until(page, "the submit button", tag="button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your score:")).to_be_visible()

    skip_to_content(page)
    tab_until(page, "a claim", tag="summary", text="My answer does make this point")
    page.keyboard.press("Enter")
    tab_until(page, "the justification", tag="input")
    page.keyboard.type("The last sentence says it.")
    tab_until(page, "the claim button", tag="button")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text("Claim sent: your instructor will review it.")
    assert watched.console_errors == []


def test_without_javascript_a_learner_answers_and_runs_a_demo(
    open_page: OpenPage, site: Site
) -> None:
    page = open_page(java_script_enabled=False).page
    start_as_learner(page, site.url, "Nadia Noscript")
    page.goto(site.url + "/questions/3")
    page.get_by_label("Your answer").fill(devset_answer(3))
    page.get_by_role("button", name="Submit and grade").click()
    expect(page.get_by_role("heading", name="Your score:")).to_be_visible()
    expect(page.get_by_role("heading", name="Reference answer")).to_be_visible()

    demo = page.locator("#demo-1")
    demo.get_by_text("Show the code").click()
    expect(demo.locator("details.code")).to_have_attribute("open", "")
    demo.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/questions/3\?demos=open#demo-1$"), timeout=90_000)
    expect(demo.locator(".demo-meta")).to_contain_text("TensorFlow 2.")
    expect(demo.locator("pre.out").first).to_contain_text("dtype=int64")
    expect(demo.locator(".dtype-int32")).to_be_visible()
