"""A recorded market's L2 ladder: the liquidity a book matches against in replay and backtests.

`RecordedDepth` holds, per side, integer ticks -> integer lots as the recording shows them
(`orderbook.N.<SYMBOL>` frames as `DepthUpdate`s): a snapshot replaces the side, a delta
sets each level it names, and a level of 0 lots is deleted. It implements `depth.Depth`, so
the matching engine walks it as it walks the synthetic book.

Times: each update and trade carries its venue time on the matching engine's clock
(`match_ms`: a book frame's `cts`, a trade's `T`; 0 when the recording does not say). A book
at venue time C shows every trade up to C. The ladder keeps `book_ms`, the venue time of
the last update of the depth it follows, and `top_ms`, that of the last shallower top.

Rules, because the recording does not know we were there:

- What our takers consume at a level stays consumed (`deplete`) until the next recorded
  update of that level, which sets the level to what the real market showed.
- A recorded trade (`on_trade`, at its time `trade_ms`) takes its lots off its level only
  when it is later than the book that level shows (the deep book's `book_ms`, or `top_ms`
  for a level the top sets): real Bybit data prints the trade, then the book update that
  reflects it; a recording of the paper simulator publishes each step's book, already net
  of the step's trades, before its trades, and there the book is newer than the trade and
  the lots are gone already (counted in `counts["trades_in_book"]`, the others in
  `counts["trades_taken"]`). A trade without a time is taken off (the old rule).
- `traded_at` (the queue model's double-counting rule, `queue_model`): the lots of the
  recorded trades taken off a level since its last update, i.e. only trades later than
  the book. Such a trade moved our queue position when it printed, and the level's next
  update shows it again as a decrease, so it is not a cancellation. A trade the book already
  showed is not counted: the update that reflected it came before it (its decrease was
  already seen, as cancellations), and the next update's decrease does not contain it.
- The ladder follows one depth per symbol: the deepest `orderbook.N` it has seen. A
  shallower snapshot (`orderbook.1`, real time where `orderbook.500` comes in batches) is
  the newer truth about the top when its venue time is later than `book_ms`: on each side
  the levels better than its best price are hidden (`counts["top_clamped_levels"]`) and its
  best level's size stands, until an update of the followed depth not older than the top
  (`book_ms >= top_ms`) lifts it; a deeper update older than the top is applied under it
  (it cannot bring back what the top removed). A shallower top not newer than `book_ms`
  and a shallower delta are skipped (counted in `skipped["shallower_depth"]`); the standing
  top again with nothing taken there changes nothing (`counts["top_unchanged"]`), and a top
  at the same prices lets the flow skip its cross and stop checks (`crossable`). A delta
  before the first snapshot of its depth is skipped (counted) as a feed does.
- `bid0` / `ask0` are the best prices shown (the top's when it stands; what our takers
  consumed does not move them; the mark is their mid); a side left empty keeps its last.

Memory is bounded by the recorded depth: at most N levels a side plus what a delta names.
"""

import bisect
from collections.abc import Collection, Iterable, Iterator
from typing import Final

from services.simulator.market_events import DepthUpdate, Level

# (is_bid, price ticks, lots before, lots after, lots of recorded trades since the last update)
LevelChange = tuple[bool, int, int, int, int]
Top = tuple[int, int]  # (price ticks, lots) of a shallower book's best level on one side
SKIP_REASONS: Final = ("shallower_depth", "delta_before_snapshot")
COUNTS: Final = (
    "top_updates",  # shallower tops applied
    "top_unchanged",  # of those, the standing top again with nothing taken there: no-op
    "top_clamped_levels",  # deeper levels hidden by a top, counted when the top's price moves
    "trades_taken",  # recorded trades taken off the ladder (later than its book)
    "trades_in_book",  # recorded trades the book shown was newer than: already off
)


class RecordedDepth:
    """The recorded L2 ladder of one symbol (per side: index 0 the asks, 1 the bids)."""

    def __init__(self, *, bid0: int, ask0: int) -> None:
        self.bid0 = bid0  # best recorded bid (the first snapshot sets it)
        self.ask0 = ask0
        self.depth = 0  # N of the orderbook.N stream followed; 0: none yet
        self.book_ms = 0  # venue time of the last update of that depth (0: unknown)
        self.top_ms = 0  # venue time of the last shallower top that stood
        self.trade_ms = 0  # venue time of the recorded trade being applied (set by the flow)
        self.crossable = True  # whether the last update may let a resting order cross
        self.skipped = dict.fromkeys(SKIP_REASONS, 0)
        self.counts = dict.fromkeys(COUNTS, 0)
        self._sizes: tuple[dict[int, int], dict[int, int]] = ({}, {})  # as recorded
        self._prices: tuple[list[int], list[int]] = ([], [])  # ascending
        self._used: tuple[dict[int, int], dict[int, int]] = ({}, {})  # taken since the update
        self._traded: tuple[dict[int, int], dict[int, int]] = ({}, {})  # recorded trades, ditto
        self._top: list[Top | None] = [None, None]  # the standing top per side (None: none)

    # ------------------------------------------------------------ depth.Depth

    def lots(self, is_bid: bool, price: int, now_ms: int) -> int:
        """The lots shown at `price` less what was taken there since its last update."""
        top = self._top[is_bid]
        if top is None:
            size = self._sizes[is_bid].get(price)
            if size is None:
                return 0
        else:
            size = _shown(is_bid, price, self._sizes[is_bid].get(price, 0), top)
        used = self._used[is_bid].get(price)
        if used is None:
            return size
        return size - used if size > used else 0

    def candidates(self, is_bid: bool) -> Iterable[int]:
        """The prices shown, best first."""
        prices, top = self._prices[is_bid], self._top[is_bid]
        if top is None:
            return reversed(prices) if is_bid else prices
        return _under_top(is_bid, prices, top[0])

    def best(self, is_bid: bool, now_ms: int) -> int | None:
        """The best price shown with lots left."""
        for price in self.candidates(is_bid):
            if self.lots(is_bid, price, now_ms) > 0:
                return price
        return None

    def deplete(self, is_bid: bool, price: int, lots: int, now_ms: int) -> None:
        """Our takers consumed `lots` at `price`: gone until the level's next update."""
        if price in self._sizes[is_bid] or _at_top(is_bid, price, self._top[is_bid]):
            used = self._used[is_bid]
            used[price] = used.get(price, 0) + lots

    def refill(self, now_ms: int) -> bool:
        """Nothing comes back with time: only a recorded update restores a level."""
        return False

    # ------------------------------------------------------------ the recording

    def on_trade(self, is_bid: bool, price: int, lots: int) -> None:
        """A recorded trade at venue time `trade_ms` took `lots` at `price` on the side (its
        maker side): off the level only if it is later than the book the level shows."""
        top = self._top[is_bid]
        at_top = _at_top(is_bid, price, top)
        if not at_top and price not in self._sizes[is_bid]:
            return
        book_ms = self.top_ms if at_top else self.book_ms
        if self.trade_ms and self.trade_ms <= book_ms:
            self.counts["trades_in_book"] += 1  # the book shown is newer: it took them off
            return
        self.counts["trades_taken"] += 1
        used, traded = self._used[is_bid], self._traded[is_bid]
        used[price] = used.get(price, 0) + lots
        traded[price] = traded.get(price, 0) + lots

    def traded_at(self, is_bid: bool, price: int) -> int:
        """Lots of recorded trades taken off the level since its last recorded update."""
        return self._traded[is_bid].get(price, 0)

    def recorded(self, is_bid: bool, price: int) -> int:
        """The lots the recording last showed at `price` (nothing taken off)."""
        top = self._top[is_bid]
        size = self._sizes[is_bid].get(price, 0)
        return size if top is None else _shown(is_bid, price, size, top)

    def apply(
        self, update: DepthUpdate, watched: tuple[Collection[int], Collection[int]]
    ) -> list[LevelChange] | None:
        """Apply a recorded snapshot or delta, or a shallower top; None if it was skipped
        (and counted).

        Returns the changes of the levels in `watched` (per side, asks then bids: the prices
        where account orders rest), for their queue positions: the lots shown before and
        after (under the top when one stands).
        """
        depth = update.depth
        if depth < self.depth:
            return self._apply_top(update, watched)
        if depth > self.depth and not update.is_snapshot:
            self.skipped["delta_before_snapshot"] += 1
            return None
        self.depth = depth
        self.book_ms = update.match_ms
        self.crossable = True
        tops = self._top
        ms = update.match_ms  # an update without a time is taken as the newer (the old rule)
        lift = (tops[0] is not None or tops[1] is not None) and (not ms or ms >= self.top_ms)
        changes: list[LevelChange] = []
        if update.is_snapshot:
            self._replace(True, update.bids, watched[True], changes)
            self._replace(False, update.asks, watched[False], changes)
        else:  # a side a delta does not name does not change
            if update.bids:
                self._change(True, update.bids, watched[True], changes)
            if update.asks:
                self._change(False, update.asks, watched[False], changes)
        if tops[0] is not None or tops[1] is not None:  # the top stood over this update
            changes = self._under_top_changes(changes, watched, lift)
            if lift:
                tops[0] = tops[1] = None
        self._set_best()
        return changes

    def _set_best(self) -> None:
        asks, bids = self._prices
        top_ask, top_bid = self._top
        if top_bid is not None:
            self.bid0 = top_bid[0]
        elif bids:
            self.bid0 = bids[-1]
        if top_ask is not None:
            self.ask0 = top_ask[0]
        elif asks:
            self.ask0 = asks[0]

    def _apply_top(
        self, update: DepthUpdate, watched: tuple[Collection[int], Collection[int]]
    ) -> list[LevelChange] | None:
        """A shallower book's snapshot: its best levels stand over the deeper book. None when
        skipped (counted), or when it is the standing top again and nothing was taken there
        since (`counts["top_unchanged"]`): then nothing moves."""
        ms = update.match_ms
        if ms <= self.book_ms or not update.is_snapshot:
            self.skipped["shallower_depth"] += 1
            return None
        self.top_ms = ms
        counts, tops = self.counts, self._top
        counts["top_updates"] += 1
        bids, asks = update.bids, update.asks  # orderbook.1: one level a side, taken as is
        bid = bids[0] if len(bids) == 1 and bids[0][1] > 0 else _best_level(True, bids)
        ask = asks[0] if len(asks) == 1 and asks[0][1] > 0 else _best_level(False, asks)
        if bid == tops[True] and ask == tops[False] and self._untouched(bid, ask):
            counts["top_unchanged"] += 1
            return None
        changes: list[LevelChange] = []
        crossable = False
        if bid is not None:  # an empty side says nothing of the top: what stood stands
            crossable = self._top_side(True, bid, watched[True], changes)
        if ask is not None:
            crossable = self._top_side(False, ask, watched[False], changes) or crossable
        self.crossable = crossable
        top_ask, top_bid = tops  # the best prices shown are the top's where it stands
        if top_bid is not None:
            self.bid0 = top_bid[0]
        if top_ask is not None:
            self.ask0 = top_ask[0]
        return changes

    def _untouched(self, bid: Top | None, ask: Top | None) -> bool:
        """Whether nothing was taken at these tops' prices since they were shown."""
        for is_bid, top in ((True, bid), (False, ask)):
            if top is not None and (top[0] in self._used[is_bid] or top[0] in self._traded[is_bid]):
                return False
        return True

    def _top_side(
        self, is_bid: bool, new: Top, watched: Collection[int], changes: list[LevelChange]
    ) -> bool:
        """One side of a top: its level updated, the levels better than it hidden. Whether
        a resting order may cross now (its price moved, or what was taken there is back)."""
        old = self._top[is_bid]
        best = new[0]
        used = self._used[is_bid]
        refilled = used.pop(best, None) is not None if used else False  # an update of its level
        traded_of = self._traded[is_bid]
        traded = traded_of.pop(best, 0) if traded_of else 0
        if new == old:
            return refilled  # nothing else shown moves
        self._top[is_bid] = new
        if old is not None and old[0] == best:  # its size only: nothing else shown moves
            if best in watched:
                changes.append((is_bid, best, old[1], new[1], traded))
            return refilled
        # the levels it hides (a bisect: cheap)
        self.counts["top_clamped_levels"] += _better_than(is_bid, self._prices[is_bid], best)
        if watched:
            self._top_changes(is_bid, old, new, watched, traded, changes)
        return True

    def _top_changes(
        self,
        is_bid: bool,
        old: Top | None,
        new: Top,
        watched: Collection[int],
        traded: int,
        changes: list[LevelChange],
    ) -> None:
        best = new[0]
        sizes, traded_of = self._sizes[is_bid], self._traded[is_bid]
        for price in watched:
            deep = sizes.get(price, 0)
            before = deep if old is None else _shown(is_bid, price, deep, old)
            after = _shown(is_bid, price, deep, new)
            if price == best:
                changes.append((is_bid, price, before, after, traded))
            elif after != before:
                changes.append((is_bid, price, before, after, traded_of.get(price, 0)))

    def _under_top_changes(
        self,
        changes: list[LevelChange],
        watched: tuple[Collection[int], Collection[int]],
        lift: bool,
    ) -> list[LevelChange]:
        """The changes of the watched levels as shown: under the top before the update, and
        after it too unless it lifted the top (`lift`)."""
        if not watched[True] and not watched[False]:
            return changes
        out: list[LevelChange] = []
        named: set[tuple[bool, int]] = set()
        for is_bid, price, before, after, traded in changes:
            named.add((is_bid, price))
            top = self._top[is_bid]
            shown_after = after if lift else _shown_or(is_bid, price, after, top)
            out.append((is_bid, price, _shown_or(is_bid, price, before, top), shown_after, traded))
        if lift:  # a watched level the top hid or resized shows the deeper book's size again
            for is_bid in (True, False):
                top = self._top[is_bid]
                if top is None:
                    continue
                sizes, traded_of = self._sizes[is_bid], self._traded[is_bid]
                for price in watched[is_bid]:
                    if (is_bid, price) in named:
                        continue
                    size = sizes.get(price, 0)
                    before = _shown(is_bid, price, size, top)
                    if before != size:
                        out.append((is_bid, price, before, size, traded_of.get(price, 0)))
        return out

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


def _at_top(is_bid: bool, price: int, top: Top | None) -> bool:
    """Whether the standing top sets the level at `price` (its own, or one it hides)."""
    if top is None:
        return False
    return price >= top[0] if is_bid else price <= top[0]


def _shown(is_bid: bool, price: int, deep_lots: int, top: Top) -> int:
    """The lots shown at `price` with `deep_lots` in the deeper book under `top`."""
    top_price, top_lots = top
    if price == top_price:
        return top_lots
    if price > top_price if is_bid else price < top_price:
        return 0  # better than the top: gone
    return deep_lots


def _best_level(is_bid: bool, levels: tuple[Level, ...]) -> Top | None:
    """The best level of a snapshot's side (None: no level)."""
    fresh = {price: lots for price, lots in levels}  # in order: a later entry wins
    shown = [price for price, lots in fresh.items() if lots > 0]
    if not shown:
        return None
    best = max(shown) if is_bid else min(shown)
    return best, fresh[best]


def _shown_or(is_bid: bool, price: int, deep_lots: int, top: Top | None) -> int:
    return deep_lots if top is None else _shown(is_bid, price, deep_lots, top)


def _better_than(is_bid: bool, prices: list[int], price: int) -> int:
    """How many of the ascending `prices` are better than `price` on the side."""
    if is_bid:
        return len(prices) - bisect.bisect_right(prices, price)
    return bisect.bisect_left(prices, price)


def _under_top(is_bid: bool, prices: list[int], top_price: int) -> Iterator[int]:
    """The top's price, then the deeper book's prices worse than it, best first."""
    yield top_price
    if is_bid:
        for i in range(bisect.bisect_left(prices, top_price) - 1, -1, -1):
            yield prices[i]
    else:
        for i in range(bisect.bisect_right(prices, top_price), len(prices)):
            yield prices[i]
