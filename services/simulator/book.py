"""One symbol's order book: synthetic liquidity around the mid plus the accounts' resting orders.

Prices are integer ticks, sizes integer lots. The synthetic side of the book is a function,
not a stored ladder: a level `d` ticks behind the synthetic top (`bid0` / `ask0`, set by the
price process every step) holds `book_lots x weight(d) x noise(price)` lots — thin for the
first few ticks, thicker further out, `max_levels` levels per side — so moving the mid costs
nothing and a level keeps its size while the mid moves around it. What takers consume is
remembered per price and side ("depletion") and refills `refill_ms` later, so a sweep by one
of our orders visibly moves the top until the liquidity comes back.

Account orders rest in the same book, FIFO per price. An order joining a level queues behind
the synthetic size already there (`ahead`); synthetic size arriving later queues behind it.
The public book is the sum of both, so our own orders show in it.
"""

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

_NOISE_MULT: Final = 2_654_435_761  # Knuth's multiplicative hash
_EMPTY: Final[list["RestingOrder"]] = []


def _weight(distance: int) -> int:
    if distance < 2:
        return 1
    if distance < 6:
        return 2
    if distance < 20:
        return 3
    if distance < 60:
        return 5
    return 8


@dataclass(slots=True, eq=False)
class RestingOrder:
    """An account order in (or entering) the book. `account == ""` marks a synthetic taker."""

    order_id: str
    account: str
    is_buy: bool
    price: int  # ticks
    leaves: int  # lots still open
    ahead: int = 0  # synthetic lots queued in front of it at its price
    reduce_only: bool = False


@dataclass(slots=True, eq=False)
class BookSide:
    """One side: the account orders per price and what takers consumed of the synthetic size."""

    is_bid: bool
    orders: dict[int, list[RestingOrder]] = field(default_factory=dict)
    prices: list[int] = field(default_factory=list)  # ascending, prices with account orders
    depleted: dict[int, list[int]] = field(default_factory=dict)  # price -> [lots, refill ms]


class Book:
    """The order book of one symbol."""

    def __init__(
        self, *, book_lots: int, max_levels: int, refill_ms: int, salt: int, bid0: int, ask0: int
    ) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.bid0 = bid0  # best synthetic bid (before depletion)
        self.ask0 = ask0
        self.u = 1  # update id: +1 per change
        self.seq = 0  # cross sequence of the last change
        self.cts = 0  # time of the last match
        self.dirty = False
        self._lots = book_lots
        self._max_levels = max_levels
        self._refill_ms = refill_ms
        self._salt = salt & 0xFFFF_FFFF
        self._weights = [_weight(d) for d in range(max_levels)]
        self._needs_purge = False
        self._next_refill_ms: int | None = None  # earliest expiry of any depletion

    # ------------------------------------------------------------ synthetic liquidity

    def move(self, bid0: int, ask0: int) -> None:
        """Set the synthetic top (the price process moved)."""
        if bid0 != self.bid0 or ask0 != self.ask0:
            self.bid0 = bid0
            self.ask0 = ask0
            self.dirty = True

    def synthetic(self, side: BookSide, price: int, now_ms: int) -> int:
        """Synthetic lots resting at `price` on `side` now."""
        distance = self.bid0 - price if side.is_bid else price - self.ask0
        if distance < 0 or distance >= self._max_levels or price < 1:
            return 0
        noise = 8 + (((price * _NOISE_MULT) ^ self._salt) >> 9) % 16
        size = max(1, self._lots * self._weights[distance] * noise // 16)
        used = side.depleted.get(price)
        if used is not None:
            if used[1] > now_ms:
                return max(0, size - used[0])
            del side.depleted[price]
        return size

    def deplete(self, side: BookSide, price: int, lots: int, now_ms: int) -> None:
        """Record that takers consumed `lots` of synthetic size at `price`."""
        until = now_ms + self._refill_ms
        used = side.depleted.get(price)
        if used is None or used[1] <= now_ms:
            side.depleted[price] = [lots, until]
        else:
            used[0] += lots
            used[1] = until
        if self._next_refill_ms is None or until < self._next_refill_ms:
            self._next_refill_ms = until
        self.dirty = True

    def refill(self, now_ms: int) -> None:
        """Forget depletion that has expired (the liquidity came back)."""
        if self._next_refill_ms is None or now_ms < self._next_refill_ms:
            return
        pending: list[int] = []
        for side in (self.bids, self.asks):
            expired = [p for p, (_, until) in side.depleted.items() if until <= now_ms]
            for price in expired:
                del side.depleted[price]
            pending.extend(until for _, until in side.depleted.values())
        self._next_refill_ms = min(pending) if pending else None
        self.dirty = True

    def best_synthetic(self, side: BookSide, now_ms: int) -> int | None:
        """The best price with synthetic size left on `side`, if any."""
        step = -1 if side.is_bid else 1
        price = self.bid0 if side.is_bid else self.ask0
        for _ in range(self._max_levels):
            if price < 1:
                return None
            if self.synthetic(side, price, now_ms) > 0:
                return price
            price += step
        return None

    # ------------------------------------------------------------ account orders

    def side_of(self, is_buy: bool) -> BookSide:
        """The side a resting order of this direction sits on."""
        return self.bids if is_buy else self.asks

    @property
    def has_orders(self) -> bool:
        """Whether any account order rests in the book."""
        return bool(self.bids.prices or self.asks.prices)

    def add(self, order: RestingOrder, now_ms: int) -> None:
        """Queue `order` at the back of its price level."""
        side = self.side_of(order.is_buy)
        queue = side.orders.get(order.price)
        if queue is None:
            queue = side.orders[order.price] = []
            bisect.insort(side.prices, order.price)
        order.ahead = self.synthetic(side, order.price, now_ms)
        queue.append(order)
        self.dirty = True

    def cancel(self, order: RestingOrder) -> None:
        """Take `order` out of the book (lazily: its level is cleaned up by `purge`)."""
        order.leaves = 0
        self._needs_purge = True
        self.dirty = True

    def note_fill(self) -> None:
        """An order of this book was (partly) filled: purge before the next walk."""
        self._needs_purge = True
        self.dirty = True

    def purge(self) -> None:
        """Drop orders with nothing left to fill, and empty levels."""
        if not self._needs_purge:
            return
        self._needs_purge = False
        for side in (self.bids, self.asks):
            for price in list(side.prices):
                queue = [o for o in side.orders[price] if o.leaves > 0]
                if queue:
                    side.orders[price] = queue
                else:
                    del side.orders[price]
                    side.prices.remove(price)

    def best_account_price(self, side: BookSide) -> int | None:
        """The best price with an account order on `side`."""
        if not side.prices:
            return None
        return side.prices[-1] if side.is_bid else side.prices[0]

    # ------------------------------------------------------------ reading the book

    def levels(self, side: BookSide, now_ms: int) -> Iterator[tuple[int, int, list[RestingOrder]]]:
        """Yield (price, synthetic lots, account orders) for `side`, best price first.

        Levels with nothing on them are skipped.
        """
        step = -1 if side.is_bid else 1
        top = self.bid0 if side.is_bid else self.ask0
        end = max(top - self._max_levels, 0) if side.is_bid else top + self._max_levels
        account = iter(reversed(side.prices) if side.is_bid else side.prices)
        next_account = next(account, None)
        price = top
        while True:
            in_range = price != end
            if next_account is not None and (not in_range or (next_account - price) * step <= 0):
                level = next_account
                next_account = next(account, None)
                if level == price:
                    price += step
            elif in_range:
                level = price
                price += step
            else:
                return
            synthetic = self.synthetic(side, level, now_ms)
            orders = side.orders.get(level, _EMPTY)
            if synthetic or orders:
                yield level, synthetic, orders

    def top(self, depth: int, now_ms: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (price, lots) levels: bids best (highest) first, asks best (lowest) first."""
        return self._side_top(self.bids, depth, now_ms), self._side_top(self.asks, depth, now_ms)

    def _side_top(self, side: BookSide, depth: int, now_ms: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        if depth <= 0:
            return out
        for price, synthetic, orders in self.levels(side, now_ms):
            total = synthetic + sum(o.leaves for o in orders)
            if total > 0:
                out.append((price, total))
                if len(out) >= depth:
                    break
        return out
