"""The market maker quoting the scanner's market-making selection, on the paper system.

[scanner] mm-top-n = 2 (filters open: the order alone decides), [feed] follow =
"market-making" and mm1 with follow = "market-making": mm1 quotes both sides of each of
the two selected symbols, and of no other, and the executor's snapshot knows its quotes.
"""

import shutil
import tempfile
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.control import free_port
from scripts.paper_system import System, running_system
from shared.bus import BusNode, Signer, SnapshotIncomplete, SnapshotTimeout
from shared.runtime.clock import LiveClock
from shared.schema import MarketMakingUniverse, topics
from shared.settings import BusSettings, load_section
from tests.helpers.waiting import eventually_sync

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

MM = "mm1"
PROGRAM = f"strategy-{MM}"
EXECUTOR = {  # a market maker re-quotes many times a minute
    "max-orders-per-minute": "100000",
    "max-open-orders": "50",
    "strategy-orders-per-minute-by-id": f"{{ {MM} = 100000 }}",
}
SCANNER = {
    "mm-top-n": "2",
    "mm-min-turnover-24h-usdt": "0.0",
    "mm-min-touch-depth-usdt": "0.0",
    "mm-max-spread-bps": "1000.0",
    "mm-max-tick-bps": "1000.0",
}
MM_SECTIONS = (
    f"\n[{PROGRAM}]\n"
    f"metrics-port = {free_port()}\n"
    'kind = "market-maker"\n'
    f'strategy-id = "{MM}"\n'
    f"\n[{PROGRAM}.market-maker]\n"
    'follow = "market-making"\n'
    "min-spread-bps = 0.2\n"
    "max-spread-bps = 3.0\n"
    "order-notional-usdt = 100.0\n"
)


@pytest.fixture
def system() -> Iterator[System]:
    directory = Path(tempfile.mkdtemp(prefix="mms-", dir="/tmp"))  # ipc paths: 107 bytes
    overrides = {"executor": EXECUTOR, "scanner": SCANNER, "feed": {"follow": '"market-making"'}}
    try:
        with running_system(directory, overrides, extra_sections=MM_SECTIONS) as running:
            yield running
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def selection(system: System) -> MarketMakingUniverse | None:
    """The scanner's selection from its snapshot, or None."""
    bus = load_section("bus", BusSettings, system.settings)
    endpoints = bus.endpoints.resolved(system.run_dir)
    node = BusNode("mms-test", bus, signer=Signer(None), clock=LiveClock())
    try:
        reply = node.snapshot_client(endpoints.universe_snapshot).fetch(topics.MM_UNIVERSE, 2.0)
    except (SnapshotTimeout, SnapshotIncomplete):
        return None
    finally:
        node.close()
    return next((m for _, m in reply.messages if isinstance(m, MarketMakingUniverse)), None)


def quoted_sides(system: System) -> set[tuple[str, str]]:
    assert system.process.poll() is None, (system.run_dir.parent / "run.out").read_text()
    try:
        orders: list[dict[str, Any]] = system.venue_all(
            "/v5/order/realtime", {"category": "linear", "settleCoin": "USDT"}
        )
    except urllib.error.URLError:
        return set()  # the paper venue is still starting
    return {
        (o["symbol"], o["side"])
        for o in orders
        if o["orderLinkId"].startswith(f"{MM}-") and o["timeInForce"] == "PostOnly"
    }


def test_market_maker_quotes_the_scanners_selection(system: System) -> None:
    found: list[MarketMakingUniverse] = []

    def selected() -> bool:
        got = selection(system)
        if got is not None:
            found.append(got)
        return got is not None

    eventually_sync(selected, timeout_s=60, interval_s=0.5)
    chosen = found[-1].symbols
    assert len(chosen) == 2
    wanted = {(s, side) for s in chosen for side in ("Buy", "Sell")}
    eventually_sync(lambda: quoted_sides(system) == wanted, timeout_s=90, interval_s=0.5)
