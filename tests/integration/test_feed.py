"""The feed against the real simulator: books, switches as a protocol, and every fault."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.control import free_port
from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from shared.bus import BusNode, Delivery, Publisher, Receiver
from shared.runtime.bootstrap import upkeep
from shared.schema import (
    FeedReady,
    FeedState,
    FeedStatus,
    Quote,
    Trade,
)
from tests.helpers.context import make_context
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.universe_tap import UniverseTap
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]


@dataclass
class Rig(UniverseTap):
    sim: Sim
    feed: FeedService
    universe: Publisher
    tap: Receiver
    seen: list[Delivery] = field(default_factory=list)

    def ready(self, symbol: str, epoch: int) -> bool:
        return any(m.symbol == symbol and m.epoch == epoch for m in self.messages(FeedReady))

    def states(self) -> list[FeedState]:
        return [m.state for m in self.messages(FeedStatus)]


@contextlib.asynccontextmanager
async def rig(make_node: MakeNode, ipc_dir: Path, depth: int = 1) -> AsyncIterator[Rig]:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT")) as sim:
        scanner, strategy = make_node("scanner"), make_node("strategy")
        feed_node = make_node("feed", heartbeat_interval_ms=50)
        eps = scanner.settings.endpoints
        universe = scanner.publisher(eps.universe)
        snapshots = scanner.snapshot_server(eps.universe_snapshot, universe)
        market = strategy.subscriber([eps.market_data], ["md."])
        settings = FeedSettings(metrics_port=free_port(), depth=depth, ping_interval_s=1.0)
        feed = FeedService(settings, make_context("feed", feed_node, ipc_dir, sim.url))
        async with contextlib.AsyncExitStack() as stack:
            await feed.start(stack)
            beat = asyncio.create_task(upkeep(universe, snapshots, 0.05))
            task = asyncio.create_task(feed.run())
            # Subscribed before anything is announced: the feed's heartbeats reach us.
            await eventually(
                lambda: (
                    market.drain()
                    or strategy.liveness.is_alive("feed", strategy.bus.clock.now_ns())
                )
            )
            try:
                yield Rig(sim, feed, universe, market)
            finally:
                for t in (task, beat):
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t


async def test_feed_serves_the_announced_symbol(make_node: MakeNode, ipc_dir: Path) -> None:
    async with rig(make_node, ipc_dir) as r:
        r.announce("BTCUSDT", 1)
        await eventually(lambda: r.ready("BTCUSDT", 1), timeout_s=10)
        await eventually(lambda: len(r.messages(Quote)) >= 3 and r.messages(Trade), timeout_s=10)
        quote = r.messages(Quote)[-1]
        traces = [m.trace_id for m in r.messages(Quote) + r.messages(Trade)]
        port = r.feed._settings.metrics_port
        async with r.sim.session.get(f"http://127.0.0.1:{port}/metrics") as response:
            metrics = await response.text()
    assert 'feed_events_total{kind="book_applied"}' in metrics
    assert r.feed.session.grid is not None  # the instrument's grid, read at the switch
    refused = [k for k in r.feed.session.counters if k.startswith("refused_")]
    assert refused == []  # the simulator's book and trades pass the checks, on the grid
    assert 'feed_stream_total{kind="connects"} 1.0' in metrics
    assert "bus_sent_messages_total" in metrics
    assert quote.symbol == "BTCUSDT"
    assert quote.bid_price < quote.ask_price
    assert quote.ts_recv_ns >= quote.ts_event_ns - 1_000_000_000
    # Issue 14: every message names its venue frame, "<feed start, base 36>-<frame no>".
    prefixes = {t.split("-")[0] for t in traces}
    assert all(re.fullmatch(r"[0-9a-z]+-[1-9][0-9]*", t) for t in traces), traces[:5]
    assert prefixes == {r.feed._trace_prefix[:-1]}


async def test_no_old_symbol_after_the_new_epochs_feed_ready(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, depth=50) as r:
        r.announce("BTCUSDT", 1)
        await eventually(
            lambda: r.ready("BTCUSDT", 1) and len(r.messages(Quote)) >= 5, timeout_s=10
        )
        r.announce("ETHUSDT", 2)
        await eventually(lambda: r.ready("ETHUSDT", 2), timeout_s=10)
        r.announce("SOLUSDT", 3)
        await eventually(
            lambda: r.ready("SOLUSDT", 3) and len(r.messages(Quote)) >= 20, timeout_s=10
        )
        order = [d.message for d in r.collect()]
    for epoch, symbol in ((2, "ETHUSDT"), (3, "SOLUSDT")):
        ready_at = next(
            i for i, m in enumerate(order) if isinstance(m, FeedReady) and m.epoch == epoch
        )
        after = [
            m for m in order[ready_at:] if hasattr(m, "symbol") and not isinstance(m, FeedStatus)
        ]
        older = [m for m in after if getattr(m, "epoch", epoch) < epoch]
        assert older == [], (
            f"{len(older)} messages of an older epoch after FeedReady({symbol}, {epoch})"
        )


async def test_feed_recovers_from_every_fault_and_counts_it(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, depth=50) as r:
        r.announce("BTCUSDT", 1)
        await eventually(lambda: r.ready("BTCUSDT", 1), timeout_s=10)
        await r.sim.set_faults(
            u_gap_rate=0.05, ws_drop_rate=0.02, ws_duplicate_rate=0.05, crossed_book_rate=0.05
        )
        counters = r.feed.session.counters
        await eventually(
            lambda: (
                counters["book_gap"]
                and counters["resyncs"]
                and counters["book_duplicate"]
                and counters["book_crossed"]
            ),
            timeout_s=20,
        )
        await r.sim.set_faults(
            u_gap_rate=0, ws_drop_rate=0, ws_duplicate_rate=0, crossed_book_rate=0
        )
        async with r.sim.session.post(f"{r.sim.url}/admin/disconnect"):
            pass
        await eventually(lambda: counters["disconnects"] >= 1, timeout_s=10)
        await r.sim.set_faults(stale_ms=5000)
        await eventually(
            lambda: counters["stale_frames"] > 0 and FeedState.STALE in r.states(), timeout_s=10
        )
        quotes_when_stale = len(r.messages(Quote))
        await r.sim.set_faults(stale_ms=0)
        await eventually(
            lambda: (
                r.states()[-1] is FeedState.LIVE and len(r.messages(Quote)) > quotes_when_stale + 3
            ),
            timeout_s=10,
        )
    states = set(r.states())
    assert {
        FeedState.RESYNCING,
        FeedState.CROSSED,
        FeedState.DISCONNECTED,
        FeedState.STALE,
        FeedState.LIVE,
    } <= states
