"""`[feed] follow = "market-making"` against the real simulator: the scanner's market-making
selection is served (each symbol its own book and FeedReady), and a changed selection
subscribes the newcomer and stops the leaver."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.control import free_port
from services.feed.service import LISTED_EPOCH, FeedService
from services.feed.settings import FeedSettings
from shared.bus import BusNode, Delivery, Publisher, Receiver
from shared.runtime.bootstrap import upkeep
from shared.schema import FeedReady, InstrumentRulesChanged, MarketMakingUniverse, Quote, Symbol
from tests.helpers.context import make_context
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.waiting import eventually
from tests.integration.test_scanner import running_scanner
from tests.integration.test_scanner_making import OPEN

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]
SIM_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@dataclass
class Rig:
    sim: Sim
    feed: FeedService
    tap: Receiver
    seen: list[Delivery] = field(default_factory=list)

    def messages(self, kind: type, symbol: str | None = None) -> list[Any]:
        self.seen.extend(self.tap.drain(10_000))
        found = [d.message for d in self.seen if isinstance(d.message, kind)]
        return [m for m in found if symbol is None or m.symbol == symbol]

    def ready(self, symbol: str) -> bool:
        return bool(self.messages(FeedReady, symbol))

    def quotes(self, symbol: str) -> int:
        return len(self.messages(Quote, symbol))


@contextlib.asynccontextmanager
async def feed_on(sim: Sim, make_node: MakeNode, ipc_dir: Path) -> AsyncIterator[Rig]:
    watcher, feed_node = make_node("watcher"), make_node("feed", heartbeat_interval_ms=50)
    market = watcher.subscriber([watcher.settings.endpoints.market_data], ["md."])
    settings = FeedSettings(
        metrics_port=free_port(), depth=50, ping_interval_s=1.0, follow="market-making"
    )
    feed = FeedService(settings, make_context("feed", feed_node, ipc_dir, sim.url))
    async with contextlib.AsyncExitStack() as stack:
        await feed.start(stack)
        # Connected before anything is served: the feed's heartbeats reach the watcher.
        beats = asyncio.create_task(_beat(feed))
        await eventually(
            lambda: (
                market.drain() is not None
                and watcher.liveness.is_alive("feed", watcher.bus.clock.now_ns())
            ),
            timeout_s=10,
        )
        beats.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beats
        task = asyncio.create_task(feed.run())
        try:
            yield Rig(sim, feed, market)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _beat(feed: FeedService) -> None:
    while True:
        assert feed._publisher is not None
        feed._publisher.tick()
        await asyncio.sleep(0.02)


async def test_the_scanners_selection_is_served(
    make_node: MakeNode, ipc_dir: Path, tmp_path: Path
) -> None:
    async with (
        running_simulator(symbols=SIM_SYMBOLS) as sim,
        running_scanner(sim, make_node("scanner"), tmp_path, mm_top_n=2, **OPEN) as scanner,
        feed_on(sim, make_node, ipc_dir) as r,
    ):
        await eventually(lambda: scanner.service.selection is not None)
        selection = scanner.service.selection
        assert selection is not None
        chosen = selection.symbols
        assert len(chosen) == 2
        await eventually(lambda: all(r.ready(s) and r.quotes(s) >= 3 for s in chosen), 10)
        assert set(r.feed.sessions) == set(chosen)
        assert all(m.epoch == LISTED_EPOCH for m in r.messages(FeedReady))
        [other] = set(SIM_SYMBOLS) - set(chosen)
        assert r.messages(Quote, other) == []
        assert {m.symbol for m in r.messages(InstrumentRulesChanged)} == set(chosen)


@contextlib.asynccontextmanager
async def fake_scanner(make_node: MakeNode) -> AsyncIterator[Publisher]:
    node = make_node("scanner")
    eps = node.settings.endpoints
    universe = node.publisher(eps.universe)
    snapshots = node.snapshot_server(eps.universe_snapshot, universe)
    beat = asyncio.create_task(upkeep(universe, snapshots, 0.05))
    try:
        yield universe
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


def _selection(*symbols: str, ts_ns: int) -> MarketMakingUniverse:
    return MarketMakingUniverse(
        symbols=tuple(Symbol(s) for s in symbols), ranking=(), reason="test", ts_event_ns=ts_ns
    )


async def test_a_changed_selection_adds_the_newcomer_and_stops_the_leaver(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with (
        running_simulator(symbols=SIM_SYMBOLS) as sim,
        fake_scanner(make_node) as universe,
    ):
        universe.send(_selection("BTCUSDT", "ETHUSDT", ts_ns=1))  # before the feed: snapshot
        async with feed_on(sim, make_node, ipc_dir) as r:
            await eventually(
                lambda: all(r.ready(s) and r.quotes(s) >= 3 for s in ("BTCUSDT", "ETHUSDT")), 10
            )

            universe.send(_selection("ETHUSDT", "SOLUSDT", ts_ns=2))
            await eventually(lambda: r.ready("SOLUSDT") and r.quotes("SOLUSDT") >= 3, 10)
            btc_then, eth_then = r.quotes("BTCUSDT"), r.quotes("ETHUSDT")
            await eventually(
                lambda: r.quotes("SOLUSDT") >= 10 and r.quotes("ETHUSDT") > eth_then, 10
            )

            assert r.quotes("BTCUSDT") == btc_then  # unsubscribed: nothing more of it
            assert list(r.feed.sessions) == ["ETHUSDT", "SOLUSDT"]
            counters = r.feed.counters()
            assert counters["mm_symbols_added"] == 3
            assert counters["mm_symbols_removed"] == 1
            eth_ready = r.messages(FeedReady, "ETHUSDT")
            assert len(eth_ready) == 1  # ETHUSDT stayed: never resubscribed
