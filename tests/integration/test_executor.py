"""The executor against the real simulator, over real ZeroMQ: orders, denials, doubt, dedup."""

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from shared.bus import BusNode, Delivery, Receiver, Sender
from shared.order_ids import client_order_id
from shared.schema import (
    OrderAccepted,
    OrderDenied,
    OrderFilled,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)
from shared.settings import Secrets
from tests.helpers.context import make_context
from tests.helpers.net import free_port
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
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

    def messages(self, kind: type) -> list[Any]:
        self.seen.extend(self.events.drain(10_000))
        return [d.message for d in self.seen if isinstance(d.message, kind)]

    def order(self, qty: str = "0.001", *, expires_in_ns: int = 5 * SECOND) -> SubmitOrder:
        self.seq += 1
        now = self.executor._clock.now_ns()
        return SubmitOrder(
            client_order_id=client_order_id("t1", 1, now // 1000 + self.seq),
            strategy_id="t1",
            epoch=1,
            symbol=Symbol("BTCUSDT"),
            side=OrderSide.BUY,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            qty=Decimal(qty),
            ts_created_ns=now,
            expires_at_ns=now + expires_in_ns,
            ts_trigger_recv_ns=now - 1000,
            ts_trigger_event_ns=now - 2000,
        )

    async def send(self, command: SubmitOrder) -> None:
        await eventually(lambda: self.commands.send(command))

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
async def rig(make_node: MakeNode, ipc_dir: Path, **settings: Any) -> AsyncIterator[Rig]:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as sim:
        strategy = make_node("strategy")
        node = make_node("executor", heartbeat_interval_ms=100)
        eps = strategy.settings.endpoints
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
            try:
                yield Rig(sim, executor, commands, events, ipc_dir)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def test_submit_order_is_accepted_filled_and_journaled(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        accepted = r.messages(OrderAccepted)
        filled = r.messages(OrderFilled)
        intents = r.journal_rows("SELECT client_order_id, status FROM intents")
        fills = r.journal_rows("SELECT exec_id, client_order_id FROM fills")
    assert [a.client_order_id for a in accepted] == [command.client_order_id]
    assert accepted[0].ts_trigger_recv_ns == command.ts_trigger_recv_ns
    assert 0 < accepted[0].ts_request_sent_ns <= accepted[0].ts_ack_ns
    assert len(filled) == 1
    assert filled[0].cum_filled_qty == Decimal("0.001")
    assert filled[0].leaves_qty == 0
    assert filled[0].fee > 0
    assert intents == [(command.client_order_id, "Filled")]
    assert fills == [(filled[0].exec_id, command.client_order_id)]


async def test_order_above_max_notional_is_denied_and_never_sent(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, max_order_notional_usdt=500.0) as r:
        command = r.order(qty="0.02")  # about 1,945 USDT at the simulator's BTC price
        await r.send(command)
        await eventually(lambda: r.messages(OrderDenied))
        denied = r.messages(OrderDenied)[0]
        on_venue = await r.venue_orders(command.client_order_id)
        intents = r.journal_rows("SELECT client_order_id FROM intents")
    assert denied.client_order_id == command.client_order_id
    assert "max_order_notional_usdt" in denied.reason
    assert on_venue == []
    assert intents == []


async def test_expired_command_is_denied_with_a_reason(make_node: MakeNode, ipc_dir: Path) -> None:
    async with rig(make_node, ipc_dir) as r:
        command = r.order(expires_in_ns=-SECOND)
        await r.send(command)
        await eventually(lambda: r.messages(OrderDenied))
        denied = r.messages(OrderDenied)[0]
        on_venue = await r.venue_orders(command.client_order_id)
    assert denied.client_order_id == command.client_order_id
    assert "expired" in denied.reason
    assert on_venue == []


async def test_timeout_after_accept_is_resolved_by_order_link_id(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, rest_timeout_s=1.0) as r:
        await r.sim.set_faults(timeout_after_accept_rate=1.0, timeout_after_accept_s=3.0)
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.executor.counters["in_doubt_resolved"] == 1, timeout_s=10)
        await r.sim.set_faults(timeout_after_accept_rate=0.0)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        on_venue = await r.venue_orders(command.client_order_id)
        kinds = [
            k
            for (k,) in r.journal_rows(
                "SELECT kind FROM events WHERE client_order_id = ? ORDER BY id",
                command.client_order_id,
            )
        ]
        accepted = r.messages(OrderAccepted)
    assert r.executor.counters["in_doubt"] == 1
    assert r.executor.counters["in_doubt_resends"] == 0
    assert len(on_venue) == 1
    assert "in_doubt" in kinds
    assert kinds.index("sent") < kinds.index("in_doubt")
    # The fill may arrive on the private stream before the lookup by orderLinkId confirms the
    # order: then no acknowledgement is owed. Never more than one, and exactly one fill.
    assert [a.client_order_id for a in accepted] in ([], [command.client_order_id])
    assert len(r.messages(OrderFilled)) == 1


async def test_duplicated_websocket_messages_give_each_fill_once(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        await r.sim.set_faults(ws_duplicate_rate=1.0)
        first, second = r.order(), r.order()
        for command in (first, second):
            await r.send(command)
        await eventually(
            lambda: (
                len(r.messages(OrderFilled)) == 2 and r.executor.counters["duplicate_fills"] >= 2
            ),
            timeout_s=10,
        )
        filled = r.messages(OrderFilled)
        fills = r.journal_rows("SELECT exec_id FROM fills")
    assert sorted(f.client_order_id for f in filled) == sorted(
        [first.client_order_id, second.client_order_id]
    )
    assert len({f.exec_id for f in filled}) == 2
    assert len(fills) == 2
