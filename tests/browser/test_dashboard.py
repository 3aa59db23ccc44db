"""The dashboard (docs/dashboard.md) in Debian's Chromium, on the whole paper system.

One system for the module (scripts/run under supervisord: simulator, scanner, recorder,
feed, executor, the quick momentum scalper that trades within seconds, and the dashboard
with DASHBOARD_TOKEN set), one browser, a fresh page per test. Every wait is on a condition
with a timeout: Playwright's wait_for_function / expect in the page, eventually_sync
outside it. The page's own clock stamps what it shows (tests/browser/dashboard_rig.py's
observers), so a short state such as "reconnecting" is never missed by polling.
The halt test is last: it halts, checks, and resumes.
"""

import json
import os
import re
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from scripts.paper_system import System
from shared.settings import REPO_ROOT
from tests.browser.dashboard_rig import TOKEN, Dashboard, PageErrors, hooks
from tests.helpers.waiting import eventually_sync

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

TABS = ("overview", "orders", "market", "latency", "research", "controls")
FILL_TO_ROW_MAX_MS = 2000.0
# A tab's charts are drawn: one per series that has points (docs/dashboard.md's view).
CHARTS_DRAWN = {
    "overview": "() => document.querySelector('#chart-equity .uplot')",
    "market": """() => document.querySelectorAll('#price-charts .uplot').length
        >= Object.keys(window.__dashboard.state.market.symbols).length""",
    "latency": """() => {
        const l = window.__dashboard.state.latency;
        const drawn = (id, series) => !(series && series.series && series.series.length)
            || document.querySelector(`#${id} .uplot`);
        return drawn('chart-t2o', l.tick_to_order_ms) && drawn('chart-o2a', l.order_to_ack_ms);
    }""",
}
REFUSAL = re.compile(r"rejected|nothing was sent|nothing changed|refused|401", re.IGNORECASE)


def show_tab(page: Page, tab: str) -> None:
    """Click the tab and wait until the page marks it as the current one."""
    page.click(f"[data-tab={tab}]")
    page.wait_for_function(
        """(tab) => {
            const el = document.querySelector(`[data-tab=${tab}]`);
            return el && (el.getAttribute('aria-selected') === 'true'
                || el.classList.contains('active') || el.classList.contains('selected')
                || el.hasAttribute('aria-current'));
        }""",
        arg=tab,
        timeout=5000,
    )


def painted(page: Page) -> None:
    """Wait until the browser painted twice: charts drawn after the last state change."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def status(system: System) -> Any:
    """scripts/status --json of the running system."""
    env = {
        **os.environ,
        "TRADING_SETTINGS": str(system.settings),
        "TRADING_RUN_DIR": str(system.run_dir),
    }
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "status"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def trading_state(system: System) -> str:
    state: str = status(system)["position"]["trading_state"]
    return state


def venue_flat(system: System) -> bool:
    """No open order and no position at the paper venue (as tests/system/ asks it)."""
    open_orders = system.venue("/v5/order/realtime", {"category": "linear", "settleCoin": "USDT"})
    positions = system.venue("/v5/position/list", {"category": "linear", "settleCoin": "USDT"})
    return not open_orders and all(Decimal(p["size"]) == 0 for p in positions)


def control(page: Page, button: str, token: str) -> None:
    """Type `token`, press `button`, and answer yes if the page asks for a confirmation
    (it does not when the token is empty: it refuses at once)."""
    show_tab(page, "controls")
    page.fill("#token", token)
    result = "el => el.textContent + '|' + el.getAttribute('data-status')"
    before = page.locator("#control-result").evaluate(result)
    page.click(button)
    page.wait_for_function(
        f"""(before) => document.querySelector('#confirm').open
            || ({result})(document.querySelector('#control-result')) !== before""",
        arg=before,
        timeout=5000,
    )
    if page.locator("#confirm").evaluate("dialog => dialog.open"):
        page.click("#confirm-yes")


def test_the_page_loads_without_errors(page: Page, page_errors: PageErrors) -> None:
    for tab in TABS:
        show_tab(page, tab)
    # an event reached the DOM: deltas flow, not only the first snapshot
    page.wait_for_function("() => window.__dashboard.eventToDomMs.length > 0", timeout=30_000)
    painted(page)
    assert page_errors.lines == []
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#trading-state")).to_contain_text("ACTIVE", ignore_case=True)


def _show_fills(page: Page) -> None:
    """Open the first tab that shows the fills table."""
    for tab in TABS:
        show_tab(page, tab)
        if page.locator("[data-testid=fills]").first.is_visible():
            return
    pytest.fail("no tab shows [data-testid=fills]")


def _fill_after(system: System, after_ns: int) -> tuple[str, str, int] | None:
    rows = system.journal(
        "SELECT client_order_id, exec_id, ts_event_ns FROM fills WHERE ts_recorded_ns > ?"
        " ORDER BY ts_recorded_ns LIMIT 1",
        after_ns,
    )
    return rows[0] if rows else None


def test_a_fill_at_the_venue_shows_on_the_page_within_2_s(page: Page, dashboard: Dashboard) -> None:
    _show_fills(page)
    loaded_ns = time.time_ns()
    found: list[tuple[str, str, int]] = []

    def filled() -> bool:
        fill = _fill_after(dashboard.system, loaded_ns)
        found.extend([fill] if fill else [])
        return fill is not None

    eventually_sync(filled, timeout_s=90, interval_s=0.2)  # the scalper trades within seconds
    client_order_id, exec_id, ts_event_ns = found[0]
    try:
        seen = page.wait_for_function(
            """([orderId, execId, after]) => {
                const row = window.__test.fillRows.find(r => r.t >= after
                    && (r.execId === execId || r.orderId === orderId));
                return row ? row.t : null;
            }""",
            arg=[client_order_id, exec_id, loaded_ns // 1_000_000],
            timeout=10_000,
        ).json_value()
    except PlaywrightTimeoutError:
        rows = page.evaluate("() => window.__test.fillRows.slice(-5)")
        pytest.fail(f"fill {client_order_id} / {exec_id} not shown in 10 s; rows added: {rows}")
    fill_to_row_ms = seen - ts_event_ns / 1e6
    event_to_dom = hooks(page)["eventToDomMs"]
    print(f"fill {client_order_id} on the page {fill_to_row_ms:.0f} ms after the venue's fill")
    print(f"the page's eventToDomMs (bus send -> DOM): {event_to_dom[-10:]}")
    assert fill_to_row_ms <= FILL_TO_ROW_MAX_MS


def test_screenshots_of_every_view(
    page: Page, dashboard: Dashboard, page_errors: PageErrors, screenshots_dir: Path
) -> None:
    page.wait_for_function(  # something to look at: fills and a price chart
        """() => {
            const s = window.__dashboard.state;
            const prices = Object.values(s.market.symbols).map(m => m.prices.length);
            return s.orders.fills.length > 0 && Math.max(0, ...prices) >= 20;
        }""",
        timeout=90_000,
    )
    undrawn = []
    for number, tab in enumerate(TABS, start=1):
        show_tab(page, tab)
        try:  # charts are drawn at most every 500 ms, and only on their visible tab
            page.wait_for_function(CHARTS_DRAWN.get(tab, "() => true"), timeout=10_000)
        except PlaywrightTimeoutError:
            undrawn.append(tab)
        painted(page)
        page.screenshot(path=screenshots_dir / f"{number}-{tab}.png", full_page=True)
    latency = page.evaluate(
        "() => Object.fromEntries(Object.entries(window.__dashboard.state.latency)"
        ".map(([k, v]) => [k, v && v.series ? v.series.length : v]))"
    )
    assert undrawn == [], f"no chart drawn on {undrawn}; latency series lengths: {latency}"
    assert page_errors.lines == []


@pytest.mark.parametrize(
    ("token", "status"), [("not-the-token", "401"), ("", "0")], ids=["wrong", "missing"]
)
def test_a_wrong_or_missing_token_changes_nothing(
    page: Page, dashboard: Dashboard, token: str, status: str
) -> None:
    control(page, "#halt", token)
    # data-status: the HTTP status, 0 when the page refused to send it (no token)
    expect(page.locator("#control-result")).to_have_attribute("data-status", status)
    expect(page.locator("#control-result")).to_have_attribute("data-ok", "false")
    expect(page.locator("#control-result")).to_contain_text(REFUSAL)
    assert trading_state(dashboard.system) == "Active"
    expect(page.locator("#trading-state")).to_contain_text("ACTIVE", ignore_case=True)


def test_the_page_reconnects_after_the_dashboard_is_killed(
    page: Page, dashboard: Dashboard
) -> None:
    snapshots = hooks(page)["snapshots"]
    seen_before = page.evaluate("() => window.__test.connection.length")
    pid = dashboard.pid()
    os.kill(pid, signal.SIGKILL)  # supervisord restarts it (autorestart=unexpected)
    page.wait_for_function(
        "(n) => window.__test.connection.slice(n).some(c => c.state === 'reconnecting')",
        arg=seen_before,
        timeout=15_000,
    )
    page.wait_for_function(
        """(n) => window.__dashboard.connected && window.__dashboard.snapshots > n
            && document.querySelector('#connection').getAttribute('data-state') === 'live'""",
        arg=snapshots,
        timeout=60_000,
    )
    # supervisord says STARTING for its startsecs: the page may be live again before that
    eventually_sync(lambda: dashboard.pid() not in (0, pid), timeout_s=30, interval_s=0.2)
    states = [c["state"] for c in page.evaluate("() => window.__test.connection")]
    print(f"#connection data-state: {states}")


def test_halt_from_the_page_halts_and_flattens_then_resume(
    page: Page, dashboard: Dashboard, screenshots_dir: Path
) -> None:
    system = dashboard.system
    # something to cancel or flatten first: the scalper's order or position
    eventually_sync(lambda: not venue_flat(system), timeout_s=90, interval_s=0.2)
    control(page, "#halt", TOKEN)
    expect(page.locator("#control-result")).to_have_attribute("data-ok", "true", timeout=30_000)
    # scripts/status takes 2-15 s on a loaded machine: a few asks at most
    eventually_sync(lambda: trading_state(system) == "Halted", timeout_s=60, interval_s=0.5)
    eventually_sync(lambda: venue_flat(system), timeout_s=60, interval_s=0.5)
    expect(page.locator("#trading-state")).to_contain_text("HALTED", ignore_case=True)
    painted(page)
    page.screenshot(path=screenshots_dir / "7-controls-halted.png", full_page=True)

    control(page, "#resume", TOKEN)
    expect(page.locator("#control-result")).to_have_attribute("data-ok", "true", timeout=30_000)
    eventually_sync(lambda: trading_state(system) == "Active", timeout_s=60, interval_s=0.5)
    expect(page.locator("#trading-state")).to_contain_text("ACTIVE", ignore_case=True)
