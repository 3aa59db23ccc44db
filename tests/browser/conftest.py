"""Fixtures of the browser tests: one paper system with its dashboard, one Chromium, a page each.

The system boots once for the module (scripts/run under supervisord, as the system tests
boot it: scripts/paper_system.running_system); each test opens its own page in a fresh
browser context and fails on the page's console errors where it asserts none (`page_errors`).
"""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.dashboard_rig import (
    OUTPUT_DIR,
    Dashboard,
    PageErrors,
    launch,
    open_page,
    running_dashboard,
)

SCREENSHOTS = pytest.StashKey[Path]()  # set once the screenshots' folder is made


@pytest.fixture(scope="module")
def dashboard() -> Iterator[Dashboard]:
    directory = Path(tempfile.mkdtemp(prefix="dash-", dir="/tmp"))  # ipc paths: 107 bytes
    try:
        with running_dashboard(directory) as running:
            yield running
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, dashboard: Dashboard, page_errors: PageErrors) -> Iterator[Page]:
    """The dashboard, loaded and connected, in a fresh context; closed after the test."""
    opened = open_page(browser, dashboard.url, on_page=_watch(page_errors))
    yield opened
    opened.context.close()


def _watch(errors: PageErrors) -> Any:
    def attach(page: Page) -> None:
        page.on("console", errors.console)
        page.on("pageerror", lambda e: errors.lines.append(f"pageerror: {e}"))
        page.on(
            "requestfailed",
            lambda r: errors.lines.append(f"request failed: {r.url} {r.failure}"),
        )
        page.on(
            "response",
            lambda r: r.status >= 400 and errors.lines.append(f"HTTP {r.status}: {r.url}"),
        )

    return attach


@pytest.fixture(scope="session")
def screenshots_dir(request: pytest.FixtureRequest) -> Path:
    """test-output/dashboard/ in the checkout (git-ignored), emptied once per run; its path
    is printed at the end of the run."""
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    OUTPUT_DIR.mkdir(parents=True)
    request.config.stash[SCREENSHOTS] = OUTPUT_DIR
    return OUTPUT_DIR


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    folder = config.stash.get(SCREENSHOTS, None)
    if folder is not None:
        shots = sorted(p.name for p in folder.glob("*.png"))
        terminalreporter.write_sep("-", "dashboard screenshots")
        terminalreporter.write_line(f"{len(shots)} in {folder}: {', '.join(shots)}")
