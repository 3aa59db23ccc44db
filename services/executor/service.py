"""ExecutorService: order commands in, venue orders out; the venue's reports in, exec.* out."""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import msgspec

from services.executor.ids import client_order_id, parse_client_order_id
from services.executor.journal import EventKind, Journal
from services.executor.order_state import CANCELABLE_STATUSES, InvalidTransition, OrderRecord
from services.executor.reconciliation import VenueView, reconcile
from services.executor.registry import (
    OrderRegistry,
    balance_events,
    canceled_event,
    create_request,
    fill_event,
    position_changed,
    to_fill,
)
from services.executor.risk import check_order, quantize_order
from services.executor.settings import ExecutorSettings
from shared.bus import CommandReceiver, Publisher, Receiver, RefusedCommand, SnapshotServer
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.bybit.rest import BybitRest
from shared.bybit.stream import BybitStream, StreamConnected, StreamDisconnected, StreamFrame
from shared.bybit.translate import (
    InstrumentRules,
    instrument_rules,
    is_trade_execution,
    to_position,
)
from shared.bybit.translate import order_status as venue_status
from shared.runtime.bootstrap import ServiceContext, start_metrics, upkeep
from shared.runtime.metrics import CounterCollector
from shared.schema import (
    Alert,
    AlertSeverity,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    ClientOrderId,
    ClosePosition,
    OrderAccepted,
    OrderDenied,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderType,
    RequestSnapshot,
    SetTradingState,
    SubmitOrder,
    Symbol,
    TimeInForce,
    Trade,
    TradingState,
    TradingStateChanged,
    VenueOrderId,
    topics,
)

log = logging.getLogger(__name__)

PRIVATE_TOPICS: Final = ["order", "execution", "position", "wallet"]
_PROBE: Final = msgspec.json.Decoder(wire.TopicProbe)
_ORDERS: Final = msgspec.json.Decoder(wire.PrivateMessage[wire.OrderEvent])
_EXECS: Final = msgspec.json.Decoder(wire.PrivateMessage[wire.ExecutionEvent])
_POSITIONS: Final = msgspec.json.Decoder(wire.PrivateMessage[wire.PositionEvent])
_WALLETS: Final = msgspec.json.Decoder(wire.PrivateMessage[wire.Wallet])
S = OrderStatus


class ExecutorService:
    name = "executor"

    def __init__(self, settings: ExecutorSettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self._clock = context.clock
        self._limits = settings.risk_limits()
        self.registry = OrderRegistry()
        self.counters: Counter[str] = Counter()
        self.state = TradingState.REDUCING
        self.state_reason = "starting: not reconciled with the venue yet"
        self.reconciled = False
        self.accepting = False  # commands are taken only while True
        self._halted_by_journal = False
        self._rules: dict[str, InstrumentRules] = {}
        self._venue_lock = asyncio.Lock()  # one venue conversation at a time (orders)
        self._reconcile_wanted = asyncio.Event()
        self.journal: Journal | None = None
        self._rest: BybitRest | None = None
        self._stream: BybitStream | None = None
        self._publisher: Publisher | None = None
        self._snapshots: SnapshotServer | None = None
        self._commands: CommandReceiver | None = None
        self._market: Receiver | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx, eps, secrets = self._context, self._context.endpoints, self._context.secrets
        resources.callback(ctx.node.close)
        self._publisher = ctx.node.publisher(eps.execution_events)
        self._snapshots = ctx.node.snapshot_server(
            eps.execution_snapshot, self._publisher, self._snapshot_provider
        )
        self._commands = ctx.node.command_receiver(eps.order_commands)
        self._market = ctx.node.subscriber([eps.market_data], ["md.trade."])
        self.journal = Journal(ctx.run_dir / "executor-journal.sqlite")
        resources.callback(self.journal.close)
        key, secret = secrets.bybit_api_key, secrets.bybit_api_secret
        self._rest = BybitRest(
            ctx.venue.rest_url,
            api_key=key,
            api_secret=secret,
            recv_window_ms=ctx.bybit.recv_window_ms,
            timeout_s=self._settings.rest_timeout_s,
            clock=self._clock,
        )
        resources.push_async_callback(self._rest.close)
        self._stream = BybitStream(
            ctx.venue.ws_private_url,
            api_key=key,
            api_secret=secret,
            clock=self._clock,
            ping_interval_s=self._settings.ping_interval_s,
        )
        resources.push_async_callback(self._stream.close)
        ctx.registry.register(
            CounterCollector("executor_events", "Executor events by kind", lambda: self.counters)
        )
        start_metrics(ctx, self._settings.metrics_port, resources)

    async def run(self) -> None:
        assert self._publisher is not None
        assert self._snapshots is not None
        assert self._rest is not None
        assert self._stream is not None
        self._load_journal()
        await self._rest.sync_time()
        self._rules = {
            i.symbol: instrument_rules(i)
            for i in await self._rest.instruments()
            if i.symbol in self._limits.allowed_symbols
        }
        self._set_state(self.state, self.state_reason)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read_stream(), name="executor.stream")
                tasks.create_task(self._stream.subscribe(PRIVATE_TOPICS), name="executor.sub")
                tasks.create_task(self._reconcile_loop(), name="executor.reconcile")
                tasks.create_task(self._take_commands(), name="executor.commands")
                tasks.create_task(self._follow_market(), name="executor.market")
                heartbeat_s = self._context.bus.heartbeat_interval_ms / 1000
                tasks.create_task(
                    upkeep(self._publisher, self._snapshots, heartbeat_s), name="executor.upkeep"
                )
        except asyncio.CancelledError:
            await self._shutdown()
            raise

    async def _shutdown(self) -> None:
        """SIGTERM: no more commands; cancel the working orders and confirm over REST."""
        self.accepting = False
        try:
            await asyncio.wait_for(self._cancel_everything(), self._settings.shutdown_timeout_s)
        except (TimeoutError, BybitError) as e:
            log.error("shutdown: working orders not confirmed cancelled error=%s", e)
            return
        log.info("shutdown: no working orders at the venue")

    async def _cancel_everything(self) -> None:
        assert self._rest is not None
        if self.registry.open_records():
            await self._rest.cancel_all(wire.CancelAllRequest(settle_coin="USDT"), retry=True)
        left = await self._rest.open_orders(open_only=0)
        if left:
            raise BybitError(f"{len(left)} orders still open after cancel-all")

    def _load_journal(self) -> None:
        assert self.journal is not None
        state = self.journal.load()
        now = self._clock.now_ns()
        self.registry.exec_ids.update(state.exec_ids)
        for order in state.open_orders:
            record = order.to_record()
            if record.status is S.INTENDED:  # the request may have left before the crash
                record.apply_status(S.IN_DOUBT)
                self.journal.record_event(
                    record.client_order_id, EventKind.IN_DOUBT, now, status=S.IN_DOUBT
                )
            self.registry.add(record)
        if state.trading_state is TradingState.HALTED:
            self._halted_by_journal = True
            self.state, self.state_reason = TradingState.HALTED, state.trading_state_reason

    # ------------------------------------------------------------ publishing

    def _publish(self, message: BusMessage) -> None:
        assert self._publisher is not None
        self._publisher.send(message)

    def _alert(self, severity: AlertSeverity, code: str, detail: str) -> None:
        self.counters[f"alert_{code}"] += 1
        log.warning("alert code=%s %s", code, detail)
        self._publish(
            Alert(
                source=self.name,
                severity=severity,
                code=code,
                detail=detail,
                ts_event_ns=self._clock.now_ns(),
            )
        )

    def _set_state(self, state: TradingState, reason: str) -> None:
        self.state, self.state_reason = state, reason
        now = self._clock.now_ns()
        if self.journal is not None:
            self.journal.record_trading_state(state, reason, now)
        self._publish(TradingStateChanged(state=state, reason=reason, ts_event_ns=now))

    def _snapshot_provider(self, prefix: bytes) -> list[tuple[bytes, BusMessage]]:
        snapshot = self.registry.snapshot(self.state, self.reconciled, self._clock.now_ns())
        return [(topics.topic_for(snapshot, self.name), snapshot)]

    def _deny(self, command: BusMessage, reason: str) -> None:
        self.counters["denied"] += 1
        log.info("denied kind=%s reason=%s", type(command).__name__, reason)
        self._publish(
            OrderDenied(
                client_order_id=ClientOrderId(getattr(command, "client_order_id", "")),
                strategy_id=getattr(command, "strategy_id", ""),
                command_kind=type(command).__name__,
                reason=reason,
                ts_event_ns=self._clock.now_ns(),
            )
        )

    # ------------------------------------------------------------ commands

    async def _take_commands(self) -> None:
        assert self._commands is not None
        self.accepting = True
        while self.accepting:
            item = self._commands.receive_nowait()
            if item is None:
                await self._commands.receiver.wait(0.5)
                continue
            if isinstance(item, RefusedCommand):
                self._deny(item.delivery.message, item.reason)
                continue
            try:
                await self._on_command(item.message, item.ts_recv_ns)
            except BybitError as e:
                self._deny(item.message, f"venue call failed: {e}")

    async def _on_command(self, command: BusMessage, ts_recv_ns: int) -> None:
        async with self._venue_lock:
            if isinstance(command, SubmitOrder):
                await self._submit(command, ts_recv_ns)
            elif isinstance(command, CancelOrder):
                await self._cancel(command)
            elif isinstance(command, CancelAllOrders):
                for record in self.registry.open_records():
                    if record.strategy_id == command.strategy_id and (
                        command.symbol is None or record.symbol == command.symbol
                    ):
                        await self._cancel_record(record, command)
            elif isinstance(command, ClosePosition):
                await self._close_position(command.symbol, command.strategy_id, command)
            elif isinstance(command, SetTradingState):
                await self._set_trading_state(command)
            elif isinstance(command, RequestSnapshot):
                self._publish(self._snapshot_provider(b"")[0][1])
            else:
                self._deny(command, f"{type(command).__name__} is not supported yet")

    async def _submit(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        assert self.journal is not None
        now = self._clock.now_ns()
        parts = parse_client_order_id(command.client_order_id)
        if parts is None or parts.strategy_id != command.strategy_id:
            self._deny(
                command, f"client_order_id {command.client_order_id} is not this strategy's id"
            )
            return
        known = self.registry.get(command.client_order_id) or self.journal.find(
            command.client_order_id
        )
        if known is not None:
            self._deny(
                command, f"duplicate client_order_id {command.client_order_id} ({known.status})"
            )
            return
        rules = self._rules.get(command.symbol)
        if rules is None:
            self._deny(command, f"symbol {command.symbol} not in allowed_symbols or not trading")
            return
        price = await self._last_price(command.symbol)
        quantized = quantize_order(command, rules, price)
        if isinstance(quantized, str):
            self._deny(command, quantized)
            return
        exposure = self.registry.exposure(now)
        reason = check_order(quantized, self._limits, exposure, self.state, self.reconciled, now)
        if reason:
            self._deny(command, reason)
            return
        self.registry.note_order(now)
        await self._send_intent(quantized, ts_recv_ns)

    async def _send_intent(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        """Intent before send; then create; an unknown outcome is resolved by orderLinkId."""
        assert self.journal is not None
        assert self._rest is not None
        coid = command.client_order_id
        if not self.journal.record_intent(command, self._clock.now_ns()):
            self._deny(command, f"duplicate client_order_id {coid} (journal)")
            return
        record = OrderRecord.from_command(command)
        record.ts_trigger_recv_ns = command.ts_trigger_recv_ns or ts_recv_ns
        self.registry.add(record)
        record.ts_request_sent_ns = self._clock.now_ns()
        record.apply_status(S.SUBMITTED)
        self.journal.record_event(
            coid, EventKind.SENT, record.ts_request_sent_ns, status=S.SUBMITTED
        )
        await self._create(record, command)

    async def _create(self, record: OrderRecord, command: SubmitOrder, resends: int = 0) -> None:
        assert self.journal is not None
        assert self._rest is not None
        try:
            ids = await self._rest.create_order(create_request(command), retry=False)
            timing = self._rest.last_timing  # no await since the call: ours
        except BybitError as e:
            if e.outcome_unknown:
                await self._in_doubt(record, command, e, resends)
            else:
                self._rejected(record, str(getattr(e, "ret_msg", e)), getattr(e, "ret_code", 0))
            return
        if timing is not None:
            record.ts_request_sent_ns = timing.sent_ns
        self._accepted(record, VenueOrderId(ids.order_id), timing.received_ns if timing else 0)

    def _accepted(self, record: OrderRecord, venue_order_id: VenueOrderId, ts_ack_ns: int) -> None:
        assert self.journal is not None
        ts_ack_ns = ts_ack_ns or self._clock.now_ns()
        record.record_ack(venue_order_id, ts_ack_ns)
        self.registry.index(record)
        self.journal.record_event(
            record.client_order_id, EventKind.ACK, ts_ack_ns, venue_order_id=venue_order_id
        )
        self.counters["accepted"] += 1
        self._publish(
            OrderAccepted(
                client_order_id=record.client_order_id,
                venue_order_id=venue_order_id,
                strategy_id=record.strategy_id,
                symbol=record.symbol,
                ts_event_ns=ts_ack_ns,
                ts_trigger_recv_ns=record.ts_trigger_recv_ns,
                ts_request_sent_ns=record.ts_request_sent_ns,
                ts_ack_ns=record.ts_ack_ns,
            )
        )

    def _rejected(self, record: OrderRecord, reason: str, code: int) -> None:
        assert self.journal is not None
        now = self._clock.now_ns()
        if record.apply_status(S.REJECTED).value == "apply":
            self.journal.record_event(
                record.client_order_id,
                EventKind.STATUS,
                now,
                status=S.REJECTED,
                payload={"reason": reason, "venue_code": code},
            )
        self.counters["rejected"] += 1
        self._publish(
            OrderRejected(
                client_order_id=record.client_order_id,
                strategy_id=record.strategy_id,
                symbol=record.symbol,
                reason=reason,
                venue_code=code,
                ts_event_ns=now,
            )
        )

    async def _in_doubt(
        self, record: OrderRecord, command: SubmitOrder, error: BybitError, resends: int
    ) -> None:
        """Ask the venue by orderLinkId; resend with the same id only if it does not know it."""
        assert self.journal is not None
        assert self._rest is not None
        coid = record.client_order_id
        self.counters["in_doubt"] += 1
        log.warning("order in doubt client_order_id=%s error=%s", coid, error)
        status = S.IN_DOUBT if record.apply_status(S.IN_DOUBT).value == "apply" else None
        self.journal.record_event(
            coid,
            EventKind.IN_DOUBT,
            self._clock.now_ns(),
            status=status,
            payload={"error": str(error)},
        )
        for attempt in range(self._settings.in_doubt_queries):
            if attempt:
                await asyncio.sleep(self._settings.in_doubt_query_interval_s)
            try:
                found = await self._query(command.symbol, coid)
            except BybitError as e:
                log.warning("in-doubt query failed client_order_id=%s error=%s", coid, e)
                continue
            if found is not None:
                self.counters["in_doubt_resolved"] += 1
                self._adopt_venue_order(record, found)
                return
        if resends >= self._settings.in_doubt_resends:
            self._alert(
                AlertSeverity.CRITICAL,
                "order_in_doubt",
                f"client_order_id={coid}: unknown to the venue after {resends} resends; left in"
                " doubt until the next reconciliation",
            )
            return
        self.counters["in_doubt_resends"] += 1
        record.apply_status(S.SUBMITTED)
        record.ts_request_sent_ns = self._clock.now_ns()
        self.journal.record_event(
            coid, EventKind.RESEND, record.ts_request_sent_ns, status=S.SUBMITTED
        )
        await self._create(record, command, resends + 1)

    async def _query(self, symbol: str, coid: str) -> wire.Order | None:
        assert self._rest is not None
        for call in (self._rest.open_orders, self._rest.order_history):
            orders = await call(symbol=symbol, order_link_id=coid)
            for order in orders:
                if order.order_link_id == coid:
                    return order
        return None

    def _adopt_venue_order(self, record: OrderRecord, order: wire.Order) -> None:
        """An in-doubt order the venue knows: take its id and status (fills come as executions)."""
        status = venue_status(order.order_status, order.cum_exec_qty, order.qty)
        if status is S.REJECTED:
            self._rejected(record, order.reject_reason, 0)
            return
        self._accepted(record, VenueOrderId(order.order_id), self._clock.now_ns())
        if status not in (S.PARTIALLY_FILLED, S.FILLED):  # those come with their executions
            self._apply_status(record, status, "venue")

    async def _last_price(self, symbol: str) -> Decimal | None:
        assert self._rest is not None
        now = self._clock.now_ns()
        max_age = int(self._settings.price_max_age_s * 1e9)
        price = self.registry.price(symbol, now, max_age)
        if price is None:
            for ticker in await self._rest.tickers(symbol):
                if ticker.symbol == symbol:
                    price = ticker.last_price
                    self.registry.set_price(symbol, price, self._clock.now_ns())
        return price

    async def _cancel(self, command: CancelOrder) -> None:
        record = self.registry.get(command.client_order_id)
        if record is None or record.strategy_id != command.strategy_id:
            self._deny(command, f"unknown client_order_id {command.client_order_id}")
        elif record.status not in CANCELABLE_STATUSES:
            self._deny(command, f"order {command.client_order_id} is {record.status}")
        else:
            await self._cancel_record(record, command)

    async def _cancel_record(self, record: OrderRecord, command: BusMessage) -> None:
        assert self._rest is not None
        assert self.journal is not None
        if record.status not in CANCELABLE_STATUSES:
            return
        request = wire.OrderCancelRequest(
            symbol=record.symbol, order_link_id=record.client_order_id
        )
        try:
            await self._rest.cancel_order(request, retry=True)
        except VenueError as e:
            self._deny(command, f"cancel of {record.client_order_id} refused: {e.ret_msg}")
            return
        now = self._clock.now_ns()
        pending = record.apply_status(S.PENDING_CANCEL).value == "apply"
        self.journal.record_event(
            record.client_order_id,
            EventKind.CANCEL,
            now,
            status=S.PENDING_CANCEL if pending else None,
        )

    async def _close_position(self, symbol: str, strategy_id: str, command: BusMessage) -> None:
        """Flatten with a reduce-only market order for the venue's exact size."""
        assert self._rest is not None
        net = sum(
            (
                p.size if p.side == "Buy" else -p.size
                for p in await self._rest.positions(symbol=symbol)
            ),
            start=Decimal(0),
        )
        if net == 0:
            self._deny(command, f"no position in {symbol}")
            return
        now = self._clock.now_ns()
        owner = strategy_id if parse_client_order_id(f"{strategy_id}-0-0") else "executor"
        flatten = SubmitOrder(
            client_order_id=client_order_id(owner, 0, now),
            strategy_id=owner,
            epoch=0,
            symbol=Symbol(symbol),
            side=OrderSide.SELL if net > 0 else OrderSide.BUY,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            qty=abs(net),
            reduce_only=True,
            ts_created_ns=now,
            expires_at_ns=now + 10_000_000_000,
            ts_trigger_recv_ns=now,
            ts_trigger_event_ns=now,
        )
        await self._send_intent(flatten, now)

    async def _set_trading_state(self, command: SetTradingState) -> None:
        if command.state is TradingState.HALTED:
            self._set_state(TradingState.HALTED, command.reason)
            for record in self.registry.open_records():
                await self._cancel_record(record, command)
            for symbol, position in list(self.registry.positions.items()):
                if position.qty != 0:
                    await self._close_position(symbol, "executor", command)
        elif command.state is TradingState.ACTIVE and not self.reconciled:
            self._halted_by_journal = False
            self._set_state(TradingState.REDUCING, f"{command.reason}; reconciling first")
        else:
            self._halted_by_journal = False
            self._set_state(command.state, command.reason)

    async def _follow_market(self) -> None:
        assert self._market is not None
        while True:
            await self._market.wait(1.0)
            for delivery in self._market.drain():
                if isinstance(delivery.message, Trade):
                    trade = delivery.message
                    self.registry.set_price(trade.symbol, trade.price, delivery.ts_recv_ns)

    # ------------------------------------------------------------ private stream

    async def _read_stream(self) -> None:
        assert self._stream is not None
        async for event in self._stream.run():
            if isinstance(event, StreamFrame):
                self._on_frame(event)
            elif isinstance(event, StreamConnected):
                self.counters["stream_connects"] += 1
                self._reconcile_wanted.set()  # after every (re)connect: reconcile
            elif isinstance(event, StreamDisconnected):
                self.counters["stream_disconnects"] += 1
                log.warning("private stream down reason=%s", event.reason)

    def _on_frame(self, frame: StreamFrame) -> None:
        try:
            self._route(_PROBE.decode(frame.data).topic or "", frame)
        except (msgspec.DecodeError, ValueError) as e:
            self.counters["bad_frames"] += 1
            log.error("dropped private frame error=%s head=%r", e, frame.data[:120])

    def _route(self, topic: str, frame: StreamFrame) -> None:
        data, ts = frame.data, frame.ts_recv_ns
        if topic.startswith("order"):
            for order in _ORDERS.decode(data).data:
                self._on_order(order)
        elif topic.startswith("execution"):
            for execution in _EXECS.decode(data).data:
                self._apply_execution(execution)
        elif topic.startswith("position"):
            for position in _POSITIONS.decode(data).data:
                self._on_position(position, ts)
        elif topic.startswith("wallet"):
            messages = [m for w in _WALLETS.decode(data).data for m in balance_events(w, ts)]
            for message in messages:
                self._publish(message)
        else:
            self.counters["unknown_frames"] += 1

    def _on_order(self, order: wire.Order) -> None:
        record = self.registry.find(order.order_link_id, order.order_id)
        if record is None:
            self.counters["unknown_order_reports"] += 1
            return
        status = venue_status(order.order_status, order.cum_exec_qty, order.qty)
        if status in (S.PARTIALLY_FILLED, S.FILLED):
            return  # a fill's status is applied with its execution (exactly once)
        if not record.venue_order_id:
            record.record_ack(VenueOrderId(order.order_id), self._clock.now_ns())
            self.registry.index(record)
        reason = order.reject_reason if status is S.REJECTED else order.cancel_type
        self._apply_status(record, status, reason)

    def _apply_status(self, record: OrderRecord, status: OrderStatus, reason: str) -> None:
        assert self.journal is not None
        try:
            transition = record.apply_status(status)
        except InvalidTransition as e:
            self._alert(AlertSeverity.WARNING, "invalid_transition", str(e))
            self._reconcile_wanted.set()
            return
        if transition.value != "apply":
            self.counters[f"{transition.value}_reports"] += 1
            return
        now = self._clock.now_ns()
        self.journal.record_event(record.client_order_id, EventKind.STATUS, now, status=status)
        if status is S.CANCELED:
            self._publish(canceled_event(record, reason, now))
        elif status is S.REJECTED:
            self._publish(
                OrderRejected(
                    client_order_id=record.client_order_id,
                    strategy_id=record.strategy_id,
                    symbol=record.symbol,
                    reason=reason,
                    venue_code=0,
                    ts_event_ns=now,
                )
            )

    def _apply_execution(self, execution: wire.Execution) -> None:
        """A venue fill, from the stream or REST: journaled and published once per exec id."""
        assert self.journal is not None
        if not is_trade_execution(execution):
            self.counters["non_trade_executions"] += 1
            return
        record = self.registry.find(execution.order_link_id, execution.order_id)
        if record is None:
            self.counters["unknown_fills"] += 1
            return
        if execution.exec_id in self.registry.exec_ids:
            self.counters["duplicate_fills"] += 1
            return
        fill = to_fill(record, execution)
        done = record.cum_filled_qty + fill.qty >= record.qty
        status = record.status if record.is_terminal else (S.FILLED if done else S.PARTIALLY_FILLED)
        if not self.journal.record_fill(fill, self._clock.now_ns(), status):
            self.counters["duplicate_fills"] += 1
            self.registry.exec_ids.add(fill.exec_id)
            return
        self.registry.exec_ids.add(fill.exec_id)
        if not record.venue_order_id:
            record.record_ack(fill.venue_order_id, self._clock.now_ns())
            self.registry.index(record)
        record.apply_fill(fill.exec_id, fill.qty, fill.price, fill.fee)
        self.counters["fills"] += 1
        self._publish(fill_event(record, fill))

    def _on_position(self, info: wire.PositionInfo | wire.PositionEvent, ts_ns: int) -> None:
        position = to_position(info)
        self.registry.positions[position.symbol] = position
        self._publish(position_changed(info, ts_ns))

    # ------------------------------------------------------------ reconciliation

    async def _reconcile_loop(self) -> None:
        while True:
            await self._reconcile_wanted.wait()
            self._reconcile_wanted.clear()
            try:
                async with self._venue_lock:
                    await self._reconcile()
            except BybitError as e:
                log.warning("reconciliation failed, retrying error=%s", e)
                await asyncio.sleep(1.0)
                self._reconcile_wanted.set()

    async def _reconcile(self) -> None:
        """The venue is the source of truth: apply its view, then allow new exposure."""
        assert self._rest is not None
        assert self.journal is not None
        if self.reconciled and self.state is TradingState.ACTIVE:
            self._set_state(TradingState.REDUCING, "reconciling with the venue")
        self.reconciled = False
        venue = VenueView(
            open_orders=await self._rest.open_orders(),
            executions=await self._rest.executions(),
            positions=await self._rest.positions(),
        )
        now = self._clock.now_ns()
        result = reconcile(self.registry.journal_view(), venue, now)
        for record in result.adopted:
            self.registry.add(record)
        for execution in result.fills:
            self._apply_execution(execution)
        for correction in result.corrections:
            corrected = self.registry.get(correction.client_order_id)
            if corrected is not None:
                corrected.correct(correction.venue)
                self.registry.index(corrected)
                self.journal.record_event(
                    corrected.client_order_id,
                    EventKind.CORRECTION,
                    now,
                    status=correction.venue.status,
                    venue_order_id=correction.venue.venue_order_id,
                )
        self._apply_positions(venue.positions, result.positions, now)
        for alert in result.alerts:
            self.counters[f"alert_{alert.code}"] += 1
            self._publish(alert)
        for coid in result.to_query:
            await self._settle_unlisted(coid)
        self.counters["reconciliations"] += 1
        self.reconciled = True
        if self.state is TradingState.REDUCING and not self._halted_by_journal:
            self._set_state(TradingState.ACTIVE, "reconciled with the venue")

    def _apply_positions(
        self, infos: Sequence[wire.PositionInfo], venue_qty: dict[Symbol, Decimal], now: int
    ) -> None:
        for info in infos:
            self._on_position(info, now)
        for symbol, qty in venue_qty.items():
            if qty == 0 and symbol in self.registry.positions:
                self.registry.positions[symbol] = msgspec.structs.replace(
                    self.registry.positions[symbol], qty=Decimal(0)
                )

    async def _settle_unlisted(self, coid: ClientOrderId) -> None:
        """A journal-open order the venue does not list as open: ask for its final status."""
        record = self.registry.get(coid)
        if record is None:
            return
        found = await self._query(record.symbol, coid)
        if found is None:
            if record.status in (S.IN_DOUBT, S.SUBMITTED):
                self._rejected(record, "unknown to the venue at reconciliation", 0)
            return
        state = venue_status(found.order_status, found.cum_exec_qty, found.qty)
        if not record.venue_order_id:
            self._accepted(record, VenueOrderId(found.order_id), self._clock.now_ns())
        for execution in await self._rest_executions_of(found):
            self._apply_execution(execution)
        self._apply_status(record, state, found.cancel_type)

    async def _rest_executions_of(self, order: wire.Order) -> list[wire.Execution]:
        assert self._rest is not None
        executions = await self._rest.executions(symbol=order.symbol)
        return [e for e in executions if e.order_id == order.order_id]
