"""The market's own liquidity in a book, as the matching engine sees it: `Depth`.

A `Book` holds the accounts' resting orders and asks its `Depth` for the rest: how many lots
the market shows at a price (`lots`), which prices to look at, best first (`candidates`),
the best price with size left (`best`), and what a taker consumed (`deplete`). Two kinds:

- `SyntheticDepth` (here): the synthetic market's, a function of the top rather than a
  stored ladder. A level `d` ticks behind the synthetic top (`bid0` / `ask0`, set by the
  price process every step) holds `book_lots x weight(d) x noise(price)` lots — thin for the
  first few ticks, thicker further out, `max_levels` levels per side — so moving the mid
  costs nothing and a level keeps its size while the mid moves around it. What takers
  consume is remembered per price and side ("depletion") and refills `refill_ms` later, so a
  sweep by one of our orders visibly moves the top until the liquidity comes back.
- `ladder.RecordedDepth`: a recorded market's L2 ladder (see there).

Prices are integer ticks, sizes integer lots. Per-side state is a pair indexed by `is_bid`
(index 0 the asks, 1 the bids).
"""

from collections.abc import Iterable
from typing import Final, Protocol

_NOISE_MULT: Final = 2_654_435_761  # Knuth's multiplicative hash


class Depth(Protocol):
    """What a book asks of the market's liquidity (prices in ticks, sizes in lots)."""

    bid0: int  # the market's best bid (before our takers' depletion): the mark's side
    ask0: int

    def lots(self, is_bid: bool, price: int, now_ms: int) -> int:
        """The market's lots at `price` now (0: none)."""
        ...

    def candidates(self, is_bid: bool) -> Iterable[int]:
        """Prices that may hold size, best first (not to be changed while iterated)."""
        ...

    def best(self, is_bid: bool, now_ms: int) -> int | None:
        """The best price with lots left, if any."""
        ...

    def deplete(self, is_bid: bool, price: int, lots: int, now_ms: int) -> None:
        """Record that takers consumed `lots` at `price`."""
        ...

    def refill(self, now_ms: int) -> bool:
        """Let consumed liquidity come back when its time has come; True if any could."""
        ...


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


class SyntheticDepth:
    """The synthetic market's liquidity around a top the price process moves."""

    def __init__(
        self, *, book_lots: int, max_levels: int, refill_ms: int, salt: int, bid0: int, ask0: int
    ) -> None:
        self.bid0 = bid0  # best synthetic bid (before depletion)
        self.ask0 = ask0
        self._lots = book_lots
        self._max_levels = max_levels
        self._refill_ms = refill_ms
        self._salt = salt & 0xFFFF_FFFF
        self._weights = [_weight(d) for d in range(max_levels)]
        # per side (asks, bids): price -> [lots consumed, refill time ms]
        self._depleted: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        self._next_refill_ms: int | None = None  # earliest expiry of any depletion

    def move(self, bid0: int, ask0: int) -> bool:
        """Set the synthetic top (the price process moved); True if it changed."""
        if bid0 == self.bid0 and ask0 == self.ask0:
            return False
        self.bid0 = bid0
        self.ask0 = ask0
        return True

    def lots(self, is_bid: bool, price: int, now_ms: int) -> int:
        """Synthetic lots resting at `price` on the side now."""
        distance = self.bid0 - price if is_bid else price - self.ask0
        if distance < 0 or distance >= self._max_levels or price < 1:
            return 0
        noise = 8 + (((price * _NOISE_MULT) ^ self._salt) >> 9) % 16
        size = max(1, self._lots * self._weights[distance] * noise // 16)
        depleted = self._depleted[is_bid]
        used = depleted.get(price)
        if used is not None:
            if used[1] > now_ms:
                return max(0, size - used[0])
            del depleted[price]
        return size

    def candidates(self, is_bid: bool) -> range:
        """The `max_levels` prices behind the top, best first."""
        if is_bid:
            return range(self.bid0, max(self.bid0 - self._max_levels, 0), -1)
        return range(self.ask0, self.ask0 + self._max_levels)

    def best(self, is_bid: bool, now_ms: int) -> int | None:
        """The best price with synthetic size left on the side, if any."""
        for price in self.candidates(is_bid):
            if self.lots(is_bid, price, now_ms) > 0:
                return price
        return None

    def deplete(self, is_bid: bool, price: int, lots: int, now_ms: int) -> None:
        """Record that takers consumed `lots` of synthetic size at `price` until the refill."""
        until = now_ms + self._refill_ms
        depleted = self._depleted[is_bid]
        used = depleted.get(price)
        if used is None or used[1] <= now_ms:
            depleted[price] = [lots, until]
        else:
            used[0] += lots
            used[1] = until
        if self._next_refill_ms is None or until < self._next_refill_ms:
            self._next_refill_ms = until

    def refill(self, now_ms: int) -> bool:
        """Forget depletion that has expired (the liquidity came back)."""
        if self._next_refill_ms is None or now_ms < self._next_refill_ms:
            return False
        pending: list[int] = []
        for depleted in self._depleted:
            expired = [p for p, (_, until) in depleted.items() if until <= now_ms]
            for price in expired:
                del depleted[price]
            pending.extend(until for _, until in depleted.values())
        self._next_refill_ms = min(pending) if pending else None
        return True
