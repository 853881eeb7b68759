"""Browser fixtures: Debian's chromium driven by Playwright against a real uvicorn server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    FloatRect,
    Page,
    ViewportSize,
    sync_playwright,
)

from app.config import PROJECT_ROOT
from tests.databases import database_env
from tests.server import add_instructor, running_server

CHROMIUM = os.environ.get("TFQUIZ_CHROMIUM", "/usr/bin/chromium")
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
DEVSET = PROJECT_ROOT / "tests" / "grading" / "devset"
SHOTS = PROJECT_ROOT / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1200, "height": 900}
PHONE: ViewportSize = {"width": 360, "height": 740}
MAX_SHOT_HEIGHT = 2000  # taller pages are cut: the README shows their top
# Headless, and quiet: this machine's network is closed, so no background connections.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing(what: str) -> None:
    """Fail under CI, skip on a developer's machine, when a browser tool is absent."""
    message = f"{what} is missing: run `bash .ci/run` or `apt-get install chromium`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def devset_answer(number: int, *labels: str) -> str:
    """Return the development set's first answer to a question with the first label it has."""
    items = yaml.safe_load((DEVSET / f"q{number:02d}.yaml").read_text(encoding="utf-8"))
    for label in labels or ("excellent",):
        for item in items:
            if item["label"] == label:
                return str(item["text"])
    raise LookupError(f"question {number} has no development answer labelled {labels}")


@dataclass(frozen=True)
class Site:
    """A running server: its base URL and the data folder it keeps its SQLite file in."""

    url: str
    data: Path
    env: dict[str, str]

    def add_instructor(self, email: str) -> str:
        """Create an instructor with the CLI, as an administrator would; return the password."""
        return add_instructor(self.data, self.env, email)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One chromium for the whole run."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(f"chromium ({CHROMIUM})")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A real server per test module, with one warm demo worker and its own SQLite file.

    A module may set more of the server's environment in a SITE_ENV dict.
    """
    data = tmp_path_factory.mktemp("e2e")
    env = {
        "TFQUIZ_DEMO_WORKERS": "1",
        **database_env(),  # the CLI must use the same database as the server
        **getattr(request.module, "SITE_ENV", {}),
    }
    with running_server(data, env=env) as url:
        yield Site(url, data, env)


class Watched:
    """A page with the console errors and dialogs it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("dialog", self._dialog)

    @property
    def context(self) -> BrowserContext:
        """The browser context (cookies, settings) the page lives in."""
        return self.page.context

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


OpenPage = Callable[..., Watched]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """Open pages in fresh browser contexts (own cookies, size, theme); close them after."""
    contexts: list[BrowserContext] = []

    def opener(**options: Any) -> Watched:
        # bypass_csp lets the tests inject axe-core; the pages themselves run no inline script.
        settings = {"viewport": DESKTOP, "bypass_csp": True, **options}
        context = browser.new_context(**settings)
        contexts.append(context)
        return Watched(context.new_page())

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def watched(open_page: OpenPage) -> Watched:
    """A page in a fresh browser context at desktop size."""
    return open_page()


def start_as_learner(page: Page, url: str, name: str, email: str = "") -> str:
    """Start on the start page as a new learner, the way a person does; return their code."""
    page.goto(url + "/")
    page.get_by_label("Your name").fill(name)
    if email:
        page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Start the quiz").click()
    code = page.locator("#signin-code").inner_text()
    page.get_by_role("link", name="Go to the questions").click()
    page.wait_for_url(url + "/")
    return code


def continue_as_learner(page: Page, url: str, name: str, code: str) -> None:
    """Come back as a learner with name and sign-in code, as on another device."""
    page.goto(url + "/continue")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Sign-in code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(url + "/")


def sign_in_as_instructor(page: Page, url: str, email: str, password: str) -> None:
    """Sign in on the instructor login page; land on the dashboard."""
    page.goto(url + "/instructor/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/instructor/")


def shoot(page: Page, name: str) -> None:
    """Save a screenshot of the page for the README: its whole width, its top 2,000 pixels."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
    box: FloatRect = {"x": 0, "y": 0, "width": width, "height": height}
    path = str(SHOTS / f"{name}.png")
    page.screenshot(path=path, full_page=True, clip=box, animations="disabled", caret="hide")


def audit(page: Page) -> list[str]:
    """Run axe-core on the page; describe each serious or critical violation in one line."""
    if not AXE.exists():
        missing("axe-core (npm ci)")
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
