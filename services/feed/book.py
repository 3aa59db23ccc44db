"""The local order book of one symbol at one depth, kept from Bybit's orderbook topic (pure).

Rules (docs/bybit-v5.md 7.3): a snapshot replaces the whole book; a delta level of size 0
deletes its price (an unknown price is fine), any other size inserts or replaces it; on
orderbook.1 every message is a snapshot, whatever its `type`; `u == 1` means the venue
restarted and the message is a snapshot. A delta must carry `u == last_u + 1`: a lower `u`
is a duplicate, a higher one a gap, after which the book is unusable until the caller
resubscribes and a new snapshot arrives. A snapshot replaces the book whatever its `u` (one
below ours means the venue restarted its sequence; it is counted in `restarts`), except the
same `u` again on a book in sync, which orderbook.1 sends every 3 s while nothing changes.

No I/O and no clock: the caller passes the receive time of each frame.
"""

from bisect import bisect_left
from decimal import Decimal
from enum import StrEnum
from itertools import islice
from operator import ge, itemgetter
from typing import Final

from shared.bybit import wire

Top = tuple[Decimal, Decimal, Decimal, Decimal]  # bid_price, bid_qty, ask_price, ask_qty
Level = tuple[Decimal, Decimal]  # price, qty


class BookUpdate(StrEnum):
    """What one venue message did to the book (one shared member per outcome: no allocation).

    The book keeps what a log line needs: on DUPLICATE and GAP nothing is applied, so
    `book.last_u` is still the last applied u (a gap expected `last_u + 1`); check
    `book.synced` before `apply` to tell the GAP that lost sync (resubscribe once) from
    deltas still in flight while the new snapshot is awaited (GAP again, book not synced).
    On a CROSSED update `book.top()` has the crossed prices.
    """

    APPLIED = "applied"  # the book changed and is consistent
    DUPLICATE = "duplicate"  # u <= last applied u (or the same snapshot again): ignored
    GAP = "gap"  # u skipped, or a delta with no book to apply it to: unusable until a snapshot
    CROSSED = "crossed"  # applied, but best bid >= best ask: not tradeable until uncrossed


_APPLIED: Final = BookUpdate.APPLIED
_DUPLICATE: Final = BookUpdate.DUPLICATE
_GAP: Final = BookUpdate.GAP
_CROSSED: Final = BookUpdate.CROSSED
_NS_PER_MS: Final = 1_000_000
_price_of: Final = itemgetter(0)
_qty_of: Final = itemgetter(1)


class OrderBook:
    """Bids and asks of one symbol at one depth, as Bybit's orderbook.<depth> topic states them.

    Each side is two parallel lists sorted by price ascending, prices strictly increasing
    and every qty > 0: the best bid is the last bid, the best ask the first ask. A delta
    level costs one bisect (Decimal comparisons) and at most one list insert or delete;
    nothing hashes a Decimal (a fresh Decimal's first hash costs several times its
    comparisons) and nothing sorts per update.

    Invariants, after every `apply`:

    * `_bid_prices[i]` has qty `_bid_sizes[i]` (asks alike), and the lists are as above.
    * Each side holds exactly the levels the venue sent, not trimmed to `depth`: the venue
      deletes the level that leaves its window, so a side stays within `depth` levels.
    * `_synced` is True once a snapshot was applied and no gap was seen since; while it is
      False both sides are empty, `top()` is None and deltas are refused with GAP.
    * `_crossed` is True iff the book is synced, both sides are non-empty and best bid >=
      best ask; it clears on the update that uncrosses the book or on a snapshot.
    * `last_u`, `last_seq`, `last_ts_ms` are those of the last applied message, and
      `last_recv_ns` is when it was received. A snapshot repeating the current `u` is a
      DUPLICATE that confirms the book: it refreshes `last_ts_ms` and `last_recv_ns` only.
    """

    __slots__ = (
        "_ask_prices",
        "_ask_sizes",
        "_bid_prices",
        "_bid_sizes",
        "_crossed",
        "_synced",
        "depth",
        "last_recv_ns",
        "last_seq",
        "last_ts_ms",
        "last_u",
        "restarts",
        "stale_snapshots",
        "symbol",
    )

    def __init__(self, symbol: str, depth: int) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, was {depth}")
        self.symbol = symbol
        self.depth = depth
        self._bid_prices: list[Decimal] = []
        self._bid_sizes: list[Decimal] = []
        self._ask_prices: list[Decimal] = []
        self._ask_sizes: list[Decimal] = []
        self._synced = False
        self._crossed = False
        self.last_u = 0
        self.last_seq = 0
        self.last_ts_ms = 0
        self.last_recv_ns = 0
        self.restarts = 0  # snapshots whose u went backwards: the venue restarted its book
        self.stale_snapshots = 0  # old snapshot copies (1 < u < last_u) ignored

    # ------------------------------------------------------------------ updates

    def apply(self, message: wire.OrderBookMessage, recv_ns: int) -> BookUpdate:
        """Apply one venue message received at `recv_ns` (UNIX ns) and say what it did.

        Raises ValueError if the message is for another symbol (a routing bug).
        """
        data = message.data
        if data.s != self.symbol:
            raise ValueError(f"book {self.symbol} was given a message for {data.s}")
        u = data.u
        if self.depth == 1 or message.type == "snapshot" or u == 1:
            return self._apply_snapshot(message, data, u, recv_ns)
        return self._apply_delta(message, data, u, recv_ns)

    def reset(self) -> None:
        """Forget the book (e.g. the connection dropped): unusable until the next snapshot."""
        self._clear()
        self.last_u = 0
        self.last_seq = 0
        self.last_ts_ms = 0
        self.last_recv_ns = 0

    def _apply_snapshot(
        self, message: wire.OrderBookMessage, data: wire.OrderBookData, u: int, recv_ns: int
    ) -> BookUpdate:
        previous_u = self.last_u
        if u == previous_u and self._synced:  # the same book again: it is still current
            self.last_ts_ms = message.ts
            self.last_recv_ns = recv_ns
            return _DUPLICATE
        if self._synced and 1 < u < previous_u:  # an old copy: rolling back would quote the past
            self.stale_snapshots += 1
            return _DUPLICATE
        bids, self._bid_sizes = _side(data.b)
        asks, self._ask_sizes = _side(data.a)
        self._bid_prices = bids
        self._ask_prices = asks
        self._synced = True
        if u < previous_u:  # u == 1 (venue restart), or a fresh book after a reset or a gap
            self.restarts += 1
        self.last_u = u
        self.last_seq = data.seq
        self.last_ts_ms = message.ts
        self.last_recv_ns = recv_ns
        if bids and asks and bids[-1] >= asks[0]:
            self._crossed = True
            return _CROSSED
        self._crossed = False
        return _APPLIED

    def _apply_delta(
        self, message: wire.OrderBookMessage, data: wire.OrderBookData, u: int, recv_ns: int
    ) -> BookUpdate:
        previous_u = self.last_u
        if not self._synced:
            return self._gap()
        if u != previous_u + 1:
            if u <= previous_u:
                return _DUPLICATE
            return self._gap()
        if data.b:
            _merge(self._bid_prices, self._bid_sizes, data.b)
        if data.a:
            _merge(self._ask_prices, self._ask_sizes, data.a)
        self.last_u = u
        self.last_seq = data.seq
        self.last_ts_ms = message.ts
        self.last_recv_ns = recv_ns
        bids = self._bid_prices
        asks = self._ask_prices
        if bids and asks and bids[-1] >= asks[0]:
            self._crossed = True
            return _CROSSED
        self._crossed = False
        return _APPLIED

    def _gap(self) -> BookUpdate:
        self._clear()  # last_u stays: the caller logs what was expected
        return _GAP

    def _clear(self) -> None:
        self._bid_prices = []
        self._bid_sizes = []
        self._ask_prices = []
        self._ask_sizes = []
        self._synced = False
        self._crossed = False

    # ------------------------------------------------------------------ queries

    def top(self) -> Top | None:
        """Return (bid_price, bid_qty, ask_price, ask_qty), or None if a side is empty.

        A crossed book still has a top (check `tradeable` before trading on it); a book
        that is not in sync has none.
        """
        if not self._bid_prices or not self._ask_prices:
            return None
        return self._bid_prices[-1], self._bid_sizes[-1], self._ask_prices[0], self._ask_sizes[0]

    def levels(self, n: int) -> tuple[list[Level], list[Level]]:
        """Return up to `n` (price, qty) levels per side, best first: (bids, asks)."""
        if n <= 0:
            return [], []
        bids = list(
            zip(reversed(self._bid_prices[-n:]), reversed(self._bid_sizes[-n:]), strict=True)
        )
        asks = list(zip(self._ask_prices[:n], self._ask_sizes[:n], strict=True))
        return bids, asks

    @property
    def synced(self) -> bool:
        """Whether a snapshot was applied and no gap was seen since."""
        return self._synced

    @property
    def crossed(self) -> bool:
        return self._crossed

    @property
    def tradeable(self) -> bool:
        """Whether the book is in sync, not crossed, and has both a bid and an ask."""
        return self._synced and not self._crossed and bool(self._bid_prices and self._ask_prices)

    def is_stale(self, now_ns: int, stale_after_ns: int) -> bool:
        """Return whether the book is too old to trade on at `now_ns` (UNIX ns).

        Stale when no snapshot was applied since the last gap or reset, or when either
        age of the last applied (or confirming) message exceeds `stale_after_ns`:

        * silence, on our clock alone: `now_ns - last_recv_ns`;
        * lag, the venue's clock against ours: `last_recv_ns - last_ts_ms` (the update
          was already old when it arrived; a clock offset counts in).

        orderbook.1 repeats an unchanged book every 3 s, so a quiet but healthy book
        stays fresh with `stale_after_ns` above 3 s; deeper books send nothing while
        nothing changes, so their caller should allow for quiet markets.
        """
        if not self._synced:
            return True
        last_recv_ns = self.last_recv_ns
        if now_ns - last_recv_ns > stale_after_ns:
            return True
        return last_recv_ns - self.last_ts_ms * _NS_PER_MS > stale_after_ns

    def __len__(self) -> int:
        """Return the number of price levels held, both sides together."""
        return len(self._bid_prices) + len(self._ask_prices)

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, depth={self.depth}, u={self.last_u}, "
            f"bids={len(self._bid_prices)}, asks={len(self._ask_prices)}, "
            f"synced={self._synced}, crossed={self._crossed})"
        )


def _side(levels: list[Level]) -> tuple[list[Decimal], list[Decimal]]:
    # One side of a snapshot as (prices ascending, sizes). The venue sends each side sorted
    # and distinct (bids descending): sorting a sorted or reversed run costs n comparisons.
    if len(levels) == 1:
        ((price, qty),) = levels
        return ([price], [qty]) if qty else ([], [])
    ordered = sorted(levels, key=_price_of)
    prices = list(map(_price_of, ordered))
    sizes = list(map(_qty_of, ordered))
    if all(sizes) and not any(map(ge, prices, islice(prices, 1, None))):
        return prices, sizes
    # Never seen from the venue: a zero qty, or one price twice (the later one wins).
    merged_prices: list[Decimal] = []
    merged_sizes: list[Decimal] = []
    _merge(merged_prices, merged_sizes, levels)
    return merged_prices, merged_sizes


def _merge(prices: list[Decimal], sizes: list[Decimal], levels: list[Level]) -> None:
    # One side of a delta: qty 0 deletes the price (an unknown one is fine), another qty
    # inserts or replaces it. `prices` stays strictly ascending, `sizes` parallel to it.
    for price, qty in levels:
        i = bisect_left(prices, price)
        if i < len(prices) and prices[i] == price:
            if qty:
                sizes[i] = qty
            else:
                del prices[i]
                del sizes[i]
        elif qty:
            prices.insert(i, price)
            sizes.insert(i, qty)
