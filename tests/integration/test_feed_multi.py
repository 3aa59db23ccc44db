"""`[feed] symbols` against the real simulator: every listed symbol served at once, a gap on
one resyncs that one alone, each symbol's rules go out before its FeedReady, and the
strategy takes its instrument rules from the bus (no venue call of its own)."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.control import free_port
from services.feed.service import LISTED_EPOCH, FeedService
from services.feed.settings import FeedSettings
from services.strategy.mm.core import MarketMaker
from services.strategy.service import RulesFromBus
from services.strategy.settings import MarketMakerSection, StrategySettings
from shared.bus import BusNode, Delivery, Receiver
from shared.bybit.stream import StreamFrame
from shared.schema import (
    FeedReady,
    FeedState,
    FeedStatus,
    InstrumentRulesChanged,
    Quote,
    Symbol,
    Trade,
    topics,
)
from tests.helpers.context import make_context
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.strategy_rig import FAST_STRATEGY, strategy_rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]
LISTED = ("BTCUSDT", "ETHUSDT")
_U = re.compile(rb'"u":(\d+)')
_ETH_BOOK = b'{"topic":"orderbook.50.ETHUSDT"'


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

    def quoted(self, symbol: str, at_least: int) -> bool:
        return len(self.messages(Quote, symbol)) >= at_least


@contextlib.asynccontextmanager
async def rig(make_node: MakeNode, ipc_dir: Path) -> AsyncIterator[Rig]:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT")) as sim:
        monitor, feed_node = make_node("monitor"), make_node("feed", heartbeat_interval_ms=50)
        eps = monitor.settings.endpoints
        market = monitor.subscriber([eps.market_data], ["md."])
        settings = FeedSettings(
            metrics_port=free_port(), depth=50, ping_interval_s=1.0, symbols=LISTED
        )
        feed = FeedService(settings, make_context("feed", feed_node, ipc_dir, sim.url))
        async with contextlib.AsyncExitStack() as stack:
            await feed.start(stack)
            # Connected before anything is served: the feed's heartbeats reach the monitor.
            beats = asyncio.create_task(_beat(feed))
            await eventually(
                lambda: (
                    market.drain() is not None
                    and monitor.liveness.is_alive("feed", monitor.bus.clock.now_ns())
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


async def test_every_listed_symbol_is_served_its_rules_first(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        await eventually(lambda: all(r.quoted(s, 5) for s in LISTED), timeout_s=10)
        await eventually(lambda: {t.symbol for t in r.messages(Trade)} == set(LISTED), 10)
        client = r.feed._context.node.snapshot_client(
            r.feed._context.endpoints.market_data_snapshot
        )
        reply = await client.fetch_async(topics.MARKET_DATA, 5.0)
        order = [d.message for d in r.seen]
    for symbol in LISTED:
        rules_at = next(
            i
            for i, m in enumerate(order)
            if isinstance(m, InstrumentRulesChanged) and m.symbol == symbol
        )
        ready_at = next(
            i for i, m in enumerate(order) if isinstance(m, FeedReady) and m.symbol == symbol
        )
        assert rules_at < ready_at
        rules = order[rules_at].rules
        assert rules.symbol == symbol
        assert rules.tick_size > 0
        assert rules.qty_step > 0
        assert order[ready_at].epoch == LISTED_EPOCH
        quotes = [m for m in order if isinstance(m, Quote) and m.symbol == symbol]
        assert all(q.bid_price < q.ask_price and q.epoch == LISTED_EPOCH for q in quotes)
        assert all(q.bid_price % rules.tick_size == 0 for q in quotes)
    assert not [m for m in order if getattr(m, "symbol", None) == "SOLUSDT"]  # not listed
    # A late joiner gets each symbol's rules from the snapshot, ahead of its FeedReady.
    kept = [(type(m).__name__, getattr(m, "symbol", "")) for _, m in reply.messages]
    for symbol in LISTED:
        assert kept.index(("InstrumentRulesChanged", symbol)) < kept.index(("FeedReady", symbol))
    assert [k for k in r.feed.counters() if k.startswith("refused_")] == []  # on the grid
    # The market maker quoting both symbols gets each one's rules, FeedReady and book.
    maker = MarketMaker(_maker_settings(), last_seq=0, timer_ns=lambda: 0)
    driven = RulesFromBus(maker)
    for message in order:
        driven.on_message(message, getattr(message, "ts_recv_ns", message.ts_event_ns))
    assert set(maker.rules) == set(LISTED)
    for symbol in LISTED:
        market = maker.markets[Symbol(symbol)]
        assert market.feed_ready
        assert market.book_ns > 0
    assert maker.counters["no_rules"] == 0


def _maker_settings() -> StrategySettings:
    return StrategySettings(
        metrics_port=1,
        kind="market-maker",
        strategy_id="mm1",
        market_maker=MarketMakerSection(symbols=LISTED),
    )


async def test_a_gap_on_one_symbol_resyncs_that_one_only(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        await eventually(lambda: all(r.quoted(s, 5) for s in LISTED), timeout_s=10)
        btc, eth = r.feed.sessions["BTCUSDT"], r.feed.sessions["ETHUSDT"]
        assert btc.counters["resyncs"] == eth.counters["resyncs"] == 0
        # One ETHUSDT delta arrives with its `u` five ahead: a gap, on that symbol alone.
        on_frame, skipped = r.feed._on_frame, []

        def gap_once(frame: Any) -> None:
            data = frame.data
            if not skipped and data.startswith(_ETH_BOOK) and b'"type":"delta"' in data:
                u = int(_U.search(data).group(1))  # type: ignore[union-attr]
                skipped.append(u)
                frame = StreamFrame(_U.sub(b'"u":%d' % (u + 5), data), frame.ts_recv_ns)
            on_frame(frame)

        r.feed._on_frame = gap_once  # type: ignore[method-assign]
        await eventually(lambda: skipped and eth.counters["resyncs"] == 1, timeout_s=10)
        quotes_at_gap = {s: len(r.messages(Quote, s)) for s in LISTED}
        await eventually(
            lambda: all(r.quoted(s, quotes_at_gap[s] + 5) for s in LISTED), timeout_s=10
        )
        btc_states = [m.state for m in r.messages(FeedStatus, "BTCUSDT")]
        eth_states = [m.state for m in r.messages(FeedStatus, "ETHUSDT")]
    assert eth.counters["book_gap"] == 1
    assert btc.counters["book_gap"] == 0
    assert btc.counters["resyncs"] == 0
    assert btc_states[-1] is FeedState.LIVE
    assert btc_states.count(FeedState.RESYNCING) == 1  # its first snapshot's wait alone
    assert eth_states.count(FeedState.RESYNCING) == 2  # the first wait, and the gap's resync
    assert eth_states[-1] is FeedState.LIVE
    assert len(r.messages(FeedReady, "ETHUSDT")) == 1  # once per epoch, not per resync


async def test_the_strategy_takes_its_rules_from_the_feed_on_the_bus(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with strategy_rig(make_node, ipc_dir, strategy=FAST_STRATEGY) as r:
        machine = r.strategy.machine
        assert "BTCUSDT" not in machine.rules  # nothing read at start: no venue call
        r.announce("BTCUSDT", 1)
        await eventually(lambda: "BTCUSDT" in machine.rules, timeout_s=10)
        sent = r.feed._rules_sent["BTCUSDT"]
        await eventually(lambda: r.filled(exit_=False, symbol="BTCUSDT"), timeout_s=15)
    assert machine.rules["BTCUSDT"] == sent  # what the feed published, as published
    assert machine.counters["instrument_rules"] == 1
    assert "ETHUSDT" not in machine.rules  # the feed serves BTCUSDT alone
    entry = r.filled(exit_=False, symbol="BTCUSDT")[0].command  # sized on those rules
    assert sent.check_qty(entry.qty, market=entry.limit_price is None) is None
