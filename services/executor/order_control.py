"""Changing and taking away exposure: cancel (one or a batch), amend (amends.py), cancel-all,
close a position, halt.

A command's decision is taken at once (order_core) and its request written without an
await where a connection is idle; the answer is read by a task, so the next command does
not wait for it. Cancels are never held back by a breaker. A cancel of an order whose
create is still unanswered waits for that answer (the venue may not know the order yet).
"""

import logging
from collections.abc import Awaitable
from decimal import Decimal
from typing import Final

from services.executor.amends import Amends
from services.executor.journal_records import EventKind
from services.executor.order_core import (
    Denied,
    awaiting_ack,
    batch_refusal,
    decide_cancel,
)
from services.executor.order_flow import OrderFlow
from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from services.executor.ports import Parts
from services.executor.venue_calls import VenueCalls
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.bybit.rest import Timed
from shared.bybit.wire_more import BatchItemResult
from shared.order_ids import client_order_id, parse_client_order_id
from shared.schema import (
    AlertSeverity,
    AmendOrder,
    AmendOrders,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    OrderSide,
    OrderStatus,
    OrderType,
    SetTradingState,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)

S = OrderStatus
log = logging.getLogger(__name__)
ORDER_GONE_CODE: Final = 110001  # "order not exists or too late to cancel"


class OrderControl:
    """Cancels, amends and flattens; a flatten goes through the order flow like any order."""

    def __init__(self, parts: Parts, flow: OrderFlow, calls: VenueCalls) -> None:
        self._parts = parts
        self._flow = flow
        self._calls = calls
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._outbox = parts.outbox
        self.amends = Amends(parts, flow, calls)

    def change(
        self, command: CancelOrder | CancelOrders | AmendOrder | AmendOrders, ts_recv_ns: int
    ) -> None:
        """A cancel or an amend, of one order or a batch."""
        if isinstance(command, CancelOrder):
            self.cancel(command)
        elif isinstance(command, CancelOrders):
            self.cancel_batch(command)
        elif isinstance(command, AmendOrder):
            self.amends.amend(command, ts_recv_ns)
        else:
            self.amends.amend_batch(command, ts_recv_ns)

    def cancel(self, command: CancelOrder) -> None:
        verdict = decide_cancel(command, self._registry.get(command.client_order_id))
        if isinstance(verdict, Denied):
            self._outbox.deny(command, verdict.reason)
        else:
            self.start_cancel(verdict, command)

    def cancel_batch(self, command: CancelOrders) -> None:
        """Each order decided and answered on its own; the cancelable ones in one request."""
        strategies = {c.strategy_id for c in command.cancels}
        size, strategy_id = len(command.cancels), command.strategy_id
        refusal = batch_refusal("CancelOrders", size, strategies, strategy_id)
        records: list[tuple[OrderRecord, BusMessage]] = []
        for cancel in command.cancels:
            verdict = decide_cancel(cancel, self._registry.get(cancel.client_order_id))
            if refusal:
                verdict = Denied(refusal)
            if isinstance(verdict, Denied):
                self._outbox.deny(cancel, verdict.reason)
            elif self._defer_until_ack(verdict):
                continue
            else:
                records.append((verdict, cancel))
        if len(records) == 1:
            self.start_cancel(*records[0])
        elif records:
            requests = [_cancel_request(record) for record, _ in records]
            pending = self._rest.start_cancel_batch(requests, retry=True)
            answer = pending.result() if pending else self._rest.cancel_batch(requests, retry=True)
            self._calls.spawn(self._finish_cancels(records, answer))

    def start_cancel(self, record: OrderRecord, command: BusMessage | None) -> None:
        """Cancel one order now (request written at once where a connection is idle)."""
        if self._defer_until_ack(record) or record.status not in CANCELABLE_STATUSES:
            return
        request = _cancel_request(record)
        pending = self._rest.start_cancel_order(request, retry=True)
        answer = pending.result() if pending else self._rest.cancel_order_timed(request, True)
        self._calls.spawn(self._finish_cancel(record, command, answer))

    async def cancel_record(self, record: OrderRecord, command: BusMessage | None) -> None:
        """Cancel one order and wait for the venue's answer (halt, shutdown, dead-man)."""
        if self._defer_until_ack(record) or record.status not in CANCELABLE_STATUSES:
            return
        request = _cancel_request(record)
        await self._finish_cancel(record, command, self._rest.cancel_order_timed(request, True))

    def _defer_until_ack(self, record: OrderRecord) -> bool:
        """Its create is unanswered: the venue may not know it yet; cancel once acked."""
        if not awaiting_ack(record):
            return False
        record.cancel_on_ack = True
        self._parts.counters["cancels_after_ack"] += 1
        return True

    async def _finish_cancel(
        self, record: OrderRecord, command: BusMessage | None, answer: Awaitable[object]
    ) -> None:
        try:
            await answer
        except VenueError as e:
            self._cancel_refused(record, command, e.ret_msg, e.ret_code)
            return
        self._cancel_sent(record)

    async def _finish_cancels(
        self,
        records: list[tuple[OrderRecord, BusMessage]],
        answer: Awaitable[Timed[list[BatchItemResult]]],
    ) -> None:
        try:
            timed = await answer
        except VenueError as e:
            for record, command in records:
                self._cancel_refused(record, command, e.ret_msg, e.ret_code)
            return
        items = {item.order_link_id: item for item in timed.value}
        for record, command in records:
            item = items.get(record.client_order_id)
            if item is not None and item.code == 0:
                self._cancel_sent(record)
            else:
                reason = "missing from the batch answer" if item is None else item.message
                self._cancel_refused(record, command, reason, None if item is None else item.code)

    def _cancel_refused(
        self, record: OrderRecord, command: BusMessage | None, why: str, code: int | None
    ) -> None:
        """A refusal is a denial of `command`. Our own cancels (dead-man, halt, cancel on
        ack): an alert, but for "order not exists or too late" (110001), the order already
        done at the venue (filled, or a PostOnly that would have crossed): what we wanted,
        its reports tell the rest and a lost one the next venue check, so counted only."""
        reason = f"cancel of {record.client_order_id} refused: {why}"
        if command is not None:
            self._outbox.deny(command, reason)
        elif code == ORDER_GONE_CODE:
            self._parts.counters["own_cancels_order_gone"] += 1
            log.info("own cancel found the order done at the venue: %s", reason)
        else:
            self._outbox.alert(AlertSeverity.WARNING, "cancel_refused", reason)

    def _cancel_sent(self, record: OrderRecord) -> None:
        now = self._clock.now_ns()
        pending = record.apply_status(S.PENDING_CANCEL).value == "apply"
        self._journal.record_event(
            record.client_order_id,
            EventKind.CANCEL,
            now,
            status=S.PENDING_CANCEL if pending else None,
        )

    def cancel_all(self, command: CancelAllOrders) -> None:
        for record in self._registry.open_records():
            if record.strategy_id == command.strategy_id and (
                command.symbol is None or record.symbol == command.symbol
            ):
                self.start_cancel(record, command)

    async def close_position(
        self, symbol: str, strategy_id: str, command: BusMessage | None, *, reason: str = ""
    ) -> None:
        """Flatten with a reduce-only market order for the venue's exact size; logged with
        `reason` (or the command's)."""
        positions = await self._rest.positions(symbol=symbol)
        net = sum(
            (p.size if p.side == "Buy" else -p.size for p in positions),
            start=Decimal(0),
        )
        if net == 0:
            if command is not None:
                self._outbox.deny(command, f"no position in {symbol}")
            return
        now = self._clock.now_ns()
        owner = strategy_id if parse_client_order_id(f"{strategy_id}-0-0") else "executor"
        why = reason or getattr(command, "reason", "") or "no reason given"
        log.warning("flatten symbol=%s position=%s by=%s reason=%s", symbol, net, owner, why)
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
        self._flow.send_intent(flatten, now)

    def set_trading_state(self, command: SetTradingState) -> None:
        status = self._parts.status
        if command.state is TradingState.HALTED:
            self._outbox.set_state(TradingState.HALTED, command.reason)
            self._calls.spawn(self.halt(command.reason, command))
            return
        if status.state is TradingState.HALTED:
            status.rebase_daily_loss = True  # an operator's reset: the daily loss starts afresh
        status.halted_by_journal = False
        if command.state is TradingState.ACTIVE and not status.reconciled:
            self._outbox.set_state(TradingState.REDUCING, f"{command.reason}; reconciling first")
        else:
            self._outbox.set_state(command.state, command.reason)

    async def halt(self, reason: str, command: BusMessage | None) -> None:
        """Cancel every working order, flatten every position, stay HALTED until a reset.

        An order whose create is still unanswered is cancelled when its ack comes
        (order_core.cancel_on_ack)."""
        if self._parts.status.state is not TradingState.HALTED:
            self._outbox.set_state(TradingState.HALTED, reason)
        for record in self._registry.open_records():
            await self.cancel_record(record, command)
        await self.flatten_all(command, reason)

    async def flatten_all(self, command: BusMessage | None, reason: str = "") -> None:
        for symbol, position in list(self._registry.positions.items()):
            if position.qty != 0:
                await self.close_position(symbol, "executor", command, reason=reason)

    async def cancel_everything(self) -> None:
        """Shutdown: cancel-all if anything is open, then confirm none is left over REST."""
        if self._registry.open_records():
            await self._rest.cancel_all(wire.CancelAllRequest(settle_coin="USDT"), retry=True)
        left = await self._rest.open_orders(open_only=0)
        if left:
            raise BybitError(f"{len(left)} orders still open after cancel-all")


def _cancel_request(record: OrderRecord) -> wire.OrderCancelRequest:
    return wire.OrderCancelRequest(symbol=record.symbol, order_link_id=record.client_order_id)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
