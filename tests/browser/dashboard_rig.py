"""The dashboard in a real browser: Debian's Chromium driven by Playwright, on the paper system.

Shared by the browser tests (tests/browser/) and `scripts/bench dashboard`. The system runs
as scripts/run starts it (scripts/paper_system.running_system) with the dashboard on a free
port and a control token in its environment; the page's test hooks (`window.__dashboard`)
are described in docs/dashboard.md.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

from scripts.control import Supervisor, answers, free_port
from scripts.paper_system import System, running_system
from shared.settings import REPO_ROOT
from tests.helpers.waiting import eventually_sync

CHROMIUM: Final = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# `playwright install` cannot download its browsers here: the distribution's Chromium, with
# nothing that phones home or needs a GPU or a setuid sandbox (root in CI).
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
INSTALL_ADVICE: Final = (
    f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. scripts/test installs"
    " it when run as root (scripts/_browser.sh); otherwise run as root: apt-get update &&"
    " apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)"
)
TOKEN: Final = "dashboard-browser-test-token-0001"
PROGRAM: Final = "dashboard"
OUTPUT_DIR: Final = REPO_ROOT / "test-output" / "dashboard"  # git-ignored
START_TIMEOUT_S: Final = 120.0
VIEWPORT: Final = {"width": 1440, "height": 900}

# Installed before the page's own script: what the page did, with the browser's clock, so
# that a test never has to poll fast enough to catch a short state (a reconnect).
OBSERVERS_JS: Final = """
(() => {
  const seen = {connection: [], fillRows: []};
  window.__test = seen;
  const ROWS = '[data-testid=fills] tr';
  const rowsIn = (node) => [
    ...(node.matches(ROWS) ? [node] : []), ...node.querySelectorAll(ROWS)];
  const connection = (el) => seen.connection.push(
    {t: Date.now(), state: el.getAttribute('data-state')});
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes' && m.target.id === 'connection') connection(m.target);
      for (const node of m.addedNodes) {
        if (!(node instanceof Element)) continue;
        for (const row of rowsIn(node)) {
          seen.fillRows.push({t: Date.now(), text: row.textContent || '',
            execId: row.getAttribute('data-exec-id'), orderId: row.getAttribute('data-order-id')});
        }
        const conn = node.id === 'connection' ? node : node.querySelector('#connection');
        if (conn) connection(conn);
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true,
                        attributeFilter: ['data-state']});
})();
"""


@dataclass
class PageErrors:
    """What went wrong in the page: console errors, uncaught exceptions, failed requests."""

    lines: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.lines.append(f"console: {message.text} ({message.location})")


class Dashboard:
    """The running system's dashboard: its URL and its process."""

    def __init__(self, system: System, port: int) -> None:
        self.system = system
        self.url = f"http://127.0.0.1:{port}/"

    def pid(self) -> int:
        info = Supervisor(self.system.run_dir).rpc.getProcessInfo(PROGRAM)
        return int(info["pid"]) if info["statename"] == "RUNNING" else 0

    def served(self) -> bool:
        assert self.system.process.poll() is None, (
            self.system.run_dir.parent / "run.out"
        ).read_text()
        return answers(self.url) and answers(f"{self.url}api/state")


@contextmanager
def running_dashboard(
    directory: Path,
    overrides: dict[str, dict[str, str]] | None = None,
    extra_sections: str = "",
    token: str | None = TOKEN,
) -> Iterator[Dashboard]:
    """The paper system (scripts/run) with the dashboard on a free port, once it serves."""
    port = free_port()
    env = {"DASHBOARD_TOKEN": token} if token else {}
    overrides = {**(overrides or {}), "dashboard": {"port": str(port)}}
    with running_system(directory, overrides, env=env, extra_sections=extra_sections) as system:
        dashboard = Dashboard(system, port)
        eventually_sync(dashboard.served, timeout_s=START_TIMEOUT_S, interval_s=0.5)
        yield dashboard


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless; AssertionError with the install advice if it is missing."""
    assert CHROMIUM.exists(), INSTALL_ADVICE
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))


def open_page(browser: Browser, url: str, on_page: Callable[[Page], None] | None = None) -> Page:
    """A fresh context and page with the observers installed (and `on_page` called before
    it loads: listeners), loaded and connected."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.add_init_script(OBSERVERS_JS)
    page = context.new_page()
    if on_page is not None:
        on_page(page)
    page.goto(url)
    wait_connected(page)
    return page


def wait_connected(page: Page, timeout_s: float = 30.0) -> None:
    """Wait until the page has its first snapshot and its websocket is live."""
    page.wait_for_function(
        "() => window.__dashboard && window.__dashboard.connected"
        " && window.__dashboard.state && window.__dashboard.snapshots > 0",
        timeout=timeout_s * 1000,
    )


def hooks(page: Page) -> Any:
    """`window.__dashboard` as JSON (state, connected, snapshots, eventToDomMs)."""
    return page.evaluate(
        "() => ({state: window.__dashboard.state, connected: window.__dashboard.connected,"
        " snapshots: window.__dashboard.snapshots,"
        " eventToDomMs: Array.from(window.__dashboard.eventToDomMs || [])})"
    )
