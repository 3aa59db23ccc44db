"""The venue's reports as the executor's decisions read them.

Translated at the edge, once a report has passed the checks (report_checks.py): the
private stream's frames (venue_events.py), the REST answers (reconcile_runner.py,
order_outcomes.py). Reconciliation, recovery and the report core (report_core.py: orders,
fills, positions) read these, never Bybit's wire types: statuses are ours, times are ns, a
market order has no price, a position's qty is signed.
"""

from dataclasses import dataclass
from decimal import Decimal

from shared.bybit import wire
from shared.bybit.translate import (
    decimal_or_none,
    is_trade_execution,
    ms_to_ns,
    order_status,
    to_position,
)
from shared.schema import OrderStatus, OrderType, Position, Symbol, VenueOrderId

_NO_REASON = frozenset({"", "EC_NoError", "UNKNOWN"})  # a venue field saying nothing


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue lists or reports it."""

    order_id: VenueOrderId
    order_link_id: str  # ours is a client_order_id; "" for an order placed elsewhere
    symbol: Symbol
    side: str  # "Buy" / "Sell", as OrderSide's values
    order_type: str  # "Limit" / "Market", as OrderType's values
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None  # None for a market order
    status: OrderStatus  # ours (translate.order_status)
    venue_status: str  # the venue's own word, for alerts and logs
    cum_qty: Decimal
    cum_value: Decimal
    cum_fee: Decimal
    reduce_only: bool
    cancel_type: str
    reject_reason: str
    created_ns: int  # 0 when the venue's time was unreadable

    @property
    def end_reason(self) -> str:
        """Why the order ended as it did, in the venue's words: a rejection's reason; for a
        cancel, the reject reason when the venue gives one (a PostOnly that would take
        liquidity is "Cancelled" with cancelType "UNKNOWN" and rejectReason
        "EC_PostOnlyWillTakeLiquidity"), else the cancel type."""
        if self.status is OrderStatus.REJECTED or self.reject_reason not in _NO_REASON:
            return self.reject_reason
        return self.cancel_type


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution as the venue lists or reports it (a trade, or funding and the like)."""

    exec_id: str
    order_id: VenueOrderId
    order_link_id: str
    symbol: Symbol
    side: str
    qty: Decimal
    price: Decimal
    value: Decimal
    fee: Decimal
    is_maker: bool
    is_trade: bool  # False: funding, ADL, delivery ...: not a fill of an order
    stop_order_type: str
    ts_ns: int  # the venue's execution time
    seq: int


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """One position as the venue lists (REST) or streams it.

    `seq` orders a REST answer against the stream: it is the venue's cross sequence of the
    symbol, raised by every fill (-1 when the venue sent none)."""

    position: Position  # ours: qty signed (short < 0), "" prices as 0
    stop_loss: Decimal | None  # the venue-side stop-loss; None when none is set ("" or 0)
    seq: int
    streamed: bool  # from the private stream; False: a REST answer

    @property
    def symbol(self) -> Symbol:
        return self.position.symbol


def order_of(order: wire.Order) -> VenueOrder:
    limit = order.order_type == OrderType.LIMIT
    return VenueOrder(
        order_id=VenueOrderId(order.order_id),
        order_link_id=order.order_link_id,
        symbol=Symbol(order.symbol),
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        limit_price=order.price if limit else None,
        status=order_status(order.order_status, order.cum_exec_qty, order.qty),
        venue_status=order.order_status,
        cum_qty=order.cum_exec_qty,
        cum_value=order.cum_exec_value,
        cum_fee=order.cum_exec_fee,
        reduce_only=order.reduce_only,
        cancel_type=order.cancel_type,
        reject_reason=order.reject_reason,
        created_ns=_ns_or_zero(order.created_time),
    )


def fill_of(execution: wire.Execution) -> VenueFill:
    return VenueFill(
        exec_id=execution.exec_id,
        order_id=VenueOrderId(execution.order_id),
        order_link_id=execution.order_link_id,
        symbol=Symbol(execution.symbol),
        side=execution.side,
        qty=execution.exec_qty,
        price=execution.exec_price,
        value=execution.exec_value,
        fee=execution.exec_fee,
        is_maker=execution.is_maker,
        is_trade=is_trade_execution(execution),
        stop_order_type=execution.stop_order_type,
        ts_ns=_ns_or_zero(execution.exec_time),
        seq=execution.seq,
    )


def position_of(info: wire.PositionInfo | wire.PositionEvent) -> VenuePosition:
    """Raises ValueError for a side or stop-loss that report_checks would have refused."""
    return VenuePosition(
        position=to_position(info),
        stop_loss=decimal_or_none(info.stop_loss) or None,
        seq=info.seq,
        streamed=isinstance(info, wire.PositionEvent),
    )


def _ns_or_zero(ms: str) -> int:
    try:
        return ms_to_ns(ms)
    except ValueError:
        return 0
