"""One symbol's order book: the market's liquidity (its `Depth`) plus the accounts' orders.

Prices are integer ticks, sizes integer lots. The market's own liquidity is pluggable
(`depth.Depth`): the synthetic market's (`depth.SyntheticDepth`, a function of the top that
the price process moves) or a recording's L2 ladder (`ladder.RecordedDepth`). The book asks
it for the lots at a price (`market_lots`), the best price with lots left (`best_market`),
and tells it what takers consumed (`deplete`).

Account orders rest in the same book, FIFO per price. An order joining a level queues behind
the market's size already there (`ahead`); market size arriving later queues behind it. In a
recorded market `ahead` then moves by the recording (`apply_depth`, `queue_model`). The
public book is the sum of both, so our own orders show in it.
"""

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from services.simulator.depth import Depth, SyntheticDepth
from services.simulator.ladder import RecordedDepth
from services.simulator.market_events import DepthUpdate
from services.simulator.queue_model import QueueModel

_EMPTY: Final[list["RestingOrder"]] = []


@dataclass(slots=True, eq=False)
class RestingOrder:
    """An account order in (or entering) the book. `account == ""` marks a market taker."""

    order_id: str
    account: str
    is_buy: bool
    price: int  # ticks
    leaves: int  # lots still open
    ahead: int = 0  # the market's lots queued in front of it at its price
    reduce_only: bool = False


@dataclass(slots=True, eq=False)
class BookSide:
    """One side's account orders per price."""

    is_bid: bool
    orders: dict[int, list[RestingOrder]] = field(default_factory=dict)
    prices: list[int] = field(default_factory=list)  # ascending, prices with account orders


class Book:
    """The order book of one symbol."""

    def __init__(self, depth: Depth) -> None:
        self.depth = depth
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.u = 1  # update id: +1 per change
        self.seq = 0  # cross sequence of the last change
        self.cts = 0  # time of the last match
        self.dirty = False
        self._needs_purge = False

    # ------------------------------------------------------------ the market's liquidity

    @property
    def bid0(self) -> int:
        """The market's best bid (before depletion by our takers)."""
        return self.depth.bid0

    @property
    def ask0(self) -> int:
        """The market's best ask (before depletion by our takers)."""
        return self.depth.ask0

    def move(self, bid0: int, ask0: int) -> None:
        """Set the synthetic top (the price process, or a recorded best bid and ask, moved)."""
        if not isinstance(self.depth, SyntheticDepth):
            raise TypeError("only a synthetic book moves its top; a recorded one by its updates")
        if self.depth.move(bid0, ask0):
            self.dirty = True

    def market_lots(self, side: BookSide, price: int, now_ms: int) -> int:
        """The market's lots (not the accounts') resting at `price` on `side` now."""
        return self.depth.lots(side.is_bid, price, now_ms)

    def deplete(self, side: BookSide, price: int, lots: int, now_ms: int) -> None:
        """Record that takers consumed `lots` of the market's size at `price`."""
        self.depth.deplete(side.is_bid, price, lots, now_ms)
        self.dirty = True

    def refill(self, now_ms: int) -> None:
        """Let consumed liquidity come back when its time has come."""
        if self.depth.refill(now_ms):
            self.dirty = True

    def best_market(self, side: BookSide, now_ms: int) -> int | None:
        """The best price with the market's size left on `side`, if any."""
        return self.depth.best(side.is_bid, now_ms)

    # ------------------------------------------------------------ a recorded market

    def apply_depth(self, update: DepthUpdate, model: QueueModel) -> bool:
        """Apply a recorded book update and move the queue positions of the account orders
        at the levels it changed; False if the ladder skipped it."""
        ladder = self.depth
        if not isinstance(ladder, RecordedDepth):
            raise TypeError("a recorded book update needs a recorded ladder")
        changes = ladder.apply(update, (self.asks.orders, self.bids.orders))
        if changes is None:
            return False
        for is_bid, price, before, after, traded in changes:
            for order in (self.bids if is_bid else self.asks).orders[price]:
                order.ahead = model.ahead_after(order.ahead, before, after, traded)
        self.dirty = True
        return True

    def on_recorded_trade(self, side: BookSide, price: int, lots: int) -> None:
        """A recorded trade took `lots` at `price` from the ladder's `side` (its makers)."""
        ladder = self.depth
        if not isinstance(ladder, RecordedDepth):
            raise TypeError("a recorded trade needs a recorded ladder")
        ladder.on_trade(side.is_bid, price, lots)
        self.dirty = True

    # ------------------------------------------------------------ account orders

    def side_of(self, is_buy: bool) -> BookSide:
        """The side a resting order of this direction sits on."""
        return self.bids if is_buy else self.asks

    @property
    def has_orders(self) -> bool:
        """Whether any account order rests in the book."""
        return bool(self.bids.prices or self.asks.prices)

    def add(self, order: RestingOrder, now_ms: int) -> None:
        """Queue `order` at the back of its price level, behind the market's size there."""
        side = self.side_of(order.is_buy)
        queue = side.orders.get(order.price)
        if queue is None:
            queue = side.orders[order.price] = []
            bisect.insort(side.prices, order.price)
        order.ahead = self.market_lots(side, order.price, now_ms)
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
        """Yield (price, market lots, account orders) for `side`, best price first.

        Levels with nothing on them are skipped.
        """
        is_bid = side.is_bid
        step = -1 if is_bid else 1
        lots_at = self.depth.lots
        candidates = iter(self.depth.candidates(is_bid))
        account = iter(reversed(side.prices) if is_bid else side.prices)
        next_candidate = next(candidates, None)
        next_account = next(account, None)
        while True:
            if next_account is not None and (
                next_candidate is None or (next_account - next_candidate) * step <= 0
            ):
                level = next_account
                next_account = next(account, None)
                if level == next_candidate:
                    next_candidate = next(candidates, None)
            elif next_candidate is not None:
                level = next_candidate
                next_candidate = next(candidates, None)
            else:
                return
            market = lots_at(is_bid, level, now_ms)
            orders = side.orders.get(level, _EMPTY)
            if market or orders:
                yield level, market, orders

    def top(self, depth: int, now_ms: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (price, lots) levels: bids best (highest) first, asks best (lowest) first."""
        return self._side_top(self.bids, depth, now_ms), self._side_top(self.asks, depth, now_ms)

    def _side_top(self, side: BookSide, depth: int, now_ms: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        if depth <= 0:
            return out
        for price, market, orders in self.levels(side, now_ms):
            total = market + sum(o.leaves for o in orders)
            if total > 0:
                out.append((price, total))
                if len(out) >= depth:
                    break
        return out
