"""Changing and taking away exposure: cancel, amend, cancel-all, close a position, halt."""

import logging
from decimal import Decimal

import msgspec

from services.executor.journal_records import EventKind
from services.executor.order_flow import OrderFlow
from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from services.executor.ports import Parts
from services.executor.risk import RiskLimits, check_order, quantize_order
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.order_ids import client_order_id, parse_client_order_id
from shared.schema import (
    AlertSeverity,
    AmendOrder,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
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


class OrderControl:
    """Cancels and flattens over REST; a flatten goes through the order flow like any order."""

    def __init__(self, parts: Parts, flow: OrderFlow, limits: RiskLimits) -> None:
        self._parts = parts
        self._flow = flow
        self._limits = limits
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._outbox = parts.outbox

    async def cancel(self, command: CancelOrder) -> None:
        record = self._registry.get(command.client_order_id)
        if record is None or record.strategy_id != command.strategy_id:
            self._outbox.deny(command, f"unknown client_order_id {command.client_order_id}")
        elif record.status not in CANCELABLE_STATUSES:
            self._outbox.deny(command, f"order {command.client_order_id} is {record.status}")
        else:
            await self.cancel_record(record, command)

    async def amend(self, command: AmendOrder) -> None:
        """Change a working limit order's qty and/or price, after the same last-line checks."""
        record = self._registry.get(command.client_order_id)
        journaled = self._journal.find(command.client_order_id)
        if record is None or journaled is None or record.strategy_id != command.strategy_id:
            self._outbox.deny(command, f"unknown client_order_id {command.client_order_id}")
            return
        if record.status not in CANCELABLE_STATUSES or record.order_type is not OrderType.LIMIT:
            self._outbox.deny(command, f"order {command.client_order_id} is {record.status}")
            return
        changed = msgspec.structs.replace(
            journaled.command,
            qty=command.qty or record.qty,
            limit_price=command.limit_price or record.limit_price,
            expires_at_ns=command.expires_at_ns,
        )
        reason = await self._check_amended(changed, record)
        if reason:
            self._outbox.deny(command, reason)
            return
        request = wire.OrderAmendRequest(
            symbol=record.symbol,
            order_link_id=record.client_order_id,
            qty=_text(changed.qty) if changed.qty != record.qty else None,
            price=_text(changed.limit_price) if changed.limit_price != record.limit_price else None,
        )
        try:
            await self._rest.amend_order(request, retry=True)
        except VenueError as e:
            self._outbox.deny(command, f"amend of {record.client_order_id} refused: {e.ret_msg}")
            return
        record.qty, record.limit_price = changed.qty, changed.limit_price
        payload = {"qty": str(changed.qty), "limit_price": str(changed.limit_price)}
        self._journal.record_event(
            record.client_order_id, EventKind.AMEND, self._clock.now_ns(), payload=payload
        )

    async def _check_amended(self, changed: SubmitOrder, record: OrderRecord) -> str | None:
        rules = self._flow.rules.get(record.symbol)
        if rules is None:
            return f"symbol {record.symbol} has no instrument rules"
        if changed.qty <= record.cum_filled_qty:
            return f"qty {changed.qty} is not above the filled qty {record.cum_filled_qty}"
        quantized = quantize_order(changed, rules, await self._flow.last_price(record.symbol))
        if isinstance(quantized, str):
            return quantized
        if quantized.qty != changed.qty or quantized.limit_price != changed.limit_price:
            return f"qty {changed.qty} or price {changed.limit_price} off the instrument's grid"
        now = self._clock.now_ns()
        exposure = self._registry.exposure(now)
        others = msgspec.structs.replace(exposure, open_orders=exposure.open_orders - 1)
        status = self._parts.status
        return check_order(changed, self._limits, others, status.state, status.reconciled, now)

    async def cancel_all(self, command: CancelAllOrders) -> None:
        for record in self._registry.open_records():
            if record.strategy_id == command.strategy_id and (
                command.symbol is None or record.symbol == command.symbol
            ):
                await self.cancel_record(record, command)

    async def cancel_record(self, record: OrderRecord, command: BusMessage | None) -> None:
        """Cancel one order; a refusal is a denial of `command` (our own cancels: an alert)."""
        if record.status not in CANCELABLE_STATUSES:
            return
        request = wire.OrderCancelRequest(
            symbol=record.symbol, order_link_id=record.client_order_id
        )
        try:
            await self._rest.cancel_order(request, retry=True)
        except VenueError as e:
            reason = f"cancel of {record.client_order_id} refused: {e.ret_msg}"
            if command is None:
                self._outbox.alert(AlertSeverity.WARNING, "cancel_refused", reason)
            else:
                self._outbox.deny(command, reason)
            return
        now = self._clock.now_ns()
        pending = record.apply_status(S.PENDING_CANCEL).value == "apply"
        self._journal.record_event(
            record.client_order_id,
            EventKind.CANCEL,
            now,
            status=S.PENDING_CANCEL if pending else None,
        )

    async def close_position(
        self, symbol: str, strategy_id: str, command: BusMessage | None, *, reason: str = ""
    ) -> None:
        """Flatten with a reduce-only market order for the venue's exact size; logged with
        `reason` (or the command's)."""
        net = sum(
            (
                p.size if p.side == "Buy" else -p.size
                for p in await self._rest.positions(symbol=symbol)
            ),
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
        await self._flow.send_intent(flatten, now)

    async def set_trading_state(self, command: SetTradingState) -> None:
        status = self._parts.status
        if command.state is TradingState.HALTED:
            await self.halt(command.reason, command)
            return
        if status.state is TradingState.HALTED:
            status.rebase_daily_loss = True  # an operator's reset: the daily loss starts afresh
        status.halted_by_journal = False
        if command.state is TradingState.ACTIVE and not status.reconciled:
            self._outbox.set_state(TradingState.REDUCING, f"{command.reason}; reconciling first")
        else:
            self._outbox.set_state(command.state, command.reason)

    async def halt(self, reason: str, command: BusMessage | None) -> None:
        """Cancel every working order, flatten every position, stay HALTED until a reset."""
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


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
