"""The dashboard on real ZeroMQ sockets (ipc in a tmp dir) beside an executor stand-in.

The stand-in is a node named "executor" on the real endpoints: it serves a snapshot,
publishes the events the test sends and answers SetTradingState as the executor does
(TradingStateChanged). The page is a real websocket client.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scripts.control import free_port
from services.dashboard.service import DashboardService
from services.dashboard.settings import DashboardSettings
from shared.bus import BusNode, Delivery, Publisher
from shared.runtime.bootstrap import upkeep
from shared.schema import (
    BusMessage,
    CancelAllOrders,
    ClientOrderId,
    ClosePosition,
    ExecutionSnapshot,
    OpenOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionChanged,
    SetTradingState,
    Symbol,
    TimeInForce,
    TradingState,
    TradingStateChanged,
    VenueOrderId,
    topics,
)
from tests.helpers.context import make_context
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]
TOKEN = "live-bus-token"
_BEAT_MS = 100


@dataclass
class Executor:
    """Serves `snapshot`, publishes what it is given, obeys SetTradingState."""

    node: BusNode
    snapshot: ExecutionSnapshot
    publisher: Publisher | None = None
    commands: list[BusMessage] = field(default_factory=list)
    task: "asyncio.Task[None] | None" = None

    def start(self) -> None:
        eps = self.node.settings.endpoints
        self.publisher = self.node.publisher(eps.execution_events)
        server = self.node.snapshot_server(eps.execution_snapshot, self.publisher, self._serve)
        receiver = self.node.command_receiver(eps.order_commands)

        async def run() -> None:
            assert self.publisher is not None
            serving = asyncio.create_task(upkeep(self.publisher, server, _BEAT_MS / 1000))
            try:
                while True:
                    await receiver.receiver.wait(0.02)
                    while (item := receiver.receive_nowait()) is not None:
                        if isinstance(item, Delivery):
                            self._obey(item.message)
            finally:
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving

        self.task = asyncio.create_task(run())

    def send(self, message: BusMessage) -> None:
        assert self.publisher is not None
        self.publisher.send(message)

    def _obey(self, message: BusMessage) -> None:
        self.commands.append(message)
        if isinstance(message, CancelAllOrders):
            for order in [
                o for o in self.snapshot.open_orders if o.strategy_id == message.strategy_id
            ]:
                self.send(_canceled(order))
            self.snapshot = _snapshot()
        elif isinstance(message, ClosePosition):
            self.send(
                OrderDenied(
                    client_order_id=ClientOrderId(""),
                    strategy_id=message.strategy_id,
                    command_kind="ClosePosition",
                    reason=f"no position in {message.symbol}",
                    ts_event_ns=1,
                )
            )
        elif isinstance(message, SetTradingState):
            self.snapshot = _snapshot(message.state)
            self.send(
                TradingStateChanged(state=message.state, reason=message.reason, ts_event_ns=1)
            )

    def _serve(self, prefix: bytes) -> list[tuple[bytes, BusMessage]]:
        return [(topics.topic_for(self.snapshot, "executor"), self.snapshot)]


def _snapshot(
    state: TradingState = TradingState.ACTIVE, orders: tuple[OpenOrder, ...] = ()
) -> ExecutionSnapshot:
    return ExecutionSnapshot(
        open_orders=orders, positions=(), trading_state=state, reconciled=True, ts_event_ns=1
    )


def _open(cid: str, strategy_id: str) -> OpenOrder:
    return OpenOrder(
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId("v" + cid),
        strategy_id=strategy_id,
        symbol=Symbol("BTCUSDT"),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        qty=Decimal("0.001"),
        limit_price=Decimal("50000"),
        cum_filled_qty=Decimal("0"),
        status=OrderStatus.ACCEPTED,
        reduce_only=False,
    )


def _canceled(order: OpenOrder) -> OrderCanceled:
    return OrderCanceled(
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id,
        strategy_id=order.strategy_id,
        symbol=order.symbol,
        cum_filled_qty=Decimal("0"),
        reason="operator via dashboard",
        ts_event_ns=1,
    )


@dataclass
class Rig:
    executor: Executor
    dashboard: DashboardService
    url: str


@contextlib.asynccontextmanager
async def running_dashboard(
    make_node: MakeNode, ipc_dir: Path, port: int
) -> AsyncIterator[DashboardService]:
    """A DashboardService on `port`, started and running; stopped (port freed) at exit."""
    node = make_node("dashboard", heartbeat_interval_ms=_BEAT_MS)
    settings = DashboardSettings(
        metrics_port=free_port(), port=port, supervisor_poll_s=0.5, scrape_interval_s=0.5
    )
    context = make_context("dashboard", node, ipc_dir, "http://127.0.0.1:1")
    dashboard = DashboardService(settings, context, TOKEN, targets={})
    async with contextlib.AsyncExitStack() as resources:
        await dashboard.start(resources)
        running = asyncio.create_task(dashboard.run())
        try:
            yield dashboard
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


@pytest.fixture
async def rig(make_node: MakeNode, ipc_dir: Path) -> AsyncIterator[Rig]:
    executor = Executor(make_node("executor", heartbeat_interval_ms=_BEAT_MS), _snapshot())
    executor.start()
    port = free_port()
    try:
        async with running_dashboard(make_node, ipc_dir, port) as dashboard:
            yield Rig(executor, dashboard, f"http://127.0.0.1:{port}")
    finally:
        assert executor.task is not None
        executor.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await executor.task


def _accepted(cid: str) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId("v" + cid),
        strategy_id="mom1",
        symbol=Symbol("BTCUSDT"),
        ts_event_ns=1,
        ts_trigger_recv_ns=1,
        ts_request_sent_ns=1,
        ts_ack_ns=1,
    )


async def _until_delta(ws: aiohttp.ClientWebSocketResponse, path: list[str]) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=10)
        if message["type"] == "delta":
            for change in message["changes"]:
                if change["path"][: len(path)] == path:
                    return message


async def test_an_executor_event_reaches_the_page_as_a_delta_with_its_send_time(rig: Rig) -> None:
    dashboard = rig.dashboard
    await eventually(lambda: dashboard.view.get(("health", "trading_state")) == "ACTIVE", 10)
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{rig.url}/ws") as ws:
        snapshot = await ws.receive_json(timeout=10)
        rig.executor.send(_accepted("mom1-1-1"))
        delta = await _until_delta(ws, ["orders", "working", "mom1-1-1"])

    assert snapshot["type"] == "snapshot"
    assert snapshot["state"]["health"]["trading_state"] == "ACTIVE"  # from the snapshot
    assert delta["seq"] > snapshot["seq"]
    assert delta["ts_sent_ns"] > 0  # the executor's header time: event-to-page latency
    change = next(c for c in delta["changes"] if c["path"][:2] == ["orders", "working"])
    assert change["value"]["strategy_id"] == "mom1"


async def test_an_accepted_orders_details_come_from_the_executors_snapshot(
    rig: Rig,
) -> None:
    # Arrange: the dashboard has just joined (its snapshot is fresh); the executor then takes
    # an order, which it holds when it publishes the OrderAccepted (which names no details)
    dashboard = rig.dashboard
    await eventually(lambda: dashboard.view.get(("health", "trading_state")) == "ACTIVE", 10)
    rig.executor.snapshot = _snapshot(orders=(_open("mom1-1-9", "mom1"),))
    working = ("orders", "working", "mom1-1-9")

    # Act
    rig.executor.send(_accepted("mom1-1-9"))
    await eventually(lambda: (dashboard.view.get(working) or {}).get("side") == "Buy", 10)

    # Assert (when it is asked, at once or DETAILS_REFRESH_NS after the last snapshot, is
    # the unit tests' of details_wait_s: a wall-clock bound here would be a timed test)
    order = dashboard.view.get(working)
    assert (order["qty"], order["limit_price"], order["order_type"]) == ("0.001", "50000", "Limit")


async def test_a_position_event_and_an_executor_restart_resync_the_view(
    rig: Rig, make_node: MakeNode
) -> None:
    dashboard = rig.dashboard
    await eventually(lambda: dashboard.view.get(("health", "reconciled")) is True, 10)
    rig.executor.send(
        PositionChanged(
            symbol=Symbol("ETHUSDT"),
            qty=Decimal("0.5"),
            avg_entry_price=Decimal("2000"),
            unrealised_pnl=Decimal("1"),
            realised_pnl=Decimal("0"),
            ts_event_ns=5,
        )
    )
    await eventually(lambda: dashboard.view.get(("money", "positions", "ETHUSDT")) is not None, 10)

    # A new incarnation of the executor whose snapshot has no position: the view follows it.
    old = rig.executor
    assert old.task is not None
    old.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await old.task
    old.node.close()
    rig.executor = Executor(make_node("executor", heartbeat_interval_ms=_BEAT_MS), _snapshot())
    rig.executor.start()

    await eventually(lambda: dashboard.view.get(("money", "positions", "ETHUSDT")) is None, 15)


async def test_halt_with_the_token_reaches_the_executor_and_is_confirmed(rig: Rig) -> None:
    await eventually(lambda: rig.dashboard.view.get(("health", "trading_state")) == "ACTIVE", 10)
    async with aiohttp.ClientSession() as session:
        refused = await session.post(
            f"{rig.url}/api/control/halt",
            data="{}",
            headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
        )
        response = await session.post(
            f"{rig.url}/api/control/halt",
            data="{}",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        body = json.loads(await response.text())

    assert refused.status == 401
    assert response.status == 200
    assert body["ok"] is True, body
    assert body["lines"][0].startswith("confirmed: executor is HALTED (was ACTIVE)")
    assert "no open orders and no positions" in body["lines"][1]
    halts = [c for c in rig.executor.commands if isinstance(c, SetTradingState)]
    assert [(c.state, c.reason) for c in halts] == [(TradingState.HALTED, "operator via dashboard")]


async def _control(rig: Rig, action: str, body: dict[str, str] | None = None) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{rig.url}/api/control/{action}",
            data=json.dumps(body or {}),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status == 200
        return dict(json.loads(await response.text()))


async def test_cancel_all_asks_each_strategy_with_working_orders_and_confirms_none_left(
    rig: Rig, make_node: MakeNode
) -> None:
    rig.executor.snapshot = _snapshot(orders=(_open("mom1-1-1", "mom1"), _open("mm1-1-1", "mm1")))
    rig.dashboard.sources.refresh("executor")
    await eventually(lambda: len(rig.dashboard.view.get(("orders", "working")) or {}) == 2, 10)

    outcome = await _control(rig, "cancel-all")

    assert outcome["ok"] is True, outcome
    assert outcome["lines"][-1] == "confirmed: no working orders left"
    sent = sorted(c.strategy_id for c in rig.executor.commands if isinstance(c, CancelAllOrders))
    assert sent == ["mm1", "mom1"]


async def test_flatten_refused_by_the_executor_says_why(rig: Rig) -> None:
    await eventually(lambda: rig.dashboard.view.get(("health", "trading_state")) == "ACTIVE", 10)

    outcome = await _control(rig, "flatten", {"symbol": "SOLUSDT"})

    assert outcome["ok"] is False
    assert outcome["lines"][-1] == "the executor refused: no position in SOLUSDT"
    closes = [c for c in rig.executor.commands if isinstance(c, ClosePosition)]
    assert [(c.symbol, c.strategy_id, c.reason) for c in closes] == [
        ("SOLUSDT", "executor", "operator via dashboard")
    ]


async def test_a_restarted_dashboard_serves_the_state_again_from_the_snapshots(
    rig: Rig, make_node: MakeNode, ipc_dir: Path
) -> None:
    rig.executor.snapshot = _snapshot(TradingState.REDUCING, orders=(_open("mom1-1-7", "mom1"),))
    rig.executor.send(TradingStateChanged(state=TradingState.REDUCING, reason="x", ts_event_ns=1))
    await eventually(lambda: rig.dashboard.view.get(("health", "trading_state")) == "REDUCING", 10)

    port = free_port()  # a new dashboard process: it knows only what the snapshots say
    async with running_dashboard(make_node, ipc_dir, port) as again:
        await eventually(lambda: again.view.get(("health", "trading_state")) == "REDUCING", 10)
        url = f"http://127.0.0.1:{port}/ws"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            first = await ws.receive_json(timeout=10)

    assert first["type"] == "snapshot"
    assert first["state"]["health"]["trading_state"] == "REDUCING"
    assert set(first["state"]["orders"]["working"]) == {"mom1-1-7"}
