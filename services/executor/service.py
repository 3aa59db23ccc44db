"""ExecutorService: order commands in, venue orders out; the venue's reports in, exec.* out."""

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass

from services.executor.journal import Journal
from services.executor.order_control import OrderControl
from services.executor.order_flow import OrderFlow
from services.executor.ports import Outbox, Parts, TradingStatus
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.registry import OrderRegistry
from services.executor.settings import ExecutorSettings
from services.executor.venue_events import PRIVATE_TOPICS, VenueEvents
from shared.bus import CommandReceiver, Publisher, Receiver, RefusedCommand, SnapshotServer
from shared.bybit.errors import BybitError
from shared.bybit.rest import BybitRest
from shared.bybit.stream import BybitStream
from shared.bybit.translate import instrument_rules
from shared.runtime.bootstrap import ServiceContext, start_metrics, upkeep
from shared.runtime.metrics import CounterCollector
from shared.schema import (
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    ClosePosition,
    RequestSnapshot,
    SetTradingState,
    SubmitOrder,
    Trade,
    TradingState,
    topics,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Wired:
    """What start() builds: sockets, the venue stream, and the parts that share `Parts`."""

    publisher: Publisher
    snapshots: SnapshotServer
    commands: CommandReceiver
    market: Receiver
    stream: BybitStream
    parts: Parts
    events: VenueEvents
    flow: OrderFlow
    control: OrderControl
    reconciler: ReconcileRunner


class ExecutorService:
    name = "executor"

    def __init__(self, settings: ExecutorSettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self._clock = context.clock
        self._limits = settings.risk_limits()
        self.registry = OrderRegistry()
        self.counters: Counter[str] = Counter()
        self.status = TradingStatus()
        self.accepting = False  # commands are taken only while True
        self.journal: Journal | None = None
        self._wired: _Wired | None = None

    @property
    def state(self) -> TradingState:
        return self.status.state

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx, eps = self._context, self._context.endpoints
        resources.callback(ctx.node.close)
        publisher = ctx.node.publisher(eps.execution_events)
        snapshots = ctx.node.snapshot_server(
            eps.execution_snapshot, publisher, self._snapshot_provider
        )
        commands = ctx.node.command_receiver(eps.order_commands)
        market = ctx.node.subscriber([eps.market_data], ["md.trade."])
        self.journal = Journal(ctx.run_dir / "executor-journal.sqlite")
        resources.callback(self.journal.close)
        rest, stream = self._venue_clients(resources)
        ctx.registry.register(
            CounterCollector("executor_events", "Executor events by kind", lambda: self.counters)
        )
        start_metrics(ctx, self._settings.metrics_port, resources)
        outbox = Outbox(publisher, self._clock, self.counters, self.status, self.journal)
        parts = Parts(
            self._clock, self.registry, self.journal, rest, self.counters, self.status, outbox
        )
        events = VenueEvents(parts)
        flow = OrderFlow(parts, self._settings, self._limits, events)
        control, reconciler = OrderControl(parts, flow), ReconcileRunner(parts, flow, events)
        self._wired = _Wired(
            publisher, snapshots, commands, market, stream, parts, events, flow, control, reconciler
        )

    def _venue_clients(self, resources: contextlib.AsyncExitStack) -> tuple[BybitRest, BybitStream]:
        ctx, secrets = self._context, self._context.secrets
        key, secret = secrets.bybit_api_key, secrets.bybit_api_secret
        rest = BybitRest(
            ctx.venue.rest_url,
            api_key=key,
            api_secret=secret,
            recv_window_ms=ctx.bybit.recv_window_ms,
            timeout_s=self._settings.rest_timeout_s,
            clock=self._clock,
        )
        resources.push_async_callback(rest.close)
        stream = BybitStream(
            ctx.venue.ws_private_url,
            api_key=key,
            api_secret=secret,
            clock=self._clock,
            ping_interval_s=self._settings.ping_interval_s,
        )
        resources.push_async_callback(stream.close)
        return rest, stream

    async def run(self) -> None:
        assert self._wired is not None
        w = self._wired
        w.reconciler.restore_from_journal()
        rest, allowed = w.parts.rest, self._limits.allowed_symbols
        await rest.sync_time()
        w.flow.rules = {
            i.symbol: instrument_rules(i) for i in await rest.instruments() if i.symbol in allowed
        }
        w.parts.outbox.set_state(self.status.state, self.status.reason)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(w.events.follow(w.stream), name="executor.stream")
                tasks.create_task(w.stream.subscribe(PRIVATE_TOPICS), name="executor.sub")
                tasks.create_task(w.reconciler.run(), name="executor.reconcile")
                tasks.create_task(self._take_commands(w), name="executor.commands")
                tasks.create_task(self._follow_market(w.market), name="executor.market")
                heartbeat_s = self._context.bus.heartbeat_interval_ms / 1000
                tasks.create_task(
                    upkeep(w.publisher, w.snapshots, heartbeat_s), name="executor.upkeep"
                )
        except asyncio.CancelledError:
            await self._shutdown(w.control)
            raise

    async def _shutdown(self, control: OrderControl) -> None:
        """SIGTERM: no more commands; cancel the working orders and confirm over REST."""
        self.accepting = False
        try:
            await asyncio.wait_for(control.cancel_everything(), self._settings.shutdown_timeout_s)
        except (TimeoutError, BybitError) as e:
            log.error("shutdown: working orders not confirmed cancelled error=%s", e)
            return
        log.info("shutdown: no working orders at the venue")

    def _snapshot_provider(self, prefix: bytes) -> list[tuple[bytes, BusMessage]]:
        status = self.status
        snapshot = self.registry.snapshot(status.state, status.reconciled, self._clock.now_ns())
        return [(topics.topic_for(snapshot, self.name), snapshot)]

    async def _take_commands(self, w: _Wired) -> None:
        self.accepting = True
        while self.accepting:
            item = w.commands.receive_nowait()
            if item is None:
                await w.commands.receiver.wait(0.5)
                continue
            if isinstance(item, RefusedCommand):
                w.parts.outbox.deny(item.delivery.message, item.reason)
                continue
            try:
                async with w.parts.venue_lock:
                    await self._on_command(w, item.message, item.ts_recv_ns)
            except BybitError as e:
                w.parts.outbox.deny(item.message, f"venue call failed: {e}")

    async def _on_command(self, w: _Wired, command: BusMessage, ts_recv_ns: int) -> None:
        if isinstance(command, SubmitOrder):
            await w.flow.submit(command, ts_recv_ns)
        elif isinstance(command, CancelOrder):
            await w.control.cancel(command)
        elif isinstance(command, CancelAllOrders):
            await w.control.cancel_all(command)
        elif isinstance(command, ClosePosition):
            await w.control.close_position(command.symbol, command.strategy_id, command)
        elif isinstance(command, SetTradingState):
            await w.control.set_trading_state(command)
        elif isinstance(command, RequestSnapshot):
            w.parts.outbox.publish(self._snapshot_provider(b"")[0][1])
        else:
            w.parts.outbox.deny(command, f"{type(command).__name__} is not supported yet")

    async def _follow_market(self, market: Receiver) -> None:
        while True:
            await market.wait(1.0)
            for delivery in market.drain():
                if isinstance(delivery.message, Trade):
                    trade = delivery.message
                    self.registry.set_price(trade.symbol, trade.price, delivery.ts_recv_ns)
