"""Execution events published by the executor (past tense: it happened)."""

from decimal import Decimal

from shared.schema.base import ClientOrderId, Message, NanosSinceEpoch, Record, Symbol, VenueOrderId
from shared.schema.enums import (
    AlertSeverity,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingState,
)


class OrderAccepted(Message, frozen=True, kw_only=True):
    """The venue acknowledged the order (this is not a fill)."""

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    strategy_id: str
    symbol: Symbol
    ts_event_ns: NanosSinceEpoch
    ts_trigger_recv_ns: NanosSinceEpoch  # copied from the command: tick-to-order tracing
    ts_request_sent_ns: NanosSinceEpoch  # when the request left the executor
    ts_ack_ns: NanosSinceEpoch  # when the venue's answer arrived
    trace_id: str = ""  # the order's SubmitOrder.trace_id (journaled with the intent)


class OrderRejected(Message, frozen=True, kw_only=True):
    """The venue refused the order."""

    client_order_id: ClientOrderId
    strategy_id: str
    symbol: Symbol
    reason: str
    venue_code: int  # Bybit retCode
    ts_event_ns: NanosSinceEpoch
    trace_id: str = ""  # the order's SubmitOrder.trace_id (journaled with the intent)


class OrderDenied(Message, frozen=True, kw_only=True):
    """We refused the command before it reached the venue (risk check, expiry, state)."""

    client_order_id: ClientOrderId  # empty for commands that name no order
    strategy_id: str
    command_kind: str
    reason: str
    ts_event_ns: NanosSinceEpoch
    trace_id: str = ""  # the denied command's trace_id


class _Fill(Message, frozen=True, kw_only=True):
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    strategy_id: str
    symbol: Symbol
    side: OrderSide
    exec_id: str  # the venue's execId: fills are deduplicated by it
    fill_qty: Decimal
    fill_price: Decimal
    cum_filled_qty: Decimal
    leaves_qty: Decimal
    fee: Decimal  # in the settle coin; negative is a rebate
    is_maker: bool
    ts_event_ns: NanosSinceEpoch
    ts_trigger_recv_ns: NanosSinceEpoch
    ts_request_sent_ns: NanosSinceEpoch
    ts_ack_ns: NanosSinceEpoch
    trace_id: str = ""  # the order's SubmitOrder.trace_id (journaled with the intent)


class OrderPartiallyFilled(_Fill, frozen=True, kw_only=True):
    """Part of the order filled; the rest is still working."""


class OrderFilled(_Fill, frozen=True, kw_only=True):
    """The last part of the order filled; it is done."""


class OrderCanceled(Message, frozen=True, kw_only=True):
    """The order is off the book; `cum_filled_qty` of it had filled."""

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    strategy_id: str
    symbol: Symbol
    cum_filled_qty: Decimal
    reason: str
    ts_event_ns: NanosSinceEpoch
    trace_id: str = ""  # the order's SubmitOrder.trace_id (journaled with the intent)


class OrderAmended(Message, frozen=True, kw_only=True):
    """The venue took an amend: the working order's qty and price are now these.

    A qty decrease keeps the order's place in the queue; a new price or a larger qty is a
    new place (Bybit's rule, modelled by the simulator). A refused amend is an OrderDenied.
    """

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    strategy_id: str
    symbol: Symbol
    qty: Decimal
    limit_price: Decimal | None
    ts_event_ns: NanosSinceEpoch
    ts_command_recv_ns: NanosSinceEpoch  # the amend command's receive time at the executor
    ts_request_sent_ns: NanosSinceEpoch  # its request's last bytes written (0: unknown)
    ts_ack_ns: NanosSinceEpoch  # the venue's answer received
    trace_id: str = ""  # the amend command's trace_id


class PositionChanged(Message, frozen=True, kw_only=True):
    """The venue's position in one symbol (one-way mode: qty is signed, short < 0)."""

    symbol: Symbol
    qty: Decimal
    avg_entry_price: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal
    stop_loss_price: Decimal | None = None
    ts_event_ns: NanosSinceEpoch


class BalanceChanged(Message, frozen=True, kw_only=True):
    """The wallet of one coin."""

    coin: str
    wallet_balance: Decimal
    available_balance: Decimal
    equity: Decimal
    ts_event_ns: NanosSinceEpoch


class TradingStateChanged(Message, frozen=True, kw_only=True):
    state: TradingState
    reason: str
    ts_event_ns: NanosSinceEpoch


class Alert(Message, frozen=True, kw_only=True):
    """Something an operator should see: a mismatch, a breach, a dead peer."""

    source: str  # the service that raised it
    severity: AlertSeverity
    code: str  # a stable machine-readable name, e.g. "position_mismatch"
    detail: str
    ts_event_ns: NanosSinceEpoch


class OpenOrder(Record, frozen=True, kw_only=True):
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    strategy_id: str
    symbol: Symbol
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    limit_price: Decimal | None
    cum_filled_qty: Decimal
    status: OrderStatus
    reduce_only: bool


class Position(Record, frozen=True, kw_only=True):
    symbol: Symbol
    qty: Decimal  # signed
    avg_entry_price: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal


class ExecutionSnapshot(Message, frozen=True, kw_only=True):
    """The executor's whole view: what a strategy rebuilds itself from."""

    open_orders: tuple[OpenOrder, ...]
    positions: tuple[Position, ...]
    trading_state: TradingState
    reconciled: bool  # False until the first reconciliation with the venue completed
    ts_event_ns: NanosSinceEpoch
