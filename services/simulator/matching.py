"""The matching engine: takers walk the book with price-time priority.

A taker (an account order, or a market taker: the synthetic trade flow or a recorded trade
in the recorded-tops mode) consumes the opposite side level by level, best price first,
never beyond its limit. Within a level the queue is, in order: the market's size in front of
the first account order (its `ahead`), that order, the market's size between it and the next
account order, ..., and finally the rest of the market's size. So a resting account order
fills only once the size ahead of it is consumed, possibly in parts, always at its own price
(as maker). The market's size is the book's `Depth`: synthetic, or a recorded ladder, whose
consumed lots stay consumed as that depth says. `trade_through` fills, at their own prices,
the account orders that the market's top (synthetic or recorded) has crossed.

In a recorded market a recorded trade does not walk the ladder: it printed in a market that
did not hold our orders, so `recorded_trade` only moves our queue positions and fills our
orders, as `queue_model` describes (through our price: whole; at our price: the excess over
what was ahead of us).

Every fill is reported at once through `on_fill`, which may shrink (never enlarge) the `leaves`
of other resting orders and of the taker (reduce-only orders shrink with the position), but
must not add or remove orders: removal is `Book.cancel`, cleaned up by `Book.purge`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from services.simulator.book import Book, BookSide, RestingOrder


@dataclass(frozen=True, slots=True)
class Fill:
    """`lots` traded at `price` (ticks) between a taker and a maker (None: the market's size)."""

    taker: RestingOrder
    maker: RestingOrder | None
    price: int
    lots: int


OnFill = Callable[[Fill], None]


def market_taker(is_buy: bool, lots: int) -> RestingOrder:
    """A taker that is no account's: the synthetic trade flow, or a recorded trade."""
    return RestingOrder(order_id="", account="", is_buy=is_buy, price=0, leaves=lots)


class Matcher:
    """Matching on one book at one instant."""

    def __init__(self, book: Book, now_ms: int, on_fill: OnFill) -> None:
        self._book = book
        self._now = now_ms
        self._on_fill = on_fill
        book.purge()

    def take(self, taker: RestingOrder, limit: int | None) -> int:
        """Fill `taker` against the opposite side up to `limit` ticks (None: the whole book).

        Decrements `taker.leaves`; returns the lots filled.
        """
        book = self._book
        side = book.asks if taker.is_buy else book.bids
        filled = 0
        for price, market, orders in book.levels(side, self._now):
            if taker.leaves <= 0:
                break
            if limit is not None and (price > limit if taker.is_buy else price < limit):
                break
            before = taker.leaves
            self._level(side, taker, price, market, orders)
            filled += before - taker.leaves
        if filled:
            book.cts = self._now
            book.dirty = True
        book.purge()
        return filled

    def _level(
        self,
        side: BookSide,
        taker: RestingOrder,
        price: int,
        market: int,
        orders: list[RestingOrder],
    ) -> None:
        taken = 0
        for order in orders:
            if taker.leaves <= 0:
                break
            gap = min(order.ahead, market) - taken
            if gap > 0:
                lots = min(gap, taker.leaves)
                taken += lots
                taker.leaves -= lots
                self._on_fill(Fill(taker, None, price, lots))
                if taker.leaves <= 0:
                    break
            if order.leaves > 0:
                lots = min(order.leaves, taker.leaves)
                order.leaves -= lots
                taker.leaves -= lots
                self._book.note_fill()
                self._on_fill(Fill(taker, order, price, lots))
        if taker.leaves > 0 and market > taken:
            lots = min(market - taken, taker.leaves)
            taken += lots
            taker.leaves -= lots
            self._on_fill(Fill(taker, None, price, lots))
        if taken:
            self._book.deplete(side, price, taken, self._now)
            for order in orders:
                order.ahead = max(0, min(order.ahead, market) - taken)

    def fillable(self, is_buy: bool, limit: int | None, lots: int) -> bool:
        """Whether a taker could fill `lots` at once within `limit` (for FOK)."""
        side = self._book.asks if is_buy else self._book.bids
        total = 0
        for price, market, orders in self._book.levels(side, self._now):
            if limit is not None and (price > limit if is_buy else price < limit):
                return False
            total += market + sum(o.leaves for o in orders)
            if total >= lots:
                return True
        return False

    def crosses(self, is_buy: bool, price: int) -> bool:
        """Whether an order at `price` would take liquidity (for PostOnly)."""
        side = self._book.asks if is_buy else self._book.bids
        for level, _, _ in self._book.levels(side, self._now):
            return level <= price if is_buy else level >= price
        return False

    def trade_through(self) -> None:
        """Fill the account orders the market's top has moved through, at their prices."""
        book = self._book
        for side, other in ((book.bids, book.asks), (book.asks, book.bids)):
            best = book.best_account_price(side)
            if best is None or (best < book.ask0 if side.is_bid else best > book.bid0):
                continue
            limit = book.best_market(other, self._now)
            if limit is None:
                continue
            prices = list(reversed(side.prices)) if side.is_bid else list(side.prices)
            for price in prices:
                if price < limit if side.is_bid else price > limit:
                    break
                self._fill_level(side.orders[price], price)
        book.purge()

    def recorded_trade(self, taker_is_buy: bool, price: int, lots: int) -> None:
        """A recorded trade of `lots` at `price`: fill the account orders it traded through
        whole, move up those at its price and fill them by the excess over what was ahead."""
        book = self._book
        side = book.bids if not taker_is_buy else book.asks  # the makers' side
        prices = list(reversed(side.prices)) if side.is_bid else list(side.prices)
        for level in prices:
            if level == price:
                self._queue_front(side.orders[level], taker_is_buy, price, lots)
                break
            if level < price if side.is_bid else level > price:
                break
            self._fill_level(side.orders[level], level)
        book.on_recorded_trade(side, price, lots)
        book.purge()

    def _queue_front(
        self, orders: list[RestingOrder], taker_is_buy: bool, price: int, lots: int
    ) -> None:
        remaining = lots
        consumed = 0  # the market's lots taken from in front of our orders
        for order in orders:
            gap = order.ahead - consumed
            if gap > 0:
                step = min(gap, remaining)
                consumed += step
                remaining -= step
            if remaining <= 0:
                break
            if order.leaves > 0:
                step = min(order.leaves, remaining)
                order.leaves -= step
                remaining -= step
                self._book.note_fill()
                self._book.cts = self._now
                self._on_fill(Fill(market_taker(taker_is_buy, step), order, price, step))
        for order in orders:
            order.ahead = max(0, order.ahead - consumed)

    def _fill_level(self, orders: list[RestingOrder], price: int) -> None:
        for order in orders:
            if order.leaves > 0:
                lots = order.leaves
                order.leaves = 0
                self._book.note_fill()
                self._book.cts = self._now
                self._on_fill(Fill(market_taker(not order.is_buy, lots), order, price, lots))
