"""Sizing, routing and the commands themselves (Decimal, quantized by InstrumentRules).

Runs only when an entry or an exit is decided, never per market-data message, so the
Decimal arithmetic here is off the hot path.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from services.strategy.signals import NS_PER_MS, TopOfBook
from shared.order_ids import client_order_id
from shared.schema import (
    CancelOrder,
    ClientOrderId,
    InstrumentRules,
    OrderSide,
    OrderType,
    Quote,
    SubmitOrder,
    Symbol,
    TimeInForce,
)

TWO = Decimal(2)


class Route(StrEnum):
    MARKET_IOC = "MarketIOC"  # tight spread and a deep enough book: take liquidity
    POST_ONLY = "PostOnly"  # otherwise rest at our side's best price, cancel after a timeout


class Listing(NamedTuple):
    """Where an order goes: the symbol and the universe epoch it was chosen in."""

    symbol: Symbol
    epoch: int


class Trigger(NamedTuple):
    """Feed receive time, venue time and trace id of the market data behind a decision."""

    recv_ns: int
    event_ns: int
    trace_id: str = ""  # the frame's (Quote.trace_id), carried by the commands it causes


@dataclass(frozen=True, slots=True)
class NoTrade:
    """An entry that cannot be sized or priced within the instrument's rules, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class EntryPlan:
    side: OrderSide
    qty: Decimal
    route: Route
    limit_price: Decimal | None  # None for Market IOC


@dataclass(frozen=True, slots=True)
class EntryKnobs:
    notional_usdt: Decimal
    market_max_spread_bps: float
    liquidity_multiple: float


def size_entry(notional_usdt: Decimal, mid: Decimal, rules: InstrumentRules) -> Decimal | NoTrade:
    """Return `notional_usdt / mid` floored to the qty step, or why no order fits the rules."""
    if mid <= 0:
        return NoTrade(f"mid {mid} not positive")
    qty = rules.floor_qty(min(notional_usdt / mid, rules.max_qty, rules.max_mkt_qty))
    reason = rules.check(qty, mid, market=True)
    return qty if reason is None else NoTrade(reason)


def choose_route(
    top: TopOfBook, side: OrderSide, qty: float, max_spread_bps: float, liquidity_multiple: float
) -> Route:
    """Market IOC on a tight spread with `liquidity_multiple` x our qty on the side we take."""
    taken_qty = top.ask_qty if side is OrderSide.BUY else top.bid_qty
    tight = top.spread_bps <= max_spread_bps
    return Route.MARKET_IOC if tight and taken_qty >= liquidity_multiple * qty else Route.POST_ONLY


def plan_entry(
    side: OrderSide, quote: Quote, top: TopOfBook, rules: InstrumentRules, knobs: EntryKnobs
) -> EntryPlan | NoTrade:
    """Size, route and price one entry from the current quote."""
    sized = size_entry(knobs.notional_usdt, (quote.bid_price + quote.ask_price) / TWO, rules)
    if isinstance(sized, NoTrade):
        return sized
    route = choose_route(
        top, side, float(sized), knobs.market_max_spread_bps, knobs.liquidity_multiple
    )
    if route is Route.MARKET_IOC:
        return EntryPlan(side=side, qty=sized, route=route, limit_price=None)
    best = quote.bid_price if side is OrderSide.BUY else quote.ask_price
    price = rules.round_price(best, side)
    reason = rules.check(sized, price)
    if reason is not None:
        return NoTrade(reason)
    return EntryPlan(side=side, qty=sized, route=route, limit_price=price)


class OrderFactory:
    """Builds this strategy's commands with ids unique across restarts."""

    def __init__(self, strategy_id: str, ttl_ms: int) -> None:
        self.strategy_id = strategy_id
        self._ttl_ns = ttl_ms * NS_PER_MS
        self.last_seq = 0

    def _next_id(self, epoch: int, now_ns: int) -> ClientOrderId:
        self.last_seq = max(self.last_seq + 1, now_ns)  # a restart starts above the old ids
        return client_order_id(self.strategy_id, epoch, self.last_seq)

    def entry(
        self, plan: EntryPlan, listing: Listing, trigger: Trigger, now_ns: int
    ) -> SubmitOrder:
        market = plan.route is Route.MARKET_IOC
        return SubmitOrder(
            client_order_id=self._next_id(listing.epoch, now_ns),
            strategy_id=self.strategy_id,
            epoch=listing.epoch,
            symbol=listing.symbol,
            side=plan.side,
            order_type=OrderType.MARKET if market else OrderType.LIMIT,
            time_in_force=TimeInForce.IOC if market else TimeInForce.POST_ONLY,
            qty=plan.qty,
            limit_price=plan.limit_price,
            ts_created_ns=now_ns,
            expires_at_ns=now_ns + self._ttl_ns,
            ts_trigger_recv_ns=trigger.recv_ns,
            ts_trigger_event_ns=trigger.event_ns,
            trace_id=trigger.trace_id,
        )

    def exit(
        self, listing: Listing, side: OrderSide, qty: Decimal, trigger: Trigger, now_ns: int
    ) -> SubmitOrder:
        """A reduce-only Market IOC that closes (up to) `qty` of the position."""
        return SubmitOrder(
            client_order_id=self._next_id(listing.epoch, now_ns),
            strategy_id=self.strategy_id,
            epoch=listing.epoch,
            symbol=listing.symbol,
            side=side,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            qty=qty,
            reduce_only=True,
            ts_created_ns=now_ns,
            expires_at_ns=now_ns + self._ttl_ns,
            ts_trigger_recv_ns=trigger.recv_ns,
            ts_trigger_event_ns=trigger.event_ns,
            trace_id=trigger.trace_id,
        )

    def cancel(
        self, symbol: Symbol, order_id: ClientOrderId, now_ns: int, trace_id: str = ""
    ) -> CancelOrder:
        """A cancel; `trace_id` is the latest frame's when no frame decided it (a timer)."""
        return CancelOrder(
            client_order_id=order_id,
            strategy_id=self.strategy_id,
            symbol=symbol,
            ts_created_ns=now_ns,
            expires_at_ns=now_ns + self._ttl_ns,
            trace_id=trace_id,
        )
