"""The executor in-process against the real simulator, with a fake strategy over real ZeroMQ."""

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from scripts.control import free_port
from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from shared.bus import BusNode, Delivery, Publisher, Receiver, Sender
from shared.order_ids import client_order_id
from shared.schema import (
    BusMessage,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)
from shared.settings import Secrets
from tests.helpers.context import make_context
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator
from tests.helpers.waiting import eventually

MakeNode = Callable[..., BusNode]
SECOND = 1_000_000_000


@dataclass
class Rig:
    sim: Sim
    executor: ExecutorService
    commands: Sender
    events: Receiver
    run_dir: Path
    seen: list[Delivery] = field(default_factory=list)
    seq: int = 0
    beating: bool = True  # the fake strategy's heartbeats (the dead-man's switch listens)

    def messages(self, kind: type) -> list[Any]:
        self.seen.extend(self.events.drain(10_000))
        return [d.message for d in self.seen if isinstance(d.message, kind)]

    def order(
        self,
        qty: str = "0.001",
        *,
        expires_in_ns: int = 5 * SECOND,
        limit_price: Decimal | None = None,
        side: OrderSide = OrderSide.BUY,
    ) -> SubmitOrder:
        """A market IOC order, or a PostOnly limit order when `limit_price` is given."""
        self.seq += 1
        now = self.executor._clock.now_ns()
        return SubmitOrder(
            client_order_id=client_order_id("t1", 1, now // 1000 + self.seq),
            strategy_id="t1",
            epoch=1,
            symbol=Symbol("BTCUSDT"),
            side=side,
            order_type=OrderType.MARKET if limit_price is None else OrderType.LIMIT,
            time_in_force=TimeInForce.IOC if limit_price is None else TimeInForce.POST_ONLY,
            qty=Decimal(qty),
            limit_price=limit_price,
            ts_created_ns=now,
            expires_at_ns=now + expires_in_ns,
            ts_trigger_recv_ns=now - 1000,
            ts_trigger_event_ns=now - 2000,
        )

    async def send(self, command: BusMessage) -> None:
        await eventually(lambda: self.commands.send(command))

    async def last_price(self) -> Decimal:
        reply = await self.sim.get(
            "/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}
        )
        return Decimal(reply["result"]["list"][0]["lastPrice"])

    async def venue_position(self) -> dict[str, Any]:
        params = {"category": "linear", "symbol": "BTCUSDT"}
        reply = await self.sim.get("/v5/position/list", params, signed=True)
        positions: list[dict[str, Any]] = reply["result"]["list"]
        return positions[0] if positions else {"size": "0", "stopLoss": ""}

    async def open_at_venue(self) -> list[dict[str, Any]]:
        params = {"category": "linear", "settleCoin": "USDT"}
        reply = await self.sim.get("/v5/order/realtime", params, signed=True)
        return list(reply["result"]["list"])

    def journal_rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.run_dir / "executor-journal.sqlite")) as db:
            return db.execute(sql, args).fetchall()

    async def venue_orders(self, link_id: str) -> list[dict[str, Any]]:
        params = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": link_id}
        found: list[dict[str, Any]] = []
        for path in ("/v5/order/realtime", "/v5/order/history"):
            reply = await self.sim.get(path, params, signed=True)
            found.extend(o for o in reply["result"]["list"] if o["orderLinkId"] == link_id)
        return list({o["orderId"]: o for o in found}.values())


@contextlib.asynccontextmanager
async def rig(
    make_node: MakeNode, ipc_dir: Path, volatility_scale: float = 1.0, **settings: Any
) -> AsyncIterator[Rig]:
    async with (
        running_simulator(symbols=("BTCUSDT", "ETHUSDT"), volatility_scale=volatility_scale) as sim,
        rig_on(sim, make_node, ipc_dir, **settings) as the_rig,
    ):
        yield the_rig


@contextlib.asynccontextmanager
async def rig_on(
    sim: Sim, make_node: MakeNode, ipc_dir: Path, **settings: Any
) -> AsyncIterator[Rig]:
    """The rig's executor and fake strategy on a running simulator (a second executor on the
    same venue: another `ipc_dir`, with `make_node` on it, holding its journal)."""
    strategy = make_node("strategy", heartbeat_interval_ms=100)
    node = make_node("executor", heartbeat_interval_ms=100)
    eps = strategy.settings.endpoints
    pulse = strategy.publisher(eps.strategy_events)
    events = strategy.subscriber([eps.execution_events], ["exec.", "alert."])
    commands = strategy.command_sender(eps.order_commands)
    config = ExecutorSettings(metrics_port=free_port(), **settings)
    context = make_context("executor", node, ipc_dir, sim.url)
    context = dataclasses.replace(
        context, secrets=Secrets(bybit_api_key=API_KEY, bybit_api_secret=API_SECRET)
    )
    executor = ExecutorService(config, context)
    async with contextlib.AsyncExitStack() as stack:
        await executor.start(stack)
        task = asyncio.create_task(executor.run())
        await eventually(lambda: executor.state is TradingState.ACTIVE or task.done(), 10)
        assert not task.done(), task
        # The slow joiner: subscribed once the executor's heartbeats reach us.
        await eventually(
            lambda: (
                strategy.liveness.is_alive("executor", strategy.bus.clock.now_ns())
                or events.drain()
            )
        )
        the_rig = Rig(sim, executor, commands, events, ipc_dir)
        heart = asyncio.create_task(heartbeats(pulse, lambda: the_rig.beating))
        try:
            yield the_rig
        finally:
            for running in (heart, task):
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running


async def heartbeats(pulse: Publisher, beating: Callable[[], bool] = lambda: True) -> None:
    """A fake strategy's heartbeats while `beating()` (a periodic driver, not a wait)."""
    while True:
        if beating():
            pulse.tick()
        await asyncio.sleep(0.05)
