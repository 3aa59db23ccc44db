"""Commands to the executor (imperatives). Each one expires: a stale command is denied."""

from decimal import Decimal

from shared.schema.base import ClientOrderId, Message, NanosSinceEpoch, Symbol
from shared.schema.enums import OrderSide, OrderType, TimeInForce, TradingState


class SubmitOrder(Message, frozen=True, kw_only=True):
    """Place one order. `client_order_id` is derived from the intent and is the orderLinkId."""

    client_order_id: ClientOrderId
    strategy_id: str
    epoch: int
    symbol: Symbol
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    limit_price: Decimal | None = None  # None for market orders
    reduce_only: bool = False
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch  # the executor denies it after this
    ts_trigger_recv_ns: NanosSinceEpoch  # feed receive time of the data that triggered it
    ts_trigger_event_ns: NanosSinceEpoch  # venue time of that data
    trace_id: str = ""  # the market-data frame behind the decision (Quote.trace_id)

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"qty must be positive, was {self.qty}")
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit order needs limit_price")
        if self.limit_price is not None and self.limit_price <= 0:
            raise ValueError(f"limit_price must be positive, was {self.limit_price}")


class CancelOrder(Message, frozen=True, kw_only=True):
    """Cancel one working order."""

    client_order_id: ClientOrderId
    strategy_id: str
    symbol: Symbol
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch
    trace_id: str = ""  # the market-data frame behind the decision (Quote.trace_id)


class AmendOrder(Message, frozen=True, kw_only=True):
    """Change the qty and/or price of one working order (None keeps the current value)."""

    client_order_id: ClientOrderId
    strategy_id: str
    symbol: Symbol
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch
    trace_id: str = ""  # the market-data frame behind the decision (Quote.trace_id)


class CancelAllOrders(Message, frozen=True, kw_only=True):
    """Cancel every working order of a strategy, on one symbol or (None) on all."""

    strategy_id: str
    symbol: Symbol | None = None
    reason: str
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch
    trace_id: str = ""  # the market-data frame behind the decision (Quote.trace_id)


class ClosePosition(Message, frozen=True, kw_only=True):
    """Flatten a position with a reduce-only market order for the venue's exact size."""

    strategy_id: str
    symbol: Symbol
    reason: str
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch
    trace_id: str = ""  # the market-data frame behind the decision (Quote.trace_id)


class SetTradingState(Message, frozen=True, kw_only=True):
    """Operator control: halt (cancel all, flatten, halt) or resume trading."""

    state: TradingState
    reason: str
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch


class RequestSnapshot(Message, frozen=True, kw_only=True):
    """Ask the executor to publish an ExecutionSnapshot on its event stream."""

    strategy_id: str
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch


class SubmitOrders(Message, frozen=True, kw_only=True):
    """Place several orders of one strategy in one request (Bybit's create-batch, 1 .. 20).

    Each order is checked, journaled and answered on its own, as if sent alone: a batch
    that partly fails answers each order with its own outcome.
    """

    strategy_id: str
    orders: tuple[SubmitOrder, ...]
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch


class AmendOrders(Message, frozen=True, kw_only=True):
    """Amend several working orders of one strategy in one request (amend-batch, 1 .. 20)."""

    strategy_id: str
    amends: tuple[AmendOrder, ...]
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch


class CancelOrders(Message, frozen=True, kw_only=True):
    """Cancel several working orders of one strategy in one request (cancel-batch, 1 .. 20)."""

    strategy_id: str
    cancels: tuple[CancelOrder, ...]
    ts_created_ns: NanosSinceEpoch
    expires_at_ns: NanosSinceEpoch


Command = (
    SubmitOrder
    | CancelOrder
    | AmendOrder
    | CancelAllOrders
    | ClosePosition
    | SetTradingState
    | RequestSnapshot
    | SubmitOrders
    | AmendOrders
    | CancelOrders
)
