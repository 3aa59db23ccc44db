"""A recorded market's L2 ladder: the liquidity a book matches against in replay and backtests.

`RecordedDepth` holds, per side, integer ticks -> integer lots as the recording shows them
(`orderbook.N.<SYMBOL>` frames as `DepthUpdate`s): a snapshot replaces the side, a delta
sets each level it names, and a level of 0 lots is deleted. It implements `depth.Depth`, so
the matching engine walks it as it walks the synthetic book.

Rules, because the recording does not know we were there:

- What our takers consume at a level stays consumed (`deplete`) until the next recorded
  update of that level, which sets the level to what the real market showed. A recorded
  trade at a level takes its lots from the level the same way (`on_trade`), and is also
  counted per level (`traded_at`) until that level's next update, for the queue model's
  double-counting rule (`queue_model`).
- The ladder follows one depth per symbol: the deepest `orderbook.N` it has seen. A frame
  of a shallower depth after that is skipped (counted in `skipped["shallower_depth"]`):
  `orderbook.1` and `orderbook.500` of one recording are two views of one book, not two
  books. A delta before the first snapshot of its depth is skipped (counted) as a feed does.
- `bid0` / `ask0` are the best recorded prices (what our takers consumed does not move
  them; the mark is their mid); a side left empty keeps its last best price.

Memory is bounded by the recorded depth: at most N levels a side plus what a delta names.
"""

import bisect
from collections.abc import Collection, Iterable
from typing import Final

from services.simulator.market_events import DepthUpdate, Level

# (is_bid, price ticks, lots before, lots after, lots of recorded trades since the last update)
LevelChange = tuple[bool, int, int, int, int]
SKIP_REASONS: Final = ("shallower_depth", "delta_before_snapshot")


class RecordedDepth:
    """The recorded L2 ladder of one symbol (per side: index 0 the asks, 1 the bids)."""

    def __init__(self, *, bid0: int, ask0: int) -> None:
        self.bid0 = bid0  # best recorded bid (the first snapshot sets it)
        self.ask0 = ask0
        self.depth = 0  # N of the orderbook.N stream followed; 0: none yet
        self.skipped = dict.fromkeys(SKIP_REASONS, 0)
        self._sizes: tuple[dict[int, int], dict[int, int]] = ({}, {})  # as recorded
        self._prices: tuple[list[int], list[int]] = ([], [])  # ascending
        self._used: tuple[dict[int, int], dict[int, int]] = ({}, {})  # taken since the update
        self._traded: tuple[dict[int, int], dict[int, int]] = ({}, {})  # recorded trades, ditto

    # ------------------------------------------------------------ depth.Depth

    def lots(self, is_bid: bool, price: int, now_ms: int) -> int:
        """The recorded lots at `price` less what was taken there since its last update."""
        size = self._sizes[is_bid].get(price)
        if size is None:
            return 0
        used = self._used[is_bid].get(price)
        if used is None:
            return size
        return size - used if size > used else 0

    def candidates(self, is_bid: bool) -> Iterable[int]:
        """The recorded prices, best first."""
        return reversed(self._prices[True]) if is_bid else self._prices[False]

    def best(self, is_bid: bool, now_ms: int) -> int | None:
        """The best recorded price with lots left."""
        for price in self.candidates(is_bid):
            if self.lots(is_bid, price, now_ms) > 0:
                return price
        return None

    def deplete(self, is_bid: bool, price: int, lots: int, now_ms: int) -> None:
        """Our takers consumed `lots` at `price`: gone until the level's next update."""
        if price in self._sizes[is_bid]:
            used = self._used[is_bid]
            used[price] = used.get(price, 0) + lots

    def refill(self, now_ms: int) -> bool:
        """Nothing comes back with time: only a recorded update restores a level."""
        return False

    # ------------------------------------------------------------ the recording

    def on_trade(self, is_bid: bool, price: int, lots: int) -> None:
        """A recorded trade took `lots` at `price` on the side (its maker side)."""
        if price in self._sizes[is_bid]:
            used, traded = self._used[is_bid], self._traded[is_bid]
            used[price] = used.get(price, 0) + lots
            traded[price] = traded.get(price, 0) + lots

    def traded_at(self, is_bid: bool, price: int) -> int:
        """Lots of recorded trades at the level since its last recorded update."""
        return self._traded[is_bid].get(price, 0)

    def recorded(self, is_bid: bool, price: int) -> int:
        """The lots the recording last showed at `price` (nothing taken off)."""
        return self._sizes[is_bid].get(price, 0)

    def apply(
        self, update: DepthUpdate, watched: tuple[Collection[int], Collection[int]]
    ) -> list[LevelChange] | None:
        """Apply a recorded snapshot or delta; None if it was skipped (and counted).

        Returns the changes of the levels in `watched` (per side, asks then bids: the prices
        where account orders rest), for their queue positions.
        """
        if update.depth < self.depth:
            self.skipped["shallower_depth"] += 1
            return None
        if update.depth > self.depth and not update.is_snapshot:
            self.skipped["delta_before_snapshot"] += 1
            return None
        self.depth = update.depth
        changes: list[LevelChange] = []
        if update.is_snapshot:
            self._replace(True, update.bids, watched[True], changes)
            self._replace(False, update.asks, watched[False], changes)
        else:  # a side a delta does not name does not change
            if update.bids:
                self._change(True, update.bids, watched[True], changes)
            if update.asks:
                self._change(False, update.asks, watched[False], changes)
        asks, bids = self._prices
        if bids:
            self.bid0 = bids[-1]
        if asks:
            self.ask0 = asks[0]
        return changes

    def _change(
        self,
        is_bid: bool,
        levels: tuple[Level, ...],
        watched: Collection[int],
        changes: list[LevelChange],
    ) -> None:
        sizes, prices = self._sizes[is_bid], self._prices[is_bid]
        used, traded = self._used[is_bid], self._traded[is_bid]
        if not watched and not used:  # the usual case, and nothing in the loop changes it
            self._change_plain(sizes, prices, levels)
            return
        for price, lots in levels:
            before = sizes.get(price)
            if price in watched:
                changes.append((is_bid, price, before or 0, lots, traded.get(price, 0)))
            if used:
                used.pop(price, None)
                traded.pop(price, None)
            if lots > 0:
                if before is None:
                    bisect.insort(prices, price)
                sizes[price] = lots
            elif before is not None:
                del sizes[price]
                del prices[bisect.bisect_left(prices, price)]

    @staticmethod
    def _change_plain(sizes: dict[int, int], prices: list[int], levels: tuple[Level, ...]) -> None:
        """`_change` where no account order rests and nothing was taken: sizes only."""
        get, insort, bisect_left = sizes.get, bisect.insort, bisect.bisect_left
        for price, lots in levels:
            before = get(price)
            if lots > 0:
                if before is None:
                    insort(prices, price)
                sizes[price] = lots
            elif before is not None:
                del sizes[price]
                del prices[bisect_left(prices, price)]

    def _replace(
        self,
        is_bid: bool,
        levels: tuple[Level, ...],
        watched: Collection[int],
        changes: list[LevelChange],
    ) -> None:
        sizes, traded = self._sizes[is_bid], self._traded[is_bid]
        fresh: dict[int, int] = {}
        for price, lots in levels:  # in order, as a delta: a later entry wins
            if lots > 0:
                fresh[price] = lots
            else:
                fresh.pop(price, None)
        for price in watched:
            changes.append(
                (is_bid, price, sizes.get(price, 0), fresh.get(price, 0), traded.get(price, 0))
            )
        sizes.clear()
        sizes.update(fresh)
        self._prices[is_bid][:] = sorted(fresh)
        self._used[is_bid].clear()
        traded.clear()
