"""Taking exposure away: cancel, cancel-all, close a position, halt, and cancel everything."""

from decimal import Decimal

from shared.order_ids import client_order_id, parse_client_order_id
from services.executor.journal import EventKind
from services.executor.order_flow import OrderFlow
from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from services.executor.ports import Parts
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.schema import (
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


class OrderControl:
    """Cancels and flattens over REST; a flatten goes through the order flow like any order."""

    def __init__(self, parts: Parts, flow: OrderFlow) -> None:
        self._parts = parts
        self._flow = flow
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
            await self._cancel_record(record, command)

    async def cancel_all(self, command: CancelAllOrders) -> None:
        for record in self._registry.open_records():
            if record.strategy_id == command.strategy_id and (
                command.symbol is None or record.symbol == command.symbol
            ):
                await self._cancel_record(record, command)

    async def _cancel_record(self, record: OrderRecord, command: BusMessage) -> None:
        if record.status not in CANCELABLE_STATUSES:
            return
        request = wire.OrderCancelRequest(
            symbol=record.symbol, order_link_id=record.client_order_id
        )
        try:
            await self._rest.cancel_order(request, retry=True)
        except VenueError as e:
            self._outbox.deny(command, f"cancel of {record.client_order_id} refused: {e.ret_msg}")
            return
        now = self._clock.now_ns()
        pending = record.apply_status(S.PENDING_CANCEL).value == "apply"
        self._journal.record_event(
            record.client_order_id,
            EventKind.CANCEL,
            now,
            status=S.PENDING_CANCEL if pending else None,
        )

    async def close_position(self, symbol: str, strategy_id: str, command: BusMessage) -> None:
        """Flatten with a reduce-only market order for the venue's exact size."""
        net = sum(
            (
                p.size if p.side == "Buy" else -p.size
                for p in await self._rest.positions(symbol=symbol)
            ),
            start=Decimal(0),
        )
        if net == 0:
            self._outbox.deny(command, f"no position in {symbol}")
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
        await self._flow.send_intent(flatten, now)

    async def set_trading_state(self, command: SetTradingState) -> None:
        status = self._parts.status
        if command.state is TradingState.HALTED:
            self._outbox.set_state(TradingState.HALTED, command.reason)
            for record in self._registry.open_records():
                await self._cancel_record(record, command)
            for symbol, position in list(self._registry.positions.items()):
                if position.qty != 0:
                    await self.close_position(symbol, "executor", command)
        elif command.state is TradingState.ACTIVE and not status.reconciled:
            status.halted_by_journal = False
            self._outbox.set_state(TradingState.REDUCING, f"{command.reason}; reconciling first")
        else:
            status.halted_by_journal = False
            self._outbox.set_state(command.state, command.reason)

    async def cancel_everything(self) -> None:
        """Shutdown: cancel-all if anything is open, then confirm none is left over REST."""
        if self._registry.open_records():
            await self._rest.cancel_all(wire.CancelAllRequest(settle_coin="USDT"), retry=True)
        left = await self._rest.open_orders(open_only=0)
        if left:
            raise BybitError(f"{len(left)} orders still open after cancel-all")
