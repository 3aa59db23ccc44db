"""The whole trading path in one event loop: simulator, fake scanner, feed, executor, strategy.

Every service is the real class over real ZeroMQ (ipc:// in the test's directory) and the
real simulator on loopback; only the scanner is faked by a publisher the test drives. A tap
subscribes to the feed's readiness/status and to every execution event, as a monitor would.
"""

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from scripts.control import free_port
from services.executor.order_state import TERMINAL_STATUSES
from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from services.strategy.service import StrategyService
from services.strategy.settings import StrategySettings
from shared.bus import BusNode, Delivery, Publisher, Receiver
from shared.runtime.bootstrap import upkeep
from shared.schema import SubmitOrder, TradingState
from shared.settings import Secrets
from tests.helpers.context import make_context
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator
from tests.helpers.universe_tap import UniverseTap
from tests.helpers.waiting import eventually

MakeNode = Callable[..., BusNode]
_TERMINAL = tuple(str(s) for s in TERMINAL_STATUSES)

# A strategy that trades at once on a quiet simulated market: any momentum, any spread.
FAST_STRATEGY: dict[str, Any] = {
    "vwap_trades": 3,
    "momentum_threshold": 1e-9,
    "max_spread_bps": 1_000.0,
    "min_top_notional_usdt": 1.0,
    "max_quote_age_ms": 60_000,
    "cooldown_s": 0.0,
    "order_notional_usdt": 300.0,
    "market_max_spread_bps": 1_000.0,
    "liquidity_multiple": 1.0,
    "max_hold_s": 0.3,
    "command_ttl_ms": 5_000,
}


@dataclass(frozen=True)
class Intent:
    """One order intent as the executor journaled it (before sending it)."""

    command: SubmitOrder
    ts_recorded_ns: int
    status: str
    ts_done_ns: int | None  # first terminal status event; None while it works
    ts_first_fill_ns: int | None  # when the executor recorded its first fill

    @property
    def symbol(self) -> str:
        return self.command.symbol

    @property
    def is_exit(self) -> bool:
        return self.command.reduce_only


@dataclass
class Rig(UniverseTap):
    sim: Sim
    feed: FeedService
    executor: ExecutorService
    strategy: StrategyService
    universe: Publisher
    tap: Receiver
    run_dir: Path
    seen: list[Delivery] = field(default_factory=list)

    def intents(self) -> list[Intent]:
        """Every journaled intent of the strategy, in the order the executor recorded them."""
        done_filter = ", ".join("?" * len(_TERMINAL))
        rows = self._rows(
            "SELECT i.command, i.ts_recorded_ns, i.status,"
            f" (SELECT MIN(e.ts_ns) FROM events e WHERE e.client_order_id = i.client_order_id"
            f"  AND e.status IN ({done_filter})),"
            " (SELECT MIN(f.ts_recorded_ns) FROM fills f"
            "  WHERE f.client_order_id = i.client_order_id)"
            " FROM intents i ORDER BY i.ts_recorded_ns, i.rowid",
            *_TERMINAL,
        )
        decode = msgspec.json.Decoder(SubmitOrder).decode
        return [Intent(decode(row[0]), row[1], row[2], row[3], row[4]) for row in rows]

    def filled(self, *, exit_: bool, symbol: str | None = None) -> list[Intent]:
        return [
            i
            for i in self.intents()
            if i.is_exit is exit_
            and i.status == "Filled"
            and i.ts_first_fill_ns is not None
            and (symbol is None or i.symbol == symbol)
        ]

    def _rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        path = self.run_dir / "executor-journal.sqlite"
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute(sql, args).fetchall()

    async def venue_qty(self, symbol: str) -> Decimal:
        params = {"category": "linear", "symbol": symbol}
        reply = await self.sim.get("/v5/position/list", params, signed=True)
        positions: list[dict[str, Any]] = reply["result"]["list"]
        return sum((Decimal(p["size"]) for p in positions), Decimal(0))


@contextlib.asynccontextmanager
async def strategy_rig(
    make_node: MakeNode,
    ipc_dir: Path,
    *,
    strategy: dict[str, Any],
    volatility_scale: float = 5.0,
) -> AsyncIterator[Rig]:
    """Start every service; yield once the strategy is running (nothing announced yet)."""
    symbols = ("BTCUSDT", "ETHUSDT")
    async with running_simulator(symbols=symbols, volatility_scale=volatility_scale) as sim:
        beat = {"heartbeat_interval_ms": 100}
        scanner, monitor = make_node("scanner", **beat), make_node("monitor", **beat)
        feed_node, executor_node = make_node("feed", **beat), make_node("executor", **beat)
        strategy_node = make_node("strategy", **beat)
        eps = scanner.settings.endpoints
        universe = scanner.publisher(eps.universe)
        universe_snapshots = scanner.snapshot_server(eps.universe_snapshot, universe)
        tap = monitor.subscriber(
            [eps.market_data, eps.execution_events], ["md.ready.", "md.status.", "exec."]
        )
        feed = FeedService(
            FeedSettings(metrics_port=free_port()),
            make_context("feed", feed_node, ipc_dir, sim.url),
        )
        executor_context = dataclasses.replace(
            make_context("executor", executor_node, ipc_dir, sim.url),
            secrets=Secrets(bybit_api_key=API_KEY, bybit_api_secret=API_SECRET),
        )
        executor = ExecutorService(ExecutorSettings(metrics_port=free_port()), executor_context)
        service = StrategyService(
            StrategySettings(metrics_port=free_port(), **strategy),
            make_context("strategy", strategy_node, ipc_dir, sim.url),
        )
        tasks: list[asyncio.Task[None]] = []
        async with contextlib.AsyncExitStack() as stack:
            tasks.append(asyncio.create_task(upkeep(universe, universe_snapshots, 0.05)))
            await feed.start(stack)
            tasks.append(asyncio.create_task(feed.run()))
            await executor.start(stack)
            running = asyncio.create_task(executor.run())
            tasks.append(running)
            await eventually(lambda: executor.state is TradingState.ACTIVE or running.done(), 10)
            assert not running.done(), running
            # The slow joiner: the tap hears both publishers before anything happens.
            await eventually(
                lambda: (
                    tap.drain() is not None
                    and monitor.liveness.is_alive("feed", monitor.bus.clock.now_ns())
                    and monitor.liveness.is_alive("executor", monitor.bus.clock.now_ns())
                ),
                timeout_s=10,
            )
            await service.start(stack)
            tasks.append(asyncio.create_task(service.run()))
            try:
                yield Rig(sim, feed, executor, service, universe, tap, ipc_dir)
            finally:
                for task in reversed(tasks):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
