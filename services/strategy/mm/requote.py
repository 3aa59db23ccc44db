"""Requote by difference: working quotes vs targets -> keep, amend, new or cancel (pure).

Rules, per (symbol, side), for a WORKING quote and its target (market-making.md section 8;
Bybit: a qty decrease keeps the queue place, a new price or a larger qty is a new place):
1. no target (or HARD) -> cancel; a pending quote is cancelled too, unless already pending
   cancel;
2. price within `price_tolerance_ticks` and leaves within `qty_tolerance` -> keep (nothing);
3. price within tolerance, fewer lots wanted -> amend qty down (keeps priority);
4. price within tolerance, more lots wanted -> amend qty up (priority lost either way, one
   request instead of two), or cancel if the venue refused an amend of this order before;
5. new price at most `keep_max_ticks` away and the quote's place is worth more than the
   target's (`SideMarket.keep_value_bps > move_value_bps`, queue.py) -> keep;
6. new price that would cross the book (an amended order can become a taker, PostOnly
   protects only a new order) or an order whose amend was refused -> cancel; the new
   quote follows once the cancel is acknowledged (never two quotes on one side);
7. otherwise -> amend price and qty.
With no quote, a target gives a new PostOnly quote unless HARD. A quote pending new, amend
or cancel is left alone until its answer arrives (except rule 1). Nothing here runs on a
timer: there is no cancel-all-and-replace.

The quote manager (quote_manager.py) applies these rules per side and sends the changes
batched per kind, at most MAX_BATCH per request: Bybit's batch pages give 20 for linear,
its rate-limit page 1..10; we stay at 10.
"""

from dataclasses import dataclass
from decimal import Decimal

from services.strategy.mm.quote_book import QuoteStatus, Slot, WorkingQuote
from shared.schema import ClientOrderId, OrderSide, Symbol

SIDES = (OrderSide.BUY, OrderSide.SELL)


@dataclass(frozen=True, slots=True)
class Target:
    """The quote the pricing stages want on one side: price and qty (resting, unfilled)."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class RequoteKnobs:
    price_tolerance_ticks: int = 0  # a target this close to the working price is no change
    qty_tolerance: Decimal = Decimal(0)  # in qty units; a smaller leaves difference is none
    keep_max_ticks: int = 1  # queue-aware keep only this close to the target


@dataclass(frozen=True, slots=True)
class SideMarket:
    """What the diff needs about the market on one side (computed by the manager)."""

    tick_size: Decimal
    best_bid: Decimal | None
    best_ask: Decimal | None
    keep_value_bps: float = 0.0  # queue value of the working quote where it is (queue.py)
    move_value_bps: float = 0.0  # queue value of a new quote at the target


@dataclass(frozen=True, slots=True)
class Place:
    symbol: Symbol
    side: OrderSide
    target: Target


@dataclass(frozen=True, slots=True)
class Amend:
    client_order_id: ClientOrderId
    symbol: Symbol
    price: Decimal
    qty: Decimal  # the order's new total qty (fills included), as Bybit's amend takes it


@dataclass(frozen=True, slots=True)
class Cancel:
    client_order_id: ClientOrderId
    symbol: Symbol


Decision = Place | Amend | Cancel


def crosses(price: Decimal, side: OrderSide, market: SideMarket) -> bool:
    """Whether a limit at `price` would take liquidity from the other side's best."""
    if side is OrderSide.BUY:
        return market.best_ask is not None and price >= market.best_ask
    return market.best_bid is not None and price <= market.best_bid


def decide(
    slot: Slot,
    quote: WorkingQuote | None,
    target: Target | None,
    market: SideMarket,
    knobs: RequoteKnobs,
    *,
    hard: bool,
) -> Decision | None:
    """Return the one change that moves this side's quote to `target`, or None to keep it."""
    wanted = None if hard or target is None or target.qty <= 0 else target
    if quote is None:
        return None if wanted is None else Place(slot[0], slot[1], wanted)
    if quote.status is QuoteStatus.PENDING_CANCEL:
        return None
    if wanted is None:
        return Cancel(quote.client_order_id, quote.symbol)
    if quote.status is not QuoteStatus.WORKING:
        return None
    return _decide_working(quote, wanted, market, knobs)


def _decide_working(
    quote: WorkingQuote, target: Target, market: SideMarket, knobs: RequoteKnobs
) -> Decision | None:
    ticks = abs(target.price - quote.price) / market.tick_size
    qty_gap = target.qty - quote.leaves_qty
    cancel = Cancel(quote.client_order_id, quote.symbol)
    if ticks <= knobs.price_tolerance_ticks:
        if abs(qty_gap) <= knobs.qty_tolerance:
            return None
        if qty_gap > 0 and quote.amend_refused:
            return cancel
        return Amend(
            quote.client_order_id, quote.symbol, quote.price, quote.filled_qty + target.qty
        )
    if ticks <= knobs.keep_max_ticks and market.keep_value_bps > market.move_value_bps:
        return None
    if quote.amend_refused or crosses(target.price, quote.side, market):
        return cancel
    return Amend(quote.client_order_id, quote.symbol, target.price, quote.filled_qty + target.qty)


def compares_queue(
    quote: WorkingQuote, target: Target, tick_size: Decimal, knobs: RequoteKnobs, *, hard: bool
) -> bool:
    """Whether `decide` reads the side's queue values: a working quote, a target it keeps,
    more than the price tolerance away and at most `keep_max_ticks` (rule 5)."""
    if hard or target.qty <= 0 or quote.status is not QuoteStatus.WORKING:
        return False
    ticks = abs(target.price - quote.price) / tick_size
    return knobs.price_tolerance_ticks < ticks <= knobs.keep_max_ticks
